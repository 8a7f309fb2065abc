/** SAEs: trained and imported SAEs with their evaluations; "Extract features" from each. */
import { useState } from "react";
import { api } from "../api/client";
import { useApiMutation, useSaes } from "../api/hooks";
import type { SAE, SAEImport } from "../api/types";
import { Button, Card, Empty, ErrorLine, Field, PanelHeader, StatusPill } from "../components/ui";
import { formatCount, formatDate, formatNumber } from "../lib/format";
import { useUi } from "../store/ui";

type Json = Record<string, unknown>;
const at = (obj: unknown, ...path: string[]): number | undefined => {
  let cur: unknown = obj;
  for (const key of path) cur = cur && typeof cur === "object" ? (cur as Json)[key] : undefined;
  return typeof cur === "number" ? cur : undefined;
};

/** Columns read from `sae.metrics` ({final, evals: {held_out, splice}, reached_l0} for trained SAEs). */
const EVALS: { label: string; title: string; read: (m: Json) => number | undefined; percent?: boolean }[] = [
  { label: "L0", title: "L0 over the final evaluation window", read: (m) => at(m, "reached_l0") ?? at(m, "l0") },
  { label: "FVU", title: "Fraction of variance unexplained (held-out)", read: (m) => at(m, "evals", "held_out", "fvu") ?? at(m, "final", "fvu") ?? at(m, "fvu") },
  { label: "Expl. var.", title: "Explained variance (held-out)", read: (m) => at(m, "evals", "held_out", "explained_variance") ?? at(m, "final", "explained_variance") },
  { label: "Dead", title: "Dead latents (fraction)", read: (m) => at(m, "final", "dead_fraction") ?? at(m, "evals", "held_out", "dead_fraction"), percent: true },
  { label: "CE score", title: "CE loss recovered with the SAE spliced in (1 = perfect)", read: (m) => at(m, "evals", "splice", "ce_loss_score") },
  { label: "ΔCE", title: "CE with the SAE minus clean CE", read: (m) => {
    const sae = at(m, "evals", "splice", "ce_sae");
    const clean = at(m, "evals", "splice", "ce_clean");
    return sae !== undefined && clean !== undefined ? sae - clean : undefined;
  } },
  { label: "KL", title: "Mean KL(clean || with SAE) per token", read: (m) => at(m, "evals", "splice", "kl_sae") },
];

export function SaesPanel() {
  const saes = useSaes();
  const setPanel = useUi((s) => s.setPanel);
  const setExtractSaeId = useUi((s) => s.setExtractSaeId);
  const extract = (sae: SAE) => {
    setExtractSaeId(sae.id);
    setPanel("features");
  };
  return (
    <div className="space-y-6">
      <PanelHeader title="SAEs" subtitle="Sparse autoencoders trained here or imported, with their evaluations." />
      <ImportSaeCard />
      <ErrorLine error={saes.error} />
      {saes.data?.items.length === 0 && <Empty>No SAEs yet: train one, or import a SAELens folder.</Empty>}
      {(saes.data?.items.length ?? 0) > 0 && (
        <Card>
          <div className="overflow-x-auto">
            <table className="w-full text-sm" data-testid="sae-table">
              <thead className="text-left text-[11px] uppercase tracking-wide text-slate-500">
                <tr>
                  <th className="py-2 pr-3">Name</th>
                  <th className="py-2 pr-3">Arch.</th>
                  <th className="py-2 pr-3">Hook</th>
                  <th className="py-2 pr-3 text-right">d_in</th>
                  <th className="py-2 pr-3 text-right">d_sae</th>
                  {EVALS.map((e) => (
                    <th key={e.label} className="py-2 pr-3 text-right font-medium" title={e.title}>
                      {e.label}
                    </th>
                  ))}
                  <th className="py-2 pr-3">Origin</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {saes.data?.items.map((s) => (
                  <SaeRow key={s.id} sae={s} onExtract={() => extract(s)} />
                ))}
              </tbody>
            </table>
          </div>
        </Card>
      )}
    </div>
  );
}

function SaeRow({ sae: s, onExtract }: { sae: SAE; onExtract: () => void }) {
  const remove = useApiMutation(() => api.del(`/saes/${s.id}`), ["saes"]);
  const m = (s.metrics ?? {}) as Json;
  const warnings = Array.isArray(m.warnings) ? (m.warnings as unknown[]).map(String) : [];
  return (
    <>
      <tr className="border-t border-slate-800" data-testid={`sae-${s.id}`}>
        <td className="py-2 pr-3">
          <div className="font-medium text-slate-100">{s.name}</div>
          <div className="text-[11px] text-slate-500">
            {formatDate(s.created_at)} · <StatusPill status={s.status} />
          </div>
          {warnings.map((w) => (
            <div key={w} className="text-[11px] text-amber-300" data-testid="sae-warning">
              ⚠ {w}
            </div>
          ))}
        </td>
        <td className="py-2 pr-3 text-slate-300">{s.architecture ?? "–"}</td>
        <td className="py-2 pr-3 font-mono text-xs text-slate-300">{s.hook_name ?? "–"}</td>
        <td className="py-2 pr-3 text-right font-mono text-xs">{formatCount(s.d_in)}</td>
        <td className="py-2 pr-3 text-right font-mono text-xs">{formatCount(s.d_sae)}</td>
        {EVALS.map((e) => {
          const v = e.read(m);
          return (
            <td key={e.label} className="py-2 pr-3 text-right font-mono text-xs text-slate-300">
              {v === undefined ? "–" : e.percent ? `${formatNumber(v * 100, 3)}%` : formatNumber(v)}
            </td>
          );
        })}
        <td className="py-2 pr-3 text-xs text-slate-400">{s.origin}</td>
        <td className="py-2 text-right">
          <div className="flex justify-end gap-1">
            <Button variant="primary" className="px-2 py-1 text-xs" onClick={onExtract} data-testid="extract-open">
              Extract features
            </Button>
            <Button variant="ghost" className="px-2 py-1 text-xs text-rose-300" onClick={() => confirm(`Delete SAE ${s.name}?`) && remove.mutate(undefined)}>
              ✕
            </Button>
          </div>
        </td>
      </tr>
      {remove.error ? (
        <tr>
          <td colSpan={13}>
            <ErrorLine error={remove.error} />
          </td>
        </tr>
      ) : null}
    </>
  );
}

function ImportSaeCard() {
  const [path, setPath] = useState("");
  const [name, setName] = useState("");
  const create = useApiMutation((body: SAEImport) => api.post("/saes/import", body), ["saes"], () => setPath(""));
  return (
    <Card title="Import an SAE (SAELens folder)">
      <div className="grid gap-3 sm:grid-cols-3">
        <Field label="Folder on the server" className="sm:col-span-2" hint="cfg.json + sae_weights.safetensors, under MISTUDIO_IMPORT_ROOTS">
          <input value={path} onChange={(e) => setPath(e.target.value)} placeholder="/saes/blocks.6.hook_resid_post" />
        </Field>
        <Field label="Name">
          <input value={name} onChange={(e) => setName(e.target.value)} />
        </Field>
      </div>
      <div className="mt-3 flex items-center gap-3">
        <Button disabled={!path.trim() || create.isPending} onClick={() => create.mutate({ path: path.trim(), name: name.trim() || null })}>
          Import
        </Button>
        <ErrorLine error={create.error} className="flex-1" />
      </div>
    </Card>
  );
}
