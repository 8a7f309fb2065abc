/** TanStack Query hooks per resource; keys start with the resource name so jobs can invalidate. */
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { METRIC_POINTS } from "../lib/metrics";
import { pollWhileBusy } from "../lib/status";
import { api, type Query } from "./client";
import type {
  ActivationCache,
  ArchitectureInfo,
  Checkpoint,
  Dataset,
  Extraction,
  MetricPoint,
  Model,
  Page,
  SAE,
  Template,
  Tokenization,
  TrainConfig,
  Training,
  TrainingMemoryEstimate,
} from "./types";


function useList<T extends { status: string }>(key: string, query: Query = {}, enabled = true) {
  return useQuery({
    queryKey: [key, "list", query],
    queryFn: ({ signal }) => api.get<Page<T>>(`/${key}`, { limit: 200, ...query }, signal),
    enabled,
    // Artifacts whose rows change while a job runs: refetch every few seconds while any is busy.
    refetchInterval: (q) => pollWhileBusy(q.state.data as Page<{ status: string }> | undefined),
  });
}

export const useDatasets = () => useList<Dataset>("datasets");
export const useModels = () => useList<Model>("models");
export const useTokenizations = (query: Query = {}) => useList<Tokenization>("tokenizations", query);
export const useActivationCaches = () => useList<ActivationCache>("activations");
export const useTrainings = () => useList<Training>("trainings");
export const useSaes = () => useList<SAE>("saes");
export const useExtractions = (query: Query = {}) => useList<Extraction>("extractions", query);

export function useTrainingMetrics(id: number) {
  return useQuery({
    queryKey: ["trainings", id, "metrics"],
    // The whole run, downsampled per SAE and metric; live events append (lib/metrics).
    queryFn: ({ signal }) =>
      api.get<MetricPoint[]>(`/trainings/${id}/metrics`, { points: METRIC_POINTS }, signal),
  });
}

/** The registered SAE architectures and their facts (how L0 is set, output hook, ...). */
export function useSaeArchitectures() {
  return useQuery({
    queryKey: ["saes", "architectures"],
    queryFn: ({ signal }) => api.get<ArchitectureInfo[]>("/saes/architectures", undefined, signal),
    staleTime: Infinity,
  });
}

/** The server's memory estimate for a training config (null until the config is complete). */
export function useTrainingEstimate(train: TrainConfig | null, lmBytes: number) {
  return useQuery({
    queryKey: ["trainings", "estimate", train, lmBytes],
    queryFn: () => api.post<TrainingMemoryEstimate>("/trainings/estimate", { train, lm_bytes: lmBytes }),
    enabled: train !== null,
    placeholderData: keepPreviousData,
    retry: false,
  });
}

export function useCheckpoints(id: number, enabled: boolean) {
  return useQuery({
    queryKey: ["trainings", id, "checkpoints"],
    queryFn: ({ signal }) => api.get<Checkpoint[]>(`/trainings/${id}/checkpoints`, undefined, signal),
    enabled,
  });
}

export function useTemplates(kind?: string) {
  return useQuery({
    queryKey: ["templates", kind ?? "all"],
    queryFn: ({ signal }) => api.get<Page<Template>>("/templates", { kind, limit: 500 }, signal),
  });
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
