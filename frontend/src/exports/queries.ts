/**
 * Neuronpedia exports of an extraction: list (polled while one is written or uploaded), create,
 * delete, upload, and where each form of it downloads from.
 */
import { useQuery } from "@tanstack/react-query";
import { API_BASE, api } from "../api/client";
import { useApiMutation } from "../api/hooks";
import type { components } from "../api/schema";
import type { Page } from "../api/types";
import { isBusy } from "../lib/status";

type S = components["schemas"];
export type Export = S["ExportOut"];
export type ExportCreate = S["ExportCreate"];
export type NeuronpediaExportConfig = S["NeuronpediaExportConfig"];
export type ExportForm = "archive" | "neuronpedia";

/** What an export wrote (`ExportOut.result`, a free-form dict in the schema). */
export type ExportResult = {
  latents?: number;
  activations?: number;
  explanations?: number;
  batches?: number;
  model_id?: string;
  source_id?: string;
  source_set?: string;
  archive_bytes?: number;
  bulk_bytes?: number;
  seconds?: number;
};

/** The last upload of an export (`ExportOut.upload`); `report` once it completed. */
export type ExportUpload = {
  url?: string;
  job_id?: string | null;
  status?: string;
  error?: string | null;
  report?: {
    batches_total?: number;
    batches_sent?: number;
    batches_resumed?: number;
    features_sent?: number;
    features_skipped?: number;
    clipped?: Record<string, number>;
    seconds?: number;
  };
};

const busy = (e: Export) => isBusy(e.status) || isBusy((e.upload as ExportUpload | undefined)?.status);

export function useExports(extractionId: number) {
  return useQuery({
    queryKey: ["exports", "list", extractionId],
    queryFn: ({ signal }) =>
      api.get<Page<Export>>("/exports", { extraction_id: extractionId, limit: 100, sort: "created_at", order: "desc" }, signal),
    refetchInterval: (q) => ((q.state.data as Page<Export> | undefined)?.items.some(busy) ? 2000 : false),
  });
}

export function useCreateExport(onDone?: (out: Export) => void) {
  return useApiMutation((body: ExportCreate) => api.post<Export>("/exports", body), ["exports"], onDone);
}

export function useDeleteExport(id: number) {
  return useApiMutation(() => api.del(`/exports/${id}`), ["exports"]);
}

/** Upload to a Neuronpedia instance; empty fields fall back to the server's settings. */
export function useUploadExport(id: number) {
  return useApiMutation(
    (body: { url?: string; api_key?: string }) => api.post<Export>(`/exports/${id}/upload`, body),
    ["exports"],
  );
}

export const downloadUrl = (id: number, form: ExportForm) => `${API_BASE}/exports/${id}/download?form=${form}`;
