/**
 * The Features area's server state: extractions (start, delete), the feature list fetched in pages
 * as the table scrolls, one feature and its detail, semantic search, lookup by latent index, and
 * the label / star / relabel / ablation calls, and the linguistic analysis (start, one summary).
 */
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api } from "../api/client";
import { useApiMutation, useDelete, useExtractions } from "../api/hooks";
import type { Extraction, ExtractionCreate, Feature, FeatureUpdate, LabelingJob, LinguisticConfig, LinguisticSummary, LinguisticsStarted, Page, SemanticHit } from "../api/types";
import type { FeatureRow } from "../components/FeatureTable";
import { isBusy } from "../lib/status";
import { featureDetail } from "./featureDetail";

export const PAGE_SIZE = 500;
const RUN_POLL_MS = 2000;

/** Pages of the feature list fetched as the table scrolls; rows are addressed by position. */
export function useFeaturePages(base: Record<string, unknown>) {
  const client = useQueryClient();
  const key = JSON.stringify(base);
  const [state, setState] = useState<{ key: string; total: number | null; pages: Map<number, FeatureRow[]>; error: unknown }>({
    key,
    total: null,
    pages: new Map(),
    error: null,
  });
  const inFlight = useRef(new Set<string>());
  const current = state.key === key ? state : { key, total: null, pages: new Map<number, FeatureRow[]>(), error: null };

  const load = useCallback(
    (page: number, fresh = false) => {
      const id = `${key}#${page}`;
      if (inFlight.current.has(id)) return;
      inFlight.current.add(id);
      client
        .fetchQuery({
          queryKey: ["features", "list", base, page],
          queryFn: ({ signal }) => api.get<Page<Feature>>("/features", { ...base, offset: page * PAGE_SIZE, limit: PAGE_SIZE } as never, signal),
          staleTime: fresh ? 0 : 10_000,
        })
        // Only the answer to the current query is shown: an answer for a key the list has left
        // (asc -> desc -> asc with the desc request slow) is dropped, never written over it.
        .then((res) =>
          setState((s) => {
            if (s.key !== key) return s;
            const pages = new Map(s.pages);
            pages.set(page, res.items);
            return { ...s, total: res.total, pages };
          }),
        )
        .catch((error) => setState((s) => (s.key === key ? { ...s, error } : s)))
        .finally(() => inFlight.current.delete(id));
    },
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [key, client],
  );

  useEffect(() => {
    setState({ key, total: null, pages: new Map(), error: null });
    load(0);
    // Leaving this query: abort its requests still in flight (their answers would be dropped).
    return () => void client.cancelQueries({ queryKey: ["features", "list", base] });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, load]);

  // Rows changed behind the list (a labelling run or a linguistic analysis finished, a label was
  // edited) invalidate ["features", ...]: fetch the pages already shown again, in place. The pages
  // are fetched outside any observer, so invalidating their queries alone would refresh nothing.
  const loadedPages = useRef<number[]>([]);
  loadedPages.current = [...current.pages.keys()];
  useEffect(
    () =>
      client.getQueryCache().subscribe((event) => {
        if (event.type !== "updated" || event.action.type !== "invalidate" || event.query.queryKey[0] !== "features") return;
        for (const p of loadedPages.current) load(p, true);
      }),
    [client, load],
  );

  const rowAt = useCallback(
    (i: number) => current.pages.get(Math.floor(i / PAGE_SIZE))?.[i % PAGE_SIZE],
    [current.pages],
  );
  const ensure = useCallback(
    (start: number, end: number) => {
      for (let p = Math.floor(start / PAGE_SIZE); p <= Math.floor(end / PAGE_SIZE); p++) {
        if (!current.pages.has(p)) load(p);
      }
    },
    [current.pages, load],
  );
  const replace = useCallback((f: Feature) => {
    setState((s) => {
      const pages = new Map(s.pages);
      for (const [p, rows] of pages) {
        const i = rows.findIndex((r) => r.id === f.id);
        if (i >= 0) pages.set(p, rows.map((r, j) => (j === i ? { ...r, ...f } : r)));
      }
      return { ...s, pages };
    });
  }, []);
  const loaded = useMemo(() => [...current.pages.values()].flat(), [current.pages]);
  return { total: current.total, rowAt, ensure, replace, error: current.error, loaded, reload: () => setState({ key: "", total: null, pages: new Map(), error: null }) };
}

/** The detail (examples, histogram, logit lens, correlations): one request shared by the tabs. */
export function useFeatureDetail(id: number) {
  return useQuery({ queryKey: ["features", id, "detail"], queryFn: ({ signal }) => featureDetail.detail(id, signal), staleTime: 60_000 });
}

export function useFeature(id: number | null) {
  return useQuery({
    queryKey: ["features", id],
    queryFn: ({ signal }) => api.get<Feature>(`/features/${id}`, undefined, signal),
    enabled: id !== null,
  });
}

export function useExtract(onSuccess?: (extraction: Extraction) => void) {
  return useApiMutation((body: ExtractionCreate) => api.post<Extraction>("/extractions", body), ["extractions"], onSuccess);
}

export const useDeleteExtraction = (id: number) => useDelete("extractions", id);

export function useSemanticSearch(extractionId: number, q: string) {
  return useQuery({
    queryKey: ["features", "semantic", extractionId, q],
    queryFn: ({ signal }) => api.get<SemanticHit[]>("/features/semantic", { extraction_id: extractionId, q, k: 50 }, signal),
  });
}

/** Toggle a latent's star; the answer is the updated row. */
export function toggleStar(id: number): Promise<Feature> {
  return api.post<Feature>(`/features/${id}/star`);
}

/** The latent with this index in an extraction (the text search matches indices too). */
export async function findByIndex(extractionId: number, index: number): Promise<Feature | undefined> {
  const res = await api.get<Page<Feature>>("/features", { extraction_id: extractionId, q: String(index), limit: 50 });
  return res.items.find((f) => f.index === index);
}

/** Edits of one latent (label fields, star) that put the answer in its cached row. */
export function useFeatureEdits(f: Feature, onChanged?: (f: Feature) => void) {
  const client = useQueryClient();
  const onSuccess = (out: Feature) => {
    client.setQueryData(["features", f.id], out);
    onChanged?.(out);
  };
  const save = useMutation({
    mutationFn: (body: FeatureUpdate) => api.patch<Feature>(`/features/${f.id}`, body),
    onSuccess,
  });
  const star = useMutation({ mutationFn: () => toggleStar(f.id), onSuccess });
  const relabel = useMutation({
    mutationFn: () => {
      const method = typeof f.label_method === "string" && f.label_method !== "manual" ? f.label_method : "rules";
      // Asked for on this latent, so it replaces a hand edit too (which stays in its History).
      return api.post<LabelingJob>(`/features/${f.id}/relabel`, { config: { method, overwrite_manual: true } });
    },
  });
  // A finished relabel changed the row behind this latent: refetch it.
  const refresh = () => void client.invalidateQueries({ queryKey: ["features", f.id] });
  return { save, star, relabel, refresh };
}

/** The completion of `prompt` with and without the latent. */
export function useAblation(featureId: number) {
  return useMutation({
    mutationFn: (prompt: string) => featureDetail.ablation(featureId, { prompt, max_new_tokens: 20 }),
  });
}

/**
 * The finished extractions a form can work on, and the one it has chosen: `initial`, or else the
 * first finished one once the list arrives (the labelling and steering forms start this way).
 */
export function useExtractionChoice(initial: number | null = null) {
  const extractions = useExtractions();
  const ready = (extractions.data?.items ?? []).filter((e: Extraction) => e.status === "ready" || e.status === "completed");
  const [extractionId, setExtractionId] = useState<number | null>(initial);
  useEffect(() => {
    if (extractionId === null && ready.length) setExtractionId(ready[0].id);
  }, [ready, extractionId]);
  return { ready, extractionId, setExtractionId };
}

/**
 * One labelling run (the follow-up run an extraction queued), polled while it is busy: its status
 * and the latents labelled so far (no job event refetches a run's row).
 */
export function useLabelingRun(id: number | null | undefined) {
  return useQuery({
    queryKey: ["labeling", id],
    queryFn: ({ signal }) => api.get<LabelingJob>(`/labeling/${id}`, undefined, signal),
    enabled: typeof id === "number",
    refetchInterval: (q) => (q.state.data && isBusy(q.state.data.status) ? RUN_POLL_MS : false),
  });
}

/** A latent's linguistic summary (404 until its extraction was analysed: no retries then). */
export function useFeatureLinguistics(id: number) {
  return useQuery({
    queryKey: ["features", id, "linguistics"],
    queryFn: ({ signal }) => api.get<LinguisticSummary>(`/features/${id}/linguistics`, undefined, signal),
    staleTime: 60_000,
    retry: false,
  });
}

/** Start the linguistic analysis of an extraction (its job id lands in `result.linguistics`). */
export function useStartLinguistics(extractionId: number) {
  return useApiMutation((body: LinguisticConfig) => api.post<LinguisticsStarted>(`/extractions/${extractionId}/linguistics`, body), ["extractions"]);
}
