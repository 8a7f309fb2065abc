/** Number, size and time formatting shared by every panel. */

/** "2h 05m", "3m 07s", "42s"; "" for unknown; "<1s" near zero. */
export function formatEta(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) {
    return "";
  }
  if (seconds < 1) return "<1s";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h >= 48) return `${Math.floor(h / 24)}d ${h % 24}h`;
  if (h > 0) return `${h}h ${String(m).padStart(2, "0")}m`;
  if (m > 0) return `${m}m ${String(sec).padStart(2, "0")}s`;
  return `${sec}s`;
}

/** Progress fraction (0..1, clamped; null/NaN -> 0) as "42%" or "42.5%" below 10%. */
export function formatPercent(fraction: number | null | undefined, digits?: number): string {
  const f = clampFraction(fraction);
  const pct = f * 100;
  const d = digits ?? (pct > 0 && pct < 10 ? 1 : 0);
  return `${pct.toFixed(d)}%`;
}

/** A signed relative change (any size, unlike `formatPercent`): 0.047 -> "+5%", -0.3 -> "-30%",
 * 3.65 -> "+365%"; "0%" when it rounds to nothing. */
export function formatChange(fraction: number | null | undefined, digits = 0): string {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return "–";
  const pct = (fraction * 100).toFixed(digits);
  if (Number(pct) === 0) return `${(0).toFixed(digits)}%`;
  return `${fraction > 0 ? "+" : ""}${pct}%`;
}

export function clampFraction(fraction: number | null | undefined): number {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return 0;
  return Math.min(1, Math.max(0, fraction));
}

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

/** Bytes in binary units: "512 B", "1.5 KiB", "12.0 GiB". */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return "–";
  let v = Math.abs(bytes);
  let i = 0;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  const sign = bytes < 0 ? "-" : "";
  return i === 0 ? `${sign}${v} B` : `${sign}${v.toFixed(v < 10 ? 2 : 1)} ${UNITS[i]}`;
}

/** 1234567 -> "1.23M", 5300 -> "5.3k", 12 -> "12". */
export function formatCount(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return "–";
  const a = Math.abs(n);
  if (a >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (a >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (a >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return Number.isInteger(n) ? n.toLocaleString("en-US") : n.toFixed(2);
}

/** A metric value with sensible precision: 0.000123 -> "1.23e-4", 12.345 -> "12.35". */
export function formatNumber(v: number | null | undefined, digits = 3): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a < 1e-3 || a >= 1e6) return v.toExponential(digits - 1);
  if (Number.isInteger(v)) return v.toLocaleString("en-US");
  return Number(v.toPrecision(digits + (a >= 1 ? 1 : 0))).toString();
}

export function formatRate(bytesPerSecond: number | null | undefined): string {
  if (bytesPerSecond === null || bytesPerSecond === undefined) return "–";
  return `${formatBytes(bytesPerSecond)}/s`;
}

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return "";
  const d = new Date(iso.endsWith("Z") || /[+-]\d\d:?\d\d$/.test(iso) ? iso : `${iso}Z`);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, {
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
  });
}
