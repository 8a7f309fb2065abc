/** Create a template from JSON, starting from the kind's skeleton or the training form's draft. */
import { useState } from "react";
import type { TemplateKind } from "../api/types";
import { Button, ErrorLine, Field, Modal, IdOptions } from "../components/ui";
import { useUi } from "../store/ui";
import { KINDS } from "./kinds";
import { useSaveTemplate } from "./queries";

export function CreateTemplateDialog({ onClose }: { onClose: () => void }) {
  const draft = useUi((s) => s.trainingDraft);
  const [kind, setKind] = useState<TemplateKind>(draft ? "training" : "labeling_prompt");
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [text, setText] = useState(() => JSON.stringify(draft ?? {}, null, 2));
  const [parseError, setParseError] = useState<string | null>(null);
  const create = useSaveTemplate(() => onClose());
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
            <IdOptions items={KINDS} label={(k) => k.label} />
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
