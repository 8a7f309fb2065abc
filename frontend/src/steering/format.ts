/** How steering results read: percentages and metrics with a dash for missing values, and when a run is done. */
import type { MaybeNumber } from "../api/types";
import { formatNumber } from "../lib/format";

/** A fraction as a whole percentage ("46%"), or "–" when missing or not finite. */
export function percent(v: MaybeNumber | undefined): string {
  return typeof v === "number" && Number.isFinite(v) ? `${Math.round(100 * v)}%` : "–";
}

/** A metric that may be NaN/inf (sent as a string). */
export function metric(v: MaybeNumber, digits = 3): string {
  if (typeof v === "number" && Number.isFinite(v)) return formatNumber(v, digits);
  if (typeof v === "string" && v) return v;
  return "–";
}

/** A finished run: the steering job marks its row "ready" (older rows may say "completed"). */
export function runFinished(status: string): boolean {
  return status === "ready" || status === "completed";
}
