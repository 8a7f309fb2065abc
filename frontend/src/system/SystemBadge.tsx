/** The compact GPU / CPU / memory badge in the top bar, live from the `system` channel; opens System. */
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
