/**
 * A latent's label history: the versions (GET /features/{id}/labels, newest first), making one
 * current again, and how a version is described (who set it, its text, its template).
 *
 * The history's query key carries the feature's `labeled_at`, so a hand edit, a relabel or a
 * version made current (each changes it) refetches the list without every caller knowing it.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api } from "../api/client";
import type { components } from "../api/schema";
import type { Feature } from "../api/types";

export type LabelVersion = components["schemas"]["LabelVersionOut"];

export function useLabelHistory(f: Feature) {
  return useQuery({
    queryKey: ["features", f.id, "labels", f.labeled_at ?? null],
    queryFn: ({ signal }) => api.get<LabelVersion[]>(`/features/${f.id}/labels`, undefined, signal),
  });
}

/** Make a version current; the answer (the feature row, now showing it) goes into its cache. */
export function useMakeCurrent(f: Feature, onChanged?: (f: Feature) => void) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (v: LabelVersion) => api.post<Feature>(`/features/${f.id}/labels/${v.id}/current`),
    onSuccess: (out) => {
      client.setQueryData(["features", f.id], out);
      void client.invalidateQueries({ queryKey: ["features", f.id, "labels"] });
      onChanged?.(out);
    },
  });
}

/** Who or what set a version. */
export function setBy(v: LabelVersion): string {
  if (v.source === "manual") return "hand edit";
  if (v.source === "backfill") return "before history";
  return v.labeling_id != null ? `run #${v.labeling_id}` : "run (deleted)";
}

/** A version's text, saying so when it has none. */
export function versionText(v: LabelVersion): string {
  if (v.label) return v.label;
  return v.status === "unclear" ? "(unclear: no pattern found)" : "(label cleared)";
}

export function templateText(v: LabelVersion): string {
  if (!v.template) return "–";
  return v.template_hash ? `${v.template} · ${v.template_hash.slice(0, 6)}` : v.template;
}

export function methodText(v: LabelVersion): string {
  return v.model ? `${v.method ?? "?"} (${v.model})` : (v.method ?? "?");
}
