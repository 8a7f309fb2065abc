/**
 * Feature detail tabs (examples, logit lens, correlations, ablation).
 *
 * `GET /features/{id}/detail` answers the first three in one call (sliced from the extraction's
 * arrays; its parts are free-form dicts in the schema, so the adapters below type them from the
 * shapes of core.features: `Example`, `LogitLens`, `Correlated`). Ablation has no route yet: the
 * proposal is `POST /features/{id}/ablation` answering `AblationResult` + `CompletionComparison`;
 * a 404/405/501 shows that tab as "not available from this server yet".
 */
import { api } from "../api/client";
import type { components } from "../api/schema";
import type { AblationOut, CorrelatedFeature, Feature, FeatureExample, LogitLensOut, TokenValue, TokenWord } from "../api/types";

type FeatureDetailRaw = components["schemas"]["FeatureDetail"];

type Json = Record<string, unknown>;
type Pair = [number, number];

const isPair = (x: unknown): x is Pair => Array.isArray(x) && x.length >= 2 && typeof x[0] === "number";

export function toExamples(raw: unknown): FeatureExample[] {
  const list = Array.isArray(raw) ? raw : ((raw as Json)?.examples as unknown[]) ?? [];
  return list.map((item) => {
    const e = item as Json;
    const tokens = (e.tokens ?? e.strings ?? (e.token_ids as number[] | undefined)?.map(String) ?? []) as string[];
    const acts = (e.acts ?? e.activations ?? []) as number[];
    return {
      tokens,
      acts,
      center: typeof e.center === "number" ? e.center : acts.indexOf(Math.max(...acts)),
      value: typeof e.value === "number" ? e.value : Math.max(0, ...acts),
      sequence: e.sequence as number | undefined,
      position: e.position as number | undefined,
      words: Array.isArray(e.words) ? (e.words as TokenWord[]) : undefined,
    };
  });
}

function tokenValues(items: unknown, texts?: unknown): TokenValue[] {
  if (!Array.isArray(items)) return [];
  const names = Array.isArray(texts) ? (texts as string[]) : [];
  return items.map((item, i) => {
    if (isPair(item)) return { id: item[0], value: item[1], token: names[i] ?? `#${item[0]}` };
    const o = item as Json;
    return {
      id: o.id as number | undefined,
      token: String(o.token ?? o.text ?? names[i] ?? `#${o.id ?? i}`),
      value: Number(o.value ?? o.delta ?? o.logit ?? 0),
    };
  });
}

export function toLogitLens(raw: unknown): LogitLensOut {
  const o = (raw ?? {}) as Json;
  return {
    positive: tokenValues(o.positive ?? o.top, o.positive_text),
    negative: tokenValues(o.negative ?? o.bottom, o.negative_text),
  };
}

export function toCorrelations(raw: unknown): CorrelatedFeature[] {
  if (Array.isArray(raw)) {
    return raw.map((item) => {
      const o = item as Json;
      return {
        index: Number(o.index),
        value: Number(o.value ?? o.correlation ?? o.pearson ?? 0),
        feature_id: (o.feature_id as number | null | undefined) ?? null,
        label: (o.label as string | null | undefined) ?? null,
        kind: (o.kind as CorrelatedFeature["kind"]) ?? "pearson",
      };
    });
  }
  const o = (raw ?? {}) as Json;
  const out: CorrelatedFeature[] = [];
  for (const kind of ["pearson", "jaccard", "decoder"] as const) {
    for (const pair of (o[kind] as unknown[]) ?? []) {
      if (isPair(pair)) out.push({ index: pair[0], value: pair[1], kind, feature_id: null, label: null });
      else {
        const p = pair as Json;
        out.push({
          index: Number(p.index),
          value: Number(p.value),
          kind,
          feature_id: (p.feature_id as number | null) ?? null,
          label: (p.label as string | null) ?? null,
        });
      }
    }
  }
  return out;
}

export function toAblation(raw: unknown): AblationOut {
  const o = (raw ?? {}) as Json;
  const completion = (o.completion ?? {}) as Json;
  const lossClean = Number(o.loss_clean);
  const lossAblated = Number(o.loss_ablated);
  return {
    perplexity_clean: Number(o.perplexity_clean ?? Math.exp(lossClean)),
    perplexity_ablated: Number(o.perplexity_ablated ?? Math.exp(lossAblated)),
    delta_loss: (o.delta_loss as number | undefined) ?? (Number.isFinite(lossAblated - lossClean) ? lossAblated - lossClean : undefined),
    n_tokens: o.n_tokens as number | undefined,
    most_increased: tokenValues(o.most_increased),
    most_decreased: tokenValues(o.most_decreased),
    prompt: (o.prompt ?? completion.prompt) as string | undefined,
    completion_clean: (o.completion_clean ?? completion.clean ?? null) as string | null,
    completion_ablated: (o.completion_ablated ?? completion.ablated ?? null) as string | null,
  };
}

export interface FeatureDetailData {
  feature: Feature;
  stats: Record<string, unknown>;
  examples: FeatureExample[];
  histogram: { edges: number[]; counts: number[] };
  logitLens: LogitLensOut;
  correlations: CorrelatedFeature[];
}

export function toDetail(raw: FeatureDetailRaw): FeatureDetailData {
  const hist = (raw.histogram ?? {}) as { edges?: number[]; counts?: number[] };
  return {
    feature: raw.feature,
    stats: raw.stats ?? {},
    examples: toExamples(raw.examples),
    histogram: { edges: hist.edges ?? [], counts: hist.counts ?? [] },
    logitLens: toLogitLens(raw.logit_lens),
    correlations: toCorrelations(raw.correlated),
  };
}

export const featureDetail = {
  detail: (id: number, signal?: AbortSignal) =>
    api.get<FeatureDetailRaw>(`/features/${id}/detail`, { examples: 50 }, signal).then(toDetail),
  ablation: (id: number, body: { prompt?: string; max_new_tokens?: number; coefficient?: number }) =>
    api.post<unknown>(`/features/${id}/ablation`, body).then(toAblation),
};

/** Statuses that mean "the route is not there yet" rather than "it failed". */
export const NOT_AVAILABLE = new Set([404, 405, 501]);
