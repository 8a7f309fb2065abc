/**
 * The feature browser's filters on statistics, category, the dominant linguistic category and its
 * share (after a linguistic analysis), and a labelling run's latents: the
 * state, its `GET /features` (and `/features/summary`) parameters, and the row of inputs.
 * Frequency is typed in percent (what the table shows) and sent as a fraction.
 */
import { Button, Field, num } from "../components/ui";

export interface StatFilters {
  minFrequencyPct?: number;
  maxFrequencyPct?: number;
  minMaxAct?: number;
  maxMaxAct?: number;
  minScore?: number;
  maxScore?: number;
  category?: string;
  /** Dominant linguistic category of the top examples (VERB, code:keyword, ...). */
  lingCategory?: string;
  /** Share of the top examples in that category (0..1). */
  minLingShare?: number;
  maxLingShare?: number;
  /** Only latents this labelling run labelled (the score range then applies to its labels). */
  labelingId?: number;
  /** How the run filter is named in the chip ("run #4 · high"). */
  runTitle?: string;
}

export const NO_FILTERS: StatFilters = {};

/** The API's query parameters for the filters (undefined ones are left out by the client). */
export function filterParams(f: StatFilters) {
  const pct = (v: number | undefined) => (v === undefined ? undefined : v / 100);
  return {
    min_frequency: pct(f.minFrequencyPct),
    max_frequency: pct(f.maxFrequencyPct),
    min_max_activation: f.minMaxAct,
    max_max_activation: f.maxMaxAct,
    min_score: f.minScore,
    max_score: f.maxScore,
    category: f.category?.trim() || undefined,
    ling_category: f.lingCategory || undefined,
    min_ling_share: f.minLingShare,
    max_ling_share: f.maxLingShare,
    labeling_id: f.labelingId,
  };
}

/** Why the filters cannot be asked (a reversed range), or null. */
export function filterProblem(f: StatFilters): string | null {
  const pairs: [string, number | undefined, number | undefined][] = [
    ["frequency", f.minFrequencyPct, f.maxFrequencyPct],
    ["max activation", f.minMaxAct, f.maxMaxAct],
    ["label score", f.minScore, f.maxScore],
    ["linguistic share", f.minLingShare, f.maxLingShare],
  ];
  for (const [name, lo, hi] of pairs) if (lo !== undefined && hi !== undefined && lo > hi) return `${name}: the minimum is above the maximum`;
  if ((f.minScore ?? 0) > 1 || (f.maxScore ?? 0) > 1 || (f.minScore ?? 0) < 0 || (f.maxScore ?? 0) < 0) return "label score: between 0 and 1";
  if ((f.minLingShare ?? 0) > 1 || (f.maxLingShare ?? 0) > 1 || (f.minLingShare ?? 0) < 0 || (f.maxLingShare ?? 0) < 0) return "linguistic share: between 0 and 1";
  if ((f.minFrequencyPct ?? 0) > 100 || (f.maxFrequencyPct ?? 0) > 100 || (f.minFrequencyPct ?? 0) < 0 || (f.maxFrequencyPct ?? 0) < 0) return "frequency: between 0 and 100%";
  return null;
}

/** The categories the linguistic analysis gives (universal parts of speech, code classes). */
export const LING_CATEGORIES = [
  "VERB", "NOUN", "PROPN", "ADJ", "ADV", "PRON", "DET", "ADP", "AUX", "CCONJ", "SCONJ", "PART", "NUM", "PUNCT", "SYM", "INTJ", "X", "SPACE",
  "code:keyword", "code:builtin", "code:identifier", "code:operator", "code:string", "code:comment", "code:number", "code:whitespace",
];

export const activeFilters = (f: StatFilters) => Object.values(filterParams(f)).filter((v) => v !== undefined).length;

function Range({ label, lo, hi, onLo, onHi, testId, step }: { label: string; lo?: number; hi?: number; onLo: (v?: number) => void; onHi: (v?: number) => void; testId: string; step: string }) {
  return (
    <Field label={label}>
      <div className="flex items-center gap-1">
        <input className="w-20" type="number" step={step} placeholder="min" value={lo ?? ""} onChange={(e) => onLo(num(e.target.value))} data-testid={`${testId}-min`} />
        <span className="text-slate-500">–</span>
        <input className="w-20" type="number" step={step} placeholder="max" value={hi ?? ""} onChange={(e) => onHi(num(e.target.value))} data-testid={`${testId}-max`} />
      </div>
    </Field>
  );
}

export function FeatureFilterFields({ value, onChange }: { value: StatFilters; onChange: (f: StatFilters) => void }) {
  const set = (patch: Partial<StatFilters>) => onChange({ ...value, ...patch });
  const problem = filterProblem(value);
  return (
    <div className="flex flex-wrap items-end gap-3 rounded-md border border-slate-800 p-2" data-testid="feature-filters">
      <Range label="Frequency %" step="any" lo={value.minFrequencyPct} hi={value.maxFrequencyPct} onLo={(v) => set({ minFrequencyPct: v })} onHi={(v) => set({ maxFrequencyPct: v })} testId="filter-frequency" />
      <Range label="Max activation" step="any" lo={value.minMaxAct} hi={value.maxMaxAct} onLo={(v) => set({ minMaxAct: v })} onHi={(v) => set({ maxMaxAct: v })} testId="filter-max-act" />
      <Range label="Label score (0–1)" step="0.05" lo={value.minScore} hi={value.maxScore} onLo={(v) => set({ minScore: v })} onHi={(v) => set({ maxScore: v })} testId="filter-score" />
      <Field label="Category">
        <input className="w-32" value={value.category ?? ""} onChange={(e) => set({ category: e.target.value || undefined })} placeholder="e.g. syntax" data-testid="filter-category" />
      </Field>
      <Field label="Linguistics">
        <select className="w-36" value={value.lingCategory ?? ""} onChange={(e) => set({ lingCategory: e.target.value || undefined })} data-testid="filter-ling-category">
          <option value="">any category</option>
          {LING_CATEGORIES.map((c) => (
            <option key={c} value={c}>
              {c.startsWith("code:") ? `code ${c.slice(5)}` : c}
            </option>
          ))}
        </select>
      </Field>
      <Range label="Its share (0–1)" step="0.05" lo={value.minLingShare} hi={value.maxLingShare} onLo={(v) => set({ minLingShare: v })} onHi={(v) => set({ maxLingShare: v })} testId="filter-ling-share" />
      {value.labelingId !== undefined && (
        <span className="mb-1 inline-flex items-center gap-1 rounded bg-emerald-900/40 px-2 py-1 text-xs text-emerald-200" data-testid="filter-run">
          {value.runTitle ?? `labelling run #${value.labelingId}`}
          <button type="button" aria-label="remove the run filter" className="text-emerald-400 hover:text-emerald-200" onClick={() => set({ labelingId: undefined, runTitle: undefined, minScore: undefined, maxScore: undefined })}>
            ×
          </button>
        </span>
      )}
      {activeFilters(value) > 0 && (
        <Button className="mb-0.5" onClick={() => onChange(NO_FILTERS)} data-testid="filter-clear">
          Clear filters
        </Button>
      )}
      {problem && (
        <span className="mb-1 text-xs text-amber-300" role="alert" data-testid="filter-problem">
          {problem}
        </span>
      )}
    </div>
  );
}
