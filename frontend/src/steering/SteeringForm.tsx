/**
 * A steering run's form: pick features from an extraction, set their interventions, the prompts
 * (or a prompt template with values), sampling and sweep; Run starts it. The same form edits a
 * steering preset in the Templates panel: given `onConfig`, it starts from `initial`, starts
 * nothing, shows no preset bar or Run, and hands the preset config (`{form, request}`) to
 * `onConfig` as it changes.
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

export function SteeringForm({
  onStarted,
  initial,
  onConfig,
}: {
  onStarted?: (id: number) => void;
  initial?: SteeringFormState;
  /** Template mode: receives a builder of the preset config (it throws a malformed sweep's line). */
  onConfig?: (build: () => Record<string, unknown>) => void;
}) {
  const [form, setForm] = useState<SteeringFormState>(initial ?? DEFAULT_STEERING_FORM);
  const { ready, extractionId, setExtractionId } = useExtractionChoice(initial?.extractionId ?? null);
  const extraction = ready.find((e) => e.id === extractionId);
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
    if (onConfig || (pending?.kind !== "steering" && pending?.kind !== "steering_prompt")) return;
    if (pending.kind === "steering") load(pending.config);
    else set(promptsFrom(pending.config) ?? {});
    markTemplateUsed(pending.id, client);
    loadTemplate(null);
  }, [pending]); // eslint-disable-line react-hooks/exhaustive-deps

  const addFeatures = (fs: Feature[], strength: number) => {
    if (extraction) set({ picked: withFeatures(form.picked, fs, extraction, strength) });
  };
  const key = JSON.stringify(state);
  useEffect(() => onConfig?.(() => presetConfig(JSON.parse(key) as SteeringFormState)), [key]); // eslint-disable-line react-hooks/exhaustive-deps
  const start = useStartSteering((run) => onStarted?.(run.id));
  const submit = () =>
    start.mutate(() => steeringRequest(state));

  const body = (
    <div className="space-y-4">
      {!onConfig && <PresetBar config={() => presetConfig(state)} onLoad={(config) => load(config)} />}
      <FeaturePicker ready={ready} extractionId={extractionId} setExtractionId={setExtractionId} onAdd={addFeatures} />
      <PickedFeatures picked={form.picked} setPicked={(picked) => set({ picked })} />
      <PromptEditor value={form} onChange={set} sets={!onConfig} />
      <GenerationFields gen={form.gen} setGen={(gen) => set({ gen })} sweep={form.sweep} setSweep={(sweep) => set({ sweep })} />
      {!onConfig && (
        <>
          <ErrorLine error={start.error} />
          <div className="flex justify-end">
            <Button variant="primary" onClick={submit} disabled={start.isPending} data-testid="steering-run">
              Run
            </Button>
          </div>
        </>
      )}
    </div>
  );
  return onConfig ? (
    body
  ) : (
    <Card title="New steering run" testId="steering-form">
      {body}
    </Card>
  );
}
