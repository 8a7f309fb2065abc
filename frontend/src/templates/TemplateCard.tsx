/** One template: load it into its panel's form, edit it in place with that form, favourite it, view its JSON, delete it. */
import { useState } from "react";
import type { Template } from "../api/types";
import { Button, Card, ErrorLine } from "../components/ui";
import { formatDate } from "../lib/format";
import { useUi } from "../store/ui";
import { KINDS } from "./kinds";
import { useDeleteTemplate, useFavouriteTemplate } from "./queries";
import { TemplateDialog } from "./TemplateDialog";

/** The kinds whose panel's form loads a template picked here (labelling prompts are picked in the
 * labelling dialog itself). */
const LOADABLE = ["training", "extraction", "steering", "steering_prompt"];

export function TemplateCard({ template: t }: { template: Template }) {
  const loadTemplate = useUi((s) => s.loadTemplate);
  const setPanel = useUi((s) => s.setPanel);
  const favourite = useFavouriteTemplate();
  const remove = useDeleteTemplate(t.id);
  const [showJson, setShowJson] = useState(false);
  const [editing, setEditing] = useState(false);
  const target = KINDS.find((k) => k.id === t.kind)?.panel;
  const load = () => {
    loadTemplate({ kind: t.kind, id: t.id, config: t.config as Record<string, unknown> });
    if (target) setPanel(target);
  };
  return (
    <Card
      testId={`template-${t.name}`}
      title={
        <div className="flex items-center gap-2">
          <button type="button" aria-label={t.favourite ? "unfavourite" : "favourite"} onClick={() => favourite.mutate(t.id)} className={t.favourite ? "text-amber-400" : "text-slate-600 hover:text-slate-300"}>
            {t.favourite ? "★" : "☆"}
          </button>
          <span className="truncate">{t.name}</span>
          <span className="shrink-0 rounded bg-slate-800 px-1.5 py-0.5 text-[10px] font-normal text-slate-400">{KINDS.find((k) => k.id === t.kind)?.label ?? t.kind}</span>
        </div>
      }
      actions={
        <>
          {LOADABLE.includes(t.kind) && (
            <Button variant="primary" className="px-2 py-1 text-xs" onClick={load} data-testid="template-load">
              Load into form
            </Button>
          )}
          <Button className="px-2 py-1 text-xs" onClick={() => setEditing(true)} data-testid="template-edit">
            Edit
          </Button>
          <Button variant="ghost" className="px-2 py-1 text-xs text-rose-300" aria-label="delete template" onClick={() => confirm(`Delete template ${t.name}?`) && remove.mutate(undefined)}>
            ✕
          </Button>
        </>
      }
    >
      {t.description && <p className="mb-2 text-sm text-slate-400">{t.description}</p>}
      <div className="flex items-center gap-3 text-[11px] text-slate-500">
        <span data-testid="usage-count">used {t.usage_count}×</span>
        <span>updated {formatDate(t.updated_at)}</span>
        <button type="button" className="ml-auto hover:text-slate-300" onClick={() => setShowJson(!showJson)}>
          {showJson ? "hide" : "show"} config
        </button>
      </div>
      {showJson && <pre className="mt-2 max-h-64 overflow-auto rounded bg-slate-950 p-2 font-mono text-[11px] text-slate-300">{JSON.stringify(t.config, null, 2)}</pre>}
      <ErrorLine error={favourite.error ?? remove.error} className="mt-2" />
      {editing && <TemplateDialog template={t} onClose={() => setEditing(false)} />}
    </Card>
  );
}
