/** Server state of the feature matching view: matchings of a pair of SAEs, their pairs, and the
 * extraction and feature row that show a latent's examples. */
import { useQuery } from "@tanstack/react-query";
import { api } from "../../api/client";
import { useApiMutation } from "../../api/hooks";
import type { components } from "../../api/schema";
import type { Extraction, Feature, Page } from "../../api/types";
import { pollWhileBusy } from "../../lib/status";

type S = components["schemas"];
export type Matching = S["MatchingOut"];
export type MatchingCreate = S["MatchingCreate"];
export type PairPage = S["PairPage"];
export type MatchPair = S["MatchPair"];
export type SplitOut = S["SplitOut"];
export type PairSort = "a" | "b" | "cosine" | "-cosine";

/** What a ready matching's `result` holds (the schema leaves it a free dict). */
export interface MatchSummary {
  n_a: number;
  n_b: number;
  d_in: number;
  threshold: number;
  share_matched: number;
  share_b_covered: number;
  matched: number;
  mean_best_cosine: number;
  histogram: { edges: number[]; counts: number[] };
  n_splits: number;
  seconds: number;
  /** Activation correlation on shared tokens, or why it was skipped. */
  correlation?: { tokens?: number; pairs?: number; mean?: number | null; skipped?: string };
}

/** Matchings of SAE `a` (either side), newest first; polled while one runs. */
export function useMatchings(a: number | null) {
  return useQuery({
    queryKey: ["lab/matchings", "list", a],
    queryFn: ({ signal }) =>
      api.get<Page<Matching>>("/lab/matchings", { sae_id: a ?? undefined, limit: 100, sort: "created_at", order: "desc" }, signal),
    enabled: a !== null,
    refetchInterval: (q) => pollWhileBusy(q.state.data as Page<Matching> | undefined),
  });
}

export function useStartMatching() {
  return useApiMutation((body: MatchingCreate) => api.post<Matching>("/lab/matchings", body), ["lab/matchings"]);
}

export function usePairs(id: number | null, sort: PairSort, offset: number, limit: number, splitsOnly: boolean) {
  return useQuery({
    queryKey: ["lab/matchings", id, "pairs", sort, offset, limit, splitsOnly],
    queryFn: ({ signal }) =>
      api.get<PairPage>(`/lab/matchings/${id}/pairs`, { sort, offset, limit, splits_only: splitsOnly || undefined }, signal),
    enabled: id !== null,
    placeholderData: (prev) => prev,
  });
}

/** The newest ready extraction of an SAE (its latents' examples), or null when it has none. */
export function useSaeExtraction(saeId: number | null) {
  return useQuery({
    queryKey: ["extractions", "list", { sae_id: saeId, status: "ready" }],
    queryFn: ({ signal }) =>
      api.get<Page<Extraction>>("/extractions", { sae_id: saeId ?? undefined, status: "ready", sort: "created_at", order: "desc", limit: 1 }, signal),
    enabled: saeId !== null,
    select: (page) => page.items[0] ?? null,
  });
}

/** The feature row of latent `index` of an extraction (null when it has none). */
export function useLatent(extractionId: number | null | undefined, index: number | null) {
  return useQuery({
    queryKey: ["features", "latent", extractionId, index],
    queryFn: async ({ signal }) => {
      const page = await api.get<Page<Feature>>("/features", { extraction_id: extractionId ?? undefined, q: String(index), limit: 50 }, signal);
      return page.items.find((f) => f.index === index) ?? null;
    },
    enabled: !!extractionId && index !== null,
  });
}
