/** Import an SAE folder in SAELens layout (cfg.json + sae_weights.safetensors) from an allowed path. */
import { useState } from "react";
import { Button, Card, ErrorLine, Field } from "../components/ui";
import { useImportSae } from "./queries";

export function ImportSaeCard() {
  const [path, setPath] = useState("");
  const [name, setName] = useState("");
  const create = useImportSae(() => setPath(""));
  return (
    <Card title="Import an SAE (SAELens folder)">
      <div className="grid gap-3 sm:grid-cols-3">
        <Field label="Folder on the server" className="sm:col-span-2" hint="cfg.json + sae_weights.safetensors, under MISTUDIO_IMPORT_ROOTS">
          <input value={path} onChange={(e) => setPath(e.target.value)} placeholder="/saes/blocks.6.hook_resid_post" />
        </Field>
        <Field label="Name">
          <input value={name} onChange={(e) => setName(e.target.value)} />
        </Field>
      </div>
      <div className="mt-3 flex items-center gap-3">
        <Button disabled={!path.trim() || create.isPending} onClick={() => create.mutate({ path: path.trim(), name: name.trim() || null })}>
          Import
        </Button>
        <ErrorLine error={create.error} className="flex-1" />
      </div>
    </Card>
  );
}
