/**
 * The SAEs area's server state: the registered architectures and their facts (served by the
 * backend, so the UI never re-derives them), SAELens import and delete.
 */
import { useQuery } from "@tanstack/react-query";
import { api } from "../api/client";
import { useApiMutation, useDelete } from "../api/hooks";
import type { ArchitectureInfo, SAEImport } from "../api/types";

/** The registered SAE architectures and their facts (how L0 is set, output hook, ...). */
export function useSaeArchitectures() {
  return useQuery({
    queryKey: ["saes", "architectures"],
    queryFn: ({ signal }) => api.get<ArchitectureInfo[]>("/saes/architectures", undefined, signal),
    staleTime: Infinity,
  });
}

export function useImportSae(onSuccess?: () => void) {
  return useApiMutation((body: SAEImport) => api.post("/saes/import", body), ["saes"], onSuccess);
}

export const useDeleteSae = (id: number) => useDelete("saes", id);
