/** A finished labelling run's counts, cost, score histogram and failure reasons. */
import type { LabelingSummary } from "../api/types";
import { HistogramChart } from "../components/charts";
import { Stat } from "../components/ui";
import { formatCount, formatNumber } from "../lib/format";

export function LabelingSummaryView({ summary }: { summary: LabelingSummary }) {
  const hist = summary.score_histogram ?? [];
  // Hand-edited labels the run left current (its labels for them went into their History).
  const kept = (summary as LabelingSummary & { kept_manual?: number }).kept_manual ?? 0;
  return (
    <div className="mt-3 space-y-3" data-testid="labeling-summary">
      <div className="grid grid-cols-2 gap-2 md:grid-cols-4">
        <Stat label="Labelled" value={formatCount(summary.labelled)} testId="summary-labelled" />
        <Stat label="Unclear" value={formatCount(summary.unclear ?? 0)} />
        <Stat label="Failed" value={formatCount(summary.failed)} testId="summary-failed" />
        <Stat label="Mean score" value={formatNumber(summary.mean_score ?? null, 2)} />
      </div>
      {kept ? (
        <p className="text-xs text-slate-400" data-testid="summary-kept-manual">
          {formatCount(kept)} hand-edited label{kept === 1 ? "" : "s"} kept current; this run's labels for them are in their History
        </p>
      ) : null}
      {summary.cost ? <p className="text-xs text-slate-400">≈ ${summary.cost.toFixed(4)} · {formatCount((summary.prompt_tokens ?? 0) + (summary.completion_tokens ?? 0))} tokens</p> : null}
      {summary.scored ? (
        <div>
          <div className="mb-1 text-xs text-slate-400">Score histogram ({summary.scored} scored)</div>
          <HistogramChart bins={Array.from({ length: hist.length + 1 }, (_, i) => i / hist.length)} counts={hist} decimals height={140} />
        </div>
      ) : null}
      {summary.failures && Object.keys(summary.failures).length > 0 && (
        <ul className="text-xs text-rose-300">
          {Object.entries(summary.failures).map(([why, n]) => (
            <li key={why}>
              {n}× {why}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
