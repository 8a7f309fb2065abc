/** The histogram of a latent's nonzero activations. */
import { HistogramChart } from "../components/charts";

export function ActivationHistogram({ edges, counts }: { edges: number[]; counts: number[] }) {
  // Log-spaced edges: label bins by their lower edge in compact scientific form.
  const first = counts.findIndex((c) => c > 0);
  const lo = Math.max(0, first - 1);
  return <HistogramChart bins={edges.slice(lo)} counts={counts.slice(lo)} height={110} decimals />;
}
