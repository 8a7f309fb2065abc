/**
 * The advanced training settings: normalisation, LR decay, the dead-latent window, resampling
 * (for architectures that support it), clipping, checkpoints, LM
 * batch, shuffle buffer, evaluation, and streaming live or reading a cached activation set.
 */
import type { Dispatch, SetStateAction } from "react";
import type { ActivationCache } from "../api/types";
import { Field, IdOptions, num } from "../components/ui";
import { DEFAULT_FORM, type TrainingForm } from "../lib/trainingForm";

export function AdvancedFields({
  form,
  set,
  setForm,
  readyCaches,
  resampling = true,
}: {
  form: TrainingForm;
  set: <K extends keyof TrainingForm>(key: K, value: TrainingForm[K]) => void;
  setForm: Dispatch<SetStateAction<TrainingForm>>;
  readyCaches: ActivationCache[];
  /** The architecture can re-initialise dead latents at given steps (its facts). */
  resampling?: boolean;
}) {
  return (
    <div className="mt-2 grid gap-3 sm:grid-cols-3 xl:grid-cols-6">
      <Field label="Normalisation">
        <select value={form.normalize} onChange={(e) => set("normalize", e.target.value as TrainingForm["normalize"])}>
          <option value="expected_average_only_in" title="inputs scaled so their average norm is √d_in (SAELens expected_average_only_in)">
            scale to √d_in
          </option>
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
      <Field label="Dead after (tokens)" hint="Not fired for this many tokens: dead (AuxK, resampling, chart)">
        <input type="number" min={1} value={form.deadWindowTokens} onChange={(e) => set("deadWindowTokens", Math.max(1, num(e.target.value) ?? DEFAULT_FORM.deadWindowTokens))} data-testid="train-dead-window" />
      </Field>
      {resampling ? (
        <Field label="Resample dead at steps" hint="Comma-separated">
          <input value={form.resampleSteps} onChange={(e) => set("resampleSteps", e.target.value)} placeholder="e.g. 1000,2000" data-testid="train-resample" />
        </Field>
      ) : (
        <Field label="Resample dead at steps" hint={`${form.architecture} handles dead latents itself (no resampling)`}>
          <input value="" disabled placeholder="n/a" data-testid="train-resample" />
        </Field>
      )}
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
        <input type="number" min={1} value={form.bufferTokens} onChange={(e) => set("bufferTokens", num(e.target.value) ?? DEFAULT_FORM.bufferTokens)} data-testid="train-buffer" />
      </Field>
      <Field label="Final eval tokens">
        <input type="number" min={0} value={form.finalEvalTokens} onChange={(e) => set("finalEvalTokens", num(e.target.value) ?? 0)} />
      </Field>
      <Field label="Eval sequences">
        <input type="number" min={0} value={form.evalSequences} onChange={(e) => set("evalSequences", num(e.target.value) ?? 0)} />
      </Field>
      <Field label="Activations" className="sm:col-span-2" hint={readyCaches.length ? undefined : "No ready cache for this tokenization"}>
        <select
          value={form.useCache && form.activationCacheId ? String(form.activationCacheId) : ""}
          onChange={(e) => setForm((f) => ({ ...f, useCache: !!e.target.value, activationCacheId: num(e.target.value) ?? null }))}
        >
          <option value="">stream live from the model</option>
          <IdOptions items={readyCaches} label={(c) => `cache ${c.name}`} />
        </select>
      </Field>
    </div>
  );
}
