/** System samples as chart rows: one row per sample, the first GPU's use, rates per second. */
import type { SystemSample } from "../api/types";

export function toSeries(history: SystemSample[]) {
  return history.map((s) => {
    const g = s.gpus?.[0];
    return {
      t: s.timestamp,
      cpu: s.cpu.percent,
      mem: s.memory.percent,
      gpu: g?.utilization_percent ?? null,
      vram: g?.memory_used_bytes !== undefined && g.memory_total_bytes ? (100 * g.memory_used_bytes) / g.memory_total_bytes : null,
      diskRead: s.io.disk_read_bytes_per_s,
      diskWrite: s.io.disk_write_bytes_per_s,
      netRecv: s.io.net_recv_bytes_per_s,
      netSent: s.io.net_sent_bytes_per_s,
    };
  });
}
