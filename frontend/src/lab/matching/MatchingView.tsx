/**
 * The feature matching view (`#/lab/match?a=&b=`): pick SAEs A and B, run a matching (the
 * `matching` job), read the share of A matched and the histogram of best cosines, browse the pairs
 * (sortable) and the splits, and open a pair to see both latents' examples and labels side by side.
 */
import { useEffect, useRef, useState } from "react";
import { useSaes } from "../../api/hooks";
import type { SAE } from "../../api/types";
import { Button, Card, Empty, ErrorLine, Field, IdOptions, StatusPill, num } from "../../components/ui";
import { isBusy } from "../../lib/status";
import { matchUrl } from "../routes";
import { MatchSummaryCard } from "./MatchSummaryCard";
import { PairDetail } from "./PairDetail";
import { PairTable } from "./PairTable";
import { useMatchings, useStartMatching, type MatchSummary } from "./queries";

/** The URL's SAE while the list does not hold it (still loading, or not ready): a `<select>`
 * whose value has no option shows its first one, which would name another SAE. */
function Missing({ id, found, loading }: { id: number | null; found: boolean; loading: boolean }) {
  if (id === null || found) return null;
  return (
    <option value={id} disabled>
      #{id} {loading ? "(loading…)" : "(not a ready SAE)"}
    </option>
  );
}

const widthOf = (s: SAE | undefined) => (s ? (s.cfg as { d_out?: number | null } | undefined)?.d_out ?? s.d_in : null);

export function MatchingView({ a: initialA, b: initialB }: { a: number | null; b: number | null }) {
  const saes = useSaes();
  const [a, setA] = useState(initialA);
  const [b, setB] = useState(initialB);
  const [threshold, setThreshold] = useState(0.7);
  const [pair, setPair] = useState<{ a: number; b: number } | null>(null);
  const matchings = useMatchings(a);
  const start = useStartMatching();
  const items = saes.data?.items.filter((s) => s.status === "ready") ?? [];
  const saeA = items.find((s) => s.id === a);
  const saeB = items.find((s) => s.id === b);
  // An SAE made behind the list's back (the CLI, another tab) within its stale time: ask again
  // once for each id the list lacks, so a fresh URL names it instead of "not a ready SAE".
  const asked = useRef(new Set<number>());
  const lacking = [a, b].filter((id) => id !== null && !items.some((s) => s.id === id)).join(",");
  const { isSuccess, isFetching, refetch } = saes;
  useEffect(() => {
    if (!isSuccess || isFetching || !lacking) return;
    const fresh = lacking.split(",").map(Number).filter((id) => !asked.current.has(id));
    if (fresh.length === 0) return;
    fresh.forEach((id) => asked.current.add(id));
    void refetch();
  }, [isSuccess, isFetching, refetch, lacking]);
  const mismatch = saeA && saeB && widthOf(saeA) !== widthOf(saeB);
  const current = matchings.data?.items.find((m) => m.sae_a_id === a && m.sae_b_id === b) ?? null;
  const pick = (side: "a" | "b", value: number) => {
    const next = side === "a" ? { a: value, b } : { a, b: value };
    if (side === "a") setA(value);
    else setB(value);
    setPair(null);
    if (next.a !== null && next.b !== null) window.history.replaceState(null, "", matchUrl(next.a, next.b));
  };
  const ready = current?.status === "ready";
  return (
    <div className="space-y-4" data-testid="matching-view">
      <Card title="SAEs to match">
        <div className="grid gap-3 md:grid-cols-[1fr_1fr_8rem_auto] md:items-end">
          <Field label="A (each latent gets its best match in B)" hint={saeA ? `${saeA.architecture ?? "?"} · ${saeA.d_sae ?? "?"} latents · ${saeA.hook_name ?? "no hook"}` : undefined}>
            <select value={a ?? ""} onChange={(e) => pick("a", Number(e.target.value))} data-testid="match-a">
              <option value="" disabled>
                choose an SAE
              </option>
              <IdOptions items={items} label={(s) => `#${s.id} ${s.name}`} />
              <Missing id={a} found={!!saeA} loading={saes.isFetching} />
            </select>
          </Field>
          <Field label="B" hint={saeB ? `${saeB.architecture ?? "?"} · ${saeB.d_sae ?? "?"} latents · ${saeB.hook_name ?? "no hook"}` : undefined}>
            <select value={b ?? ""} onChange={(e) => pick("b", Number(e.target.value))} data-testid="match-b">
              <option value="" disabled>
                choose an SAE
              </option>
              <IdOptions items={items} label={(s) => `#${s.id} ${s.name}`} />
              <Missing id={b} found={!!saeB} loading={saes.isFetching} />
            </select>
          </Field>
          <Field label="Match at cosine ≥">
            <input type="number" min={-1} max={1} step={0.05} value={threshold} onChange={(e) => setThreshold(num(e.target.value) ?? 0.7)} data-testid="match-threshold" />
          </Field>
          <Button
            variant="primary"
            disabled={a === null || b === null || !!mismatch || start.isPending || isBusy(current?.status)}
            onClick={() => a !== null && b !== null && start.mutate({ sae_a_id: a, sae_b_id: b, config: { threshold } })}
            data-testid="match-run"
          >
            {current ? "Run again" : "Run matching"}
          </Button>
        </div>
        {mismatch && (
          <p className="mt-2 text-xs text-amber-300" role="alert" data-testid="match-mismatch">
            A writes width {widthOf(saeA)} and B width {widthOf(saeB)}: only SAEs of the same activation width can be matched.
          </p>
        )}
        <ErrorLine error={start.error ?? saes.error ?? matchings.error} className="mt-2" />
        {current && !ready && (
          <div className="mt-3 flex items-center gap-2 text-sm text-slate-400" data-testid="match-status">
            <StatusPill status={current.status} /> {current.error ?? (isBusy(current.status) ? "matching decoders…" : "")}
          </div>
        )}
      </Card>
      {a === null || b === null ? (
        <Empty>Choose SAE A and SAE B (any two SAEs of the same activation width: other widths, architectures, layers or imports).</Empty>
      ) : !current ? (
        !matchings.isLoading && <Empty>These two SAEs have not been matched yet: run a matching.</Empty>
      ) : ready ? (
        <>
          <MatchSummaryCard summary={current.result as unknown as MatchSummary} />
          <PairTable matchingId={current.id} selected={pair} onSelect={setPair} />
          {pair ? (
            <PairDetail saeA={saeA} saeB={saeB} pair={pair} />
          ) : (
            <Empty>Click a pair (or a split's part) to see both latents' examples and labels side by side.</Empty>
          )}
        </>
      ) : null}
    </div>
  );
}
