/**
 * The compare chart's logic, apart from drawing: which metrics can be axes (and which direction is
 * better on each), the points of a chosen pair of axes with their bootstrap error bars, and the
 * Pareto front among them.
 */
import type { ComparePoint } from "../api/types";

export interface Axis {
  key: string;
  label: string;
  /** Which way is better: "low" (L0, FVU, absorption) or "high" (CE-loss score, probing). */
  better: "low" | "high";
  /** Log scale makes sense (strictly positive values). */
  loggable: boolean;
}

export const AXES: Axis[] = [
  { key: "l0", label: "L0", better: "low", loggable: true },
  { key: "fvu", label: "FVU", better: "low", loggable: true },
  { key: "ce_loss_score", label: "CE-loss score", better: "high", loggable: false },
  { key: "kl_score", label: "KL score", better: "high", loggable: false },
  { key: "absorption_fraction", label: "Absorption fraction", better: "low", loggable: false },
  { key: "full_absorption", label: "Full absorption", better: "low", loggable: false },
  { key: "probing_top_1", label: "Probing acc. (top 1)", better: "high", loggable: false },
  { key: "probing_top_5", label: "Probing acc. (top 5)", better: "high", loggable: false },
  { key: "dead_fraction", label: "Dead latents", better: "low", loggable: false },
  { key: "label_share", label: "Share labelled", better: "high", loggable: false },
];

export const axis = (key: string): Axis => AXES.find((a) => a.key === key) ?? AXES[0];

export interface ChartPoint {
  id: number;
  name: string;
  architecture: string;
  width: number | null;
  x: number;
  y: number;
  /** [below, above] distances to the interval's ends, as recharts' ErrorBar takes them; null
   * without an interval (no bar: zero-length bars of two SAEs at one place share a React key). */
  xErr: [number, number] | null;
  yErr: [number, number] | null;
  onFront: boolean;
}

function err(m: { value: number | null; low?: number | null; high?: number | null }): [number, number] | null {
  const v = m.value ?? 0;
  const bar: [number, number] = [m.low != null ? Math.max(0, v - m.low) : 0, m.high != null ? Math.max(0, m.high - v) : 0];
  return bar[0] === 0 && bar[1] === 0 ? null : bar;
}

/** Points having both metrics (and positive values on a log axis), with the front marked. */
export function chartPoints(points: ComparePoint[], xKey: string, yKey: string, logX = false, logY = false): ChartPoint[] {
  const out: ChartPoint[] = [];
  for (const p of points) {
    const mx = p.metrics[xKey];
    const my = p.metrics[yKey];
    if (mx?.value == null || my?.value == null) continue;
    if ((logX && mx.value <= 0) || (logY && my.value <= 0)) continue;
    out.push({
      id: p.id,
      name: p.name,
      architecture: p.architecture ?? "unknown",
      width: p.d_sae ?? null,
      x: mx.value,
      y: my.value,
      xErr: err(mx),
      yErr: err(my),
      onFront: false,
    });
  }
  const front = new Set(paretoFront(out, axis(xKey).better, axis(yKey).better).map((p) => p.id));
  return out.map((p) => ({ ...p, onFront: front.has(p.id) }));
}

/**
 * The points no other point beats on both axes (at least as good on both, better on one), sorted
 * by x: the line of best trade-offs.
 */
export function paretoFront<T extends { id: number; x: number; y: number }>(points: T[], betterX: "low" | "high", betterY: "low" | "high"): T[] {
  const sx = betterX === "low" ? 1 : -1;
  const sy = betterY === "low" ? 1 : -1;
  const beats = (a: T, b: T) =>
    sx * a.x <= sx * b.x && sy * a.y <= sy * b.y && (sx * a.x < sx * b.x || sy * a.y < sy * b.y);
  return points.filter((p) => !points.some((q) => q.id !== p.id && beats(q, p))).sort((a, b) => a.x - b.x);
}

/** Marker shape of each architecture (recharts' symbol names), in order of first appearance. */
const SHAPES = ["circle", "square", "triangle", "diamond", "star", "cross", "wye"] as const;
export type Shape = (typeof SHAPES)[number];

export function shapeFor(architectures: string[], arch: string): Shape {
  const i = Math.max(0, [...new Set(architectures)].sort().indexOf(arch));
  return SHAPES[i % SHAPES.length];
}

/** Colour of a width: widths in increasing order along the studio's series palette. */
export function colourFor(widths: (number | null)[], width: number | null, palette: string[]): string {
  const sorted = [...new Set(widths.map((w) => w ?? 0))].sort((a, b) => a - b);
  return palette[Math.max(0, sorted.indexOf(width ?? 0)) % palette.length];
}

/** The 1-2-5 value at or below `v` (`down`) or at or above it: a log axis' end with a tick. */
export function nice125(v: number, down: boolean): number {
  const e = Math.floor(Math.log10(v));
  const m = v / 10 ** e;
  const steps = [1, 2, 5, 10];
  const s = down ? [...steps].reverse().find((x) => x <= m * (1 + 1e-9)) : steps.find((x) => x >= m * (1 - 1e-9));
  return Number(((s ?? 1) * 10 ** e).toPrecision(12));
}

/**
 * An axis' domain from the points and their error bars in that direction only (recharts would
 * also widen each axis by the other direction's bars in a scatter), padded by 5% (linear) or a
 * factor of 1.2 (log, which needs positive ends) and then out to the 1-2-5 values around it, so
 * that a tick stands on each side of every point (an L0 of 16 sat left of the first tick, 20).
 */
export function axisDomain(points: ChartPoint[], dir: "x" | "y", log: boolean): [number, number] {
  if (points.length === 0) return [0, 1];
  const lo = Math.min(...points.map((p) => p[dir] - (p[`${dir}Err`]?.[0] ?? 0)));
  const hi = Math.max(...points.map((p) => p[dir] + (p[`${dir}Err`]?.[1] ?? 0)));
  if (log) {
    const a = Math.max(lo, Math.min(...points.map((p) => p[dir])) / 2);
    return [nice125(a / 1.2, true), nice125(hi * 1.2, false)];
  }
  const pad = (hi - lo) * 0.05 || Math.abs(hi) * 0.05 || 1;
  return [lo - pad, hi + pad];
}

/**
 * Ticks of a log axis: 1, 2, 5 times powers of ten inside the domain, or, on a domain too narrow
 * to hold two of them (one SAE, or SAEs of one L0), its ends and middle at two significant
 * digits. Never fewer than two: with none recharts draws ticks of its own, which the browser left
 * standing (a stray "16" mid-axis) after more SAEs widened the domain.
 */
export function logTicks([lo, hi]: [number, number]): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const t = m * 10 ** e;
      if (t >= lo && t <= hi) ticks.push(t);
    }
  }
  if (ticks.length >= 2) return ticks;
  const round = (v: number) => Number(v.toPrecision(2));
  const inside = [lo * 1.05, Math.sqrt(lo * hi), hi / 1.05].map(round).filter((t) => t >= lo && t <= hi);
  return [...new Set(inside)];
}
