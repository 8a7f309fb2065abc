/**
 * Rough estimates shown before a model job starts (they say so). Training memory is not here: the
 * server estimates it (`POST /trainings/estimate`), because only the SAE classes know what their
 * architecture holds per step.
 */
import type { ArchitectureSummary, Model } from "../api/types";

export const DTYPE_BYTES: Record<string, number> = { float32: 4, float16: 2, bfloat16: 2 };

export function architectureOf(model: Model | undefined): ArchitectureSummary | null {
  const a = model?.architecture as ArchitectureSummary | undefined;
  return a && typeof a.n_layers === "number" ? a : null;
}

/** Weights of a model in a dtype (bytes). */
export function modelWeightBytes(model: Model | undefined): number {
  const n = model?.n_params ?? architectureOf(model)?.n_params ?? 0;
  const dtype = String((model?.config as Record<string, unknown> | undefined)?.dtype ?? "float32");
  return n * (DTYPE_BYTES[dtype] ?? 4);
}

/** Inference memory: weights plus a KV/activation allowance for a batch (rough). */
export function inferenceMemory(arch: ArchitectureSummary, weightBytes: number, batch = 8, seq = 512): number {
  const acts = batch * seq * (arch.d_model * 6 + arch.d_mlp * 2) * 4;
  return weightBytes + acts;
}

/** Disk for an activation cache: tokens × Σ widths × bytes per value. */
export function cacheDiskBytes(tokens: number, widths: number[], dtype: string): number {
  return tokens * widths.reduce((a, b) => a + b, 0) * (DTYPE_BYTES[dtype] ?? 4);
}

/** Rough seconds for an LM forward over `tokens` (2·params FLOPs per token). */
export function forwardSeconds(tokens: number, nParams: number, gpu: boolean, fractionOfLayers = 1): number {
  const flops = 2 * nParams * tokens * fractionOfLayers;
  const rate = gpu ? 2e13 : 5e10; // effective FLOP/s: a mid GPU at ~20 TFLOP/s, a few CPU cores
  return flops / rate;
}
