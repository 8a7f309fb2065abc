/**
 * The System panel's GPUs: a live card per GPU, and the last hour's utilisation, memory,
 * temperature and power, either aggregated over every GPU or as one chart per GPU (the toggle).
 * Without a GPU it says so once.
 */
import { useMemo, useState } from "react";
import type { SystemSample } from "../api/types";
import { Button, Card } from "../components/ui";
import { GpuCard } from "./GpuCard";
import { GpuChart } from "./GpuChart";
import { freestGpu } from "../lib/gpus";
import { gpuSeries } from "./gpuSeries";

export function GpuSection({ latest, history }: { latest: SystemSample | null; history: SystemSample[] }) {
  const gpus = latest?.gpus ?? [];
  const [perGpu, setPerGpu] = useState(false);
  const aggregated = useMemo(() => gpuSeries(history, "all"), [history]);
  const each = useMemo(() => (perGpu ? gpus.map((g) => ({ gpu: g, rows: gpuSeries(history, g.index) })) : []), [perGpu, gpus, history]);
  if (gpus.length === 0) {
    return (
      <Card title="GPUs">
        <p className="text-sm text-slate-400">No NVIDIA GPU visible to the studio (no driver or no device); work runs on the CPU.</p>
      </Card>
    );
  }
  const freest = gpus.length > 1 ? freestGpu(gpus) : null;
  return (
    <div className="space-y-4">
      <div className="grid gap-4 md:grid-cols-2" data-testid="gpu-cards">
        {gpus.map((g) => (
          <GpuCard key={g.index} gpu={g} freest={g.index === freest} />
        ))}
      </div>
      <Card
        title={perGpu ? "Each GPU (last hour)" : gpus.length > 1 ? `All ${gpus.length} GPUs (last hour): mean use, hottest card, total power` : "GPU (last hour)"}
        actions={
          gpus.length > 1 && (
            <div className="flex gap-1" role="group" aria-label="GPU charts" data-testid="gpu-view">
              <Button variant={perGpu ? "ghost" : "primary"} className="px-2 py-0.5 text-xs" onClick={() => setPerGpu(false)} aria-pressed={!perGpu}>
                Aggregated
              </Button>
              <Button variant={perGpu ? "primary" : "ghost"} className="px-2 py-0.5 text-xs" onClick={() => setPerGpu(true)} aria-pressed={perGpu}>
                Per GPU
              </Button>
            </div>
          )
        }
      >
        {perGpu ? (
          <div className="grid gap-6 xl:grid-cols-2">
            {each.map(({ gpu, rows }) => (
              <div key={gpu.index}>
                <div className="mb-1 text-xs font-medium text-slate-300">GPU {gpu.index}</div>
                <GpuChart rows={rows} testId={`gpu-chart-${gpu.index}`} />
              </div>
            ))}
          </div>
        ) : (
          <GpuChart rows={aggregated} testId="gpu-chart-all" />
        )}
      </Card>
    </div>
  );
}
