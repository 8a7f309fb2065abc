/** What a labelling run would cost and take: features, requests, tokens, dollars (paid
 * backends), and its time with what that rests on (rules timed now, past runs, or a typical
 * rate: the server's `time.how`). */
import type { CostEstimate } from "../api/types";
import { Stat } from "../components/ui";
import { formatCount, formatEta } from "../lib/format";

const BASIS = { measured: "measured now", past_runs: "from past runs", typical: "typical rate" } as const;

export function CostEstimateView({ estimate }: { estimate: CostEstimate }) {
  const time = estimate.time;
  return (
    <div className="space-y-1" data-testid="labeling-estimate-result">
      <div className="grid grid-cols-2 gap-2 md:grid-cols-6">
        <Stat label="Features" value={formatCount(estimate.n_features)} />
        <Stat label="Requests" value={formatCount(estimate.requests)} />
        <Stat label="Prompt tokens" value={formatCount(estimate.prompt_tokens)} />
        <Stat label="Completion tokens" value={formatCount(estimate.completion_tokens)} />
        <Stat label="Cost" value={`$${estimate.cost.toFixed(4)}`} />
        <Stat label={`Time (${time ? BASIS[time.basis] : "–"})`} value={<span data-testid="labeling-estimate-time">{time ? `≈ ${formatEta(time.seconds) || "0s"}` : "–"}</span>} />
      </div>
      {time && (
        <p className="text-[11px] text-slate-500" data-testid="labeling-estimate-how">
          time estimated from {time.how}
        </p>
      )}
    </div>
  );
}
