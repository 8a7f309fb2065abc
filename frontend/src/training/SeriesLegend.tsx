/**
 * Which colour is which SAE in a training card's charts: the charts draw one line per SAE in
 * `SERIES_COLOURS` order (the sorted SAE names), so one legend above them serves every chart.
 */
import { SERIES_COLOURS } from "../components/charts";

/** An SAE's metric name (`blocks.6.hook_resid_post.topk.4608.k32`) shortened to what differs. */
export function shortSaeName(name: string): string {
  return name.replace(/^blocks\.(\d+)\.hook_/, "L$1 ");
}

export function SeriesLegend({ names }: { names: string[] }) {
  if (names.length < 2) return null;
  return (
    <div className="mt-3 flex flex-wrap gap-x-4 gap-y-1 text-[11px] text-slate-300" data-testid="series-legend">
      {names.map((n, i) => (
        <span key={n} className="flex items-center gap-1.5" title={n} data-testid="series-legend-item">
          <span className="inline-block h-2 w-3 rounded-sm" style={{ background: SERIES_COLOURS[i % SERIES_COLOURS.length] }} />
          <span className="font-mono">{shortSaeName(n)}</span>
        </span>
      ))}
    </div>
  );
}
