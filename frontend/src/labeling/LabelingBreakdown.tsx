/**
 * A finished, scored labelling run's latents by how interpretable their labels are: high (score
 * at least 0.7, what the browser counts as interpretable), medium (0.5 to 0.7: above chance, 0.5
 * being chance for balanced accuracy) and low (below 0.5), read from the summary's score
 * histogram (ten bins of 0.1). "View features" opens the feature browser on the run's
 * extraction, filtered to the latents this run labelled in that band (`labeling_id` and the
 * score range of the run's own labels).
 */
import type { LabelingJob, LabelingSummary } from "../api/types";
import { Button } from "../components/ui";
import { formatCount } from "../lib/format";
import { useUi } from "../store/ui";

export interface Band {
  id: "high" | "medium" | "low";
  title: string;
  /** Histogram bins [from, to) of ten. */
  bins: [number, number];
  minScore?: number;
  maxScore?: number;
}

// The medium band's top stays under 0.7: the filter's ranges are inclusive, the bins are not.
export const BANDS: Band[] = [
  { id: "high", title: "high (≥ 0.7)", bins: [7, 10], minScore: 0.7 },
  { id: "medium", title: "medium (0.5–0.7)", bins: [5, 7], minScore: 0.5, maxScore: 0.6999999 },
  { id: "low", title: "low (< 0.5)", bins: [0, 5], maxScore: 0.4999999 },
];

export function bandCounts(histogram: number[]): Record<Band["id"], number> {
  const sum = ([a, b]: [number, number]) => histogram.slice(a, b).reduce((x, y) => x + y, 0);
  return { high: sum(BANDS[0].bins), medium: sum(BANDS[1].bins), low: sum(BANDS[2].bins) };
}

export function LabelingBreakdown({ run, summary }: { run: LabelingJob; summary: LabelingSummary }) {
  const setFeatureFilter = useUi((s) => s.setFeatureFilter);
  const setExtractionId = useUi((s) => s.setExtractionId);
  const setPanel = useUi((s) => s.setPanel);
  const counts = bandCounts(summary.score_histogram ?? []);
  const view = (band: Band | null) => {
    setExtractionId(run.extraction_id);
    setFeatureFilter({
      labelingId: run.id,
      minScore: band?.minScore,
      maxScore: band?.maxScore,
      title: `labelling run ${run.name}${band ? ` · ${band.id}` : ""}`,
    });
    setPanel("features");
  };
  const scored = summary.scored ?? 0;
  return (
    <div className="mt-3 rounded-md border border-slate-800 p-2 text-xs" data-testid="labeling-breakdown">
      <div className="mb-1 flex items-center justify-between text-slate-400">
        <span>{scored ? `Interpretability of ${formatCount(scored)} scored labels` : "Labels were not scored: no interpretability breakdown"}</span>
        <Button className="px-2 py-0.5 text-xs" onClick={() => view(null)} data-testid="breakdown-view-all">
          View features
        </Button>
      </div>
      {scored > 0 && (
        <div className="grid grid-cols-3 gap-2">
          {BANDS.map((b) => (
            // Count over its button: side by side, a half-width card squeezed both onto two lines.
            <div key={b.id} className="flex flex-col items-start gap-1 rounded bg-slate-800/60 px-2 py-1.5" data-testid={`breakdown-${b.id}`}>
              <span>
                <span className="text-slate-500">{b.title}</span> <span className="font-mono text-slate-200">{formatCount(counts[b.id])}</span>{" "}
                <span className="text-slate-500">({Math.round((100 * counts[b.id]) / scored)}%)</span>
              </span>
              <Button className="whitespace-nowrap px-2 py-0.5 text-xs" disabled={!counts[b.id]} onClick={() => view(b)} data-testid={`breakdown-view-${b.id}`}>
                View features
              </Button>
            </div>
          ))}
        </div>
      )}
    </div>
  );
}
