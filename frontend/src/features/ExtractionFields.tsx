/**
 * The extraction config's fields (what an extraction template saves): the Extract dialog and the
 * Templates panel's extraction form render this one component, so a field added here shows in
 * both. The values are kept as typed (strings, and the filters' switches) and turned into the
 * request's numbers and word list by `extractionConfig`; `withTemplate` fills them from a saved config, keeping what it lacks.
 */
import { Field, num } from "../components/ui";

export interface ExtractionValues {
  n_tokens: string;
  top_k: string;
  context_before: string;
  context_after: string;
  batch_size: string;
  /** Activations at or below it count as zero (core ExtractionConfig.activation_threshold). */
  activation_threshold: string;
  exclude_special_tokens: boolean;
  exclude_stop_words: boolean;
  /** Words not measured, separated by spaces (so "," and "." can be listed). */
  exclude_tokens: string;
}

export const EXTRACTION_DEFAULTS: ExtractionValues = {
  n_tokens: "50000",
  top_k: "20",
  context_before: "16",
  context_after: "4",
  batch_size: "8",
  activation_threshold: "0",
  exclude_special_tokens: true,
  exclude_stop_words: false,
  exclude_tokens: "",
};

/** The listed words of the "Skip these tokens" field (split on whitespace). */
export const listedWords = (text: string) => text.split(/\s+/).filter(Boolean);

/** The extraction config of the typed values (an empty field is left out: the server's default). */
export function extractionConfig(values: ExtractionValues) {
  return {
    n_tokens: num(values.n_tokens),
    top_k: num(values.top_k),
    context_before: num(values.context_before),
    context_after: num(values.context_after),
    batch_size: num(values.batch_size),
    activation_threshold: num(values.activation_threshold),
    exclude_special_tokens: values.exclude_special_tokens,
    exclude_stop_words: values.exclude_stop_words,
    exclude_tokens: listedWords(values.exclude_tokens),
  };
}

/** `values` with every field the saved `config` holds (numbers, switches, the word list). */
export function withTemplate(values: ExtractionValues, config: Record<string, unknown>): ExtractionValues {
  const next: Record<string, string | boolean> = { ...values };
  for (const key of Object.keys(values)) {
    const v = config[key];
    if (typeof v === "number") next[key] = String(v);
    else if (typeof v === "boolean" && typeof values[key as keyof ExtractionValues] === "boolean") next[key] = v;
    else if (Array.isArray(v) && key === "exclude_tokens") next[key] = v.filter((w) => typeof w === "string").join(" ");
  }
  return next as unknown as ExtractionValues;
}

export function ExtractionFields({ values, onChange }: { values: ExtractionValues; onChange: (values: ExtractionValues) => void }) {
  const set = (key: keyof ExtractionValues) => (e: { target: { value: string } }) => onChange({ ...values, [key]: e.target.value });
  const flip = (key: "exclude_special_tokens" | "exclude_stop_words") => (e: { target: { checked: boolean } }) => onChange({ ...values, [key]: e.target.checked });
  return (
    <>
      <Field label="Evaluation tokens">
        <input type="number" min={1} value={values.n_tokens} onChange={set("n_tokens")} data-testid="extraction-tokens" />
      </Field>
      <Field label="Top-K examples per latent">
        <input type="number" min={1} value={values.top_k} onChange={set("top_k")} data-testid="extraction-top-k" />
      </Field>
      <Field label="Context before (tokens)">
        <input type="number" min={0} value={values.context_before} onChange={set("context_before")} />
      </Field>
      <Field label="Context after (tokens)">
        <input type="number" min={0} value={values.context_after} onChange={set("context_after")} />
      </Field>
      <Field label="Batch size (sequences)">
        <input type="number" min={1} value={values.batch_size} onChange={set("batch_size")} />
      </Field>
      <Field label="Activation threshold" hint="Smaller activations count as not firing">
        <input type="number" min={0} step="any" value={values.activation_threshold} onChange={set("activation_threshold")} data-testid="extraction-threshold" />
      </Field>
      <Field label="Skip these tokens" className="col-span-2" hint="Separated by spaces, matched whole in any case; skipped tokens are not measured: no statistics, never an example">
        <input value={values.exclude_tokens} onChange={set("exclude_tokens")} placeholder="e.g. , . ; :" data-testid="extraction-exclude-tokens" />
      </Field>
      <div className="col-span-2 flex flex-wrap gap-x-6 gap-y-1 text-sm text-slate-300">
        <label className="flex items-center gap-2" title="BOS, EOS, padding and other special tokens are not measured">
          <input type="checkbox" checked={values.exclude_special_tokens} onChange={flip("exclude_special_tokens")} data-testid="extraction-skip-special" />
          Skip special tokens
        </label>
        <label className="flex items-center gap-2" title="English stop words (the, of, and, ...) are not measured">
          <input type="checkbox" checked={values.exclude_stop_words} onChange={flip("exclude_stop_words")} data-testid="extraction-skip-stop-words" />
          Skip stop words
        </label>
      </div>
    </>
  );
}
