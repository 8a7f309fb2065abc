/** Features: extraction dialog with live progress, and the browser (search, sort, favourites,
 * summary, virtualised table, paging, go-to-feature) with the feature detail view. */
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { api } from "../api/client";
import { useApiMutation, useExtractions, useModels, useSaes, useTokenizations } from "../api/hooks";
import type { Extraction, ExtractionCreate, Feature, Page, SemanticHit } from "../api/types";
import { FeatureTable, type FeatureRow, type FeatureTableHandle } from "../components/FeatureTable";
import { JobProgress } from "../components/ProgressBar";
import { Button, Card, Empty, ErrorLine, Field, Modal, PanelHeader, Stat, StatusPill, num } from "../components/ui";
import { isBusy } from "../lib/status";
import { formatCount, formatDate, formatNumber } from "../lib/format";
import { useUi } from "../store/ui";
import { FeatureDetail } from "./FeatureDetail";
import { SaveTemplateDialog } from "./TrainingPanel";

export const PAGE_SIZE = 500;

export function FeaturesPanel() {
  const extractions = useExtractions();
  const extractSaeId = useUi((s) => s.extractSaeId);
  const setExtractSaeId = useUi((s) => s.setExtractSaeId);
  const extractionId = useUi((s) => s.extractionId);
  const setExtractionId = useUi((s) => s.setExtractionId);
  const [dialog, setDialog] = useState(false);
  const pendingTemplate = useUi((s) => s.pendingTemplate);
  useEffect(() => {
    if (extractSaeId !== null || pendingTemplate?.kind === "extraction") setDialog(true);
  }, [extractSaeId, pendingTemplate]);
  const items = extractions.data?.items ?? [];
  const ready = items.filter((e) => e.status === "ready" || e.status === "completed");
  const current = items.find((e) => e.id === extractionId) ?? ready[0];
  useEffect(() => {
    if (extractionId === null && ready[0]) setExtractionId(ready[0].id);
  }, [extractionId, ready, setExtractionId]);
  const running = items.filter((e) => e.status !== "ready" && e.status !== "completed");

  return (
    <div className="space-y-6">
      <PanelHeader
        title="Features"
        subtitle="What each latent responds to: browse, search, star and label."
        actions={
          <>
            {items.length > 0 && (
              <select value={current?.id ?? ""} onChange={(e) => setExtractionId(Number(e.target.value))} data-testid="extraction-select">
                {items.map((e) => (
                  <option key={e.id} value={e.id}>
                    {e.name} ({e.status})
                  </option>
                ))}
              </select>
            )}
            <Button variant="primary" onClick={() => setDialog(true)} data-testid="extraction-new">
              New extraction
            </Button>
          </>
        }
      />
      <ErrorLine error={extractions.error} />
      {running.length > 0 && (
        <div className="grid gap-3 md:grid-cols-2">
          {running.map((e) => (
            <ExtractionCard key={e.id} extraction={e} />
          ))}
        </div>
      )}
      {current && (current.status === "ready" || current.status === "completed") ? (
        <FeatureBrowser extraction={current} />
      ) : (
        items.length === 0 && <Empty>No extractions yet. Pick an SAE on the SAEs panel and choose “Extract features”, or start one here.</Empty>
      )}
      {dialog && (
        <ExtractionDialog
          saeId={extractSaeId}
          onClose={() => {
            setDialog(false);
            setExtractSaeId(null);
          }}
        />
      )}
    </div>
  );
}

function ExtractionCard({ extraction: e }: { extraction: Extraction }) {
  const remove = useApiMutation(() => api.del(`/extractions/${e.id}`), ["extractions"]);
  return (
    <Card
      testId={`extraction-${e.id}`}
      title={
        <div className="flex items-center gap-2">
          <span className="truncate">{e.name}</span>
          {!isBusy(e.status) && <StatusPill status={e.status} />}
        </div>
      }
      actions={
        !isBusy(e.status) && (
          <Button variant="ghost" className="text-rose-300" onClick={() => remove.mutate(undefined)}>
            Delete
          </Button>
        )
      }
    >
      <JobProgress jobId={e.job_id} />
      {e.error && !e.job_id && <ErrorLine error={e.error} />}
      <ErrorLine error={remove.error} />
    </Card>
  );
}

function ExtractionDialog({ saeId, onClose }: { saeId: number | null; onClose: () => void }) {
  const saes = useSaes();
  const models = useModels();
  const toks = useTokenizations({ status: "ready" });
  const [chosenSae, setChosenSae] = useState<number | null>(saeId);
  const sae = saes.data?.items.find((s) => s.id === chosenSae) ?? saes.data?.items[0];
  const [tokId, setTokId] = useState<number | null>(null);
  const compatibleToks = toks.data?.items.filter((t) => !sae?.model_id || t.model_id === sae.model_id) ?? [];
  const tok = compatibleToks.find((t) => t.id === tokId) ?? compatibleToks[0];
  const model = models.data?.items.find((m) => m.id === (sae?.model_id ?? tok?.model_id));
  const [cfg, setCfg] = useState({ n_tokens: "50000", top_k: "20", context_before: "16", context_after: "4", batch_size: "8" });
  const [saveOpen, setSaveOpen] = useState(false);
  const setExtractionId = useUi((s) => s.setExtractionId);
  const pending = useUi((s) => s.pendingTemplate);
  const loadTemplate = useUi((s) => s.loadTemplate);
  useEffect(() => {
    if (pending?.kind !== "extraction") return;
    setCfg((c) => {
      const next = { ...c };
      for (const key of Object.keys(c) as (keyof typeof c)[]) {
        const v = pending.config[key];
        if (typeof v === "number") next[key] = String(v);
      }
      return next;
    });
    void api.post(`/templates/${pending.id}/use`).catch(() => undefined);
    loadTemplate(null);
  }, [pending, loadTemplate]);
  const config = {
    n_tokens: num(cfg.n_tokens),
    top_k: num(cfg.top_k),
    context_before: num(cfg.context_before),
    context_after: num(cfg.context_after),
    batch_size: num(cfg.batch_size),
  };
  const create = useApiMutation(
    (body: ExtractionCreate) => api.post<Extraction>("/extractions", body),
    ["extractions"],
    (out) => {
      setExtractionId(out.id);
      onClose();
    },
  );
  return (
    <Modal
      title="Extract features"
      onClose={onClose}
      footer={
        <>
          <Button className="mr-auto" onClick={() => setSaveOpen(true)}>
            Save as template
          </Button>
          <Button onClick={onClose}>Cancel</Button>
          <Button
            variant="primary"
            disabled={!sae || !tok || !model || create.isPending}
            data-testid="extraction-submit"
            onClick={() =>
              sae &&
              tok &&
              model &&
              create.mutate({
                sae_id: sae.id,
                model_id: model.id,
                tokenization_id: tok.id,
                config,
              })
            }
          >
            Extract
          </Button>
        </>
      }
    >
      <div className="grid grid-cols-2 gap-3">
        <Field label="SAE" className="col-span-2" hint={sae ? `${sae.hook_name} · ${formatCount(sae.d_sae)} latents` : undefined}>
          <select value={sae?.id ?? ""} onChange={(e) => setChosenSae(Number(e.target.value))} data-testid="extraction-sae">
            {saes.data?.items.map((s) => (
              <option key={s.id} value={s.id}>
                {s.name}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Evaluation tokens from" className="col-span-2" hint={model ? `model ${model.name}` : "The SAE's model must be registered"}>
          <select value={tok?.id ?? ""} onChange={(e) => setTokId(Number(e.target.value))}>
            {compatibleToks.map((t) => (
              <option key={t.id} value={t.id}>
                {t.name} ({formatCount(t.n_tokens)} tokens)
              </option>
            ))}
          </select>
        </Field>
        <Field label="Evaluation tokens">
          <input type="number" min={1} value={cfg.n_tokens} onChange={(e) => setCfg({ ...cfg, n_tokens: e.target.value })} data-testid="extraction-tokens" />
        </Field>
        <Field label="Top-K examples per latent">
          <input type="number" min={1} value={cfg.top_k} onChange={(e) => setCfg({ ...cfg, top_k: e.target.value })} />
        </Field>
        <Field label="Context before (tokens)">
          <input type="number" min={0} value={cfg.context_before} onChange={(e) => setCfg({ ...cfg, context_before: e.target.value })} />
        </Field>
        <Field label="Context after (tokens)">
          <input type="number" min={0} value={cfg.context_after} onChange={(e) => setCfg({ ...cfg, context_after: e.target.value })} />
        </Field>
        <Field label="Batch size (sequences)">
          <input type="number" min={1} value={cfg.batch_size} onChange={(e) => setCfg({ ...cfg, batch_size: e.target.value })} />
        </Field>
      </div>
      <ErrorLine error={create.error} />
      {saveOpen && <SaveTemplateDialog kind="extraction" config={config} onClose={() => setSaveOpen(false)} />}
    </Modal>
  );
}

type Sort = "index" | "frequency" | "max_activation" | "interpretability" | "label_score";

function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

/** Pages of the feature list fetched as the table scrolls; rows are addressed by position. */
function useFeaturePages(base: Record<string, unknown>) {
  const client = useQueryClient();
  const key = JSON.stringify(base);
  const [state, setState] = useState<{ key: string; total: number | null; pages: Map<number, FeatureRow[]>; error: unknown }>({
    key,
    total: null,
    pages: new Map(),
    error: null,
  });
  const inFlight = useRef(new Set<string>());
  const current = state.key === key ? state : { key, total: null, pages: new Map<number, FeatureRow[]>(), error: null };

  const load = useCallback(
    (page: number) => {
      const id = `${key}#${page}`;
      if (inFlight.current.has(id)) return;
      inFlight.current.add(id);
      client
        .fetchQuery({
          queryKey: ["features", "list", base, page],
          queryFn: ({ signal }) => api.get<Page<Feature>>("/features", { ...base, offset: page * PAGE_SIZE, limit: PAGE_SIZE } as never, signal),
          staleTime: 10_000,
        })
        .then((res) =>
          setState((s) => {
            const cur = s.key === key ? s : { key, total: null, pages: new Map<number, FeatureRow[]>(), error: null };
            const pages = new Map(cur.pages);
            pages.set(page, res.items);
            return { ...cur, total: res.total, pages };
          }),
        )
        .catch((error) => setState((s) => ({ ...(s.key === key ? s : current), error })))
        .finally(() => inFlight.current.delete(id));
    },
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [key, client],
  );

  useEffect(() => {
    setState({ key, total: null, pages: new Map(), error: null });
    load(0);
  }, [key, load]);

  const rowAt = useCallback(
    (i: number) => current.pages.get(Math.floor(i / PAGE_SIZE))?.[i % PAGE_SIZE],
    [current.pages],
  );
  const ensure = useCallback(
    (start: number, end: number) => {
      for (let p = Math.floor(start / PAGE_SIZE); p <= Math.floor(end / PAGE_SIZE); p++) {
        if (!current.pages.has(p)) load(p);
      }
    },
    [current.pages, load],
  );
  const replace = useCallback((f: Feature) => {
    setState((s) => {
      const pages = new Map(s.pages);
      for (const [p, rows] of pages) {
        const i = rows.findIndex((r) => r.id === f.id);
        if (i >= 0) pages.set(p, rows.map((r, j) => (j === i ? { ...r, ...f } : r)));
      }
      return { ...s, pages };
    });
  }, []);
  const loaded = useMemo(() => [...current.pages.values()].flat(), [current.pages]);
  return { total: current.total, rowAt, ensure, replace, error: current.error, loaded, reload: () => setState({ key: "", total: null, pages: new Map(), error: null }) };
}

function FeatureBrowser({ extraction }: { extraction: Extraction }) {
  const [search, setSearch] = useState("");
  const q = useDebounced(search.trim(), 300);
  const [sort, setSort] = useState<Sort>("index");
  const [order, setOrder] = useState<"asc" | "desc">("asc");
  const [starredOnly, setStarredOnly] = useState(false);
  const [semantic, setSemantic] = useState(false);
  const [goTo, setGoTo] = useState("");
  const [goError, setGoError] = useState<string | null>(null);
  const [visible, setVisible] = useState<[number, number]>([0, 0]);
  const featureId = useUi((s) => s.featureId);
  const openFeature = useUi((s) => s.openFeature);
  const table = useRef<FeatureTableHandle>(null);
  const base = useMemo(
    () => ({ extraction_id: extraction.id, q: q || undefined, sort, order, starred: starredOnly ? true : undefined }),
    [extraction.id, q, sort, order, starredOnly],
  );
  const pages = useFeaturePages(base);
  const total = pages.total ?? 0;
  const onRange = useCallback(
    (start: number, end: number) => {
      setVisible([start, end]);
      pages.ensure(start, end);
    },
    [pages],
  );
  const star = useCallback(
    (f: FeatureRow) => {
      pages.replace({ ...f, starred: !f.starred });
      api.post<Feature>(`/features/${f.id}/star`).then(pages.replace, () => pages.replace(f));
    },
    [pages],
  );
  const summary = useMemo(() => summarise(pages.loaded), [pages.loaded]);
  const result = extraction.result as Record<string, unknown>;
  const nPages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  const page = Math.floor(visible[0] / PAGE_SIZE);

  const goToFeature = async () => {
    setGoError(null);
    const index = num(goTo);
    if (index === undefined || index < 0 || !Number.isInteger(index)) return setGoError("enter a latent index");
    if (sort === "index" && order === "asc" && !q && !starredOnly) table.current?.scrollToRow(index);
    try {
      const res = await api.get<Page<Feature>>("/features", { extraction_id: extraction.id, q: String(index), limit: 50 });
      const hit = res.items.find((f) => f.index === index);
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
      {goError && <ErrorLine error={goError} />}
      <ErrorLine error={pages.error} />
      {semantic && q ? (
        <SemanticResults extractionId={extraction.id} q={q} onOpen={(id) => openFeature(id)} />
      ) : null}
      <FeatureTable ref={table} count={total} rowAt={pages.rowAt} onRange={onRange} onOpen={(f) => openFeature(f.id)} onStar={star} selectedId={featureId} />
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

function SemanticResults({ extractionId, q, onOpen }: { extractionId: number; q: string; onOpen: (id: number) => void }) {
  const hits = useQuery({
    queryKey: ["features", "semantic", extractionId, q],
    queryFn: ({ signal }) => api.get<SemanticHit[]>("/features/semantic", { extraction_id: extractionId, q, k: 50 }, signal),
  });
  return (
    <div className="rounded-lg border border-slate-800" data-testid="semantic-results">
      <div className="border-b border-slate-800 px-3 py-2 text-[11px] font-medium uppercase tracking-wide text-slate-500">
        Semantic matches {hits.isFetching ? "…" : hits.data ? `(${hits.data.length})` : ""}
      </div>
      <ErrorLine error={hits.error} className="m-2" />
      <ul className="max-h-72 overflow-y-auto text-sm">
        {hits.data?.map((h) => (
          <li key={h.feature.id}>
            <button type="button" className="grid w-full grid-cols-[70px_1fr_140px_60px] gap-3 px-3 py-1.5 text-left hover:bg-slate-800/50" onClick={() => onOpen(h.feature.id)}>
              <span className="font-mono text-xs text-slate-400">#{h.feature.index}</span>
              <span className="truncate text-slate-100">{h.feature.label ?? ""}</span>
              <span className="truncate text-xs text-slate-400">{h.feature.category ?? ""}</span>
              <span className="text-right font-mono text-xs text-slate-300">{formatNumber(h.similarity, 2)}</span>
            </button>
          </li>
        ))}
        {hits.data && hits.data.length === 0 && <li className="px-3 py-2 text-slate-500">no labelled latent is close</li>}
      </ul>
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
