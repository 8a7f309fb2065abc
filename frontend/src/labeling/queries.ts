/**
 * The Labeling area's server state: the run list (polled while a run is busy), the cost estimate
 * and the start. Both mutations take a thunk that builds the request, so a form error thrown while
 * building it (or the one-time read of the API key field) happens inside the mutation and shows as
 * its error line.
 */
import { api } from "../api/client";
import { useApiMutation, useRunList } from "../api/hooks";
import type { CostEstimate, LabelingCreate, LabelingJob } from "../api/types";

export const useLabelingRuns = () => useRunList<LabelingJob>("labeling");

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
