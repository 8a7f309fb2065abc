/**
 * The latents of one extraction: search (text or semantic), sort, starred filter, filters on
 * statistics, category and a labelling run (FeatureFilters), go-to-index and go-to-page, a
 * summary of every matching latent (FeatureSummaryStrip), and a virtualised table whose pages are
 * fetched as it scrolls, with a summary of the loaded rows.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import type { Extraction, Feature } from "../api/types";
import { FeatureTable, type FeatureRow, type FeatureTableHandle } from "../components/FeatureTable";
import { RawTokensToggle } from "../components/TokenText";
import { Button, ErrorLine, Field, Stat, num } from "../components/ui";
import { formatCount, formatDate, formatNumber } from "../lib/format";
import { useUi } from "../store/ui";
import { FeatureDetail } from "./FeatureDetail";
import { SemanticResults } from "./SemanticResults";
import { findByIndex, PAGE_SIZE, toggleStar, useFeaturePages } from "./queries";
import { useDebounced } from "../lib/useDebounced";
import { activeFilters, FeatureFilterFields, filterParams, filterProblem, NO_FILTERS, type StatFilters } from "./FeatureFilters";
import { FeatureSummaryStrip, useFeatureSummary } from "./FeatureSummaryStrip";

type Sort = "index" | "frequency" | "max_activation" | "interpretability" | "label_score";

export function FeatureBrowser({ extraction }: { extraction: Extraction }) {
  const [search, setSearch] = useState("");
  const q = useDebounced(search.trim(), 300);
  const [sort, setSort] = useState<Sort>("index");
  const [order, setOrder] = useState<"asc" | "desc">("asc");
  const [starredOnly, setStarredOnly] = useState(false);
  // Each latent's current label, or its best-scored version (which the score sorts then rank by).
  const [labelView, setLabelView] = useState<"current" | "best">("current");
  const [semantic, setSemantic] = useState(false);
  const [goTo, setGoTo] = useState("");
  const [goError, setGoError] = useState<string | null>(null);
  const [visible, setVisible] = useState<[number, number]>([0, 0]);
  const featureId = useUi((s) => s.featureId);
  const openFeature = useUi((s) => s.openFeature);
  const table = useRef<FeatureTableHandle>(null);
  // Statistics, category and labelling-run filters; a run's "View features" hands its filter
  // over through the UI store (taken once, then cleared).
  const [filters, setFilters] = useState<StatFilters>(NO_FILTERS);
  const [showFilters, setShowFilters] = useState(false);
  const featureFilter = useUi((s) => s.featureFilter);
  const rawTokens = useUi((s) => s.rawTokens);
  const setRawTokens = useUi((s) => s.setRawTokens);
  const setFeatureFilter = useUi((s) => s.setFeatureFilter);
  useEffect(() => {
    if (!featureFilter) return;
    setFilters({ labelingId: featureFilter.labelingId, minScore: featureFilter.minScore, maxScore: featureFilter.maxScore, runTitle: featureFilter.title });
    setShowFilters(true);
    setFeatureFilter(null);
  }, [featureFilter, setFeatureFilter]);
  const debouncedFilters = useDebounced(filters, 300);
  // A reversed range is said beside the inputs and not asked (the server would refuse it).
  const ranges = useMemo(() => (filterProblem(debouncedFilters) ? {} : filterParams(debouncedFilters)), [debouncedFilters]);
  const base = useMemo(
    () => ({
      extraction_id: extraction.id,
      q: q || undefined,
      sort,
      order,
      starred: starredOnly ? true : undefined,
      label_view: labelView === "best" ? "best" : undefined,
      ...ranges,
    }),
    [extraction.id, q, sort, order, starredOnly, labelView, ranges],
  );
  const pages = useFeaturePages(base);
  const summaryQuery = useFeatureSummary({ extraction_id: extraction.id, q: q || undefined, starred: starredOnly ? true : undefined, ...ranges });
  const [pageInput, setPageInput] = useState("");
  const total = pages.total ?? 0;
  const ensure = pages.ensure;
  const onRange = useCallback((start: number, end: number) => ensure(start, end), [ensure]);
  const onVisible = useCallback((start: number, end: number) => setVisible([start, end]), []);
  const star = useCallback(
    (f: FeatureRow) => {
      pages.replace({ ...f, starred: !f.starred });
      toggleStar(f.id).then(pages.replace, () => pages.replace(f));
    },
    [pages],
  );
  const summary = useMemo(() => summarise(pages.loaded), [pages.loaded]);
  const result = extraction.result as Record<string, unknown>;
  const nPages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  // The page of the top row in view; at the bottom of the list, the last page (a short last page
  // cannot scroll its first row to the top, so "Page ›" lands there with earlier rows above it).
  const page = total && visible[1] >= total - 1 ? nPages - 1 : Math.floor(visible[0] / PAGE_SIZE);

  const goToFeature = async () => {
    setGoError(null);
    const index = num(goTo);
    if (index === undefined || index < 0 || !Number.isInteger(index)) return setGoError("enter a latent index");
    if (sort === "index" && order === "asc" && !q && !starredOnly) table.current?.scrollToRow(index);
    try {
      const hit = await findByIndex(extraction.id, index);
      if (hit) openFeature(hit.id);
      else setGoError(`no latent ${index} in this extraction`);
    } catch (err) {
      setGoError((err as Error).message);
    }
  };

  return (
    <div className="space-y-4" data-testid="feature-browser">
      <div className="grid grid-cols-2 gap-2 md:grid-cols-6">
        <Stat label="Latents" value={formatCount(extraction.n_features)} />
        <Stat label="Matching" value={<span data-testid="feature-total">{formatCount(pages.total)}</span>} />
        <Stat label="Eval tokens" value={formatCount((result?.n_tokens as number | undefined) ?? null)} />
        <Stat label="Never active (loaded)" value={`${summary.dead} / ${summary.n}`} />
        <Stat label="Median frequency" value={summary.medianFrequency === null ? "–" : `${formatNumber(summary.medianFrequency * 100)}%`} />
        <Stat label="Starred (loaded)" value={summary.starred} />
      </div>
      <div className="flex flex-wrap items-end gap-3">
        <Field label="Search" className="min-w-[16rem] flex-1">
          <input
            type="search"
            placeholder="label, description, top tokens, or an index"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
            data-testid="feature-search"
          />
        </Field>
        <Field label="Sort by">
          <select value={sort} onChange={(e) => setSort(e.target.value as Sort)} data-testid="feature-sort">
            <option value="index">index</option>
            <option value="frequency">frequency</option>
            <option value="max_activation">max activation</option>
            <option value="interpretability">interpretability</option>
            <option value="label_score">label score (scored only)</option>
          </select>
        </Field>
        <Button onClick={() => setOrder(order === "asc" ? "desc" : "asc")} aria-label="sort order">
          {order === "asc" ? "↑ asc" : "↓ desc"}
        </Button>
        <Field label="Labels">
          <select
            value={labelView}
            onChange={(e) => setLabelView(e.target.value as "current" | "best")}
            data-testid="feature-label-view"
            title="Current: each latent's current label. Best-scored: its label version with the highest mean of detection and fuzzing (scores sort by it too)"
          >
            <option value="current">current</option>
            <option value="best">best-scored</option>
          </select>
        </Field>
        <label className="flex items-center gap-2 pb-2 text-sm text-slate-300" title="Search labels by meaning (embeddings of the labelled latents)">
          <input type="checkbox" checked={semantic} onChange={(e) => setSemantic(e.target.checked)} data-testid="feature-semantic" />
          semantic
        </label>
        <label className="flex items-center gap-2 pb-2 text-sm text-slate-300">
          <input type="checkbox" checked={starredOnly} onChange={(e) => setStarredOnly(e.target.checked)} data-testid="feature-starred" />
          favourites only
        </label>
        <Field label="Go to latent">
          <div className="flex gap-1">
            <input className="w-24" type="number" min={0} value={goTo} onChange={(e) => setGoTo(e.target.value)} onKeyDown={(e) => e.key === "Enter" && void goToFeature()} data-testid="feature-goto" />
            <Button onClick={() => void goToFeature()}>Go</Button>
          </div>
        </Field>
      </div>
      <div className="flex items-center gap-2">
        <Button onClick={() => setShowFilters(!showFilters)} data-testid="feature-filters-toggle">
          {showFilters ? "▾" : "▸"} Filters{activeFilters(filters) ? ` (${activeFilters(filters)})` : ""}
        </Button>
        <RawTokensToggle raw={rawTokens} onChange={setRawTokens} />
      </div>
      {showFilters && <FeatureFilterFields value={filters} onChange={setFilters} />}
      <FeatureSummaryStrip summary={summaryQuery.data} />
      {goError && <ErrorLine error={goError} />}
      <ErrorLine error={pages.error} />
      {semantic && q ? (
        <SemanticResults extractionId={extraction.id} q={q} onOpen={(id) => openFeature(id)} />
      ) : null}
      <FeatureTable ref={table} count={total} rowAt={pages.rowAt} onRange={onRange} onVisible={onVisible} onOpen={(f) => openFeature(f.id)} onStar={star} selectedId={featureId} rawTokens={rawTokens} />
      <div className="flex items-center justify-between text-xs text-slate-400">
        <span data-testid="feature-range">
          {total ? `rows ${formatCount(visible[0] + 1)}–${formatCount(Math.min(total, visible[1] + 1))} of ${formatCount(total)}` : "no features match"}
        </span>
        <div className="flex items-center gap-2">
          <Button className="px-2 py-0.5" disabled={page === 0} onClick={() => table.current?.scrollToRow((page - 1) * PAGE_SIZE)}>
            ‹ Page
          </Button>
          <span>
            page {page + 1} of {nPages}
          </span>
          <form
            className="flex items-center gap-1"
            onSubmit={(e) => {
              e.preventDefault();
              const p = num(pageInput);
              if (p === undefined || !Number.isInteger(p)) return;
              table.current?.scrollToRow((Math.min(nPages, Math.max(1, p)) - 1) * PAGE_SIZE);
              setPageInput("");
            }}
          >
            <input className="w-16 px-1 py-0.5" type="number" min={1} max={nPages} placeholder="page" value={pageInput} onChange={(e) => setPageInput(e.target.value)} aria-label="go to page" data-testid="feature-page-input" />
            <Button type="submit" className="px-2 py-0.5" data-testid="feature-page-go">
              Go
            </Button>
          </form>
          <Button className="px-2 py-0.5" disabled={page >= nPages - 1} onClick={() => table.current?.scrollToRow((page + 1) * PAGE_SIZE)}>
            Page ›
          </Button>
        </div>
      </div>
      <p className="text-[11px] text-slate-500">Extraction {extraction.name} · {formatDate(extraction.created_at)}</p>
      {featureId !== null && <FeatureDetail featureId={featureId} onClose={() => openFeature(null)} onChanged={pages.replace} />}
    </div>
  );
}

function summarise(rows: Feature[]) {
  const freqs = rows.map((r) => r.frequency).filter((f): f is number => typeof f === "number").sort((a, b) => a - b);
  return {
    n: rows.length,
    dead: rows.filter((r) => !r.frequency).length,
    starred: rows.filter((r) => r.starred).length,
    medianFrequency: freqs.length ? freqs[Math.floor(freqs.length / 2)] : null,
  };
}
