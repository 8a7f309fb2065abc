/**
 * The TanStack Query hooks every area shares: the artifact lists (polled while an item is busy),
 * the template list, and the mutation helpers. Each area's own queries live in its queries.ts; keys
 * start with the resource name, so a finished job's invalidation reaches them all.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { pollWhileBusy } from "../lib/status";
import { api, type Query } from "./client";
import type { ActivationCache, Dataset, Extraction, Model, Page, SAE, Template, Tokenization, Training } from "./types";

function useList<T extends { status: string }>(key: string, query: Query = {}, enabled = true) {
  return useQuery({
    queryKey: [key, "list", query],
    queryFn: ({ signal }) => api.get<Page<T>>(`/${key}`, { limit: 200, ...query }, signal),
    enabled,
    // Artifacts whose rows change while a job runs: refetch every few seconds while any is busy.
    refetchInterval: (q) => pollWhileBusy(q.state.data as Page<{ status: string }> | undefined),
  });
}

/** Runs of an operation (labelling, steering), newest first, polled while any is busy. */
export function useRunList<T extends { status: string }>(resource: string) {
  return useQuery({
    queryKey: [resource, "list"],
    queryFn: ({ signal }) =>
      api.get<Page<T>>(`/${resource}`, { limit: 100, sort: "created_at", order: "desc" }, signal),
    refetchInterval: (q) => pollWhileBusy(q.state.data as Page<T> | undefined),
  });
}

export const useDatasets = () => useList<Dataset>("datasets");
export const useModels = () => useList<Model>("models");
export const useTokenizations = (query: Query = {}) => useList<Tokenization>("tokenizations", query);
export const useActivationCaches = () => useList<ActivationCache>("activations");
export const useTrainings = () => useList<Training>("trainings");
export const useSaes = () => useList<SAE>("saes");
export const useExtractions = (query: Query = {}) => useList<Extraction>("extractions", query);

export function useTemplates(kind?: string) {
  return useQuery({
    queryKey: ["templates", kind ?? "all"],
    queryFn: ({ signal }) => api.get<Page<Template>>("/templates", { kind, limit: 500 }, signal),
  });
}

/** Cancel or retry a job (`POST /jobs/{id}/cancel|retry`); its progress arrives on the socket. */
export function useJobAction(jobId: string | null | undefined, action: "cancel" | "retry") {
  return useMutation({ mutationFn: () => api.post(`/jobs/${jobId}/${action}`) });
}

/** Delete one artifact (`DELETE /{resource}/{id}`), refreshing its list and any `also` keys. */
export function useDelete(resource: string, id: number, also: string[] = []) {
  return useApiMutation(() => api.del(`/${resource}/${id}`), [resource, ...also]);
}

/** A mutation that invalidates `keys` when it succeeds. */
export function useApiMutation<TVars, TOut = unknown>(
  fn: (vars: TVars) => Promise<TOut>,
  keys: string[],
  onSuccess?: (out: TOut, vars: TVars) => void,
) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: fn,
    onSuccess: (out, vars) => {
      for (const key of keys) void client.invalidateQueries({ queryKey: [key] });
      onSuccess?.(out, vars);
    },
  });
}
