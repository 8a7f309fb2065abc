/**
 * Create a template, or edit one in place, with the form of the panel it belongs to (the training
 * form, the Extract dialog's fields, the steering form...), not its JSON. "JSON" shows the config
 * the form makes, editable as text for what no form shows; going back to the form reads it.
 * A new training template starts from the training form's draft; an edit keeps the kind.
 */
import { useRef, useState } from "react";
import type { Template, TemplateKind } from "../api/types";
import { Button, ErrorLine, Field, IdOptions, Modal } from "../components/ui";
import { errorMessage } from "../api/client";
import { useUi } from "../store/ui";
import { KINDS } from "./kinds";
import { useSaveTemplate, useUpdateTemplate } from "./queries";
import { TemplateConfigForm } from "./TemplateConfigForm";

export function TemplateDialog({ template, onClose }: { template?: Template; onClose: () => void }) {
  const draft = useUi((s) => s.trainingDraft);
  const [kind, setKind] = useState<TemplateKind>((template?.kind as TemplateKind | undefined) ?? (draft ? "training" : "steering"));
  const [name, setName] = useState(template?.name ?? "");
  const [description, setDescription] = useState(template?.description ?? "");
  const startConfig = (k: TemplateKind) => (template ? (template.config as Record<string, unknown>) : k === "training" && draft ? draft : {});
  // The config the form starts from; replaced when the kind changes or the JSON is read back.
  const [initial, setInitial] = useState<Record<string, unknown>>(() => startConfig(kind));
  const [formKey, setFormKey] = useState(0);
  const build = useRef<() => Record<string, unknown>>(() => initial);
  const [json, setJson] = useState<string | null>(null);
  const [jsonError, setJsonError] = useState<string | null>(null);
  const create = useSaveTemplate(() => onClose());
  const update = useUpdateTemplate(() => onClose());
  const saving = create.isPending || update.isPending;

  const onKind = (k: TemplateKind) => {
    setKind(k);
    setInitial(startConfig(k));
    build.current = () => startConfig(k);
    setJson(null);
    setFormKey((n) => n + 1);
  };
  const config = (): Record<string, unknown> => {
    if (json === null) return build.current();
    const parsed: unknown = JSON.parse(json);
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("the config must be a JSON object");
    return parsed as Record<string, unknown>;
  };
  const showJson = () => {
    try {
      setJson(JSON.stringify(build.current(), null, 2));
      setJsonError(null);
    } catch (e) {
      setJsonError(errorMessage(e));
    }
  };
  const showForm = () => {
    try {
      setInitial(config());
      setJson(null);
      setJsonError(null);
      setFormKey((n) => n + 1);
    } catch (e) {
      setJsonError(e instanceof SyntaxError ? "the config is not valid JSON" : errorMessage(e));
    }
  };
  const submit = () => {
    const body = () => {
      try {
        return config();
      } catch (e) {
        throw new Error(e instanceof SyntaxError ? "the config is not valid JSON" : errorMessage(e));
      }
    };
    const fields = { name: name.trim(), description: description.trim() || null };
    if (template) update.mutate({ id: template.id, body: () => ({ ...fields, config: body() }) });
    else create.mutate(() => ({ kind, ...fields, config: body() }));
  };
  const label = KINDS.find((k) => k.id === kind)?.label ?? kind;
  return (
    <Modal
      title={template ? `Edit ${label.toLowerCase()} template` : "New template"}
      onClose={onClose}
      wide
      footer={
        <>
          <Button className="mr-auto" onClick={json === null ? showJson : showForm} data-testid="template-json-toggle">
            {json === null ? "Edit as JSON" : "Back to the form"}
          </Button>
          <Button onClick={onClose}>Cancel</Button>
          <Button variant="primary" disabled={!name.trim() || saving} onClick={submit} data-testid="template-form-save">
            {template ? "Save changes" : "Create"}
          </Button>
        </>
      }
    >
      <div className="grid gap-3 md:grid-cols-[12rem_1fr_2fr]">
        <Field label="Kind">
          <select value={kind} onChange={(e) => onKind(e.target.value as TemplateKind)} disabled={!!template} data-testid="template-kind">
            <IdOptions items={KINDS} label={(k) => k.label} />
          </select>
        </Field>
        <Field label="Name">
          <input value={name} onChange={(e) => setName(e.target.value)} data-testid="template-form-name" />
        </Field>
        <Field label="Description">
          <input value={description} onChange={(e) => setDescription(e.target.value)} data-testid="template-form-description" />
        </Field>
      </div>
      <div data-testid="template-config-form">
        {json === null ? (
          <TemplateConfigForm key={`${kind}-${formKey}`} kind={kind} initial={initial} onConfig={(b) => (build.current = b)} />
        ) : (
          <Field label="Config (JSON)">
            <textarea rows={16} className="font-mono text-xs" value={json} onChange={(e) => setJson(e.target.value)} data-testid="template-json" />
          </Field>
        )}
      </div>
      <ErrorLine error={jsonError ?? create.error ?? update.error} />
    </Modal>
  );
}
