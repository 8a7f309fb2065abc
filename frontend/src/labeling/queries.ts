/**
 * The Labeling area's server state: the run list (polled while a run is busy), the cost estimate
 * and the start. Both mutations take a thunk that builds the request, so a form error thrown while
 * building it (or the one-time read of the API key field) happens inside the mutation and shows as
 * its error line.
 */
import { useQuery } from "@tanstack/react-query";
import { api } from "../api/client";
import { useApiMutation } from "../api/hooks";
import type { CostEstimate, LabelingCreate, LabelingJob, Page } from "../api/types";
import { pollWhileBusy } from "../lib/status";

export function useLabelingRuns() {
  return useQuery({
    queryKey: ["labeling", "list"],
    queryFn: ({ signal }) =>
      api.get<Page<LabelingJob>>("/labeling", { limit: 100, sort: "created_at", order: "desc" }, signal),
    refetchInterval: (q) => pollWhileBusy(q.state.data as Page<LabelingJob> | undefined),
  });
}

export function useEstimateLabeling(onSuccess?: (estimate: CostEstimate) => void) {
  return useApiMutation(
    (build: () => LabelingCreate) => api.post<CostEstimate>("/labeling/estimate", build()),
    [],
    onSuccess,
  );
}

export function useStartLabeling(onSuccess?: (run: LabelingJob) => void) {
  return useApiMutation(
    (build: () => LabelingCreate) => api.post<LabelingJob>("/labeling", build()),
    ["labeling", "features"],
    onSuccess,
  );
}
