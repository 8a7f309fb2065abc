/**
 * A prompt template in the steering form: the text with `{variables}`, one values box per
 * variable found in it (one value per line), product or zip, and how many prompts it makes.
 */
import { Field } from "../components/ui";
import { type Combine, type TemplateDraft, promptCount, templateProblem, templateVariables, valueLines } from "./promptTemplate";

export function TemplateFields({ draft, onChange }: { draft: TemplateDraft; onChange: (draft: TemplateDraft) => void }) {
  const { names } = templateVariables(draft.text);
  const problem = templateProblem(draft);
  const count = promptCount(draft);
  return (
    <div className="space-y-2" data-testid="steering-template-fields">
      <Field label="Prompt template" hint="Variables in braces, e.g. Write about {topic}. ({{ and }} are literal braces)">
        <textarea rows={2} value={draft.text} onChange={(e) => onChange({ ...draft, text: e.target.value })} data-testid="steering-template-text" />
      </Field>
      {names.length > 0 && (
        <div className="grid gap-2 md:grid-cols-2 xl:grid-cols-3">
          {names.map((n) => (
            <Field key={n} label={`{${n}} values, one per line (${valueLines(draft.values[n]).length})`}>
              <textarea
                rows={3}
                value={draft.values[n] ?? ""}
                onChange={(e) => onChange({ ...draft, values: { ...draft.values, [n]: e.target.value } })}
                aria-label={`values of ${n}`}
                data-testid={`steering-values-${n}`}
              />
            </Field>
          ))}
        </div>
      )}
      <div className="flex flex-wrap items-center gap-3 text-xs text-slate-400">
        {names.length > 1 && (
          <label className="flex items-center gap-2">
            Combine
            <select value={draft.combine} onChange={(e) => onChange({ ...draft, combine: e.target.value as Combine })} data-testid="steering-template-combine">
              <option value="product">every combination</option>
              <option value="zip">pair the i-th values (zip)</option>
            </select>
          </label>
        )}
        {problem ? (
          <span className="text-amber-300" data-testid="steering-template-problem">
            {problem}
          </span>
        ) : (
          <span data-testid="steering-template-count">
            {count} prompt{count === 1 ? "" : "s"}, one generation each
          </span>
        )}
      </div>
    </div>
  );
}
