/**
 * The features a steering run intervenes on, as the form holds them: mode, strength (absolute or
 * relative to the feature's max activation), and the sweep strengths typed as "0, 2, 4".
 */
import type { Extraction, Feature } from "../api/types";

export type Mode = "add" | "clamp" | "suppress";

export interface PickedFeature {
  sae_id: number;
  extraction_id: number | null;
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
