/**
 * Steering: pick features, set interventions, generate beside the unsteered baseline, compare
 * side by side, sweep strengths, and revisit or export earlier runs. Every generated string is
 * rendered as a React text node (never HTML).
 */
import clsx from "clsx";
import { useEffect, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { api } from "../api/client";
import { useApiMutation, useExtractions, useTemplates } from "../api/hooks";
import type {
  ComparisonMetrics,
  Extraction,
  Feature,
  MaybeNumber,
  Page,
  SteeringCreate,
  SteeringResult,
  SteeringRunOut,
  SteeringRunSummary,
  Template,
} from "../api/types";
import { parseTopTokens } from "../components/FeatureTable";
import { JobProgress } from "../components/ProgressBar";
import { Button, Card, Empty, ErrorLine, Field, PanelHeader, StatusPill, TemplateOptions, num } from "../components/ui";
import { isBusy, pollWhileBusy } from "../lib/status";
import { formatDate, formatNumber } from "../lib/format";

type Mode = "add" | "clamp" | "suppress";

export interface PickedFeature {
  sae_id: number;
  extraction_id: number;
  index: number;
  label: string | null;
  max_activation: number | null;
  mode: Mode;
  strength: number;
  relative: boolean;
}

/** "0, 2, 4" -> [0, 2, 4]; "" -> []; null when malformed. */
export function parseStrengths(text: string): number[] | null {
  const parts = text.split(/[\s,]+/).filter(Boolean);
  const out = parts.map(Number);
  return out.every((n) => Number.isFinite(n)) ? out : null;
}

/** ``picked`` plus those of ``features`` not picked yet (each once), added at ``strength`` x
 * their max activation. */
export function withFeatures(
  picked: PickedFeature[],
  features: Pick<Feature, "index" | "label" | "max_activation">[],
  extraction: Pick<Extraction, "id" | "sae_id">,
  strength: number,
): PickedFeature[] {
  const have = new Set(picked.filter((p) => p.sae_id === extraction.sae_id).map((p) => p.index));
  const out = [...picked];
  for (const f of features) {
    if (have.has(f.index)) continue;
    have.add(f.index);
    out.push({ sae_id: extraction.sae_id, extraction_id: extraction.id, index: f.index, label: f.label ?? null, max_activation: f.max_activation ?? null, mode: "add", strength, relative: true });
  }
  return out;
}

/** A fraction as a whole percentage ("46%"), or "–" when missing or not finite. */
export function percent(v: MaybeNumber | undefined): string {
  return typeof v === "number" && Number.isFinite(v) ? `${Math.round(100 * v)}%` : "–";
}

/** A metric that may be NaN/inf (sent as a string). */
export function metric(v: MaybeNumber, digits = 3): string {
  if (typeof v === "number" && Number.isFinite(v)) return formatNumber(v, digits);
  if (typeof v === "string" && v) return v;
  return "–";
}

/** A finished run: the steering job marks its row "ready" (older rows may say "completed"). */
export function runFinished(status: string): boolean {
  return status === "ready" || status === "completed";
}

export function SteeringPanel() {
  const [runId, setRunId] = useState<number | null>(null);
  return (
    <div className="space-y-4" data-testid="steering-panel">
      <PanelHeader title="Steering" subtitle="Generate with feature interventions, compare with the baseline, and sweep strengths." />
      <div className="grid gap-4 xl:grid-cols-[minmax(0,1fr)_20rem]">
        <div className="space-y-4">
          <SteeringForm onStarted={setRunId} />
          {runId !== null && <RunView runId={runId} />}
        </div>
        <SteeringHistory onOpen={setRunId} selected={runId} />
      </div>
    </div>
  );
}

function SteeringForm({ onStarted }: { onStarted: (id: number) => void }) {
  const extractions = useExtractions();
  const ready = (extractions.data?.items ?? []).filter((e: Extraction) => e.status === "ready" || e.status === "completed");
  const [extractionId, setExtractionId] = useState<number | null>(null);
  useEffect(() => {
    if (extractionId === null && ready.length) setExtractionId(ready[0].id);
  }, [ready, extractionId]);
  const extraction = ready.find((e) => e.id === extractionId);
  const [q, setQ] = useState("");
  const search = useQuery({
    queryKey: ["features", "list", { extraction_id: extractionId, q, limit: 20 }],
    queryFn: ({ signal }) => api.get<Page<Feature>>("/features", { extraction_id: extractionId, q: q.trim() || undefined, limit: 20 }, signal),
    enabled: extractionId !== null,
  });
  const [picked, setPicked] = useState<PickedFeature[]>([]);
  const [prompts, setPrompts] = useState<string[]>(["The weather today is"]);
  const [gen, setGen] = useState({ max_new_tokens: "40", temperature: "0.7", top_p: "0.9", seed: "0" });
  const [sweep, setSweep] = useState("");
  const [formError, setFormError] = useState<string | null>(null);

  const addFeatures = (fs: Feature[], strength: number) => {
    if (extraction) setPicked(withFeatures(picked, fs, extraction, strength));
  };
  // One feature at 4x its max activation; a group at 1x each, since their pushes add up.
  const add = (f: Feature) => addFeatures([f], 4);
  const addAll = (fs: Feature[]) => addFeatures(fs, 1);
  const update = (i: number, patch: Partial<PickedFeature>) => setPicked(picked.map((p, j) => (j === i ? { ...p, ...patch } : p)));

  const start = useApiMutation(
    () => {
      setFormError(null);
      const strengths = parseStrengths(sweep);
      if (strengths === null) throw new Error("sweep strengths: numbers separated by commas, e.g. 0,2,4,8,16");
      const body: SteeringCreate = {
        features: picked.map((p) => ({
          sae_id: p.sae_id,
          extraction_id: p.extraction_id,
          index: p.index,
          mode: p.mode,
          strength: p.strength,
          relative: p.relative,
        })),
        prompts: prompts.map((p) => p).filter((p) => p.trim() !== ""),
        generation: {
          max_new_tokens: num(gen.max_new_tokens) ?? 40,
          temperature: num(gen.temperature) ?? 0.7,
          top_p: num(gen.top_p) ?? 0.9,
          seed: num(gen.seed) ?? 0,
        },
        strengths: strengths.length ? strengths : null,
      };
      if (!body.features.length) throw new Error("add at least one feature");
      if (!body.prompts.length) throw new Error("write at least one prompt");
      return api.post<SteeringRunOut>("/steering", body);
    },
    ["steering"],
    (run) => onStarted(run.id),
  );

  return (
    <Card title="New steering run" testId="steering-form">
      <div className="space-y-4">
        <div className="grid gap-3 md:grid-cols-[16rem_1fr]">
          <Field label="Extraction">
            <select value={extractionId ?? ""} onChange={(e) => setExtractionId(num(e.target.value) ?? null)} data-testid="steering-extraction">
              {extractionId === null && <option value="">—</option>}
              {ready.map((e) => (
                <option key={e.id} value={e.id}>
                  {e.name}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Find features by label">
            <input type="search" value={q} onChange={(e) => setQ(e.target.value)} placeholder="label, description or index" data-testid="steering-search" />
          </Field>
        </div>
        <ErrorLine error={search.error} />
        {search.data && q.trim() !== "" && search.data.items.length > 1 && (
          <div className="flex items-center justify-end gap-2 text-xs text-slate-400">
            steer every hit together (1× max act. each; their pushes add up)
            <Button className="px-2 py-0.5 text-xs" onClick={() => addAll(search.data.items)} data-testid="steering-add-all">
              Add all {search.data.items.length}
            </Button>
          </div>
        )}
        {search.data && (
          <ul className="max-h-40 overflow-y-auto rounded-md border border-slate-800 text-sm" data-testid="steering-results">
            {search.data.items.map((f) => (
              <li key={f.id} className="flex items-center justify-between gap-2 border-b border-slate-800/60 px-3 py-1">
                <PickerFeature feature={f} />
                <Button className="px-2 py-0.5 text-xs" onClick={() => add(f)}>
                  Add
                </Button>
              </li>
            ))}
            {search.data.items.length === 0 && <li className="px-3 py-2 text-slate-500">no match</li>}
          </ul>
        )}
        {picked.length > 0 && (
          <div className="space-y-2" data-testid="steering-picked">
            {picked.map((p, i) => (
              <div key={`${p.sae_id}-${p.index}`} className="grid items-center gap-2 rounded-md bg-slate-800/50 p-2 text-sm md:grid-cols-[minmax(8rem,1fr)_7rem_minmax(10rem,1.5fr)_6rem_auto_auto]">
                <span className="truncate">
                  <span className="font-mono text-xs text-slate-500">#{p.index}</span> {p.label ?? ""}
                </span>
                <select value={p.mode} onChange={(e) => update(i, { mode: e.target.value as Mode })} aria-label="mode">
                  <option value="add">add</option>
                  <option value="clamp">clamp</option>
                  <option value="suppress">suppress</option>
                </select>
                <input
                  type="range"
                  aria-label="strength"
                  min={p.relative ? -20 : -200}
                  max={p.relative ? 20 : 200}
                  step={p.relative ? 0.5 : 1}
                  value={p.strength}
                  disabled={p.mode === "suppress"}
                  onChange={(e) => update(i, { strength: Number(e.target.value) })}
                />
                <input type="number" step="any" value={p.strength} disabled={p.mode === "suppress"} onChange={(e) => update(i, { strength: num(e.target.value) ?? 0 })} aria-label="strength value" />
                <label className="flex items-center gap-1 text-xs text-slate-400" title={p.max_activation !== null ? `max activation ${formatNumber(p.max_activation)}` : undefined}>
                  <input type="checkbox" checked={p.relative} onChange={(e) => update(i, { relative: e.target.checked })} />× max act.
                </label>
                <Button variant="ghost" className="px-2 py-0.5 text-xs" onClick={() => setPicked(picked.filter((_, j) => j !== i))} aria-label="remove feature">
                  ✕
                </Button>
              </div>
            ))}
          </div>
        )}
        <PromptEditor prompts={prompts} setPrompts={setPrompts} />
        <div className="grid grid-cols-2 gap-3 md:grid-cols-5">
          <Field label="Max tokens">
            <input type="number" min={1} value={gen.max_new_tokens} onChange={(e) => setGen({ ...gen, max_new_tokens: e.target.value })} data-testid="steering-max-tokens" />
          </Field>
          <Field label="Temperature">
            <input type="number" min={0} step="0.05" value={gen.temperature} onChange={(e) => setGen({ ...gen, temperature: e.target.value })} />
          </Field>
          <Field label="Top-p">
            <input type="number" min={0} max={1} step="0.05" value={gen.top_p} onChange={(e) => setGen({ ...gen, top_p: e.target.value })} />
          </Field>
          <Field label="Seed">
            <input type="number" value={gen.seed} onChange={(e) => setGen({ ...gen, seed: e.target.value })} />
          </Field>
          <Field label="Sweep strengths" hint="optional, e.g. 0,2,4,8,16">
            <input value={sweep} onChange={(e) => setSweep(e.target.value)} data-testid="steering-sweep" />
          </Field>
        </div>
        {formError && <ErrorLine error={formError} />}
        <ErrorLine error={start.error} />
        <div className="flex justify-end">
          <Button variant="primary" onClick={() => start.mutate(undefined)} disabled={start.isPending} data-testid="steering-run">
            Run
          </Button>
        </div>
      </div>
    </Card>
  );
}

function PromptEditor({ prompts, setPrompts }: { prompts: string[]; setPrompts: (p: string[]) => void }) {
  const templates = useTemplates("steering_prompt");
  const [templateId, setTemplateId] = useState<number | null>(null);
  const [name, setName] = useState("");
  const [favourite, setFavourite] = useState(false);
  const save = useApiMutation(
    () => api.post<Template>("/templates", { kind: "steering_prompt", name: name.trim(), favourite, config: { prompts } }),
    ["templates"],
    (t) => {
      setTemplateId(t.id);
      setName("");
    },
  );
  const fav = useApiMutation((id: number) => api.post<Template>(`/templates/${id}/favourite`), ["templates"]);
  const load = (id: number | null) => {
    setTemplateId(id);
    const t = templates.data?.items.find((x) => x.id === id);
    const list = (t?.config as { prompts?: unknown } | undefined)?.prompts;
    if (Array.isArray(list)) setPrompts(list.map(String));
    else if (typeof (t?.config as { prompt?: unknown } | undefined)?.prompt === "string") setPrompts([String((t!.config as { prompt: string }).prompt)]);
  };
  const current = templates.data?.items.find((t) => t.id === templateId);
  const sorted = [...(templates.data?.items ?? [])].sort((a, b) => Number(b.favourite) - Number(a.favourite));
  return (
    <div className="space-y-2">
      <div className="flex flex-wrap items-end gap-2">
        <Field label="Prompt set" className="min-w-[12rem]">
          <select value={templateId ?? ""} onChange={(e) => load(num(e.target.value) ?? null)} data-testid="steering-template">
            <option value="">—</option>
            <TemplateOptions templates={sorted} />
          </select>
        </Field>
        {current && (
          <Button onClick={() => fav.mutate(current.id)} aria-label={current.favourite ? "unfavourite" : "favourite"}>
            <span className={current.favourite ? "text-amber-400" : ""}>{current.favourite ? "★" : "☆"}</span>
          </Button>
        )}
        <Field label="Save prompts as" className="min-w-[10rem] flex-1">
          <input value={name} onChange={(e) => setName(e.target.value)} placeholder="template name" />
        </Field>
        <label className="flex items-center gap-1 pb-2 text-xs text-slate-400">
          <input type="checkbox" checked={favourite} onChange={(e) => setFavourite(e.target.checked)} /> favourite
        </label>
        <Button onClick={() => save.mutate(undefined)} disabled={!name.trim() || save.isPending}>
          Save
        </Button>
      </div>
      <ErrorLine error={save.error ?? fav.error} />
      {prompts.map((p, i) => (
        <div key={i} className="flex gap-2">
          <textarea
            rows={2}
            className="flex-1"
            value={p}
            aria-label={`prompt ${i + 1}`}
            onChange={(e) => setPrompts(prompts.map((x, j) => (j === i ? e.target.value : x)))}
            data-testid="steering-prompt"
          />
          <Button variant="ghost" onClick={() => setPrompts(prompts.filter((_, j) => j !== i))} disabled={prompts.length === 1} aria-label="remove prompt">
            ✕
          </Button>
        </div>
      ))}
      <Button onClick={() => setPrompts([...prompts, ""])} disabled={prompts.length >= 64}>
        + Prompt
      </Button>
    </div>
  );
}

export function useSteeringRun(runId: number | null) {
  return useQuery({
    queryKey: ["steering", runId],
    queryFn: ({ signal }) => api.get<SteeringRunOut>(`/steering/${runId}`, undefined, signal),
    enabled: runId !== null,
    refetchInterval: (q) => (isBusy((q.state.data as SteeringRunOut | undefined)?.status) ? 2000 : false),
  });
}

function RunView({ runId }: { runId: number }) {
  const run = useSteeringRun(runId);
  const r = run.data;
  const result = r?.result as unknown as SteeringResult | undefined;
  return (
    <Card
      title={r ? `Run ${r.name}` : `Run ${runId}`}
      actions={
        r && (
          <>
            <StatusPill status={r.status} />
            {runFinished(r.status) && <Button onClick={() => void exportRun(r.id, r.name)}>Export JSON</Button>}
          </>
        )
      }
      testId="steering-run-view"
    >
      <ErrorLine error={run.error} />
      {r && <JobProgress jobId={r.job_id} />}
      {r?.error && r.status === "failed" && <ErrorLine error={r.error} />}
      {result && Array.isArray(result.prompts) && <CompareView result={result} />}
    </Card>
  );
}

/** Download a run's JSON export. */
export async function exportRun(id: number, name: string): Promise<void> {
  const data = await api.get<unknown>(`/steering/${id}/export`);
  const blob = new Blob([JSON.stringify(data, null, 2)], { type: "application/json" });
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = `steering-${id}-${name.replace(/[^\w.-]+/g, "_")}.json`;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function Metrics({ m }: { m: ComparisonMetrics | null | undefined }) {
  if (!m) return null;
  return (
    <div className="mt-1 flex flex-wrap gap-x-3 font-mono text-[11px] text-slate-400" data-testid="steering-metrics">
      <span>KL {metric(m.kl_mean)}</span>
      <span>ppl {metric(m.perplexity, 2)}</span>
      <span>sim {metric(m.similarity, 2)}</span>
      {m.fire_rate !== undefined && (
        <span title="share of the steered text's tokens on which the steered features fire when the unsteered model reads it (baseline text in brackets)" data-testid="steering-fire-rate">
          fires {percent(m.fire_rate)} (base {percent(m.baseline_fire_rate)})
        </span>
      )}
    </div>
  );
}

/** Generated text, as text. */
function Output({ text, className }: { text: string; className?: string }) {
  return (
    <p className={clsx("whitespace-pre-wrap break-words rounded bg-slate-950/60 p-2 text-sm text-slate-200", className)} data-testid="steering-output">
      {text}
    </p>
  );
}

/** Baseline and steered side by side per prompt; with a sweep, a grid (rows strengths, columns prompts). */
export function CompareView({ result }: { result: SteeringResult }) {
  const sweep = result.prompts.some((p) => p.steered.length > 1 || (p.steered[0] && p.steered[0].strength !== null));
  return (
    <div className="mt-3 space-y-4" data-testid="steering-compare">
      {result.similarity_note && <p className="text-xs text-amber-300">{result.similarity_note}</p>}
      {sweep ? <SweepGrid result={result} /> : null}
      {!sweep &&
        result.prompts.map((p, i) => (
          <div key={i} className="space-y-2" data-testid="steering-prompt-result">
            <div className="text-xs text-slate-400">
              Prompt: <span className="whitespace-pre-wrap text-slate-200">{p.prompt}</span>
            </div>
            <div className="grid gap-3 md:grid-cols-2">
              <div>
                <div className="mb-1 text-[11px] uppercase tracking-wide text-slate-500">
                  Baseline · ppl {metric(p.baseline.perplexity, 2)}
                  {p.baseline.fire_rate !== undefined && <> · fires {percent(p.baseline.fire_rate)}</>}
                </div>
                <Output text={p.baseline.text} />
              </div>
              {p.steered.map((s, j) => (
                <div key={j}>
                  <div className="mb-1 text-[11px] uppercase tracking-wide text-emerald-400">Steered</div>
                  <Output text={s.text} />
                  {!s.finite && <p className="text-xs text-rose-300">{s.error ?? "not finite"}</p>}
                  <Metrics m={s.metrics} />
                </div>
              ))}
            </div>
          </div>
        ))}
    </div>
  );
}

export function SweepGrid({ result }: { result: SteeringResult }) {
  const strengths: (number | null)[] = [];
  for (const p of result.prompts) for (const s of p.steered) if (!strengths.includes(s.strength)) strengths.push(s.strength);
  return (
    <div className="overflow-x-auto">
      <table className="w-full table-fixed border-collapse text-left text-sm" data-testid="sweep-grid">
        <thead>
          <tr>
            <th className="w-20 p-2 text-[11px] uppercase text-slate-500">Strength</th>
            {result.prompts.map((p, i) => (
              <th key={i} className="min-w-[14rem] p-2 align-top text-xs font-normal text-slate-300">
                <span className="whitespace-pre-wrap">{p.prompt}</span>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          <tr data-testid="sweep-baseline">
            <td className="p-2 align-top font-mono text-xs text-slate-400">baseline</td>
            {result.prompts.map((p, i) => (
              <td key={i} className="p-2 align-top">
                <Output text={p.baseline.text} />
              </td>
            ))}
          </tr>
          {strengths.map((st, r) => (
            <tr key={r} data-testid="sweep-row" className="border-t border-slate-800">
              <td className="p-2 align-top font-mono text-xs text-emerald-400">{st === null ? "as set" : st}</td>
              {result.prompts.map((p, i) => {
                const s = p.steered.find((x) => x.strength === st);
                return (
                  <td key={i} className="p-2 align-top">
                    {s ? (
                      <>
                        <Output text={s.text} />
                        {!s.finite && <p className="text-xs text-rose-300">{s.error ?? "not finite"}</p>}
                        <Metrics m={s.metrics} />
                      </>
                    ) : (
                      <span className="text-slate-600">–</span>
                    )}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function SteeringHistory({ onOpen, selected }: { onOpen: (id: number) => void; selected: number | null }) {
  const runs = useQuery({
    queryKey: ["steering", "list"],
    queryFn: ({ signal }) => api.get<Page<SteeringRunSummary>>("/steering", { limit: 100, sort: "created_at", order: "desc" }, signal),
    refetchInterval: (q) => pollWhileBusy(q.state.data as Page<SteeringRunSummary> | undefined),
  });
  const [exportError, setExportError] = useState<unknown>(null);
  return (
    <Card title="History" testId="steering-history">
      <ErrorLine error={runs.error ?? exportError} />
      {runs.data && runs.data.items.length === 0 && <Empty>No steering runs yet.</Empty>}
      <ul className="space-y-1">
        {runs.data?.items.map((r) => (
          <li key={r.id} className={clsx("flex items-center justify-between gap-2 rounded px-2 py-1 text-sm", r.id === selected && "bg-emerald-500/10")} data-testid="steering-history-item">
            <button type="button" className="min-w-0 flex-1 truncate text-left text-slate-200 hover:underline" onClick={() => onOpen(r.id)}>
              {r.name}
              <span className="block text-[11px] text-slate-500">{formatDate(r.created_at)}</span>
            </button>
            <StatusPill status={r.status} />
            {runFinished(r.status) && (
              <Button
                variant="ghost"
                className="px-1.5 py-0.5 text-xs"
                aria-label="export JSON"
                onClick={() => {
                  setExportError(null);
                  exportRun(r.id, r.name).catch(setExportError);
                }}
              >
                ⤓
              </Button>
            )}
          </li>
        ))}
      </ul>
    </Card>
  );
}

/** A search hit in the feature picker: index, label, and the tokens it fires on most, so a
 * researcher can tell a code-keyword feature from the rest before adding it. */
export function PickerFeature({ feature: f }: { feature: Pick<Feature, "index" | "label" | "top_tokens"> }) {
  const tokens = parseTopTokens(f.top_tokens).slice(0, 3);
  return (
    <span className="truncate">
      <span className="font-mono text-xs text-slate-500">#{f.index}</span> {f.label ?? <span className="text-slate-600">unlabelled</span>}
      {tokens.length > 0 && (
        <span className="ml-2 font-mono text-[11px] text-slate-500" data-testid="picker-top-tokens">
          {tokens.map((t) => JSON.stringify(t)).join(" ")}
        </span>
      )}
    </span>
  );
}
