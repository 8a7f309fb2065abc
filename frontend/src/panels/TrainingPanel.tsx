/** Training: the configuration form (with compatibility check and live memory estimate), and
 * training cards with live charts over the WebSocket, progress, stop/retry/delete, checkpoints. */
import { useCallback, useEffect, useMemo, useState } from "react";
import { api } from "../api/client";
import {
  useActivationCaches,
  useApiMutation,
  useCheckpoints,
  useModels,
  useSaeArchitectures,
  useTokenizations,
  useTrainingEstimate,
  useTrainingMetrics,
  useTrainings,
} from "../api/hooks";
import type { Model, TemplateCreate, Training } from "../api/types";
import { MetricChart } from "../components/charts";
import { LayerGrid } from "../components/LayerGrid";
import { JobProgress } from "../components/ProgressBar";
import { Button, Card, Empty, ErrorLine, Field, Modal, PanelHeader, Stat, StatusPill, num } from "../components/ui";
import { architectureOf, modelWeightBytes } from "../lib/estimates";
import { formatBytes, formatCount, formatDate } from "../lib/format";
import { addEventMetrics, CHART_METRICS, mergeSeries, saeNames, seriesFromRows, type MetricSeries } from "../lib/metrics";
import {
  DEFAULT_FORM,
  dSaeOf,
  formFromTemplate,
  hookName,
  saeSpecs,
  trainingRequest,
  usesK,
  type TrainingForm,
} from "../lib/trainingForm";
import { useUi } from "../store/ui";
import type { WireMessage } from "../ws/socket";
import { HOOK_KINDS } from "../models/hookPoints";

const BUSY = new Set(["pending", "queued", "running"]);

export function TrainingPanel() {
  const trainings = useTrainings();
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const bulkDelete = useApiMutation(
    async (ids: number[]) => {
      const errors: string[] = [];
      for (const id of ids) {
        try {
          await api.del(`/trainings/${id}`);
        } catch (err) {
          errors.push((err as Error).message);
        }
      }
      if (errors.length) throw new Error(errors.join("; "));
    },
    ["trainings"],
    () => setSelected(new Set()),
  );
  const toggle = (id: number) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  };
  return (
    <div className="space-y-6">
      <PanelHeader title="Training" subtitle="Train sparse autoencoders on a model's activations, one per layer, in one pass." />
      <TrainingFormCard />
      <div className="flex items-center justify-between">
        <h2 className="text-sm font-semibold text-slate-200">Runs</h2>
        {selected.size > 0 && (
          <Button
            variant="danger"
            onClick={() => confirm(`Delete ${selected.size} training(s)?`) && bulkDelete.mutate([...selected])}
            data-testid="bulk-delete"
          >
            Delete {selected.size} selected
          </Button>
        )}
      </div>
      <ErrorLine error={trainings.error ?? bulkDelete.error} />
      <div className="space-y-4" data-testid="training-cards">
        {trainings.data?.items.map((t) => (
          <TrainingCard key={t.id} training={t} selected={selected.has(t.id)} onSelect={() => toggle(t.id)} />
        ))}
      </div>
      {trainings.data?.items.length === 0 && <Empty>No training runs yet.</Empty>}
    </div>
  );
}

function TrainingFormCard() {
  const models = useModels();
  const toks = useTokenizations({ status: "ready" });
  const caches = useActivationCaches();
  const architectures = useSaeArchitectures();
  const pending = useUi((s) => s.pendingTemplate);
  const loadTemplate = useUi((s) => s.loadTemplate);
  const setDraft = useUi((s) => s.setTrainingDraft);
  const [form, setForm] = useState<TrainingForm>(DEFAULT_FORM);
  const [showAdvanced, setShowAdvanced] = useState(false);
  const [saveOpen, setSaveOpen] = useState(false);
  const set = <K extends keyof TrainingForm>(key: K, value: TrainingForm[K]) => setForm((f) => ({ ...f, [key]: value }));

  // Load a template picked in the Templates panel.
  useEffect(() => {
    if (pending?.kind === "training") {
      setForm((f) => formFromTemplate(pending.config, f));
      void api.post(`/templates/${pending.id}/use`).catch(() => undefined);
      loadTemplate(null);
    }
  }, [pending, loadTemplate]);

  const tok = toks.data?.items.find((t) => t.id === form.tokenizationId) ?? toks.data?.items[0];
  const readyModels = models.data?.items.filter((m) => m.status === "ready") ?? [];
  const model: Model | undefined =
    readyModels.find((m) => m.id === form.modelId) ?? readyModels.find((m) => m.id === tok?.model_id) ?? readyModels[0];
  const tokModel = models.data?.items.find((m) => m.id === tok?.model_id);
  const arch = architectureOf(model);
  const dims = (model?.hook_dims ?? {}) as Record<string, number>;
  const widthOf = useCallback((hook: string) => dims[hook] ?? arch?.d_model ?? 0, [dims, arch]);
  const resolved: TrainingForm = { ...form, tokenizationId: tok?.id ?? null, modelId: model?.id ?? null };
  const saeArch = architectures.data?.find((a) => a.name === form.architecture);
  const specs = saeSpecs(resolved, widthOf, saeArch);
  const firstDin = widthOf(hookName(form.layers[0] ?? 0, form.hookKind));
  const compatible =
    !tok || !model
      ? null
      : !tok.tokenizer_fingerprint || !model.tokenizer_fingerprint
        ? tok.model_id === model.id
        : tok.tokenizer_fingerprint === model.tokenizer_fingerprint;
  const request = trainingRequest(resolved, widthOf, saeArch);
  // The server estimates memory from the architectures' own classes; "–" while the form is
  // incomplete (no model yet) or the config is invalid.
  const estimable = !!saeArch && !!model && firstDin > 0 && form.layers.length > 0;
  const estimate = useTrainingEstimate(estimable ? request.train : null, form.useCache ? 0 : modelWeightBytes(model));
  const memory = estimable && !estimate.isError ? estimate.data?.total : undefined;
  useEffect(() => setDraft({ form: resolved, request }), [JSON.stringify(resolved)]); // eslint-disable-line react-hooks/exhaustive-deps

  const create = useApiMutation(() => api.post("/trainings", request), ["trainings"]);
  const readyCaches = caches.data?.items.filter((c) => c.status === "ready" && c.tokenization_id === tok?.id) ?? [];
  const canStart = !!tok && !!model && !!saeArch && form.layers.length > 0 && compatible !== false && firstDin > 0;

  return (
    <Card title="New training" testId="training-form" actions={<Button onClick={() => setSaveOpen(true)} data-testid="save-template">Save as template</Button>}>
      <div className="grid gap-3 md:grid-cols-2 xl:grid-cols-4">
        <Field label="Tokenized dataset" hint={tok ? `tokenizer: ${tokModel?.name ?? "?"} · ${formatCount(tok.n_tokens)} tokens · length ${tok.max_length}` : "Tokenize a dataset first"}>
          <select value={tok?.id ?? ""} onChange={(e) => set("tokenizationId", Number(e.target.value))} data-testid="train-tokenization">
            {toks.data?.items.map((t) => (
              <option key={t.id} value={t.id}>
                {t.name}
              </option>
            ))}
          </select>
        </Field>
        <Field
          label="Model"
          hint={
            compatible === null ? undefined : compatible ? (
              <span className="text-emerald-400" data-testid="vocab-ok">✓ vocabulary matches the tokenization</span>
            ) : (
              <span className="text-rose-400" data-testid="vocab-mismatch">✗ tokenized with a different vocabulary: tokenize again with this model</span>
            )
          }
        >
          <select value={model?.id ?? ""} onChange={(e) => set("modelId", Number(e.target.value))} data-testid="train-model">
            {readyModels.map((m) => (
              <option key={m.id} value={m.id}>
                {m.name}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Architecture">
          <select value={form.architecture} onChange={(e) => set("architecture", e.target.value)} data-testid="train-architecture">
            {(architectures.data ?? [{ name: form.architecture, description: "" }]).map((a) => (
              <option key={a.name} value={a.name} title={a.description}>
                {a.name}
              </option>
            ))}
          </select>
        </Field>
        <Field label={saeArch?.reconstructs_other_hook ? "Input hook" : "Hook point"}>
          <select value={form.hookKind} onChange={(e) => set("hookKind", e.target.value)}>
            {HOOK_KINDS.map((k) => (
              <option key={k}>{k}</option>
            ))}
          </select>
        </Field>
        {saeArch?.reconstructs_other_hook && (
          <Field label="Output hook">
            <select value={form.hookKindOut} onChange={(e) => set("hookKindOut", e.target.value)}>
              {HOOK_KINDS.map((k) => (
                <option key={k}>{k}</option>
              ))}
            </select>
          </Field>
        )}
      </div>
      <div className="mt-4">
        <Field label={`Layers (${arch ? `${arch.n_layers} in ${model?.name}` : "load a model to see its layers"})`}>
          <LayerGrid layers={arch?.n_layers ?? 0} selected={form.layers} onChange={(l) => set("layers", l)} />
        </Field>
      </div>
      <div className="mt-4 grid gap-3 sm:grid-cols-3 xl:grid-cols-6">
        <Field label="d_in" hint="Width of the hook point">
          <input value={firstDin || ""} readOnly className="opacity-70" data-testid="train-d-in" />
        </Field>
        <Field label="Expansion ×">
          <input type="number" min={0.25} step={0.25} value={form.multiplier} onChange={(e) => setForm((f) => ({ ...f, multiplier: num(e.target.value) ?? 1, dSae: null }))} data-testid="train-multiplier" />
        </Field>
        <Field label="d_sae">
          <input type="number" min={1} value={dSaeOf(form, firstDin || 0)} onChange={(e) => set("dSae", num(e.target.value) ?? null)} data-testid="train-d-sae" />
        </Field>
        <Field label={usesK(saeArch) ? "k (L0)" : "Target L0"}>
          <input type="number" min={1} value={form.targetL0} onChange={(e) => set("targetL0", num(e.target.value) ?? 1)} data-testid="train-l0" />
        </Field>
        {saeArch?.sparsity_control === "penalty" && (
          <Field label="Sparsity coefficient" hint={form.autoSparsity ? "Tuned automatically to reach the target L0" : undefined}>
            <div className="flex items-center gap-2">
              <input type="checkbox" checked={form.autoSparsity} onChange={(e) => set("autoSparsity", e.target.checked)} title="auto" />
              <input type="number" className="w-full" disabled={form.autoSparsity} value={form.sparsityCoefficient} onChange={(e) => set("sparsityCoefficient", num(e.target.value) ?? 0)} />
            </div>
          </Field>
        )}
        <Field label="Learning rate">
          <input type="number" step="any" value={form.lr} onChange={(e) => set("lr", num(e.target.value) ?? 3e-4)} />
        </Field>
        <Field label="Batch (tokens)">
          <input type="number" min={1} value={form.batchTokens} onChange={(e) => set("batchTokens", num(e.target.value) ?? 1024)} data-testid="train-batch" />
        </Field>
        <Field label="Steps" hint={`${formatCount(form.steps * form.batchTokens)} tokens`}>
          <input type="number" min={1} value={form.steps} onChange={(e) => set("steps", num(e.target.value) ?? 1)} data-testid="train-steps" />
        </Field>
        <Field label="Tokens">
          <input type="number" min={1} value={form.steps * form.batchTokens} onChange={(e) => set("steps", Math.max(1, Math.round((num(e.target.value) ?? 0) / form.batchTokens)))} />
        </Field>
        <Field label="Warm-up steps">
          <input type="number" min={0} value={form.warmupSteps} onChange={(e) => set("warmupSteps", num(e.target.value) ?? 0)} />
        </Field>
        <Field label="Device">
          <select value={form.device} onChange={(e) => set("device", e.target.value)}>
            <option value="cpu">cpu</option>
            <option value="cuda">cuda</option>
          </select>
        </Field>
        <Field label="Name">
          <input value={form.name} onChange={(e) => set("name", e.target.value)} placeholder="auto" data-testid="train-name" />
        </Field>
      </div>
      <button type="button" className="mt-4 text-xs text-emerald-400 hover:text-emerald-300" onClick={() => setShowAdvanced(!showAdvanced)} data-testid="train-advanced">
        {showAdvanced ? "▾" : "▸"} Advanced
      </button>
      {showAdvanced && (
        <div className="mt-2 grid gap-3 sm:grid-cols-3 xl:grid-cols-6">
          <Field label="Normalisation">
            <select value={form.normalize} onChange={(e) => set("normalize", e.target.value as TrainingForm["normalize"])}>
              <option value="expected_average_only_in">expected average norm</option>
              <option value="none">none</option>
            </select>
          </Field>
          <Field label="LR decay">
            <select value={form.lrDecay} onChange={(e) => set("lrDecay", e.target.value as TrainingForm["lrDecay"])}>
              <option>linear</option>
              <option>cosine</option>
              <option>constant</option>
            </select>
          </Field>
          <Field label="Resample dead at steps" hint="Comma-separated">
            <input value={form.resampleSteps} onChange={(e) => set("resampleSteps", e.target.value)} placeholder="e.g. 1000,2000" />
          </Field>
          <Field label="Gradient clipping" hint="Empty: off">
            <input type="number" step="any" value={form.gradClip ?? ""} onChange={(e) => set("gradClip", num(e.target.value) ?? null)} />
          </Field>
          <Field label="Checkpoint every (steps)" hint="Empty: at the end">
            <input type="number" min={1} value={form.checkpointEvery ?? ""} onChange={(e) => set("checkpointEvery", num(e.target.value) ?? null)} />
          </Field>
          <Field label="LM batch (sequences)">
            <input type="number" min={1} value={form.lmBatchSize} onChange={(e) => set("lmBatchSize", num(e.target.value) ?? 8)} />
          </Field>
          <Field label="Shuffle buffer (tokens)" hint="Filled before the first step">
            <input type="number" min={1} value={form.bufferTokens} onChange={(e) => set("bufferTokens", num(e.target.value) ?? 65_536)} data-testid="train-buffer" />
          </Field>
          <Field label="Final eval tokens">
            <input type="number" min={0} value={form.finalEvalTokens} onChange={(e) => set("finalEvalTokens", num(e.target.value) ?? 0)} />
          </Field>
          <Field label="Eval sequences">
            <input type="number" min={0} value={form.evalSequences} onChange={(e) => set("evalSequences", num(e.target.value) ?? 0)} />
          </Field>
          <Field label="Activations" hint={readyCaches.length ? undefined : "No ready cache for this tokenization"}>
            <select
              value={form.useCache && form.activationCacheId ? String(form.activationCacheId) : ""}
              onChange={(e) => setForm((f) => ({ ...f, useCache: !!e.target.value, activationCacheId: num(e.target.value) ?? null }))}
            >
              <option value="">stream live from the model</option>
              {readyCaches.map((c) => (
                <option key={c.id} value={c.id}>
                  cache {c.name}
                </option>
              ))}
            </select>
          </Field>
        </div>
      )}
      <div className="mt-4 grid grid-cols-2 gap-2 md:grid-cols-4">
        <Stat label="SAEs" value={specs.length} />
        <Stat label="Latents each" value={formatCount(specs[0]?.sae.d_sae ?? 0)} />
        <Stat label="Memory estimate" value={<span data-testid="memory-estimate">{memory === undefined ? "–" : formatBytes(memory)}</span>} />
        <Stat label="Tokens" value={formatCount(form.steps * form.batchTokens)} />
      </div>
      <div className="mt-4 flex items-center gap-3">
        <Button variant="primary" disabled={!canStart || create.isPending} onClick={() => create.mutate(undefined)} data-testid="train-start">
          Start training
        </Button>
        <ErrorLine error={create.error} className="flex-1" />
      </div>
      {saveOpen && <SaveTemplateDialog kind="training" config={{ form: resolved, request }} onClose={() => setSaveOpen(false)} />}
    </Card>
  );
}

export function SaveTemplateDialog({
  kind,
  config,
  onClose,
}: {
  kind: TemplateCreate["kind"];
  config: Record<string, unknown>;
  onClose: () => void;
}) {
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const create = useApiMutation((body: TemplateCreate) => api.post("/templates", body), ["templates"], () => onClose());
  return (
    <Modal
      title="Save as template"
      onClose={onClose}
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button
            variant="primary"
            disabled={!name.trim() || create.isPending}
            onClick={() => create.mutate({ kind, name: name.trim(), description: description.trim() || null, config })}
            data-testid="template-save"
          >
            Save
          </Button>
        </>
      }
    >
      <Field label="Name">
        <input autoFocus value={name} onChange={(e) => setName(e.target.value)} data-testid="template-name" />
      </Field>
      <Field label="Description">
        <textarea rows={2} value={description} onChange={(e) => setDescription(e.target.value)} />
      </Field>
      <ErrorLine error={create.error} />
    </Modal>
  );
}

function TrainingCard({ training: t, selected, onSelect }: { training: Training; selected: boolean; onSelect: () => void }) {
  const metrics = useTrainingMetrics(t.id);
  const [series, setSeries] = useState<MetricSeries>({});
  const [showCheckpoints, setShowCheckpoints] = useState(false);
  const checkpoints = useCheckpoints(t.id, showCheckpoints);
  const remove = useApiMutation(() => api.del(`/trainings/${t.id}`), ["trainings"]);
  useEffect(() => {
    if (metrics.data) setSeries((live) => mergeSeries(seriesFromRows(metrics.data), live));
  }, [metrics.data]);
  const onEvent = useCallback((m: WireMessage) => {
    if (m.type === "progress" && m.data) setSeries((s) => addEventMetrics(s, m.data as Record<string, unknown>));
  }, []);
  const saes = useMemo(() => saeNames(series), [series]);
  const train = (t.config as { train?: { saes?: { hook_name: string; sae: { architecture: string; d_sae: number } }[] } }).train;
  const specs = train?.saes ?? [];
  const busy = BUSY.has(t.status);
  const result = t.result as Record<string, unknown>;
  const loss = series.loss;
  const liveStep = loss?.length ? loss[loss.length - 1].step : 0;
  return (
    <Card
      testId={`training-${t.id}`}
      title={
        <div className="flex items-center gap-2">
          <input type="checkbox" checked={selected} onChange={onSelect} aria-label={`select training ${t.name}`} />
          <span className="truncate">{t.name}</span>
          {!busy && <StatusPill status={t.status} />}
          <span className="font-normal text-slate-500">{formatDate(t.created_at)}</span>
        </div>
      }
      actions={
        <>
          <Button variant="ghost" onClick={() => setShowCheckpoints(!showCheckpoints)}>
            Checkpoints
          </Button>
          {!busy && (
            <Button variant="ghost" className="text-rose-300" onClick={() => confirm(`Delete training ${t.name}?`) && remove.mutate(undefined)}>
              Delete
            </Button>
          )}
        </>
      }
    >
      <div className="mb-3 flex flex-wrap gap-1.5 text-[11px]">
        {specs.map((s) => (
          <span key={s.hook_name} className="rounded bg-slate-800 px-1.5 py-0.5 font-mono text-slate-300">
            {s.sae.architecture} · {s.hook_name} · {formatCount(s.sae.d_sae)}
          </span>
        ))}
        <span className="ml-auto font-mono text-slate-400" data-testid="training-step">
          {busy && liveStep > t.step
            ? `step ${formatCount(liveStep)} / ${formatCount(t.total_steps)}`
            : `step ${formatCount(t.step)} / ${formatCount(t.total_steps)} · ${formatCount(t.tokens_seen)} tokens`}
        </span>
      </div>
      <JobProgress jobId={t.job_id} onEvent={onEvent} />
      {t.error && !busy && !t.job_id && <ErrorLine error={t.error} />}
      <div className="mt-3 grid gap-2 md:grid-cols-3 xl:grid-cols-5" data-testid="training-charts">
        {CHART_METRICS.map((c) => (
          <MetricChart key={c.name} title={c.title} data={series[c.name] ?? []} series={saes} log={c.log} height={120} />
        ))}
      </div>
      {result?.stopped === true && <p className="mt-2 text-xs text-amber-300">Stopped at step {formatCount(t.step)}; retry resumes from the last checkpoint.</p>}
      {Array.isArray(result?.sae_ids) && (result.sae_ids as number[]).length > 0 && (
        <p className="mt-2 text-xs text-slate-400">
          Produced SAE{(result.sae_ids as number[]).length > 1 ? "s" : ""} {(result.sae_ids as number[]).map((id) => `#${id}`).join(", ")}: see the SAEs panel for their evaluations.
        </p>
      )}
      {showCheckpoints && (
        <div className="mt-3 rounded-md border border-slate-800 p-2 text-xs">
          <ErrorLine error={checkpoints.error} />
          {checkpoints.data?.length === 0 && <span className="text-slate-500">No checkpoints yet.</span>}
          {checkpoints.data?.map((c) => (
            <div key={c.id} className="flex gap-4 font-mono text-slate-300">
              <span>step {formatCount(c.step)}</span>
              <span className="truncate text-slate-500">{c.path}</span>
              <span className="ml-auto text-slate-500">{formatDate(c.created_at)}</span>
            </div>
          ))}
        </div>
      )}
      <ErrorLine error={remove.error} className="mt-2" />
    </Card>
  );
}

