/**
 * The prompts of a steering run: plain prompts, or one prompt template with a list of values per
 * variable (one generation per value). Either is loadable from and savable as a steering-prompt
 * template (`{prompts}` or `{prompt_template}`); `sets={false}` hides that row (the Templates
 * panel's form edits such a template itself).
 */
import clsx from "clsx";
import type { PromptMode, PromptsValue } from "./formState";
import { PromptList } from "./PromptList";
import { PromptSets } from "./PromptSets";
import { TemplateFields } from "./TemplateFields";

export function PromptEditor({ value, onChange, sets = true }: { value: PromptsValue; onChange: (v: PromptsValue) => void; sets?: boolean }) {
  const setMode = (promptMode: PromptMode) => onChange({ ...value, promptMode });
  return (
    <div className="space-y-2">
      {sets && <PromptSets value={value} onChange={onChange} />}
      <div className="flex gap-1" role="tablist" aria-label="prompt kind">
        {(
          [
            ["prompts", "Prompts"],
            ["template", "Template with variables"],
          ] as const
        ).map(([mode, label]) => (
          <button
            key={mode}
            type="button"
            role="tab"
            aria-selected={value.promptMode === mode}
            className={clsx("rounded px-2.5 py-1 text-xs", value.promptMode === mode ? "bg-slate-700 text-slate-100" : "text-slate-400 hover:bg-slate-800")}
            onClick={() => setMode(mode)}
            data-testid={`steering-mode-${mode}`}
          >
            {label}
          </button>
        ))}
      </div>
      {value.promptMode === "template" ? (
        <TemplateFields draft={value.template} onChange={(template) => onChange({ ...value, template })} />
      ) : (
        <PromptList prompts={value.prompts} setPrompts={(prompts) => onChange({ ...value, prompts })} />
      )}
    </div>
  );
}
