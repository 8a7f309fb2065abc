/**
 * The Templates panel: saved training / extraction / labelling-prompt / steering-prompt configs and
 * steering presets, filtered by kind, created and edited with their panel's form (TemplateDialog),
 * with export and import as one JSON file (imports rename on a name conflict).
 */
import { useRef, useState } from "react";
import { useTemplates } from "../api/hooks";
import type { TemplateExport, TemplateKind } from "../api/types";
import { Button, Empty, ErrorLine, PanelHeader } from "../components/ui";
import { TemplateDialog } from "./TemplateDialog";
import { TemplateCard } from "./TemplateCard";
import { KINDS } from "./kinds";
import { fetchTemplateExport, useImportTemplates } from "./queries";

export function TemplatesPanel() {
  const [kind, setKind] = useState<TemplateKind | "all">("all");
  const templates = useTemplates(kind === "all" ? undefined : kind);
  const [creating, setCreating] = useState(false);
  const [importMsg, setImportMsg] = useState<string | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const importJson = useImportTemplates((r) =>
    setImportMsg(`imported ${r.created} (renamed ${r.renamed}, skipped ${r.skipped})`),
  );
  const exportJson = async () => {
    const data = await fetchTemplateExport(kind);
    const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: "application/json" }));
    const a = document.createElement("a");
    a.href = url;
    a.download = `mistudio-templates${kind === "all" ? "" : `-${kind}`}.json`;
    a.click();
    URL.revokeObjectURL(url);
  };
  const onFile = async (file: File | undefined) => {
    if (!file) return;
    setImportMsg(null);
    try {
      importJson.mutate(JSON.parse(await file.text()) as TemplateExport);
    } catch {
      setImportMsg("that file is not JSON");
    }
  };
  const items = templates.data?.items ?? [];
  const sorted = [...items].sort((a, b) => Number(b.favourite) - Number(a.favourite) || b.usage_count - a.usage_count);
  return (
    <div className="space-y-6">
      <PanelHeader
        title="Templates"
        subtitle="Saved configurations: make and edit them with their panel's form, load one into it, or move them between studios as JSON."
        actions={
          <>
            <Button onClick={() => setCreating(true)} data-testid="template-new">
              New template
            </Button>
            <Button onClick={() => void exportJson()}>Export JSON</Button>
            <Button onClick={() => fileInput.current?.click()}>Import JSON</Button>
            <input ref={fileInput} type="file" accept="application/json,.json" className="hidden" onChange={(e) => void onFile(e.target.files?.[0])} data-testid="template-import" />
          </>
        }
      />
      <div className="flex gap-1">
        {[{ id: "all" as const, label: "All" }, ...KINDS].map((k) => (
          <Button key={k.id} variant={kind === k.id ? "primary" : "ghost"} className="px-2.5 py-1 text-xs" onClick={() => setKind(k.id)}>
            {k.label}
          </Button>
        ))}
      </div>
      {importMsg && <p className="text-sm text-emerald-300">{importMsg}</p>}
      <ErrorLine error={templates.error ?? importJson.error} />
      {items.length === 0 && !templates.isLoading && <Empty>No templates yet. Use “Save as template” on the Training form, or create one here.</Empty>}
      <div className="grid gap-3 lg:grid-cols-2 2xl:grid-cols-3" data-testid="template-list">
        {sorted.map((t) => (
          <TemplateCard key={t.id} template={t} />
        ))}
      </div>
      {creating && <TemplateDialog onClose={() => setCreating(false)} />}
    </div>
  );
}
