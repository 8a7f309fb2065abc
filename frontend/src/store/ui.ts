/** UI state (Zustand): the open panel (mirrored in the URL hash), selections, pending template. */
import { create } from "zustand";

export const PANELS = [
  { id: "datasets", label: "Datasets" },
  { id: "models", label: "Models" },
  { id: "training", label: "Training" },
  { id: "saes", label: "SAEs" },
  { id: "lab", label: "SAE lab" },
  { id: "features", label: "Features" },
  { id: "labeling", label: "Labeling" },
  { id: "steering", label: "Steering" },
  { id: "templates", label: "Templates" },
  { id: "system", label: "System" },
] as const;

export type PanelId = (typeof PANELS)[number]["id"];

export function panelFromHash(hash: string): PanelId {
  const id = hash.replace(/^#\/?/, "").split("/")[0];
  return (PANELS.find((p) => p.id === id)?.id ?? "datasets") as PanelId;
}

/** A template picked in the Templates panel, waiting for its form to load it. */
export interface PendingTemplate {
  kind: string;
  id: number;
  config: Record<string, unknown>;
}

/** Filters the feature browser applies when it next opens (a labelling run's "View features"). */
export interface FeatureFilterRequest {
  /** Only latents this labelling run labelled. */
  labelingId?: number;
  /** Score band of that run's labels (inclusive). */
  minScore?: number;
  maxScore?: number;
  /** How the browser names the filter ("run #4 · high"). */
  title?: string;
}

interface UiState {
  panel: PanelId;
  setPanel: (panel: PanelId) => void;
  extractionId: number | null;
  setExtractionId: (id: number | null) => void;
  featureId: number | null;
  openFeature: (id: number | null) => void;
  /** SAE to preselect in the extraction dialog (set by "Extract features" on the SAEs panel). */
  extractSaeId: number | null;
  setExtractSaeId: (id: number | null) => void;
  pendingTemplate: PendingTemplate | null;
  loadTemplate: (t: PendingTemplate | null) => void;
  /** Filters for the feature browser to take over (then cleared by it). */
  featureFilter: FeatureFilterRequest | null;
  setFeatureFilter: (filter: FeatureFilterRequest | null) => void;
  /** Show examples token by token (BPE pieces) instead of word by word, everywhere. */
  rawTokens: boolean;
  setRawTokens: (raw: boolean) => void;
  /** The training form's current config, for "save as template". */
  trainingDraft: Record<string, unknown> | null;
  setTrainingDraft: (draft: Record<string, unknown> | null) => void;
}

export const useUi = create<UiState>((set) => ({
  panel: typeof window === "undefined" ? "datasets" : panelFromHash(window.location.hash),
  setPanel: (panel) => {
    if (typeof window !== "undefined" && panelFromHash(window.location.hash) !== panel) {
      window.location.hash = `#/${panel}`;
    }
    set({ panel });
  },
  extractionId: null,
  setExtractionId: (extractionId) => set({ extractionId, featureId: null }),
  featureId: null,
  openFeature: (featureId) => set({ featureId }),
  extractSaeId: null,
  setExtractSaeId: (extractSaeId) => set({ extractSaeId }),
  pendingTemplate: null,
  loadTemplate: (pendingTemplate) => set({ pendingTemplate }),
  featureFilter: null,
  setFeatureFilter: (featureFilter) => set({ featureFilter }),
  rawTokens: false,
  setRawTokens: (rawTokens) => set({ rawTokens }),
  trainingDraft: null,
  setTrainingDraft: (trainingDraft) => set({ trainingDraft }),
}));
