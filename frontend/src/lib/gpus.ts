/** Choosing a GPU for a new job from the system monitor's latest sample. */
import type { GpuSample } from "../api/types";

/** The GPU a new job should use: the most free memory, then the least busy, then the lowest index. */
export function freestGpu(gpus: GpuSample[]): number | null {
  if (!gpus.length) return null;
  const free = (g: GpuSample) => (g.memory_total_bytes ?? 0) - (g.memory_used_bytes ?? 0);
  const sorted = [...gpus].sort((a, b) => free(b) - free(a) || (a.utilization_percent ?? 0) - (b.utilization_percent ?? 0) || a.index - b.index);
  return sorted[0].index;
}
