/** What a labelling run would cost: features, requests, tokens and dollars (paid backends). */
import type { CostEstimate } from "../api/types";
import { Stat } from "../components/ui";
import { formatCount } from "../lib/format";

export function CostEstimateView({ estimate }: { estimate: CostEstimate }) {
  return (
    <div className="grid grid-cols-2 gap-2 md:grid-cols-5" data-testid="labeling-estimate-result">
      <Stat label="Features" value={formatCount(estimate.n_features)} />
      <Stat label="Requests" value={formatCount(estimate.requests)} />
      <Stat label="Prompt tokens" value={formatCount(estimate.prompt_tokens)} />
      <Stat label="Completion tokens" value={formatCount(estimate.completion_tokens)} />
      <Stat label="Cost" value={`$${estimate.cost.toFixed(4)}`} />
    </div>
  );
}
