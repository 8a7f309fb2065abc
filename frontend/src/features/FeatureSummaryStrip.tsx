/**
 * Aggregates over every latent the browser's filters match (not only the loaded rows), from
 * `GET /features/summary`: how many, how many labelled, the interpretable share (label score at
 * least the server's `interpretable_score`, 0.7; 0.5 is chance) and the mean activation rate.
 */
import { useQuery } from "@tanstack/react-query";
import { api } from "../api/client";
import type { components } from "../api/schema";
import { Stat } from "../components/ui";
import { formatCount, formatNumber } from "../lib/format";

export type FeatureSummary = components["schemas"]["FeatureSummaryOut"];

export function useFeatureSummary(params: Record<string, string | number | boolean | undefined>, enabled = true) {
  return useQuery({
    queryKey: ["features", "summary", params],
    queryFn: ({ signal }) => api.get<FeatureSummary>("/features/summary", params, signal),
    enabled,
    staleTime: 10_000,
  });
}

const pct = (part: number, whole: number) => (whole > 0 ? `${formatNumber((100 * part) / whole, 3)}%` : "–");

export function FeatureSummaryStrip({ summary }: { summary: FeatureSummary | undefined }) {
  const s = summary;
  return (
    <div className="grid grid-cols-2 gap-2 md:grid-cols-4" data-testid="feature-summary">
      <Stat label="Labelled" value={s ? `${formatCount(s.labelled)} / ${formatCount(s.n)}` : "–"} testId="summary-labelled-share" />
      <Stat
        label={`Interpretable (score ≥ ${s?.interpretable_score ?? 0.7})`}
        value={
          <span data-testid="summary-interpretable" title={s ? `${formatCount(s.interpretable)} of ${formatCount(s.n)} matching latents; ${formatCount(s.scored)} scored` : undefined}>
            {s ? `${pct(s.interpretable, s.n)} · ${formatCount(s.interpretable)}` : "–"}
          </span>
        }
      />
      <Stat label="Mean activation rate" value={<span data-testid="summary-rate">{s?.mean_frequency == null ? "–" : `${formatNumber(s.mean_frequency * 100, 3)}%`}</span>} />
      <Stat label="Mean label score" value={s?.mean_score == null ? "–" : formatNumber(s.mean_score, 2)} />
    </div>
  );
}
