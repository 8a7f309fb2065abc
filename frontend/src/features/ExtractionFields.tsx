/**
 * The extraction config's fields (what an extraction template saves): the Extract dialog and the
 * Templates panel's extraction form render this one component, so a field added here shows in
 * both. The values are kept as typed (strings) and turned into the request's numbers by
 * `extractionConfig`; `withTemplate` fills them from a saved config, keeping what it lacks.
 */
import { Field, num } from "../components/ui";

export const EXTRACTION_DEFAULTS = { n_tokens: "50000", top_k: "20", context_before: "16", context_after: "4", batch_size: "8" };

export type ExtractionValues = typeof EXTRACTION_DEFAULTS;

/** The extraction config of the typed values (an empty field is left out: the server's default). */
export function extractionConfig(values: ExtractionValues) {
  return {
    n_tokens: num(values.n_tokens),
    top_k: num(values.top_k),
    context_before: num(values.context_before),
    context_after: num(values.context_after),
    batch_size: num(values.batch_size),
  };
}

/** `values` with every field the saved `config` holds as a number. */
export function withTemplate(values: ExtractionValues, config: Record<string, unknown>): ExtractionValues {
  const next = { ...values };
  for (const key of Object.keys(values) as (keyof ExtractionValues)[]) {
    const v = config[key];
    if (typeof v === "number") next[key] = String(v);
  }
  return next;
}

export function ExtractionFields({ values, onChange }: { values: ExtractionValues; onChange: (values: ExtractionValues) => void }) {
  const set = (key: keyof ExtractionValues) => (e: { target: { value: string } }) => onChange({ ...values, [key]: e.target.value });
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
    </>
  );
}
