/** Save a form's current config (training, extraction) as a named template. */
import { useState } from "react";
import type { TemplateCreate } from "../api/types";
import { Button, ErrorLine, Field, Modal } from "../components/ui";
import { useSaveTemplate } from "./queries";

export function SaveTemplateDialog({
  kind,
  config,
  onClose,
}: {
  kind: TemplateCreate["kind"];
  config: Record<string, unknown>;
  onClose: () => void;
}) {
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const create = useSaveTemplate(() => onClose());
  return (
    <Modal
      title="Save as template"
      onClose={onClose}
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button
            variant="primary"
            disabled={!name.trim() || create.isPending}
            onClick={() => create.mutate({ kind, name: name.trim(), description: description.trim() || null, config })}
            data-testid="template-save"
          >
            Save
          </Button>
        </>
      }
    >
      <Field label="Name">
        <input autoFocus value={name} onChange={(e) => setName(e.target.value)} data-testid="template-name" />
      </Field>
      <Field label="Description">
        <textarea rows={2} value={description} onChange={(e) => setDescription(e.target.value)} />
      </Field>
      <ErrorLine error={create.error} />
    </Modal>
  );
}
