/** A ready matching's figures: share of A matched, B covered, mean best cosine, splits, and the
 * histogram of every A latent's best cosine. */
import { HistogramChart } from "../../components/charts";
import { Card, Stat } from "../../components/ui";
import { formatCount, formatNumber, formatPercent } from "../../lib/format";
import type { MatchSummary } from "./queries";

export function MatchSummaryCard({ summary: s }: { summary: MatchSummary }) {
  return (
    <Card title="Matching" testId="match-summary">
      <div className="grid grid-cols-2 gap-2 md:grid-cols-3 xl:grid-cols-6">
        <Stat label={`A matched (cos ≥ ${s.threshold})`} value={<span data-testid="match-share">{formatPercent(s.share_matched, 1)}</span>} />
        <Stat label="Matched latents" value={`${formatCount(s.matched)} / ${formatCount(s.n_a)}`} />
        <Stat label="B covered by A" value={formatPercent(s.share_b_covered, 1)} />
        <Stat label="Mean best cosine" value={formatNumber(s.mean_best_cosine, 3)} />
        <Stat label="Splits" value={<span data-testid="match-splits">{formatCount(s.n_splits)}</span>} />
        <Stat label="Latents A · B · d" value={`${formatCount(s.n_a)} · ${formatCount(s.n_b)} · ${s.d_in}`} />
      </div>
      <p className="mt-2 text-xs text-slate-400" data-testid="match-correlation">
        {s.correlation?.skipped
          ? `Activation correlation not measured: ${s.correlation.skipped} (both SAEs need an extraction on the same tokenization).`
          : s.correlation
            ? `Activation correlation of each pair on ${formatCount(s.correlation.tokens)} shared tokens: mean ${formatNumber(s.correlation.mean, 3)} over ${formatCount(s.correlation.pairs)} pairs where both fired.`
            : null}
      </p>
      <div className="mt-3 text-xs text-slate-400">Best decoder cosine of each A latent in B ({formatNumber(s.seconds, 1)} s)</div>
      <HistogramChart bins={s.histogram.edges} counts={s.histogram.counts} decimals height={150} xLabel="cosine" />
    </Card>
  );
}
