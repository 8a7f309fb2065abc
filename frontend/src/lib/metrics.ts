/**
 * Training metric series: REST rows and live progress events folded into chart data.
 *
 * The REST endpoint serves the whole run downsampled to `METRIC_POINTS` per SAE and metric (min
 * and max per step bucket, both ends kept), so a reload shows step 0 to the last step of even a
 * very long run. Live events then append at full rate; once a series passes `LIVE_MAX_POINTS`
 * it is thinned the same way (min/max per bucket), so a chart left open for hours stays light.
 */
import type { MetricPoint } from "../api/types";
import type { SeriesPoint } from "../components/charts";

/** metric name -> points sorted by step, one key per SAE. */
export type MetricSeries = Record<string, SeriesPoint[]>;

/** Points per SAE and metric asked of `GET /trainings/{id}/metrics` (the server's default). */
export const METRIC_POINTS = 1000;
/** A live series longer than this is thinned back to about half of it. */
export const LIVE_MAX_POINTS = 3000;

export const CHART_METRICS = [
  { name: "loss", title: "loss", log: true },
  { name: "l0", title: "L0", log: false },
  { name: "fvu", title: "FVU", log: false },
  { name: "dead", title: "dead latents", log: false },
  { name: "lr", title: "learning rate", log: false },
  // Every other series the trainer streams (core/training/sae_state.py log_metrics).
  { name: "mse", title: "reconstruction (MSE)", log: true },
  { name: "sparsity_loss", title: "sparsity loss", log: false },
  { name: "aux_loss", title: "aux loss", log: false },
  { name: "grad_norm", title: "gradient norm", log: true },
  { name: "tokens_per_s", title: "tokens/s", log: false },
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
    const points = upsert([...(next[name] ?? [])], step, sae, value as number | null);
    next[name] = points.length > LIVE_MAX_POINTS ? thinPoints(points, LIVE_MAX_POINTS / 2) : points;
  }
  return next;
}

/**
 * At most `budget` (+2) points of `points` (sorted by step) that keep the shape: the first and
 * last point, and in each of `budget / (2 x series)` equal runs of points the ones holding the
 * minimum and the maximum of every series (SAE), so spikes survive: the server's downsampling,
 * done on the client.
 */
export function thinPoints(points: SeriesPoint[], budget: number): SeriesPoint[] {
  if (points.length <= budget) return points;
  const keys = new Set<string>();
  for (const p of points) for (const k of Object.keys(p)) if (k !== "step") keys.add(k);
  const buckets = Math.max(1, Math.floor(budget / (2 * Math.max(1, keys.size))));
  const keep = new Set<number>([0, points.length - 1]);
  const size = points.length / buckets;
  for (let b = 0; b < buckets; b++) {
    const start = Math.floor(b * size);
    const end = Math.min(points.length, Math.floor((b + 1) * size));
    const lo: Record<string, number> = {};
    const hi: Record<string, number> = {};
    for (let i = start; i < end; i++) {
      for (const [key, v] of Object.entries(points[i])) {
        if (key === "step" || v === null || !Number.isFinite(v)) continue;
        if (lo[key] === undefined || v < (points[lo[key]][key] as number)) lo[key] = i;
        if (hi[key] === undefined || v > (points[hi[key]][key] as number)) hi[key] = i;
      }
    }
    for (const i of [...Object.values(lo), ...Object.values(hi)]) keep.add(i);
    if (start < end && !Object.keys(lo).length) keep.add(start);
  }
  return [...keep].sort((a, b) => a - b).map((i) => points[i]);
}

/** REST rows (the whole run, downsampled) are the truth; live points past their last step are
 * kept, so events that arrived before the REST answer are not lost. */
export function mergeSeries(base: MetricSeries, live: MetricSeries): MetricSeries {
  const out: MetricSeries = { ...base };
  for (const [name, points] of Object.entries(live)) {
    const last = base[name]?.[base[name].length - 1]?.step ?? -1;
    const extra = points.filter((p) => p.step > last);
    if (extra.length) out[name] = [...(base[name] ?? []), ...extra];
  }
  return out;
}

export function saeNames(series: MetricSeries): string[] {
  const names = new Set<string>();
  for (const points of Object.values(series)) {
    for (const p of points) for (const k of Object.keys(p)) if (k !== "step") names.add(k);
  }
  return [...names].sort();
}
