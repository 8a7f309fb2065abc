/** Compact live GPU / CPU / RAM readout for the top bar (from the `system` channel). */
import clsx from "clsx";
import { useUi } from "../store/ui";
import { useSystemStore } from "../ws/live";

function Meter({ label, percent, title }: { label: string; percent: number | undefined; title?: string }) {
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

export function SystemBadge() {
  const latest = useSystemStore((s) => s.latest);
  const setPanel = useUi((s) => s.setPanel);
  const gpu = latest?.gpus?.[0];
  const gpuMem =
    gpu?.memory_used_bytes !== undefined && gpu.memory_total_bytes
      ? (100 * gpu.memory_used_bytes) / gpu.memory_total_bytes
      : undefined;
  return (
    <button
      type="button"
      data-testid="system-badge"
      onClick={() => setPanel("system")}
      className="flex items-center gap-4 rounded-md border border-slate-800 bg-slate-900 px-3 py-1 text-[11px] hover:border-slate-700"
    >
      {gpu ? (
        <>
          <Meter label="GPU" percent={gpu.utilization_percent} title={gpu.name} />
          <Meter label="VRAM" percent={gpuMem} />
        </>
      ) : (
        <span className="text-slate-500">no GPU</span>
      )}
      <Meter label="CPU" percent={latest?.cpu.percent} />
      <Meter label="RAM" percent={latest?.memory.percent} />
    </button>
  );
}
