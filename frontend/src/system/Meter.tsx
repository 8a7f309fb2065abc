/** A small labelled usage bar for the top-bar badge. */
import clsx from "clsx";

export function Meter({ label, percent, title }: { label: string; percent: number | undefined; title?: string }) {
  const p = percent === undefined || !Number.isFinite(percent) ? undefined : Math.max(0, Math.min(100, percent));
  return (
    <span className="flex items-center gap-1.5" title={title}>
      <span className="text-slate-500">{label}</span>
      <span className="h-1.5 w-10 overflow-hidden rounded-full bg-slate-800">
        <span
          className={clsx("block h-full", p !== undefined && p > 90 ? "bg-rose-500" : p !== undefined && p > 70 ? "bg-amber-500" : "bg-emerald-500")}
          style={{ width: `${p ?? 0}%` }}
        />
      </span>
      <span className="w-8 text-right font-mono text-slate-300">{p === undefined ? "–" : `${Math.round(p)}%`}</span>
    </span>
  );
}
