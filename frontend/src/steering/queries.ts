/**
 * The Steering area's server state: the run history (polled while a run is busy), one run (polled
 * until it finishes), the feature search of the form, starting a run and downloading its export.
 */
import { useQuery } from "@tanstack/react-query";
import { api } from "../api/client";
import { useApiMutation, useRunList } from "../api/hooks";
import type { Feature, Page, SteeringCreate, SteeringRunOut, SteeringRunSummary } from "../api/types";
import { isBusy } from "../lib/status";

export function useSteeringRun(runId: number | null) {
  return useQuery({
    queryKey: ["steering", runId],
    queryFn: ({ signal }) => api.get<SteeringRunOut>(`/steering/${runId}`, undefined, signal),
    enabled: runId !== null,
    refetchInterval: (q) => (isBusy((q.state.data as SteeringRunOut | undefined)?.status) ? 2000 : false),
  });
}

/** Download a run's JSON export. */
export async function exportRun(id: number, name: string): Promise<void> {
  const data = await api.get<unknown>(`/steering/${id}/export`);
  const blob = new Blob([JSON.stringify(data, null, 2)], { type: "application/json" });
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = `steering-${id}-${name.replace(/[^\w.-]+/g, "_")}.json`;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export const useSteeringRuns = () => useRunList<SteeringRunSummary>("steering");

/** The first 20 features of an extraction matching `q` (label or top tokens), for the picker. */
export function useFeatureSearch(extractionId: number | null, q: string) {
  return useQuery({
    queryKey: ["features", "list", { extraction_id: extractionId, q, limit: 20 }],
    queryFn: ({ signal }) =>
      api.get<Page<Feature>>("/features", { extraction_id: extractionId, q: q.trim() || undefined, limit: 20 }, signal),
    enabled: extractionId !== null,
  });
}

/** Start a run; `build` makes the request inside the mutation, so a form error shows as its error. */
export function useStartSteering(onSuccess?: (run: SteeringRunOut) => void) {
  return useApiMutation((build: () => SteeringCreate) => api.post<SteeringRunOut>("/steering", build()), ["steering"], onSuccess);
}
