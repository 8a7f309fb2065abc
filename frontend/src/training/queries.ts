/**
 * The Training area's server state: a run's metrics (downsampled by the server over the whole run)
 * and checkpoints, the server's memory estimate for the form's config, and start / delete.
 */
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { api } from "../api/client";
import { useApiMutation, useDelete } from "../api/hooks";
import type { Checkpoint, MetricPoint, TrainConfig, TrainingBenchmarkRequest, TrainingCreate, TrainingEstimate, TrainingTimeEstimate } from "../api/types";
import { METRIC_POINTS } from "../lib/metrics";

export function useTrainingMetrics(id: number) {
  return useQuery({
    queryKey: ["trainings", id, "metrics"],
    // The whole run, downsampled per SAE and metric; live events append (lib/metrics).
    queryFn: ({ signal }) =>
      api.get<MetricPoint[]>(`/trainings/${id}/metrics`, { points: METRIC_POINTS }, signal),
  });
}

/** The server's memory estimate and sparsity plan for a training config (null until the config
 * is complete). */
export function useTrainingEstimate(train: TrainConfig | null, lmBytes: number) {
  return useQuery({
    queryKey: ["trainings", "estimate", train, lmBytes],
    queryFn: () => api.post<TrainingEstimate>("/trainings/estimate", { train, lm_bytes: lmBytes }),
    enabled: train !== null,
    placeholderData: keepPreviousData,
    retry: false,
  });
}

/** The measured training time of a config on the server's device (null: not asked). Kept per
 * body for the session: a measurement does not go stale while the page is open. */
export function useTrainingTime(body: TrainingBenchmarkRequest | null) {
  return useQuery({
    queryKey: ["trainings", "benchmark", body],
    queryFn: () => api.post<TrainingTimeEstimate>("/trainings/benchmark", body),
    enabled: body !== null,
    placeholderData: keepPreviousData,
    staleTime: Infinity,
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

/** Start a training; the body is the form's request, as lib/trainingForm builds it. */
export function useStartTraining() {
  return useApiMutation((body: TrainingCreate) => api.post("/trainings", body), ["trainings"]);
}

export const useDeleteTraining = (id: number) => useDelete("trainings", id);

/** Delete several runs one after the other; one error line lists every run that failed. */
export function useDeleteTrainings(onSuccess?: () => void) {
  return useApiMutation(
    async (ids: number[]) => {
      const errors: string[] = [];
      for (const id of ids) {
        try {
          await api.del(`/trainings/${id}`);
        } catch (err) {
          errors.push((err as Error).message);
        }
      }
      if (errors.length) throw new Error(errors.join("; "));
    },
    ["trainings"],
    onSuccess,
  );
}
