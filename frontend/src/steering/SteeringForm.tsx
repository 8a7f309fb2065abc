/**
 * A steering run's form: pick features from an extraction, set their interventions, the prompts
 * (or a prompt template with values), sampling and sweep; Run starts it. The same form edits a
 * steering preset in the Templates panel: given `save`, it starts nothing, shows no preset bar,
 * and its button hands the preset config (`{form, request}`) to `save`.
 */
import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import type { Feature } from "../api/types";
import { Button, Card, ErrorLine } from "../components/ui";
import { useExtractionChoice } from "../features/queries";
import { useUi } from "../store/ui";
import { markTemplateUsed } from "../templates/queries";
import { FeaturePicker } from "./FeaturePicker";
import { DEFAULT_STEERING_FORM, type SteeringFormState, formFromPreset, presetConfig, promptsFrom, steeringRequest } from "./formState";
import { GenerationFields } from "./GenerationFields";
import { PickedFeatures } from "./PickedFeatures";
import { PresetBar } from "./PresetBar";
import { PromptEditor } from "./PromptEditor";
import { withFeatures } from "./picking";
import { useStartSteering } from "./queries";

export interface SaveAction {
  label: string;
  pending?: boolean;
  save: (config: Record<string, unknown>) => void;
}

export function SteeringForm({ onStarted, initial, save }: { onStarted?: (id: number) => void; initial?: SteeringFormState; save?: SaveAction }) {
  const [form, setForm] = useState<SteeringFormState>(initial ?? DEFAULT_STEERING_FORM);
  const { ready, extractionId, setExtractionId } = useExtractionChoice(initial?.extractionId ?? null);
  const extraction = ready.find((e) => e.id === extractionId);
  const [formError, setFormError] = useState<string | null>(null);
  const set = (patch: Partial<SteeringFormState>) => setForm((f) => ({ ...f, ...patch }));
  const state: SteeringFormState = { ...form, extractionId };
  const load = (config: Record<string, unknown>) => {
    const next = formFromPreset(config, state);
    setForm(next);
    if (next.extractionId !== null) setExtractionId(next.extractionId);
  };

  // A preset or prompt set picked with "Load into form" in the Templates panel.
  const pending = useUi((s) => s.pendingTemplate);
  const loadTemplate = useUi((s) => s.loadTemplate);
  const client = useQueryClient();
  useEffect(() => {
    if (save || (pending?.kind !== "steering" && pending?.kind !== "steering_prompt")) return;
    if (pending.kind === "steering") load(pending.config);
    else set(promptsFrom(pending.config) ?? {});
    markTemplateUsed(pending.id, client);
    loadTemplate(null);
  }, [pending]); // eslint-disable-line react-hooks/exhaustive-deps

  const addFeatures = (fs: Feature[], strength: number) => {
    if (extraction) set({ picked: withFeatures(form.picked, fs, extraction, strength) });
  };
  const start = useStartSteering((run) => onStarted?.(run.id));
  const submit = () => {
    if (save) {
      try {
        setFormError(null);
        save.save(presetConfig(state));
      } catch (e) {
        setFormError((e as Error).message);
      }
      return;
    }
    start.mutate(() => {
      setFormError(null);
      return steeringRequest(state);
    });
  };

  const body = (
    <div className="space-y-4">
      {!save && <PresetBar config={() => presetConfig(state)} onLoad={(config) => load(config)} />}
      <FeaturePicker ready={ready} extractionId={extractionId} setExtractionId={setExtractionId} onAdd={addFeatures} />
      <PickedFeatures picked={form.picked} setPicked={(picked) => set({ picked })} />
      <PromptEditor value={form} onChange={set} sets={!save} />
      <GenerationFields gen={form.gen} setGen={(gen) => set({ gen })} sweep={form.sweep} setSweep={(sweep) => set({ sweep })} />
      {formError && <ErrorLine error={formError} />}
      {!save && <ErrorLine error={start.error} />}
      <div className="flex justify-end">
        {save ? (
          <Button variant="primary" onClick={submit} disabled={save.pending} data-testid="template-form-save">
            {save.label}
          </Button>
        ) : (
          <Button variant="primary" onClick={submit} disabled={start.isPending} data-testid="steering-run">
            Run
          </Button>
        )}
      </div>
    </div>
  );
  return save ? (
    body
  ) : (
    <Card title="New steering run" testId="steering-form">
      {body}
    </Card>
  );
}
