/** Download an SAE as a SAELens folder in a zip (streamed by the server). */
import { useState } from "react";
import { apiToken, errorMessage } from "../api/client";
import type { SAE } from "../api/types";
import { downloadWithToken, exportUrl } from "./queries";

export function ExportLink({ sae }: { sae: SAE }) {
  const [error, setError] = useState<string | null>(null);
  const filename = `${sae.name.replace(/[^\w.-]+/g, "-")}.zip`;
  return (
    <a
      href={exportUrl(sae.id)}
      download={filename}
      className="inline-flex items-center rounded-md px-2 py-1 text-xs text-slate-300 hover:bg-slate-800"
      title={error ?? "Download as a SAELens folder (cfg.json + sae_weights.safetensors), zipped"}
      data-testid="sae-export"
      onClick={(e) => {
        if (!apiToken()) return; // the link streams the zip itself
        e.preventDefault();
        downloadWithToken(sae.id, filename).catch((err) => setError(errorMessage(err)));
      }}
    >
      Export
    </a>
  );
}
