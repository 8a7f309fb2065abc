/**
 * Steering presets: the whole form (features with their modes and strengths, prompts or a prompt
 * template, sampling, sweep) saved under a name as a template of kind `steering`, loaded back,
 * overwritten in place, or deleted. The Templates panel lists the same presets.
 */
import { useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTemplates } from "../api/hooks";
import { Button, ErrorLine, Field, TemplateOptions, num } from "../components/ui";
import { markTemplateUsed, useRemoveTemplate, useSaveTemplate, useUpdateTemplate } from "../templates/queries";

export function PresetBar({
  config,
  onLoad,
}: {
  /** The preset of the form as it stands (throws a one-line error when it cannot be saved). */
  config: () => Record<string, unknown>;
  /** Load a saved preset's config into the form. */
  onLoad: (config: Record<string, unknown>, id: number) => void;
}) {
  const presets = useTemplates("steering");
  const client = useQueryClient();
  const [presetId, setPresetId] = useState<number | null>(null);
  const [name, setName] = useState("");
  const [message, setMessage] = useState<string | null>(null);
  const save = useSaveTemplate((t) => {
    setPresetId(t.id);
    setName("");
    setMessage(`saved preset ${t.name}`);
  });
  const update = useUpdateTemplate((t) => setMessage(`updated preset ${t.name}`));
  const remove = useRemoveTemplate(() => {
    setPresetId(null);
    setMessage("preset deleted");
  });
  const items = [...(presets.data?.items ?? [])].sort((a, b) => Number(b.favourite) - Number(a.favourite));
  const current = items.find((t) => t.id === presetId);
  const load = (id: number | null) => {
    setPresetId(id);
    setMessage(null);
    const t = items.find((x) => x.id === id);
    if (!t) return;
    onLoad(t.config as Record<string, unknown>, t.id);
    markTemplateUsed(t.id, client); // a load is a use, as "Load into form" in the Templates panel
  };
  return (
    <div className="space-y-2 rounded-md border border-slate-800 p-2" data-testid="steering-presets">
      <div className="flex flex-wrap items-end gap-2">
        <Field label="Preset" className="min-w-[12rem]">
          <select value={presetId ?? ""} onChange={(e) => load(num(e.target.value) ?? null)} data-testid="steering-preset">
            <option value="">{items.length ? "—" : "no presets yet"}</option>
            <TemplateOptions templates={items} />
          </select>
        </Field>
        {current && (
          <>
            <Button onClick={() => update.mutate({ id: current.id, body: () => ({ config: config() }) })} disabled={update.isPending} title="Overwrite this preset with the form" data-testid="steering-preset-update">
              Update
            </Button>
            <Button variant="ghost" className="text-rose-300" onClick={() => confirm(`Delete preset ${current.name}?`) && remove.mutate(current.id)} aria-label="delete preset" data-testid="steering-preset-delete">
              ✕
            </Button>
          </>
        )}
        <Field label="Save the form as a preset" className="min-w-[10rem] flex-1">
          <input value={name} onChange={(e) => setName(e.target.value)} placeholder="preset name" data-testid="steering-preset-name" />
        </Field>
        <Button onClick={() => save.mutate(() => ({ kind: "steering", name: name.trim(), config: config() }))} disabled={!name.trim() || save.isPending} data-testid="steering-preset-save">
          Save preset
        </Button>
      </div>
      {message && <p className="text-xs text-emerald-300" data-testid="steering-preset-message">{message}</p>}
      <ErrorLine error={save.error ?? update.error ?? remove.error} />
    </div>
  );
}
