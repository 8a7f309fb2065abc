/**
 * Names for the generated OpenAPI types (src/api/schema.d.ts, `npm run gen:types`), plus the few
 * shapes the schema leaves as free-form dicts (events, system samples, stats, feature details).
 */
import type { components } from "./schema";

type S = components["schemas"];

export type Page<T> = { items: T[]; total: number; offset: number; limit: number };

export type Job = S["JobOut"];
export type JobEvent = S["JobEventOut"];
export type Dataset = S["DatasetOut"];
export type DatasetSource = S["DatasetSource"];
export type DatasetCreate = S["DatasetCreate"];
export type BuiltinSource = S["BuiltinSource"];
export type Sample = S["Sample"];
export type Tokenization = S["TokenizationOut"];
export type TokenizationCreate = S["TokenizationCreate"];
export type TokenizeConfig = S["TokenizeConfig"];
export type Model = S["ModelOut"];
export type ModelCreate = S["ModelCreate"];
export type ActivationCache = S["ActivationCacheOut"];
export type ActivationCacheCreate = S["ActivationCacheCreate"];
export type Training = S["TrainingOut"];
export type TrainingCreate = S["TrainingCreate"];
export type TrainConfig = S["TrainConfig"];
export type SAETrainConfig = S["SAETrainConfig"];
export type SAEConfig = S["SAEConfig"];
export type RunOptions = S["TrainingRunOptions"];
export type MetricPoint = S["MetricPoint"];
export type Checkpoint = S["CheckpointOut"];
export type SAE = S["SAEOut"];
export type SAEImport = S["SAEImport"];
export type SAEAdd = S["SAEAdd"];
export type SAEUpdate = S["SAEUpdate"];
export type HubSearch = S["HubSearchOut"];
export type HubRepo = S["HubRepoOut"];
export type HubRelease = S["ReleaseOut"];
export type HubBrowseRequest = S["HubBrowseRequest"];
export type HubBrowse = S["HubBrowseOut"];
export type HubSae = S["HubSAEOut"];
export type Extraction = S["ExtractionOut"];
export type ExtractionCreate = S["ExtractionCreate"];
export type Feature = S["FeatureOut"];
export type LinguisticSummary = S["LinguisticSummaryOut"];
export type LinguisticConfig = S["LinguisticConfig"];
export type LinguisticsStarted = S["LinguisticsStarted"];
export type FeatureUpdate = S["FeatureUpdate"];
export type Template = S["TemplateOut"];
export type TemplateCreate = S["TemplateCreate"];
export type TemplateExport = S["TemplateExport"];
export type TemplateUpdate = S["TemplateUpdate"];
export type ImportResult = S["ImportResult"];
export type SystemInfo = S["SystemInfo"];

/** A registered SAE architecture's facts, served by `GET /saes/architectures`. */
export type ArchitectureInfo = S["ArchitectureInfo"];
export type TrainingEstimate = S["TrainingEstimate"];
export type TrainingBenchmarkRequest = S["TrainingBenchmarkRequest"];
export type TrainingTimeEstimate = S["TrainingTimeEstimate"];
export type TemplateKind = S["TemplateCreate"]["kind"];

/** `model.architecture` as the load job records it (core.models.ArchitectureSummary). */
export interface ArchitectureSummary {
  name: string;
  family: string;
  n_layers: number;
  d_model: number;
  d_mlp: number;
  n_heads: number;
  n_kv_heads: number;
  vocab_size: number;
  n_params: number;
  context_length: number;
  dtype: string;
  hook_points: string[];
  hf_hook_points: string[];
}

/** `GET /tokenizations/{id}/stats` (core.data.stats.TokenizationStats). */
export interface Histogram {
  bins: number[];
  counts: number[];
}
export interface TokenCount {
  id: number;
  token: string;
  text: string;
  count: number;
}
export interface TokenizationStats {
  n_documents: number;
  n_tokens: number;
  n_sequences: number;
  mean_document_length: number;
  median_document_length: number;
  max_document_length: number;
  document_length_histogram: Histogram;
  sequence_length_histogram: Histogram;
  top_tokens: TokenCount[];
  n_distinct_tokens: number;
  vocab_coverage: number;
  padding_fraction?: number;
}

/** One `GET /tokenizations/{id}/samples` item. */
export interface TokenizedSample {
  index: number;
  document: number;
  input_ids: number[];
  tokens: string[];
  strings: string[];
  text: string;
}

/** A `system` channel sample (mistudio.monitor.SystemMonitor.sample). */
export interface GpuSample {
  index: number;
  name?: string;
  utilization_percent?: number;
  memory_utilization_percent?: number;
  memory_used_bytes?: number;
  memory_total_bytes?: number;
  temperature_c?: number;
  power_watts?: number;
  power_limit_watts?: number;
}
export interface SystemSample {
  timestamp: number;
  cpu: { percent: number; per_core_percent: number[]; count: number };
  memory: {
    total_bytes: number;
    used_bytes: number;
    available_bytes: number;
    percent: number;
    swap_total_bytes?: number;
    swap_used_bytes?: number;
    swap_percent?: number;
  };
  disk: { total_bytes?: number; used_bytes?: number; free_bytes?: number };
  io: {
    disk_read_bytes_per_s: number | null;
    disk_write_bytes_per_s: number | null;
    net_sent_bytes_per_s: number | null;
    net_recv_bytes_per_s: number | null;
  };
  gpus: GpuSample[];
}

/** Tokens `start .. end - 1` of a window read as one word, with their merged text. */
export interface TokenWord {
  start: number;
  end: number;
  text: string;
}

/** Feature detail payloads (see src/api/featureDetail.ts for the endpoints they come from). */
export interface FeatureExample {
  tokens: string[];
  acts: number[];
  center: number;
  value: number;
  sequence?: number;
  position?: number;
  /** The tokens grouped into words (absent: show the tokens). */
  words?: TokenWord[];
}
export interface TokenValue {
  token: string;
  value: number;
  id?: number;
}
export interface LogitLensOut {
  positive: TokenValue[];
  negative: TokenValue[];
}
export interface CorrelatedFeature {
  index: number;
  value: number;
  feature_id?: number | null;
  label?: string | null;
  kind?: "pearson" | "jaccard" | "decoder";
}
export interface AblationOut {
  perplexity_clean: number;
  perplexity_ablated: number;
  delta_loss?: number;
  n_tokens?: number;
  most_increased: TokenValue[];
  most_decreased: TokenValue[];
  prompt?: string;
  completion_clean?: string | null;
  completion_ablated?: string | null;
}

/* ---- labelling and steering ---------------------------------------------------------------- */
export type LabelingJob = S["LabelingJobOut"];
export type LabelingCreate = S["LabelingCreate"];
export type LabelingConfig = S["LabelingConfig"];
export type LabelingSelection = S["LabelingSelection"];
export type PromptTemplate = S["PromptTemplate"];
export type CostEstimate = S["LabelingEstimate"];
export type SemanticHit = S["SemanticHit"];
export type SteeringCreate = S["SteeringCreate"];
export type SteeringFeature = S["SteeringFeature"];
export type GenerationConfig = S["GenerationConfig"];
export type SteeringRunOut = S["SteeringRunOut"];
export type SteeringRunSummary = S["SteeringRunSummary"];

/** A labelling job's `result` (core.labeling.records.LabelingSummary). */
export interface LabelingSummary {
  requested: number;
  skipped?: number;
  labelled: number;
  unclear?: number;
  failed: number;
  stopped?: boolean;
  scored?: number;
  mean_score?: number | null;
  score_histogram?: number[];
  prompt_tokens?: number;
  completion_tokens?: number;
  cost?: number;
  seconds?: number;
  failures?: Record<string, number>;
}

/** A steering run's `result` (core.steering.SteeringRun); NaN/inf may arrive as strings. */
export type MaybeNumber = number | string | null | undefined;
export interface ComparisonMetrics {
  kl_mean: MaybeNumber;
  kl_max?: MaybeNumber;
  perplexity: MaybeNumber;
  baseline_perplexity?: MaybeNumber;
  similarity: MaybeNumber;
  similarity_method?: string;
  /** Fraction of the steered text's tokens on which a steered feature fires (unsteered read). */
  fire_rate?: MaybeNumber;
  fire_rates?: MaybeNumber[];
  baseline_fire_rate?: MaybeNumber;
}
export interface SteeredOutput {
  strength: number | null;
  text: string;
  finite: boolean;
  error?: string | null;
  metrics?: ComparisonMetrics | null;
  values?: number[];
}
export interface PromptResult {
  prompt: string;
  /** The values a prompt template filled in (absent or empty for a plain prompt). */
  variables?: Record<string, string>;
  baseline: { text: string; perplexity?: MaybeNumber; fire_rate?: MaybeNumber };
  steered: SteeredOutput[];
}
export interface SteeringResult {
  model_name?: string;
  seed?: number;
  similarity_method?: string;
  similarity_note?: string | null;
  prompts: PromptResult[];
  seconds?: number;
}
export type FirstRunState = S["FirstRunState"];
export type FirstRunStarted = S["FirstRunStarted"];
export type CompareOut = S["CompareOut"];
export type ComparePoint = S["ComparePoint"];
export type MetricValue = S["MetricValue"];
export type EvalOut = S["EvalOut"];
export type EvalRequest = S["EvalRequest"];
export type EvalManyOut = S["EvalManyOut"];
