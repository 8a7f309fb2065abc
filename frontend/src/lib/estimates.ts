/**
 * Estimates shown before a job starts. Training memory mirrors core/training/memory.py
 * (estimate_training_memory) so the form and the server agree; the others are rough and say so.
 */
import type { ArchitectureSummary, Model } from "../api/types";

export const DTYPE_BYTES: Record<string, number> = { float32: 4, float16: 2, bfloat16: 2 };
const FLOAT = 4;
const DENSE_TEMPORARIES = 4;

export interface SaeSpec {
  architecture: string;
  d_in: number;
  d_sae: number;
  d_out?: number | null;
  k?: number | null;
  aux_k?: number | null;
  skip?: boolean;
}

function nParams(s: SaeSpec): number {
  const dOut = s.d_out ?? s.d_in;
  let n = s.d_in * s.d_sae + s.d_sae + s.d_sae * dOut + dOut;
  if (s.architecture === "standard_skip" || (s.architecture === "transcoder" && s.skip)) n += dOut * s.d_in;
  if (s.architecture === "jumprelu") n += s.d_sae;
  return n;
}

/** Bytes to train one SAE at `batchTokens` tokens per step (persistent, step temporaries). */
export function saeMemory(s: SaeSpec, batchTokens: number): { persistent: number; step: number } {
  const dOut = s.d_out ?? s.d_in;
  const params = nParams(s) * FLOAT;
  const buffers = 3 * s.d_sae * 8;
  let acts: number;
  if (s.architecture === "topk" || s.architecture === "batchtopk") {
    const k = s.k ?? 1;
    const kk = s.architecture === "batchtopk" ? 4 * k : k;
    const aux = s.aux_k ?? Math.floor(s.d_in / 2);
    const chunk = Math.min(batchTokens, 1024);
    acts = chunk * s.d_sae * FLOAT + batchTokens * (kk + aux) * (FLOAT + 3 * 8);
  } else {
    acts = DENSE_TEMPORARIES * batchTokens * s.d_sae * FLOAT;
  }
  acts += 3 * batchTokens * dOut * FLOAT;
  return { persistent: params * 4 + buffers, step: acts };
}

/** Training memory for several SAEs (one per hook) plus the LM when it streams live. */
export function trainingMemory(specs: SaeSpec[], batchTokens: number, lmBytes: number): number {
  if (specs.length === 0) return lmBytes;
  let persistent = 0;
  let peak = 0;
  let hooks = 0;
  for (const s of specs) {
    const m = saeMemory(s, batchTokens);
    persistent += m.persistent;
    peak = Math.max(peak, m.step);
    hooks += batchTokens * s.d_in * FLOAT + (s.d_out && s.d_out !== s.d_in ? batchTokens * s.d_out * FLOAT : 0);
  }
  return persistent + peak + hooks + lmBytes;
}

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
