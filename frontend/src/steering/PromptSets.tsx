/** Load the steering prompts from a steering-prompt template, favourite it, or save them as one. */
import { useState } from "react";
import { useTemplates } from "../api/hooks";
import { Button, ErrorLine, Field, TemplateOptions, num } from "../components/ui";
import { useFavouriteTemplate, useSaveTemplate } from "../templates/queries";
import { type PromptsValue, promptSetConfig, promptsFrom } from "./formState";

export function PromptSets({ value, onChange }: { value: PromptsValue; onChange: (v: PromptsValue) => void }) {
  const templates = useTemplates("steering_prompt");
  const [templateId, setTemplateId] = useState<number | null>(null);
  const [name, setName] = useState("");
  const [favourite, setFavourite] = useState(false);
  const save = useSaveTemplate((t) => {
    setTemplateId(t.id);
    setName("");
  });
  const fav = useFavouriteTemplate();
  const load = (id: number | null) => {
    setTemplateId(id);
    const t = templates.data?.items.find((x) => x.id === id);
    const loaded = t && promptsFrom(t.config as Record<string, unknown>);
    if (loaded) onChange(loaded);
  };
  const current = templates.data?.items.find((t) => t.id === templateId);
  const sorted = [...(templates.data?.items ?? [])].sort((a, b) => Number(b.favourite) - Number(a.favourite));
  return (
    <>
      <div className="flex flex-wrap items-end gap-2">
        <Field label="Prompt set" className="min-w-[12rem]">
          <select value={templateId ?? ""} onChange={(e) => load(num(e.target.value) ?? null)} data-testid="steering-template">
            <option value="">—</option>
            <TemplateOptions templates={sorted} />
          </select>
        </Field>
        {current && (
          <Button onClick={() => fav.mutate(current.id)} aria-label={current.favourite ? "unfavourite" : "favourite"}>
            <span className={current.favourite ? "text-amber-400" : ""}>{current.favourite ? "★" : "☆"}</span>
          </Button>
        )}
        <Field label="Save prompts as" className="min-w-[10rem] flex-1">
          <input value={name} onChange={(e) => setName(e.target.value)} placeholder="template name" />
        </Field>
        <label className="flex items-center gap-1 pb-2 text-xs text-slate-400">
          <input type="checkbox" checked={favourite} onChange={(e) => setFavourite(e.target.checked)} /> favourite
        </label>
        <Button onClick={() => save.mutate({ kind: "steering_prompt", name: name.trim(), favourite, config: promptSetConfig(value) })} disabled={!name.trim() || save.isPending}>
          Save
        </Button>
      </div>
      <ErrorLine error={save.error ?? fav.error} />
    </>
  );
}
