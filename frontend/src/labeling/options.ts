/**
 * What a labelling request can say: the labeller methods (a paid one must be estimated before it
 * starts) and which latents to label, with the "1, 2, 5-8" index syntax parsed here.
 */


export const METHODS = ["rules", "local", "ollama", "openai"] as const;

export type Method = (typeof METHODS)[number];

export const PAID: ReadonlySet<string> = new Set(["openai"]);

export type SelectionMode = "unlabelled" | "indices" | "filter";

/** Parse "1, 2, 5-8" into indices (null when malformed). */
export function parseIndices(text: string): number[] | null {
  const out: number[] = [];
  for (const part of text.split(/[\s,]+/).filter(Boolean)) {
    const range = /^(\d+)-(\d+)$/.exec(part);
    if (range) {
      const [a, b] = [Number(range[1]), Number(range[2])];
      if (b < a || b - a > 1_000_000) return null;
      for (let i = a; i <= b; i++) out.push(i);
    } else if (/^\d+$/.test(part)) out.push(Number(part));
    else return null;
  }
  return out;
}

/** The statistics filter as the form holds it (text fields; empty means no bound). */
export interface SelectionFilter {
  min_frequency: string;
  max_frequency: string;
  min_max_act: string;
  limit: string;
}

export const EMPTY_FILTER: SelectionFilter = { min_frequency: "", max_frequency: "", min_max_act: "", limit: "" };
