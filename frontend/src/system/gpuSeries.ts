/**
 * GPU samples as chart rows, for all GPUs together or one of them. Aggregated: utilisation and
 * memory use are means over the GPUs (each card counts the same, as `nvidia-smi` shows them side by
 * side), temperature is the hottest card's (the one that throttles first) and power is the sum
 * (what the machine draws). One GPU: its own values. A field a card does not report is null.
 */
import type { GpuSample, SystemSample } from "../api/types";

export type GpuView = "all" | number;

export interface GpuRow {
  t: number;
  util: number | null;
  mem: number | null;
  temp: number | null;
  power: number | null;
}

const values = (gpus: GpuSample[], pick: (g: GpuSample) => number | undefined) => gpus.map(pick).filter((v): v is number => typeof v === "number");
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
const memPercent = (g: GpuSample) => (g.memory_used_bytes !== undefined && g.memory_total_bytes ? (100 * g.memory_used_bytes) / g.memory_total_bytes : undefined);

export function gpuRow(sample: SystemSample, view: GpuView): GpuRow {
  const gpus = view === "all" ? sample.gpus ?? [] : (sample.gpus ?? []).filter((g) => g.index === view);
  const temps = values(gpus, (g) => g.temperature_c);
  const power = values(gpus, (g) => g.power_watts);
  return {
    t: sample.timestamp,
    util: mean(values(gpus, (g) => g.utilization_percent)),
    mem: mean(values(gpus, memPercent)),
    temp: temps.length ? Math.max(...temps) : null,
    power: power.length ? power.reduce((a, b) => a + b, 0) : null,
  };
}

export const gpuSeries = (history: SystemSample[], view: GpuView) => history.map((s) => gpuRow(s, view));
