/** Training metric series: REST rows and live progress events folded into chart data. */
import type { MetricPoint } from "../api/types";
import type { SeriesPoint } from "../components/charts";

/** metric name -> points sorted by step, one key per SAE. */
export type MetricSeries = Record<string, SeriesPoint[]>;

export const CHART_METRICS = [
  { name: "loss", title: "loss", log: true },
  { name: "l0", title: "L0", log: false },
  { name: "fvu", title: "FVU", log: false },
  { name: "dead", title: "dead latents", log: false },
  { name: "lr", title: "learning rate", log: false },
] as const;

function upsert(points: SeriesPoint[], step: number, sae: string, value: number | null): SeriesPoint[] {
  // Points arrive mostly in order: search from the end.
  let i = points.length - 1;
  while (i >= 0 && points[i].step > step) i--;
  if (i >= 0 && points[i].step === step) {
    points[i] = { ...points[i], [sae]: value };
    return points;
  }
  points.splice(i + 1, 0, { step, [sae]: value });
  return points;
}

export function seriesFromRows(rows: MetricPoint[]): MetricSeries {
  const out: MetricSeries = {};
  for (const r of rows) {
    out[r.name] = upsert(out[r.name] ?? [], r.step, r.sae, r.value ?? null);
  }
  return out;
}

/** Fold the metrics of one progress event (`data.metrics` with `sae`) in; returns a new object. */
export function addEventMetrics(series: MetricSeries, data: Record<string, unknown>): MetricSeries {
  const metrics = data.metrics as Record<string, unknown> | undefined;
  const step = data.step;
  if (!metrics || typeof step !== "number" || typeof metrics.sae !== "string") return series;
  const sae = metrics.sae;
  const next: MetricSeries = { ...series };
  for (const [name, value] of Object.entries(metrics)) {
    if (name === "sae" || name === "stage") continue;
    if (value !== null && typeof value !== "number") continue;
    next[name] = upsert([...(next[name] ?? [])], step, sae, value as number | null);
  }
  return next;
}

export function saeNames(series: MetricSeries): string[] {
  const names = new Set<string>();
  for (const points of Object.values(series)) {
    for (const p of points) for (const k of Object.keys(p)) if (k !== "step") names.add(k);
  }
  return [...names].sort();
}
