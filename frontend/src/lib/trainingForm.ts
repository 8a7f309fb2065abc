/** The training form's state and its translation into a `TrainingCreate` request.
 *
 * What depends on the architecture (is L0 a `k` or a target for a penalty, does it reconstruct
 * another hook) comes from the architecture's facts served by `GET /saes/architectures`. */
import { SCHEMA_DEFAULTS } from "../api/defaults";
import type { ArchitectureInfo, SAETrainConfig, TrainingCreate } from "../api/types";

export interface TrainingForm {
  name: string;
  tokenizationId: number | null;
  modelId: number | null;
  architecture: string;
  hookKind: string;
  hookKindOut: string;
  layers: number[];
  multiplier: number;
  dSae: number | null;
  /** k for topk/batchtopk, else the target L0 of the auto-sparsity controller. */
  targetL0: number;
  autoSparsity: boolean;
  sparsityCoefficient: number;
  lr: number;
  batchTokens: number;
  steps: number;
  warmupSteps: number;
  normalize: "none" | "expected_average_only_in";
  resampleSteps: string;
  /** A latent that has not fired for this many tokens is dead (AuxK, resampling, the chart). */
  deadWindowTokens: number;
  gradClip: number | null;
  checkpointEvery: number | null;
  lrDecay: "constant" | "linear" | "cosine";
  device: string;
  /** Data-parallel CPU ranks when `device` is `cpu` (1: one process). */
  cpuRanks: number;
  /** The GPUs of a run over several (one rank each, `device` first); fewer than 2: one GPU. */
  gpus: string[];
  lmBatchSize: number;
  evalSequences: number;
  /** Activations shuffled together before training reads them (the first step waits for it). */
  bufferTokens: number;
  finalEvalTokens: number;
  useCache: boolean;
  activationCacheId: number | null;
  /** Values typed for the architecture's own parameters beyond k (`matryoshka_widths`, ...), as
   * text: a number, or numbers separated by commas; empty keeps the server's default. */
  archParams: Record<string, string>;
}

const RUN = SCHEMA_DEFAULTS.TrainingRunOptions;
const TRAIN = SCHEMA_DEFAULTS.TrainConfig;
const SAE_TRAIN = SCHEMA_DEFAULTS.SAETrainConfig;

/** The form's starting values. Everything the core configs declare a default for comes from
 * them (`api/defaults.ts`, generated from the schema); the rest are the form's own choices for
 * a quick first run (a few hundred small steps, a short final evaluation, layer 6). */
export const DEFAULT_FORM: TrainingForm = {
  name: "",
  tokenizationId: null,
  modelId: null,
  architecture: SCHEMA_DEFAULTS.SAEConfig.architecture,
  hookKind: "resid_post",
  hookKindOut: "mlp_out",
  layers: [6],
  multiplier: 4,
  dSae: null,
  targetL0: 32,
  autoSparsity: true,
  sparsityCoefficient: 5,
  lr: SAE_TRAIN.lr,
  batchTokens: 1024,
  steps: 300,
  warmupSteps: 20,
  normalize: SAE_TRAIN.normalize_activations,
  resampleSteps: "",
  deadWindowTokens: SAE_TRAIN.dead_window_tokens,
  gradClip: SAE_TRAIN.grad_clip_norm,
  checkpointEvery: null,
  lrDecay: SAE_TRAIN.lr_decay,
  device: TRAIN.device,
  cpuRanks: 1,
  gpus: [],
  lmBatchSize: RUN.lm_batch_size,
  evalSequences: RUN.eval_sequences,
  bufferTokens: RUN.buffer_tokens,
  finalEvalTokens: 16_384,
  useCache: false,
  activationCacheId: null,
  archParams: {},
};

/** The facts of an architecture the form reads (a subset of `ArchitectureInfo`). */
export type ArchitectureFacts = Pick<ArchitectureInfo, "name" | "sparsity_control" | "reconstructs_other_hook">;

/** The architecture's parameters the form shows as their own fields (all but `k`, which is the
 * L0 field), with their docs from `GET /saes/architectures`. */
export function extraParameters(arch: ArchitectureFacts | undefined): { name: string; doc: string; isList: boolean }[] {
  const params = (arch as Partial<ArchitectureInfo> | undefined)?.parameters ?? [];
  return params.filter((p) => p.name !== "k").map((p) => ({ name: p.name, doc: p.doc, isList: !!p.is_list }));
}

/** A typed parameter value: a number, or for a list parameter numbers separated by commas or
 * spaces (brackets optional); undefined when empty or not numbers (the server's default). */
export function parseParameter(text: string | undefined, isList: boolean): number | number[] | undefined {
  const body = (text ?? "").trim().replace(/^\[|\]$/g, "");
  if (body === "") return undefined;
  const parts = body.split(/[\s,]+/).filter(Boolean).map(Number);
  if (parts.some((n) => !Number.isFinite(n)) || (!isList && parts.length !== 1)) return undefined;
  return isList ? parts : parts[0];
}

/** Whether the architecture fixes L0 with `k` (else a penalty coefficient or target L0 sets it). */
export const usesK = (arch: ArchitectureFacts | undefined) => arch?.sparsity_control === "k";

export function hookName(layer: number, kind: string): string {
  return `blocks.${layer}.hook_${kind}`;
}

export function dSaeOf(form: TrainingForm, dIn: number): number {
  return form.dSae ?? Math.max(1, Math.round(dIn * form.multiplier));
}

/** The SAE specs the form describes: one per selected layer. */
export function saeSpecs(
  form: TrainingForm,
  widthOf: (hook: string) => number,
  arch: ArchitectureFacts | undefined,
): SAETrainConfig[] {
  const transcoder = !!arch?.reconstructs_other_hook;
  const k = usesK(arch);
  // An architecture that cannot resample (top-k: AuxK revives dead latents) gets none: the
  // server would refuse the run.
  const canResample = (arch as Partial<ArchitectureInfo> | undefined)?.supports_resampling !== false;
  const resample = (canResample ? form.resampleSteps : "")
    .split(",")
    .map((s) => Number(s.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
  return form.layers.map((layer) => {
    const hook = hookName(layer, form.hookKind);
    const hookOut = transcoder ? hookName(layer, form.hookKindOut) : null;
    const dIn = widthOf(hook);
    const spec: SAETrainConfig = {
      hook_name: hook,
      hook_name_out: hookOut,
      sae: {
        architecture: form.architecture,
        d_in: dIn,
        d_sae: dSaeOf(form, dIn),
        d_out: hookOut ? widthOf(hookOut) : null,
        k: k ? form.targetL0 : null,
        ...Object.fromEntries(
          extraParameters(arch)
            .map((p) => [p.name, parseParameter(form.archParams?.[p.name], p.isList)] as const)
            .filter(([, v]) => v !== undefined),
        ),
      },
      lr: form.lr,
      lr_warmup_steps: form.warmupSteps,
      lr_decay: form.lrDecay,
      normalize_activations: form.normalize,
      grad_clip_norm: form.gradClip,
      resample_steps: resample,
      dead_window_tokens: form.deadWindowTokens,
    };
    if (arch?.sparsity_control === "penalty") {
      if (form.autoSparsity) {
        spec.target_l0 = form.targetL0;
        spec.sparsity_coefficient = null;
      } else {
        spec.sparsity_coefficient = form.sparsityCoefficient;
        spec.target_l0 = null;
      }
    }
    return spec;
  });
}

export function trainingRequest(
  form: TrainingForm,
  widthOf: (hook: string) => number,
  arch: ArchitectureFacts | undefined,
): TrainingCreate {
  const devices = rankDevices(form);
  return {
    name: form.name.trim() || null,
    model_id: form.modelId ?? 0,
    tokenization_id: form.tokenizationId ?? 0,
    activation_cache_id: form.useCache ? form.activationCacheId : null,
    train: {
      saes: saeSpecs(form, widthOf, arch),
      total_tokens: form.steps * form.batchTokens,
      batch_tokens: form.batchTokens,
      device: devices?.[0] ?? form.device,
      checkpoint_every: form.checkpointEvery,
      log_every: Math.max(1, Math.min(50, Math.floor(form.steps / 60) || 1)),
      final_eval_tokens: form.finalEvalTokens,
    },
    run: {
      lm_batch_size: form.lmBatchSize,
      eval_sequences: form.evalSequences,
      buffer_tokens: form.bufferTokens,
      ...(devices ? { devices } : {}),
    },
  };
}

/**
 * One device per rank when the run trains over several (`run.devices`), else null (one process
 * on `device`): `cpuRanks` CPU ranks on `cpu`; on a GPU the chosen GPUs with `device` as rank 0
 * (it loads the LM), the rest in index order.
 */
export function rankDevices(form: Pick<TrainingForm, "device" | "cpuRanks" | "gpus">): string[] | null {
  if (form.device === "cpu") return form.cpuRanks > 1 ? Array<string>(form.cpuRanks).fill("cpu") : null;
  const others = form.gpus.filter((g) => g !== form.device);
  if (!/^cuda:\d+$/.test(form.device) || !others.length) return null;
  const index = (d: string) => Number(d.split(":")[1] ?? 0);
  return [form.device, ...others.sort((a, b) => index(a) - index(b))];
}

/** What a job's devices read as on its card: "2 CPU ranks", "cuda:0, cuda:1", or the one device. */
export function devicesText(devices: readonly string[]): string {
  if (devices.length > 1 && devices.every((d) => d === "cpu")) return `${devices.length} CPU ranks`;
  return devices.join(", ");
}

/** The devices a stored training config asks for, one per rank (`run.devices`, else `run.nproc`
 * ranks from `train.device`: consecutive GPUs from a `cuda:N`, as the server plans them). */
export function plannedDevices(config: { train?: { device?: string }; run?: { devices?: string[] | null; nproc?: number } }): string[] {
  const device = config.train?.device ?? "cpu";
  if (config.run?.devices?.length) return config.run.devices;
  const n = config.run?.nproc ?? 1;
  if (!device.startsWith("cuda")) return Array<string>(n).fill(device);
  if (n === 1) return [device];
  const first = Number(device.split(":")[1] ?? 0);
  return Array.from({ length: n }, (_, i) => `cuda:${first + i}`);
}

/** A saved template's config back into a form (fields it lacks keep their current values). */
export function formFromTemplate(config: Record<string, unknown>, current: TrainingForm): TrainingForm {
  const saved = (config.form ?? config) as Partial<TrainingForm>;
  const next = { ...current };
  for (const key of Object.keys(DEFAULT_FORM) as (keyof TrainingForm)[]) {
    if (key in saved && saved[key] !== undefined) (next as Record<string, unknown>)[key] = saved[key];
  }
  return next;
}

/** What the input checks read of a tokenization (a subset of `Tokenization`). */
export interface InputFacts {
  id: number;
  name: string;
  model_id?: number | null;
  n_sequences?: number | null;
  n_tokens?: number | null;
}

const exact = (n: number) => n.toLocaleString("en-US");
const sequences = (n: number) => `${exact(n)} sequence${n === 1 ? "" : "s"}`;

/**
 * Why `tok` cannot serve this run, in one line, or null. The worker holds out the last
 * `eval_sequences` sequences for the final evaluation and trains on the rest (core/pipeline.py),
 * so a tokenization needs more sequences than that; fewer tokens than the run reads is fine
 * (training cycles through the data).
 */
export function trainingInputProblem(form: Pick<TrainingForm, "evalSequences">, tok: InputFacts): string | null {
  const n = tok.n_sequences;
  if (n === null || n === undefined || n > form.evalSequences) return null;
  const tokens = tok.n_tokens === null || tok.n_tokens === undefined ? "" : ` (${exact(tok.n_tokens)} tokens)`;
  return (
    `${tok.name} has ${sequences(n)}${tokens}; this run holds out ${exact(form.evalSequences)} for evaluation and ` +
    `needs at least ${exact(form.evalSequences + 1)}: choose a larger tokenization or lower Eval sequences (Advanced)`
  );
}

/**
 * The tokenization a new training starts on: the newest one (lists come newest first) made for
 * `modelId` (when a model is chosen) that can serve the run; else the newest for the model; else
 * the newest. A probe tokenized after the corpus is then not picked over it.
 */
export function defaultTokenization<T extends InputFacts>(items: readonly T[], form: Pick<TrainingForm, "evalSequences">, modelId: number | null): T | undefined {
  const forModel = modelId === null ? items : items.filter((t) => t.model_id === modelId);
  return forModel.find((t) => trainingInputProblem(form, t) === null) ?? forModel[0] ?? items[0];
}
