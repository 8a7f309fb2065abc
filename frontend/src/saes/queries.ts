/**
 * The SAEs area's server state: the registered architectures and their facts (served by the
 * backend, so the UI never re-derives them), adding an SAE (Hub, SAELens release, server path),
 * searching and browsing the Hub before a download, linking a model, export and delete.
 */
import { useMutation, useQuery } from "@tanstack/react-query";
import { API_BASE, api } from "../api/client";
import { useApiMutation, useDelete } from "../api/hooks";
import type { ArchitectureInfo, HubBrowse, HubBrowseRequest, HubSearch, SAEAdd, SAEUpdate } from "../api/types";

/** The registered SAE architectures and their facts (how L0 is set, output hook, ...). */
export function useSaeArchitectures() {
  return useQuery({
    queryKey: ["saes", "architectures"],
    queryFn: ({ signal }) => api.get<ArchitectureInfo[]>("/saes/architectures", undefined, signal),
    staleTime: Infinity,
  });
}

/** Queue an import (`POST /saes`); every mistake the server can see first is refused here. */
export function useAddSae() {
  return useApiMutation((body: SAEAdd) => api.post("/saes", body), ["saes"]);
}

/** Rename an SAE, or link / relink / unlink its model (`model_id: null`). */
export function useUpdateSae(id: number) {
  return useApiMutation((body: SAEUpdate) => api.patch(`/saes/${id}`, body), ["saes"]);
}

/** Hub repos with the SAELens library tag and SAELens releases matching `q` (empty: the most downloaded). */
export function useHubSearch(q: string, enabled: boolean) {
  return useQuery({
    queryKey: ["saes", "hub-search", q],
    queryFn: ({ signal }) => api.get<HubSearch>("/saes/hub/search", { q, limit: 12 }, signal),
    enabled,
    staleTime: 60_000,
  });
}

/** One repo's or release's SAEs, from its listing and small configs (a POST: it may carry a token). */
export function useHubBrowse() {
  return useMutation({ mutationFn: (body: HubBrowseRequest) => api.post<HubBrowse>("/saes/hub/browse", body) });
}

export const useDeleteSae = (id: number) => useDelete("saes", id);

/** Where an SAE's SAELens zip streams from. */
export const exportUrl = (id: number) => `${API_BASE}/saes/${id}/export.zip`;
