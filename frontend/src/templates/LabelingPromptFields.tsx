/**
 * A labelling prompt's fields (core.labeling.PromptTemplate), one box each instead of its JSON:
 * the system prompt, the request with its {variables}, the worked example (empty: none), the
 * reply formats and the numbers. Starts from the server's defaults (api/defaults.ts).
 */
import { SCHEMA_DEFAULTS } from "../api/defaults";
import { Field, num } from "../components/ui";

export type LabelingPromptConfig = Record<string, unknown>;

export const LABELING_PROMPT_DEFAULTS: LabelingPromptConfig = { ...SCHEMA_DEFAULTS.PromptTemplate };

const TEXTS: { key: string; label: string; hint?: string; rows: number; nullable?: boolean }[] = [
  { key: "system", label: "System prompt", rows: 4 },
  { key: "user", label: "Request for one feature", hint: "Variables: {examples} {top_tokens} {logit_lens} {activation_pairs} {reply_format} {index}", rows: 5 },
  { key: "worked_user", label: "Worked example: request", hint: "Empty: no worked example", rows: 3, nullable: true },
  { key: "worked_reply", label: "Worked example: reply (text)", rows: 3, nullable: true },
  { key: "worked_reply_json", label: "Worked example: reply (JSON)", rows: 3, nullable: true },
  { key: "reply_format", label: "Reply instructions (text)", rows: 3 },
  { key: "reply_format_json", label: "Reply instructions (JSON)", rows: 3 },
];

const NUMBERS: { key: string; label: string; step?: string }[] = [
  { key: "n_examples", label: "Examples shown" },
  { key: "n_top_tokens", label: "Top tokens listed" },
  { key: "highlight_threshold", label: "Highlight above (× max act.)", step: "0.05" },
];

export function LabelingPromptFields({ value, onChange }: { value: LabelingPromptConfig; onChange: (v: LabelingPromptConfig) => void }) {
  const text = (key: string) => (typeof value[key] === "string" ? (value[key] as string) : "");
  return (
    <div className="grid gap-3 md:grid-cols-2" data-testid="labeling-prompt-fields">
      <Field label="Prompt name">
        <input value={text("name")} onChange={(e) => onChange({ ...value, name: e.target.value })} />
      </Field>
      <div className="grid grid-cols-3 gap-2">
        {NUMBERS.map((n) => (
          <Field key={n.key} label={n.label}>
            <input type="number" step={n.step ?? "1"} value={typeof value[n.key] === "number" ? String(value[n.key]) : ""} onChange={(e) => onChange({ ...value, [n.key]: num(e.target.value) })} />
          </Field>
        ))}
      </div>
      {TEXTS.map((t) => (
        <Field key={t.key} label={t.label} hint={t.hint} className={t.key === "system" || t.key === "user" ? "md:col-span-2" : undefined}>
          <textarea
            rows={t.rows}
            className="font-mono text-xs"
            value={text(t.key)}
            onChange={(e) => onChange({ ...value, [t.key]: t.nullable && e.target.value === "" ? null : e.target.value })}
            data-testid={`labeling-prompt-${t.key}`}
          />
        </Field>
      ))}
    </div>
  );
}
