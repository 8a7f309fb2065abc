/**
 * The Models area's server state: register, load and delete a model, and cache its activations.
 * Lists (models, tokenizations, caches) come from api/hooks, shared with the other areas.
 */
import { api } from "../api/client";
import { useApiMutation, useDelete } from "../api/hooks";
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
