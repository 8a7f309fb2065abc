/**
 * The sparsity controller of a training run, read from its metric series: which SAEs have a target
 * L0, where that target comes from, and how far the latest L0 is from it.
 *
 * An SAE trained with `target_l0` logs `l0`, `sparsity_coefficient` (the weight the controller
 * chose) and, from issue 15 on, `target_l0` itself. Runs recorded before that carry the target only
 * in their config (`train.saes[i].target_l0`); the metrics are keyed by the SAE's resolved name, so
 * the spec is matched by that name (the trainer's `SAETrainConfig.resolved_name`, rebuilt here), or
 * by position when the run trains one SAE. A spec that matches no series gets no chart: a target
 * drawn on the wrong SAE would be worse than none. Fixed-coefficient and TopK SAEs have no target,
 * hence no controller to chart.
 */
import type { SAEConfig, SAETrainConfig } from "../api/types";
import type { MetricSeries } from "./metrics";

/** What the chart needs of one SAE's spec in a stored training config. */
export type SaeSpec = Pick<SAETrainConfig, "name" | "hook_name" | "target_l0" | "sparsity_coefficient"> & {
  sae: Pick<SAEConfig, "architecture" | "d_sae" | "k">;
};

/** Relative distance from the target above which a finished run is flagged (issue 15: within 15%). */
export const TARGET_TOLERANCE = 0.15;

export interface SparsityTarget {
  /** The SAE's name, as its metric rows carry it. */
  sae: string;
  target: number;
}

/** One step of a controlled SAE: its L0 and the coefficient chosen (null where not logged). */
export interface ControlPoint {
  step: number;
  l0: number | null;
  coefficient: number | null;
}

/** Python's `f"{x:g}"` (6 significant digits, exponent below 1e-4 and from 1e6), as the trainer
 * writes the target into a default SAE name. */
function pythonG(x: number): string {
  const exp = x === 0 ? 0 : Math.floor(Math.log10(Math.abs(Number(x.toPrecision(6)))));
  if (exp >= -4 && exp < 6) return String(Number(x.toPrecision(6)));
  const [mantissa, e] = x.toExponential(5).split("e");
  const m = mantissa.replace(/\.?0+$/, "");
  const n = Number(e);
  return `${m}e${n < 0 ? "-" : "+"}${String(Math.abs(n)).padStart(2, "0")}`;
}

/** The name the trainer gives an SAE (`SAETrainConfig.resolved_name` in core/training/config.py). */
export function resolvedSaeName(spec: SaeSpec): string {
  if (spec.name) return spec.name;
  const parts = [spec.hook_name, spec.sae.architecture ?? "standard", String(spec.sae.d_sae)];
  if (spec.sae.k !== null && spec.sae.k !== undefined) parts.push(`k${spec.sae.k}`);
  if (typeof spec.target_l0 === "number") parts.push(`l0_${pythonG(spec.target_l0)}`);
  else if (typeof spec.sparsity_coefficient === "number") parts.push(`c${pythonG(spec.sparsity_coefficient)}`);
  return parts.join(".");
}

/** The last finite value of `sae` in a series, or null. */
export function lastValue(points: MetricSeries[string] | undefined, sae: string): number | null {
  const list = points ?? [];
  for (let i = list.length - 1; i >= 0; i--) {
    const v = list[i][sae];
    if (typeof v === "number" && Number.isFinite(v)) return v;
  }
  return null;
}

/**
 * The SAEs of a run that have a target L0, in the order of `saes` (the series' SAE names) and then
 * of the specs that have not logged yet: the logged `target_l0` metric first, else the spec's.
 */
export function sparsityTargets(series: MetricSeries, saes: string[], specs: SaeSpec[]): SparsityTarget[] {
  const bySpec = new Map<string, number>();
  for (const s of specs) if (typeof s.target_l0 === "number") bySpec.set(resolvedSaeName(s), s.target_l0);
  const out: SparsityTarget[] = [];
  for (const sae of saes) {
    const target = lastValue(series.target_l0, sae) ?? bySpec.get(sae);
    if (target !== undefined && target > 0) out.push({ sae, target });
  }
  const soleSpec = specs.length === 1 && saes.length === 1 ? specs[0] : undefined;
  if (!out.length && typeof soleSpec?.target_l0 === "number") {
    // One SAE, one spec, names that differ (a name written by another version): the same SAE.
    return [{ sae: saes[0], target: soleSpec.target_l0 }];
  }
  if (!saes.length) {
    // Nothing logged yet: a chart per target, waiting for data under the name the SAE will log.
    for (const [sae, target] of bySpec) out.push({ sae, target });
  }
  return out;
}

/** L0 and coefficient of one SAE by step (steps where it logged neither are left out); a
 * coefficient <= 0 is null, as a log axis cannot show it. */
export function controlPoints(series: MetricSeries, sae: string): ControlPoint[] {
  const byStep = new Map<number, ControlPoint>();
  const at = (step: number) => {
    let p = byStep.get(step);
    if (!p) byStep.set(step, (p = { step, l0: null, coefficient: null }));
    return p;
  };
  for (const p of series.l0 ?? []) {
    const v = p[sae];
    if (typeof v === "number" && Number.isFinite(v)) at(p.step).l0 = v;
  }
  for (const p of series.sparsity_coefficient ?? []) {
    const v = p[sae];
    if (typeof v === "number" && Number.isFinite(v) && v > 0) at(p.step).coefficient = v;
  }
  return [...byStep.values()].sort((a, b) => a.step - b.step);
}

/** (L0 - target) / target: +0.05 is 5% denser than asked. */
export function targetDistance(l0: number, target: number): number {
  return (l0 - target) / target;
}
