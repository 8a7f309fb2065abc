/** One feature: label editing and the Examples / Logit lens / Correlations / Ablation tabs. */
import { useEffect, useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, ApiError } from "../api/client";
import { featureDetail, NOT_AVAILABLE } from "../api/featureDetail";
import { useFeature } from "../api/hooks";
import type { CorrelatedFeature, Feature, FeatureUpdate, LabelingJob, Page } from "../api/types";
import { JobProgress } from "../components/ProgressBar";
import { HistogramChart, TokenBarChart } from "../components/charts";
import { ActivationLegend, TokenText } from "../components/TokenText";
import { Button, Empty, ErrorLine, Field, Modal, Stat, Tabs } from "../components/ui";
import { formatNumber } from "../lib/format";
import { useUi } from "../store/ui";
import { formatFrequency } from "../components/FeatureTable";

type Tab = "examples" | "logits" | "correlations" | "ablation";

export function FeatureDetail({ featureId, onClose, onChanged }: { featureId: number; onClose: () => void; onChanged?: (f: Feature) => void }) {
  const feature = useFeature(featureId);
  const [tab, setTab] = useState<Tab>("examples");
  const f = feature.data;
  return (
    <Modal title={f ? `Latent #${f.index}${f.label ? ` · ${f.label}` : ""}` : "Feature"} onClose={onClose} wide>
      <ErrorLine error={feature.error} />
      {f && (
        <div className="space-y-4" data-testid="feature-detail">
          <LabelEditor feature={f} onChanged={onChanged} />
          <div className="grid grid-cols-2 gap-2 md:grid-cols-6">
            <Stat label="Frequency" value={formatFrequency(f.frequency)} />
            <Stat label="Max activation" value={formatNumber(f.max_activation)} />
            <Stat label="Mean activation" value={formatNumber(f.mean_activation)} />
            <Stat label="Interpretability" value={formatNumber(f.interpretability)} />
            <Stat label="Detection" value={<span data-testid="detection-score">{formatNumber(f.detection_score, 2)}</span>} />
            <Stat label="Fuzzing" value={<span data-testid="fuzzing-score">{formatNumber(f.fuzzing_score, 2)}</span>} />
          </div>
          {f.label_method && (
            <p className="text-[11px] text-slate-500" data-testid="label-source">
              labelled by {f.label_method}
              {f.label_model ? ` (${f.label_model})` : ""}
              {f.label_confidence != null ? ` · confidence ${formatNumber(f.label_confidence, 2)}` : ""}
            </p>
          )}
          <Tabs
            tabs={[
              { id: "examples", label: "Examples" },
              { id: "logits", label: "Logit lens" },
              { id: "correlations", label: "Correlations" },
              { id: "ablation", label: "Ablation" },
            ]}
            value={tab}
            onChange={setTab}
          />
          <div className="min-h-[12rem]" data-testid={`tab-${tab}`}>
            {tab === "examples" && <ExamplesTab feature={f} />}
            {tab === "logits" && <LogitLensTab feature={f} />}
            {tab === "correlations" && <CorrelationsTab feature={f} />}
            {tab === "ablation" && <AblationTab feature={f} />}
          </div>
        </div>
      )}
    </Modal>
  );
}

function LabelEditor({ feature: f, onChanged }: { feature: Feature; onChanged?: (f: Feature) => void }) {
  const client = useQueryClient();
  const [draft, setDraft] = useState({ label: f.label ?? "", category: f.category ?? "", description: f.description ?? "" });
  useEffect(() => setDraft({ label: f.label ?? "", category: f.category ?? "", description: f.description ?? "" }), [f.id, f.label, f.category, f.description]);
  const save = useMutation({
    mutationFn: (body: FeatureUpdate) => api.patch<Feature>(`/features/${f.id}`, body),
    onSuccess: (out) => {
      client.setQueryData(["features", f.id], out);
      onChanged?.(out);
    },
  });
  const star = useMutation({
    mutationFn: () => api.post<Feature>(`/features/${f.id}/star`),
    onSuccess: (out) => {
      client.setQueryData(["features", f.id], out);
      onChanged?.(out);
    },
  });
  const relabel = useMutation({
    mutationFn: () => {
      const method = typeof f.label_method === "string" && f.label_method !== "manual" ? f.label_method : "rules";
      return api.post<LabelingJob>(`/features/${f.id}/relabel`, { config: { method } });
    },
  });
  const dirty = draft.label !== (f.label ?? "") || draft.category !== (f.category ?? "") || draft.description !== (f.description ?? "");
  return (
    <div className="grid gap-3 md:grid-cols-[1fr_160px_2fr_auto]">
      <Field label="Label">
        <input value={draft.label} onChange={(e) => setDraft({ ...draft, label: e.target.value })} data-testid="feature-label" />
      </Field>
      <Field label="Category">
        <input value={draft.category} onChange={(e) => setDraft({ ...draft, category: e.target.value })} />
      </Field>
      <Field label="Description">
        <input value={draft.description} onChange={(e) => setDraft({ ...draft, description: e.target.value })} />
      </Field>
      <div className="flex items-end gap-2">
        <Button
          variant="primary"
          disabled={!dirty || save.isPending}
          data-testid="feature-label-save"
          onClick={() => save.mutate({ label: draft.label || null, category: draft.category || null, description: draft.description || null })}
        >
          Save
        </Button>
        <Button onClick={() => star.mutate()} aria-label={f.starred ? "unstar" : "star"}>
          <span className={f.starred ? "text-amber-400" : ""}>{f.starred ? "★" : "☆"}</span>
        </Button>
        <Button onClick={() => relabel.mutate()} disabled={relabel.isPending || !!relabel.data} data-testid="feature-relabel" title="Queue a labelling job for this latent (rules; see the Labeling panel for LLM runs)">
          {relabel.data ? "Relabel queued" : "Regenerate label"}
        </Button>
      </div>
      {relabel.data && (
        <div className="md:col-span-4">
          <JobProgress jobId={relabel.data.job_id} onEvent={(m) => m.type === "status" && void client.invalidateQueries({ queryKey: ["features", f.id] })} />
        </div>
      )}
      <ErrorLine error={save.error ?? star.error ?? relabel.error} className="md:col-span-4" />
    </div>
  );
}

function Unavailable({ error }: { error: unknown }) {
  if (error instanceof ApiError && NOT_AVAILABLE.has(error.status)) {
    return (
      <Empty>
        Not available from this server yet ({error.status}: {error.message}).
      </Empty>
    );
  }
  return <ErrorLine error={error} />;
}

function Loading() {
  return <div className="h-24 animate-pulse rounded bg-slate-800/60" />;
}

/** The detail (examples, histogram, logit lens, correlations): one request shared by the tabs. */
function useDetail(id: number) {
  return useQuery({ queryKey: ["features", id, "detail"], queryFn: ({ signal }) => featureDetail.detail(id, signal), staleTime: 60_000 });
}

function ExamplesTab({ feature }: { feature: Feature }) {
  const q = useDetail(feature.id);
  if (q.error) return <Unavailable error={q.error} />;
  if (!q.data) return <Loading />;
  const examples = q.data.examples;
  if (examples.length === 0) return <Empty>This latent never fired on the evaluation tokens.</Empty>;
  const max = Math.max(feature.max_activation ?? 0, ...examples.map((e) => e.value));
  const hist = q.data.histogram;
  return (
    <div className="space-y-2">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <ActivationLegend max={max} />
        <span className="text-[11px] text-slate-500">hover a token for its activation</span>
      </div>
      {hist.counts.length > 0 && (
        <div>
          <div className="mb-1 text-xs text-slate-400">Activation histogram (log-spaced bins)</div>
          <ActivationHistogram edges={hist.edges} counts={hist.counts} />
        </div>
      )}
      <div className="max-h-[45vh] space-y-1.5 overflow-y-auto" data-testid="examples">
        {examples.map((e, i) => (
          <div key={i} className="flex gap-3 rounded-md border border-slate-800 bg-slate-950/60 px-2 py-1.5">
            <span className="w-12 shrink-0 pt-0.5 text-right font-mono text-[11px] text-emerald-300">{formatNumber(e.value, 3)}</span>
            <TokenText tokens={e.tokens} acts={e.acts} max={max} center={e.center} />
          </div>
        ))}
      </div>
    </div>
  );
}

function LogitLensTab({ feature }: { feature: Feature }) {
  const d = useDetail(feature.id);
  if (d.error) return <Unavailable error={d.error} />;
  if (!d.data) return <Loading />;
  const q = { data: d.data.logitLens };
  const label = (t: { token: string }) => JSON.stringify(t.token).slice(1, -1);
  return (
    <div className="grid gap-4 md:grid-cols-2" data-testid="logit-lens">
      <div>
        <div className="mb-1 text-xs text-slate-400">Promoted tokens</div>
        <TokenBarChart data={q.data.positive.map((t) => ({ token: label(t), value: t.value }))} />
      </div>
      <div>
        <div className="mb-1 text-xs text-slate-400">Suppressed tokens</div>
        <TokenBarChart data={q.data.negative.map((t) => ({ token: label(t), value: t.value }))} />
      </div>
    </div>
  );
}

function CorrelationsTab({ feature }: { feature: Feature }) {
  const openFeature = useUi((s) => s.openFeature);
  const [error, setError] = useState<unknown>(null);
  const d = useDetail(feature.id);
  if (d.error) return <Unavailable error={d.error} />;
  if (!d.data) return <Loading />;
  const q = { data: d.data.correlations };
  if (q.data.length === 0) return <Empty>No correlated latents recorded.</Empty>;
  const open = async (c: CorrelatedFeature) => {
    setError(null);
    if (c.feature_id) return openFeature(c.feature_id);
    try {
      const res = await api.get<Page<Feature>>("/features", { extraction_id: feature.extraction_id, q: String(c.index), limit: 50 });
      const hit = res.items.find((f) => f.index === c.index);
      if (hit) openFeature(hit.id);
      else setError(`latent ${c.index} not found`);
    } catch (err) {
      setError(err);
    }
  };
  const kinds = [...new Set(q.data.map((c) => c.kind ?? "pearson"))];
  return (
    <div className="grid gap-4 md:grid-cols-3" data-testid="correlations">
      {kinds.map((kind) => (
        <div key={kind}>
          <div className="mb-1 text-xs text-slate-400">{kind === "pearson" ? "Co-activation (Pearson)" : kind === "jaccard" ? "Co-firing (Jaccard)" : "Decoder neighbours (cosine)"}</div>
          <ul className="space-y-0.5">
            {q.data
              .filter((c) => (c.kind ?? "pearson") === kind)
              .map((c) => (
                <li key={`${kind}-${c.index}`}>
                  <button
                    type="button"
                    className="flex w-full items-center justify-between rounded px-2 py-1 text-left text-sm hover:bg-slate-800"
                    onClick={() => void open(c)}
                    data-testid="correlated"
                  >
                    <span className="truncate">
                      <span className="font-mono text-xs text-slate-400">#{c.index}</span> {c.label ?? ""}
                    </span>
                    <span className="font-mono text-xs text-emerald-300">{formatNumber(c.value, 3)}</span>
                  </button>
                </li>
              ))}
          </ul>
        </div>
      ))}
      <ErrorLine error={error} className="md:col-span-3" />
    </div>
  );
}

function AblationTab({ feature }: { feature: Feature }) {
  const [prompt, setPrompt] = useState("def main():\n    ");
  const run = useMutation({ mutationFn: () => featureDetail.ablation(feature.id, { prompt, max_new_tokens: 20 }) });
  const r = run.data;
  const change = r ? (r.perplexity_ablated - r.perplexity_clean) / r.perplexity_clean : 0;
  return (
    <div className="space-y-3" data-testid="ablation">
      <Field label="Prompt for the completion comparison">
        <textarea rows={2} className="font-mono" value={prompt} onChange={(e) => setPrompt(e.target.value)} />
      </Field>
      <Button variant="primary" onClick={() => run.mutate()} disabled={run.isPending} data-testid="ablation-run">
        {run.isPending ? "Running…" : "Ablate this latent"}
      </Button>
      {run.error ? <Unavailable error={run.error} /> : null}
      {r && (
        <div className="space-y-3">
          <div className="grid grid-cols-3 gap-2">
            <Stat label="Perplexity (clean)" value={formatNumber(r.perplexity_clean)} />
            <Stat label="Perplexity (ablated)" value={formatNumber(r.perplexity_ablated)} />
            <Stat label="Change" value={`${change >= 0 ? "+" : ""}${formatNumber(change * 100, 3)}%`} />
          </div>
          <div className="grid gap-4 md:grid-cols-2">
            <div>
              <div className="mb-1 text-xs text-slate-400">Tokens made more likely without it</div>
              <TokenBarChart data={r.most_increased.map((t) => ({ token: JSON.stringify(t.token).slice(1, -1), value: t.value }))} />
            </div>
            <div>
              <div className="mb-1 text-xs text-slate-400">Tokens made less likely without it</div>
              <TokenBarChart data={r.most_decreased.map((t) => ({ token: JSON.stringify(t.token).slice(1, -1), value: t.value }))} />
            </div>
          </div>
          {(r.completion_clean !== null || r.completion_ablated !== null) && (
            <div className="grid gap-3 md:grid-cols-2">
              <div className="rounded-md border border-slate-800 p-2">
                <div className="mb-1 text-xs text-slate-400">Completion with the latent</div>
                <pre className="whitespace-pre-wrap font-mono text-xs text-slate-200">{r.completion_clean}</pre>
              </div>
              <div className="rounded-md border border-slate-800 p-2">
                <div className="mb-1 text-xs text-slate-400">Completion without it</div>
                <pre className="whitespace-pre-wrap font-mono text-xs text-slate-200">{r.completion_ablated}</pre>
              </div>
            </div>
          )}
        </div>
      )}
    </div>
  );
}

function ActivationHistogram({ edges, counts }: { edges: number[]; counts: number[] }) {
  // Log-spaced edges: label bins by their lower edge in compact scientific form.
  const first = counts.findIndex((c) => c > 0);
  const lo = Math.max(0, first - 1);
  return <HistogramChart bins={edges.slice(lo)} counts={counts.slice(lo)} height={110} decimals />;
}
