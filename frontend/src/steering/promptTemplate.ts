/**
 * A prompt template as the form holds it: the text with `{variables}`, each variable's values
 * typed one per line, and how several variables combine. The server expands and checks it
 * (core/steering/prompt_templates.py); this mirrors its reading of the text so the form can show
 * one values box per variable and the number of prompts before Run, and says the same problems.
 */
import type { SteeringCreate } from "../api/types";

export type Combine = "product" | "zip";

export interface TemplateDraft {
  text: string;
  /** Values per variable, one per line (as typed). */
  values: Record<string, string>;
  combine: Combine;
}

export const EMPTY_TEMPLATE: TemplateDraft = { text: "Write about {topic}.", values: { topic: "" }, combine: "product" };

/** Most prompts one run takes (the server's MAX_PROMPTS). */
export const MAX_PROMPTS = 64;

/**
 * The variables of `text` in order of first appearance, or the problem with it: `{{`/`}}` are
 * literal braces, a variable is a plain name (letters, digits, _, not starting with a digit).
 */
export function templateVariables(text: string): { names: string[]; error: string | null } {
  const names: string[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if ((ch === "{" || ch === "}") && text[i + 1] === ch) {
      i += 2;
      continue;
    }
    if (ch === "}") return { names, error: "a lone } : write }} for a literal brace" };
    if (ch === "{") {
      const end = text.indexOf("}", i + 1);
      if (end < 0) return { names, error: "a { without its } : write {{ for a literal brace" };
      const name = text.slice(i + 1, end);
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return { names, error: `{${name}} is not a variable; name one like {topic}` };
      if (!names.includes(name)) names.push(name);
      i = end + 1;
      continue;
    }
    i += 1;
  }
  return { names, error: null };
}

/** The non-empty lines of a values box. */
export function valueLines(text: string | undefined): string[] {
  return (text ?? "").split("\n").map((v) => v.trim()).filter((v) => v !== "");
}

/** How many prompts the template makes (0 while a variable has no values). */
export function promptCount(draft: TemplateDraft): number {
  const { names } = templateVariables(draft.text);
  if (!names.length) return 0;
  const lengths = names.map((n) => valueLines(draft.values[n]).length);
  return draft.combine === "zip" ? Math.min(...lengths) : lengths.reduce((a, b) => a * b, 1);
}

/** The first problem that keeps the template from running, in one line, or null. */
export function templateProblem(draft: TemplateDraft): string | null {
  const { names, error } = templateVariables(draft.text);
  if (error) return error;
  if (!names.length) return "the template has no {variable}: mark one like {topic}";
  for (const n of names) if (!valueLines(draft.values[n]).length) return `{${n}} has no values`;
  if (draft.combine === "zip") {
    const lengths = names.map((n) => valueLines(draft.values[n]).length);
    if (new Set(lengths).size > 1) return `zip pairs values: ${names.map((n, i) => `${n} has ${lengths[i]}`).join(", ")}`;
  }
  const count = promptCount(draft);
  if (count > MAX_PROMPTS) return `the template makes ${count} prompts; a run takes at most ${MAX_PROMPTS}`;
  return null;
}

/** The request's `prompt_template` (only the variables the text uses, so a renamed variable's
 * old values are not sent as an unknown one). */
export function templateRequest(draft: TemplateDraft): NonNullable<SteeringCreate["prompt_template"]> {
  const { names } = templateVariables(draft.text);
  return { text: draft.text, variables: Object.fromEntries(names.map((n) => [n, valueLines(draft.values[n])])), combine: draft.combine };
}

/** The draft of a saved `prompt_template` (values one per line). */
export function templateDraft(saved: unknown): TemplateDraft | null {
  const t = saved as { text?: unknown; variables?: unknown; combine?: unknown } | null | undefined;
  if (!t || typeof t.text !== "string") return null;
  const vars = (t.variables ?? {}) as Record<string, unknown>;
  const values = Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, Array.isArray(v) ? v.map(String).join("\n") : ""]));
  return { text: t.text, values, combine: t.combine === "zip" ? "zip" : "product" };
}
