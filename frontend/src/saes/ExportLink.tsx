/** Download an SAE as a SAELens folder in a zip (streamed by the server). */
import type { SAE } from "../api/types";
import { DownloadLink } from "../components/DownloadLink";
import { exportUrl } from "./queries";

export function ExportLink({ sae }: { sae: SAE }) {
  return (
    <DownloadLink
      url={exportUrl(sae.id)}
      filename={`${sae.name.replace(/[^\w.-]+/g, "-")}.zip`}
      title="Download as a SAELens folder (cfg.json + sae_weights.safetensors), zipped"
      testId="sae-export"
      className="inline-flex items-center rounded-md px-2 py-1 text-xs text-slate-300 hover:bg-slate-800"
    >
      Export
    </DownloadLink>
  );
}
