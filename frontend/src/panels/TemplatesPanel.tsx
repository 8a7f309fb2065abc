/** Templates: saved training / extraction / labelling-prompt configs. List, create from the
 * current form, load into a form, favourite, usage count, export and import JSON. */
import { useRef, useState } from "react";
import { api } from "../api/client";
import { useApiMutation, useTemplates } from "../api/hooks";
import type { ImportResult, Template, TemplateCreate, TemplateExport, TemplateKind } from "../api/types";
import { Button, Card, Empty, ErrorLine, Field, Modal, PanelHeader } from "../components/ui";
import { formatDate } from "../lib/format";
import { useUi, type PanelId } from "../store/ui";

const KINDS: { id: TemplateKind; label: string; panel: PanelId | null }[] = [
  { id: "training", label: "Training", panel: "training" },
  { id: "extraction", label: "Extraction", panel: "features" },
  { id: "labeling_prompt", label: "Labelling prompt", panel: "labeling" },
  { id: "steering_prompt", label: "Steering prompt", panel: "steering" },
];

export function TemplatesPanel() {
  const [kind, setKind] = useState<TemplateKind | "all">("all");
  const templates = useTemplates(kind === "all" ? undefined : kind);
  const [creating, setCreating] = useState(false);
  const [importMsg, setImportMsg] = useState<string | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const importJson = useApiMutation(
    (body: TemplateExport) => api.post<ImportResult>("/templates/import", body, { on_conflict: "rename" }),
    ["templates"],
    (r) => setImportMsg(`imported ${r.created} (renamed ${r.renamed}, skipped ${r.skipped})`),
  );
  const exportJson = async () => {
    const data = await api.get<TemplateExport>("/templates/export", kind === "all" ? undefined : { kind });
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
        subtitle="Saved configurations: load one into its form, or move them between studios as JSON."
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
      {creating && <CreateTemplateDialog onClose={() => setCreating(false)} />}
    </div>
  );
}

function TemplateCard({ template: t }: { template: Template }) {
  const loadTemplate = useUi((s) => s.loadTemplate);
  const setPanel = useUi((s) => s.setPanel);
  const favourite = useApiMutation(() => api.post(`/templates/${t.id}/favourite`), ["templates"]);
  const remove = useApiMutation(() => api.del(`/templates/${t.id}`), ["templates"]);
  const [showJson, setShowJson] = useState(false);
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
          <button type="button" aria-label={t.favourite ? "unfavourite" : "favourite"} onClick={() => favourite.mutate(undefined)} className={t.favourite ? "text-amber-400" : "text-slate-600 hover:text-slate-300"}>
            {t.favourite ? "★" : "☆"}
          </button>
          <span className="truncate">{t.name}</span>
          <span className="rounded bg-slate-800 px-1.5 py-0.5 text-[10px] font-normal text-slate-400">{t.kind}</span>
        </div>
      }
      actions={
        <>
          {(t.kind === "training" || t.kind === "extraction") && (
            <Button variant="primary" className="px-2 py-1 text-xs" onClick={load} data-testid="template-load">
              Load into form
            </Button>
          )}
          <Button variant="ghost" className="px-2 py-1 text-xs text-rose-300" onClick={() => confirm(`Delete template ${t.name}?`) && remove.mutate(undefined)}>
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
    </Card>
  );
}

function CreateTemplateDialog({ onClose }: { onClose: () => void }) {
  const draft = useUi((s) => s.trainingDraft);
  const [kind, setKind] = useState<TemplateKind>(draft ? "training" : "labeling_prompt");
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [text, setText] = useState(() => JSON.stringify(draft ?? {}, null, 2));
  const [parseError, setParseError] = useState<string | null>(null);
  const create = useApiMutation((body: TemplateCreate) => api.post("/templates", body), ["templates"], () => onClose());
  const onKind = (k: TemplateKind) => {
    setKind(k);
    if (k === "training") setText(JSON.stringify(draft ?? {}, null, 2));
    else if (k === "labeling_prompt" || k === "steering_prompt") setText(JSON.stringify({ prompt: "" }, null, 2));
    else setText(JSON.stringify({ n_tokens: 50000, top_k: 20, context_before: 16, context_after: 4 }, null, 2));
  };
  const submit = () => {
    try {
      const config = JSON.parse(text) as Record<string, unknown>;
      setParseError(null);
      create.mutate({ kind, name: name.trim(), description: description.trim() || null, config });
    } catch {
      setParseError("the config is not valid JSON");
    }
  };
  return (
    <Modal
      title="New template"
      onClose={onClose}
      wide
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button variant="primary" disabled={!name.trim() || create.isPending} onClick={submit}>
            Create
          </Button>
        </>
      }
    >
      <div className="grid grid-cols-2 gap-3">
        <Field label="Kind">
          <select value={kind} onChange={(e) => onKind(e.target.value as TemplateKind)}>
            {KINDS.map((k) => (
              <option key={k.id} value={k.id}>
                {k.label}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Name">
          <input value={name} onChange={(e) => setName(e.target.value)} />
        </Field>
        <Field label="Description" className="col-span-2">
          <input value={description} onChange={(e) => setDescription(e.target.value)} />
        </Field>
        <Field label={kind === "training" ? "Config (from the current training form)" : "Config (JSON)"} className="col-span-2">
          <textarea rows={12} className="font-mono text-xs" value={text} onChange={(e) => setText(e.target.value)} />
        </Field>
      </div>
      <ErrorLine error={parseError ?? create.error} />
    </Modal>
  );
}
