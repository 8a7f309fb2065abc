/** A model's architecture: its dimensions, memory estimate and hook points by layer. */
import { useMemo } from "react";
import type { Model } from "../api/types";
import { Empty, Modal, Stat } from "../components/ui";
import { architectureOf, modelWeightBytes } from "../lib/estimates";
import { formatCount } from "../lib/format";
import { MemoryEstimate } from "./MemoryEstimate";
import { hooksByLayer } from "./hookPoints";

export function ArchitectureDialog({ model, onClose }: { model: Model; onClose: () => void }) {
  const arch = architectureOf(model);
  const weights = modelWeightBytes(model);
  const byLayer = useMemo(() => hooksByLayer(arch?.hook_points ?? Object.keys(model.hook_dims ?? {})), [arch, model]);
  const dims = (model.hook_dims ?? {}) as Record<string, number>;
  return (
    <Modal title={`${model.name}: architecture`} onClose={onClose} wide>
      {!arch ? (
        <Empty>Load the model to inspect it.</Empty>
      ) : (
        <div className="space-y-4" data-testid="architecture">
          <div className="grid grid-cols-3 gap-2 md:grid-cols-5">
            <Stat label="Family" value={arch.family} />
            <Stat label="Layers" value={arch.n_layers} testId="arch-layers" />
            <Stat label="d_model" value={arch.d_model} />
            <Stat label="d_mlp" value={arch.d_mlp} />
            <Stat label="Heads (KV)" value={`${arch.n_heads} (${arch.n_kv_heads})`} />
            <Stat label="Vocabulary" value={formatCount(arch.vocab_size)} />
            <Stat label="Parameters" value={formatCount(arch.n_params)} />
            <Stat label="Context" value={formatCount(arch.context_length)} />
            <Stat label="dtype" value={arch.dtype} />
            <Stat label="Hook points" value={arch.hook_points.length} />
          </div>
          <MemoryEstimate arch={arch} weights={weights} />
          <div>
            <div className="mb-1 text-xs text-slate-400">Hook points (width)</div>
            <div className="max-h-72 overflow-y-auto rounded-md border border-slate-800">
              <table className="w-full text-xs">
                <tbody>
                  {[...byLayer.entries()].map(([layer, kinds]) => (
                    <tr key={layer} className="border-b border-slate-800/60">
                      <td className="w-20 px-2 py-1 font-mono text-slate-400">block {layer}</td>
                      <td className="px-2 py-1">
                        <div className="flex flex-wrap gap-1">
                          {kinds.map((k) => (
                            <span key={k} className="rounded bg-slate-800 px-1.5 py-0.5 font-mono text-[11px] text-slate-300" title={`blocks.${layer}.hook_${k}`}>
                              {k}
                              <span className="text-slate-500"> {dims[`blocks.${layer}.hook_${k}`] ?? ""}</span>
                            </span>
                          ))}
                        </div>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </div>
        </div>
      )}
    </Modal>
  );
}
