/** The lab's server state: the compare table of one model and hook, and queuing evaluations. */
import { useQuery } from "@tanstack/react-query";
import { api } from "../api/client";
import { useApiMutation } from "../api/hooks";
import type { CompareOut, EvalManyOut, EvalRequest } from "../api/types";

export interface CompareScope {
  modelId: number | null;
  hookName: string | null;
}

/** Every SAE of a model and hook with its newest metrics; polled while an evaluation runs. */
export function useCompare(scope: CompareScope) {
  return useQuery({
    queryKey: ["lab", "compare", scope],
    queryFn: ({ signal }) =>
      api.get<CompareOut>(
        "/lab/compare",
        { model_id: scope.modelId ?? undefined, hook_name: scope.hookName ?? undefined },
        signal,
      ),
    refetchInterval: (q) => ((q.state.data as CompareOut | undefined)?.points.some((p) => p.eval_status === "pending") ? 2000 : false),
  });
}

/** Evaluate the SAEs `ids` alike, in one job (`POST /lab/evals`; stored results answer at once). */
export function useEvaluate() {
  return useApiMutation(
    ({ ids, body }: { ids: number[]; body: Partial<EvalRequest> }) => api.post<EvalManyOut>("/lab/evals", { ...body, sae_ids: ids }),
    ["lab"],
  );
}
