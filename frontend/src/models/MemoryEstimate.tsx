/** Weights and inference memory of a model, estimated in the browser from its architecture summary. */
import type { ArchitectureSummary } from "../api/types";
import { Stat } from "../components/ui";
import { inferenceMemory } from "../lib/estimates";
import { formatBytes } from "../lib/format";

export function MemoryEstimate({ arch, weights }: { arch: ArchitectureSummary; weights: number }) {
  return (
    <div className="grid grid-cols-3 gap-2" data-testid="memory-estimate">
      <Stat label="Weights" value={formatBytes(weights)} />
      <Stat label="Inference (batch 8 × 512)" value={formatBytes(inferenceMemory(arch, weights))} />
      <Stat label="Weights in float16" value={formatBytes(arch.n_params * 2)} />
    </div>
  );
}
