/**
 * A new training: tokenization, model, layers and hook kind, SAE architecture and its sparsity
 * setting, with the tokenizer compatibility check and the run's plan (sparsity, memory per hook
 * against free memory, measured time: TrainingPlan); the request is
 * built by lib/trainingForm, and the form's state is the Templates panel's training draft.
 * Given `onConfig`, the same form edits a training template in the Templates panel: it starts
 * from `initial`, starts nothing and keeps no draft, and hands `{form, request}` to `onConfig`
 * as it changes.
 */
import { useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useState } from "react";
import { useActivationCaches, useModels, useTokenizations } from "../api/hooks";
import type { Model } from "../api/types";
import { LayerGrid } from "../components/LayerGrid";
import { Button, Card, ErrorLine, Field, Stat, num, IdOptions } from "../components/ui";
import { architectureOf, modelWeightBytes } from "../lib/estimates";
import { formatBytes, formatCount } from "../lib/format";
import {
  DEFAULT_FORM,
  defaultTokenization,
  dSaeOf,
  extraParameters,
  formFromTemplate,
  hookName,
  saeSpecs,
  trainingInputProblem,
  trainingRequest,
  usesK,
  type TrainingForm,
} from "../lib/trainingForm";
import { useUi } from "../store/ui";
import { HOOK_KINDS } from "../models/hookPoints";
import { SaveTemplateDialog } from "../templates/SaveTemplateDialog";
import { useStartTraining, useTrainingEstimate } from "./queries";
import { useSaeArchitectures } from "../saes/queries";
import { markTemplateUsed } from "../templates/queries";
import { AdvancedFields } from "./AdvancedFields";
import { DeviceField } from "./DeviceField";
import { RanksField } from "./RanksField";
import { TrainingPlan } from "./TrainingPlan";

export function TrainingFormCard({
  initial,
  onConfig,
}: {
  initial?: Record<string, unknown>;
  onConfig?: (build: () => Record<string, unknown>) => void;
} = {}) {
  const models = useModels();
  const toks = useTokenizations({ status: "ready" });
  const caches = useActivationCaches();
  const architectures = useSaeArchitectures();
  const pending = useUi((s) => s.pendingTemplate);
  const loadTemplate = useUi((s) => s.loadTemplate);
  const setDraft = useUi((s) => s.setTrainingDraft);
  const client = useQueryClient();
  // The form outlives the panel: leaving Training and coming back restores what was typed (the
  // draft in the UI store, which the Templates panel also reads).
  const [form, setForm] = useState<TrainingForm>(() => {
    if (onConfig) return initial ? formFromTemplate(initial, DEFAULT_FORM) : DEFAULT_FORM;
    const edited = useUi.getState().trainingDraft?.edited as Partial<TrainingForm> | undefined;
    return edited ? { ...DEFAULT_FORM, ...edited } : DEFAULT_FORM;
  });
  const [showAdvanced, setShowAdvanced] = useState(false);
  const [saveOpen, setSaveOpen] = useState(false);
  const set = <K extends keyof TrainingForm>(key: K, value: TrainingForm[K]) => setForm((f) => ({ ...f, [key]: value }));
  const setDevice = useCallback((device: string) => setForm((f) => ({ ...f, device })), []);

  // Load a template picked in the Templates panel.
  useEffect(() => {
    if (pending?.kind === "training" && !onConfig) {
      setForm((f) => formFromTemplate(pending.config, f));
      markTemplateUsed(pending.id, client);
      loadTemplate(null);
    }
  }, [pending, loadTemplate, client]); // eslint-disable-line react-hooks/exhaustive-deps

  const readyModels = models.data?.items.filter((m) => m.status === "ready") ?? [];
  // Until one is chosen, the tokenization that can serve this run (for the chosen model), not
  // merely the newest; the chosen one is checked against what the run needs before Start.
  const chosenModelId = readyModels.find((m) => m.id === form.modelId)?.id ?? null;
  const tok = toks.data?.items.find((t) => t.id === form.tokenizationId) ?? defaultTokenization(toks.data?.items ?? [], form, chosenModelId);
  const inputProblem = tok ? trainingInputProblem(form, tok) : null;
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
  useEffect(() => (onConfig ? onConfig(() => ({ form: resolved, request })) : setDraft({ form: resolved, request, edited: form })), [JSON.stringify(resolved), JSON.stringify(form)]); // eslint-disable-line react-hooks/exhaustive-deps

  const create = useStartTraining();
  const readyCaches = caches.data?.items.filter((c) => c.status === "ready" && c.tokenization_id === tok?.id) ?? [];
  const ranks = request.run?.devices?.length ?? 1;
  const canStart =
    !!tok && !!model && !!saeArch && form.layers.length > 0 && compatible !== false && firstDin > 0 && !inputProblem && form.batchTokens % ranks === 0;

  return (
    <Card title={onConfig ? "Training" : "New training"} testId="training-form" actions={!onConfig && <Button onClick={() => setSaveOpen(true)} data-testid="save-template">Save as template</Button>}>
      <div className="grid gap-3 md:grid-cols-2 xl:grid-cols-4">
        <Field label="Tokenized dataset" hint={tok ? `tokenizer: ${tokModel?.name ?? "?"} · ${formatCount(tok.n_sequences)} sequences · ${formatCount(tok.n_tokens)} tokens · length ${tok.max_length}` : "Tokenize a dataset first"}>
          <select value={tok?.id ?? ""} onChange={(e) => set("tokenizationId", Number(e.target.value))} data-testid="train-tokenization">
            <IdOptions items={toks.data?.items} />
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
            <IdOptions items={readyModels} />
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
        <DeviceField value={form.device} onChange={setDevice} />
        <RanksField form={form} onChange={(next) => setForm((f) => ({ ...f, ...next }))} />
        <Field label="Name">
          <input value={form.name} onChange={(e) => set("name", e.target.value)} placeholder="auto" data-testid="train-name" />
        </Field>
      </div>
      {extraParameters(saeArch).length > 0 && (
        <div className="mt-3 grid gap-3 md:grid-cols-2" data-testid="train-arch-params">
          {extraParameters(saeArch).map((p) => (
            <Field key={p.name} label={p.name} hint={p.doc}>
              <input
                value={form.archParams?.[p.name] ?? ""}
                onChange={(e) => set("archParams", { ...form.archParams, [p.name]: e.target.value })}
                placeholder={p.isList ? "default (numbers, comma-separated)" : "default"}
                data-testid={`train-param-${p.name}`}
              />
            </Field>
          ))}
        </div>
      )}
      <button type="button" className="mt-4 text-xs text-emerald-400 hover:text-emerald-300" onClick={() => setShowAdvanced(!showAdvanced)} data-testid="train-advanced">
        {showAdvanced ? "▾" : "▸"} Advanced
      </button>
      {showAdvanced && <AdvancedFields form={form} set={set} setForm={setForm} readyCaches={readyCaches} resampling={saeArch?.supports_resampling ?? true} />}
      <div className="mt-4 grid grid-cols-2 gap-2 md:grid-cols-4">
        <Stat label="SAEs" value={specs.length} />
        <Stat label="Latents each" value={formatCount(specs[0]?.sae.d_sae ?? 0)} />
        <Stat label="Memory estimate" value={<span data-testid="memory-estimate">{memory === undefined ? "–" : formatBytes(memory)}</span>} />
        <Stat label="Tokens" value={formatCount(form.steps * form.batchTokens)} />
      </div>
      <TrainingPlan request={request} estimate={estimable && !estimate.isError ? estimate.data : undefined} streams={!form.useCache} ready={canStart} />
      {inputProblem && (
        <p className="mt-3 text-xs text-amber-300" role="alert" data-testid="train-input-problem">
          {inputProblem}
        </p>
      )}
      {!onConfig && (
        <div className="mt-4 flex items-center gap-3">
          <Button variant="primary" disabled={!canStart || create.isPending} onClick={() => create.mutate(request)} data-testid="train-start">
            Start training
          </Button>
          <ErrorLine error={create.error} className="flex-1" />
        </div>
      )}
      {saveOpen && <SaveTemplateDialog kind="training" config={{ form: resolved, request }} onClose={() => setSaveOpen(false)} />}
    </Card>
  );
}
