/** One GPU's live card: utilisation, memory, temperature and power draw against its limit. */
import type { GpuSample } from "../api/types";
import { ProgressBar } from "../components/ProgressBar";
import { Card, Stat } from "../components/ui";
import { formatBytes } from "../lib/format";

const pct = (v: number | undefined) => (v === undefined ? "–" : `${v.toFixed(0)}%`);

export function GpuCard({ gpu: g, freest }: { gpu: GpuSample; freest: boolean }) {
  const power = g.power_watts === undefined ? "–" : `${g.power_watts.toFixed(0)}${g.power_limit_watts ? `/${g.power_limit_watts.toFixed(0)}` : ""} W`;
  return (
    <Card testId={`gpu-card-${g.index}`} title={<span className="truncate" title={g.name}>{`GPU ${g.index}${g.name ? ` · ${g.name}` : ""}`}</span>} actions={freest ? <span className="text-[11px] text-emerald-400">most free memory</span> : undefined}>
      <div className="grid grid-cols-2 gap-2 md:grid-cols-4">
        <Stat label="Utilisation" value={pct(g.utilization_percent)} />
        <Stat label="Memory" value={`${formatBytes(g.memory_used_bytes)} / ${formatBytes(g.memory_total_bytes)}`} />
        <Stat label="Temperature" value={g.temperature_c === undefined ? "–" : `${g.temperature_c.toFixed(0)} °C`} />
        <Stat label="Power" value={power} />
      </div>
      <ProgressBar className="mt-2" progress={(g.utilization_percent ?? 0) / 100} />
    </Card>
  );
}
