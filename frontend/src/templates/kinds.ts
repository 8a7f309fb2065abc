/** The template kinds the studio saves, their labels, and the panel whose form each one loads into. */
import type { TemplateKind } from "../api/types";
import { type PanelId } from "../store/ui";

export const KINDS: { id: TemplateKind; label: string; panel: PanelId | null }[] = [
  { id: "training", label: "Training", panel: "training" },
  { id: "extraction", label: "Extraction", panel: "features" },
  { id: "labeling_prompt", label: "Labelling prompt", panel: "labeling" },
  { id: "steering_prompt", label: "Steering prompt", panel: "steering" },
  { id: "steering", label: "Steering preset", panel: "steering" },
];
