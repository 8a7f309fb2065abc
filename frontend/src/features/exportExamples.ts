/**
 * A latent's examples as a JSON file, from the feature's detail view: the feature row (label,
 * statistics, scores) and `GET /features/{id}/detail` with up to `EXPORT_EXAMPLES` top examples
 * (tokens, activations per token, the centre and its value), the activation histogram, logit
 * lens and correlations, as the server answers them. Saved through a Blob download, so nothing
 * is written on the server.
 */
import { api } from "../api/client";
import type { Feature } from "../api/types";

/** The detail endpoint's most examples per request. */
export const EXPORT_EXAMPLES = 200;

export interface ExamplesExport {
  format: "mistudio.feature_examples.v1";
  exported_at: string;
  feature: Feature;
  detail: unknown;
}

export async function featureExamplesExport(feature: Feature): Promise<ExamplesExport> {
  const detail = await api.get<unknown>(`/features/${feature.id}/detail`, { examples: EXPORT_EXAMPLES });
  return { format: "mistudio.feature_examples.v1", exported_at: new Date().toISOString(), feature, detail };
}

export const exportFileName = (feature: Feature) => `extraction-${feature.extraction_id}-latent-${feature.index}-examples.json`;

/** Download `data` as a pretty-printed JSON file named `name`. */
export function downloadJson(data: unknown, name: string): void {
  const blob = new Blob([JSON.stringify(data, null, 2)], { type: "application/json" });
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  URL.revokeObjectURL(url);
}
