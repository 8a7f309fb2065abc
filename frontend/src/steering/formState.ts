/**
 * Everything the steering form holds, as one value: the request it makes, the preset it saves
 * (a template of kind `steering`: `{form, request}`, the form to load back and the request a
 * script can send as is) and the form a saved preset or prompt set loads back into.
 */
import type { SteeringCreate } from "../api/types";
import { num } from "../components/ui";
import { type PickedFeature, parseStrengths } from "./picking";
import { EMPTY_TEMPLATE, type TemplateDraft, templateDraft, templateProblem, templateRequest } from "./promptTemplate";

export type PromptMode = "prompts" | "template";

export interface GenerationValues {
  max_new_tokens: string;
  temperature: string;
  top_p: string;
  seed: string;
}

export interface SteeringFormState {
  extractionId: number | null;
  picked: PickedFeature[];
  promptMode: PromptMode;
  prompts: string[];
  template: TemplateDraft;
  gen: GenerationValues;
  /** Sweep strengths as typed ("0, 2, 4"); empty: the features' own strengths. */
  sweep: string;
}

export const DEFAULT_STEERING_FORM: SteeringFormState = {
  extractionId: null,
  picked: [],
  promptMode: "prompts",
  prompts: ["The weather today is"],
  template: EMPTY_TEMPLATE,
  gen: { max_new_tokens: "40", temperature: "0.7", top_p: "0.9", seed: "0" },
  sweep: "",
};

/** The request body of the form as it stands (no completeness checks: a preset may hold no
 * feature yet); a malformed sweep throws its one line. */
export function steeringBody(s: SteeringFormState): SteeringCreate {
  const strengths = parseStrengths(s.sweep);
  if (strengths === null) throw new Error("sweep strengths: numbers separated by commas, e.g. 0,2,4,8,16");
  const template = s.promptMode === "template";
  return {
    features: s.picked.map((p) => ({ sae_id: p.sae_id, extraction_id: p.extraction_id, index: p.index, mode: p.mode, strength: p.strength, relative: p.relative })),
    prompts: template ? [] : s.prompts.filter((p) => p.trim() !== ""),
    prompt_template: template ? templateRequest(s.template) : null,
    generation: {
      max_new_tokens: num(s.gen.max_new_tokens) ?? 40,
      temperature: num(s.gen.temperature) ?? 0.7,
      top_p: num(s.gen.top_p) ?? 0.9,
      seed: num(s.gen.seed) ?? 0,
    },
    strengths: strengths.length ? strengths : null,
  };
}

export type PromptsValue = Pick<SteeringFormState, "promptMode" | "prompts" | "template">;

/** What a steering-prompt template saves of the prompts. */
export function promptSetConfig(v: PromptsValue): Record<string, unknown> {
  return v.promptMode === "template" ? { prompt_template: templateRequest(v.template) } : { prompts: v.prompts };
}

/** The body to start a run with, or the first thing missing, thrown as one line. */
export function steeringRequest(s: SteeringFormState): SteeringCreate {
  const body = steeringBody(s);
  if (!body.features.length) throw new Error("add at least one feature");
  if (s.promptMode === "template") {
    const problem = templateProblem(s.template);
    if (problem) throw new Error(`prompt template: ${problem}`);
  } else if (!body.prompts?.length) throw new Error("write at least one prompt");
  return body;
}

/** What a steering preset saves. */
export function presetConfig(s: SteeringFormState): Record<string, unknown> {
  return { form: s, request: steeringBody(s) };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The prompts part of a saved config (a prompt set `{prompts}` / `{prompt}` / `{prompt_template}`, or
 * a request), or null when it holds none. */
export function promptsFrom(config: Record<string, unknown>): PromptsValue | null {
  const template = templateDraft(config.prompt_template);
  const prompts = Array.isArray(config.prompts) ? config.prompts.map(String) : typeof config.prompt === "string" ? [config.prompt] : null;
  if (template) return { promptMode: "template", template, prompts: prompts?.length ? prompts : [""] };
  if (prompts) return { promptMode: "prompts", prompts: prompts.length ? prompts : [""], template: EMPTY_TEMPLATE };
  return null;
}

/** The form a saved preset describes, over `current` for what it lacks: its `form` when it has
 * one (what the studio saves), else built from its `request` (a preset written by hand or a script). */
export function formFromPreset(config: Record<string, unknown>, current: SteeringFormState = DEFAULT_STEERING_FORM): SteeringFormState {
  if (isRecord(config.form)) {
    const f = config.form as Partial<SteeringFormState>;
    return {
      extractionId: typeof f.extractionId === "number" ? f.extractionId : current.extractionId,
      picked: Array.isArray(f.picked) ? f.picked : current.picked,
      promptMode: f.promptMode === "template" ? "template" : "prompts",
      prompts: Array.isArray(f.prompts) && f.prompts.length ? f.prompts.map(String) : current.prompts,
      template: isRecord(f.template) && typeof f.template.text === "string" ? { ...EMPTY_TEMPLATE, ...f.template } : current.template,
      gen: isRecord(f.gen) ? { ...current.gen, ...(f.gen as Partial<GenerationValues>) } : current.gen,
      sweep: typeof f.sweep === "string" ? f.sweep : current.sweep,
    };
  }
  const request = isRecord(config.request) ? config.request : config;
  const features = Array.isArray(request.features) ? (request.features as Record<string, unknown>[]) : null;
  const gen = isRecord(request.generation) ? request.generation : {};
  const str = (v: unknown, fallback: string) => (typeof v === "number" ? String(v) : fallback);
  return {
    ...current,
    ...(promptsFrom(request) ?? {}),
    picked: features
      ? features.map((f) => ({
          sae_id: Number(f.sae_id),
          extraction_id: typeof f.extraction_id === "number" ? f.extraction_id : null,
          index: Number(f.index),
          label: null,
          max_activation: null,
          mode: f.mode === "clamp" || f.mode === "suppress" ? f.mode : "add",
          strength: typeof f.strength === "number" ? f.strength : 0,
          relative: f.relative === true,
        }))
      : current.picked,
    gen: {
      max_new_tokens: str(gen.max_new_tokens, current.gen.max_new_tokens),
      temperature: str(gen.temperature, current.gen.temperature),
      top_p: str(gen.top_p, current.gen.top_p),
      seed: str(gen.seed, current.gen.seed),
    },
    sweep: Array.isArray(request.strengths) ? request.strengths.join(", ") : current.sweep,
  };
}
