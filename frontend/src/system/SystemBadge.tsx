/** The compact GPU / CPU / memory badge in the top bar, live from the `system` channel; opens System. */
import type { SystemSample } from "../api/types";
import { formatBytes } from "../lib/format";
import { useUi } from "../store/ui";
import { useSystemStore } from "../ws/live";
import { Meter } from "./Meter";

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
      title={badgeTooltip(latest)}
      aria-label="System: GPU, CPU and memory use (opens the System panel)"
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

const pct = (p: number | undefined | null) => (p === undefined || p === null || !Number.isFinite(p) ? "–" : `${Math.round(p)}%`);

/** The badge's tooltip: what each meter measures, with its numbers, one line each. */
export function badgeTooltip(sample: SystemSample | null | undefined): string {
  if (!sample) return "System use: waiting for the first sample. Click for the System panel.";
  const gpus = (sample.gpus ?? []).map((g) => {
    const mem = g.memory_total_bytes ? `, VRAM ${formatBytes(g.memory_used_bytes)} of ${formatBytes(g.memory_total_bytes)}` : "";
    return `GPU ${g.index}${g.name ? ` (${g.name})` : ""}: ${pct(g.utilization_percent)} busy${mem}`;
  });
  return [
    ...(gpus.length ? gpus : ["No GPU found: jobs run on the CPU"]),
    `CPU: ${pct(sample.cpu.percent)} of ${sample.cpu.count} cores`,
    `RAM: ${formatBytes(sample.memory.used_bytes)} of ${formatBytes(sample.memory.total_bytes)} (${pct(sample.memory.percent)})`,
    "Click for the System panel",
  ].join("\n");
}
