/** The steered-versus-baseline metrics of one generation (KL, perplexities, overlap). */
import type { ComparisonMetrics } from "../api/types";
import { metric, percent } from "./format";

export function Metrics({ m }: { m: ComparisonMetrics | null | undefined }) {
  if (!m) return null;
  return (
    <div className="mt-1 flex flex-wrap gap-x-3 font-mono text-[11px] text-slate-400" data-testid="steering-metrics">
      <span>KL {metric(m.kl_mean)}</span>
      <span>ppl {metric(m.perplexity, 2)}</span>
      <span>sim {metric(m.similarity, 2)}</span>
      {m.fire_rate !== undefined && (
        <span title="share of the steered text's tokens on which the steered features fire when the unsteered model reads it (baseline text in brackets)" data-testid="steering-fire-rate">
          fires {percent(m.fire_rate)} (base {percent(m.baseline_fire_rate)})
        </span>
      )}
    </div>
  );
}
