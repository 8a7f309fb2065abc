/**
 * The Datasets area's server state: built-in sources, raw and tokenized samples, tokenization
 * statistics, and the import / tokenize / delete mutations. Built on the typed client; keys start
 * with the resource so a finished job's invalidation reaches them.
 */
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { api } from "../api/client";
import { useApiMutation, useDelete } from "../api/hooks";
import type {
  BuiltinSource,
  DatasetCreate,
  Sample,
  TokenizationCreate,
  TokenizationStats,
  TokenizedSample,
} from "../api/types";

export function useDatasetSources() {
  return useQuery({
    queryKey: ["datasets", "sources"],
    queryFn: () => api.get<BuiltinSource[]>("/datasets/sources"),
    staleTime: Infinity,
  });
}

export function useDatasetSamples(id: number | null, offset: number, limit: number) {
  return useQuery({
    queryKey: ["datasets", id, "samples", offset, limit],
    queryFn: ({ signal }) => api.get<Sample[]>(`/datasets/${id}/samples`, { offset, limit }, signal),
    enabled: id !== null,
    placeholderData: keepPreviousData,
  });
}

export function useTokenizationStats(id: number | null) {
  return useQuery({
    queryKey: ["tokenizations", id, "stats"],
    queryFn: ({ signal }) => api.get<TokenizationStats>(`/tokenizations/${id}/stats`, undefined, signal),
    enabled: id !== null,
    staleTime: Infinity,
  });
}

export function useTokenizationSamples(id: number | null, offset: number, limit: number) {
  return useQuery({
    queryKey: ["tokenizations", id, "samples", offset, limit],
    queryFn: ({ signal }) =>
      api.get<TokenizedSample[]>(`/tokenizations/${id}/samples`, { offset, limit }, signal),
    enabled: id !== null,
    placeholderData: keepPreviousData,
  });
}

/** Start a dataset import; `onSuccess` runs once the server accepted it. */
export function useImportDataset(onSuccess?: () => void) {
  return useApiMutation((body: DatasetCreate) => api.post("/datasets", body), ["datasets"], onSuccess);
}

export function useUploadDataset() {
  return useApiMutation((form: FormData) => api.upload("/datasets/upload", form), ["datasets"]);
}

export function useTokenize(onSuccess?: () => void) {
  return useApiMutation((body: TokenizationCreate) => api.post("/tokenizations", body), ["tokenizations"], onSuccess);
}

export const useDeleteDataset = (id: number) => useDelete("datasets", id);
export const useDeleteTokenization = (id: number) => useDelete("tokenizations", id);
