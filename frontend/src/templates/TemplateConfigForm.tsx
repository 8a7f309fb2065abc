/**
 * The form of a template's config, by kind: the same form as the panel the template belongs to
 * (the training form, the Extract dialog's fields, the steering form, the steering prompt editor;
 * a labelling prompt's fields one by one). Each hands a builder of the config to `onConfig` as it
 * changes; none starts a job.
 */
import type { TemplateKind } from "../api/types";
import { formFromPreset } from "../steering/formState";
import { SteeringForm } from "../steering/SteeringForm";
import { TrainingFormCard } from "../training/TrainingFormCard";
import { ExtractionTemplateForm } from "./ExtractionTemplateForm";
import { LabelingPromptTemplateForm } from "./LabelingPromptTemplateForm";
import { PromptSetTemplateForm } from "./PromptSetTemplateForm";

export function TemplateConfigForm({
  kind,
  initial,
  onConfig,
}: {
  kind: TemplateKind;
  initial: Record<string, unknown>;
  onConfig: (build: () => Record<string, unknown>) => void;
}) {
  switch (kind) {
    case "training":
      return <TrainingFormCard initial={initial} onConfig={onConfig} />;
    case "extraction":
      return <ExtractionTemplateForm initial={initial} onConfig={onConfig} />;
    case "labeling_prompt":
      return <LabelingPromptTemplateForm initial={initial} onConfig={onConfig} />;
    case "steering_prompt":
      return <PromptSetTemplateForm initial={initial} onConfig={onConfig} />;
    case "steering":
      return <SteeringForm initial={formFromPreset(initial)} onConfig={onConfig} />;
  }
}
