/**
 * The Models area's server state: register, load and delete a model, and cache its activations.
 * Lists (models, tokenizations, caches) come from api/hooks, shared with the other areas.
 */
import { useMutation, useQuery } from "@tanstack/react-query";
import { api } from "../api/client";
import { useApiMutation, useDelete } from "../api/hooks";
import type { components } from "../api/schema";
import type { ActivationCacheCreate, ModelCreate } from "../api/types";

export function useAddModel(onSuccess?: () => void) {
  return useApiMutation((body: ModelCreate) => api.post("/models", body), ["models"], onSuccess);
}

export function useLoadModel(id: number) {
  return useApiMutation(() => api.post(`/models/${id}/load`), ["models"]);
}

export const useDeleteModel = (id: number) => useDelete("models", id);

export function useCacheActivations(onSuccess?: () => void) {
  return useApiMutation((body: ActivationCacheCreate) => api.post("/activations", body), ["activations"], onSuccess);
}

type Schemas = components["schemas"];
export type QuantizationOption = Schemas["QuantizationOption"];
export type ModelEstimate = Schemas["ModelEstimate"];
export type ModelEstimateRequest = Schemas["ModelEstimateRequest"];

/** Which quantizations load on the server's device, and why not (bitsandbytes' devices). */
export function useQuantization() {
  return useQuery({
    queryKey: ["models", "quantization"],
    queryFn: ({ signal }) => api.get<QuantizationOption[]>("/models/quantization", undefined, signal),
    staleTime: Infinity,
  });
}

/** Memory of a Hub id or folder before download (its token, if any, goes in the body only). */
export function useModelEstimate() {
  return useMutation({ mutationFn: (body: ModelEstimateRequest) => api.post<ModelEstimate>("/models/estimate", body) });
}
