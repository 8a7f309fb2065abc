/** Datasets: import (built-in, Hub, local path, upload), cards with live progress, tokenize,
 * tokenization statistics and the paged sample browser. */
import { useState } from "react";
import { api } from "../api/client";
import {
  useApiMutation,
  useDatasetSamples,
  useDatasets,
  useDatasetSources,
  useModels,
  useTokenizationSamples,
  useTokenizationStats,
  useTokenizations,
} from "../api/hooks";
import type { Dataset, DatasetCreate, Model, Tokenization, TokenizationCreate } from "../api/types";
import { HistogramChart } from "../components/charts";
import { JobProgress } from "../components/ProgressBar";
import { TokenText } from "../components/TokenText";
import { Button, Card, Empty, ErrorLine, Field, Modal, PanelHeader, Stat, StatusPill, Tabs, num } from "../components/ui";
import { isBusy } from "../lib/status";
import { formatBytes, formatCount, formatDate, formatNumber } from "../lib/format";


export function DatasetsPanel() {
  const datasets = useDatasets();
  const tokenizations = useTokenizations();
  const [tokenizeFor, setTokenizeFor] = useState<Dataset | null>(null);
  const [samplesOf, setSamplesOf] = useState<Dataset | null>(null);
  const [statsOf, setStatsOf] = useState<Tokenization | null>(null);

  return (
    <div className="space-y-6">
      <PanelHeader
        title="Datasets"
        subtitle="Import text, tokenize it with a model's tokenizer, and look at what you have."
      />
      <ImportCard />
      <ErrorLine error={datasets.error} />
      <div className="grid gap-4 lg:grid-cols-2 2xl:grid-cols-3" data-testid="dataset-cards">
        {datasets.data?.items.map((d) => (
          <DatasetCard
            key={d.id}
            dataset={d}
            tokenizations={tokenizations.data?.items.filter((t) => t.dataset_id === d.id) ?? []}
            onTokenize={() => setTokenizeFor(d)}
            onSamples={() => setSamplesOf(d)}
            onStats={setStatsOf}
          />
        ))}
      </div>
      {datasets.data && datasets.data.items.length === 0 && <Empty>No datasets yet: import one above.</Empty>}
      {tokenizeFor && <TokenizeDialog dataset={tokenizeFor} onClose={() => setTokenizeFor(null)} />}
      {samplesOf && <SampleBrowser dataset={samplesOf} onClose={() => setSamplesOf(null)} />}
      {statsOf && <TokenizationStatsDialog tokenization={statsOf} onClose={() => setStatsOf(null)} />}
    </div>
  );
}

type ImportTab = "builtin" | "hub" | "local" | "upload";

function ImportCard() {
  const [tab, setTab] = useState<ImportTab>("builtin");
  const sources = useDatasetSources();
  // A Hub token lives only in this form's state (never in storage) and is cleared once sent.
  const create = useApiMutation((body: DatasetCreate) => api.post("/datasets", body), ["datasets"], () =>
    setHub((h) => ({ ...h, token: "" })),
  );
  const upload = useApiMutation((form: FormData) => api.upload("/datasets/upload", form), ["datasets"]);
  const [builtin, setBuiltin] = useState("python-stdlib");
  const [limit, setLimit] = useState("200");
  const [includeTests, setIncludeTests] = useState(false);
  const [hub, setHub] = useState({ repo_id: "", config: "", split: "train", token: "", max: "", streaming: false, text_column: "" });
  const [local, setLocal] = useState({ path: "", txt_mode: "file", text_column: "" });
  const [file, setFile] = useState<File | null>(null);

  const submit = () => {
    if (tab === "builtin") {
      create.mutate({
        source: { kind: "builtin", builtin, include_tests: includeTests, max_documents: num(limit) ?? null },
      });
    } else if (tab === "hub") {
      create.mutate({
        source: {
          kind: "hub",
          repo_id: hub.repo_id.trim(),
          config: hub.config.trim() || null,
          split: hub.split.trim() || "train",
          token: hub.token.trim() || null,
          streaming: hub.streaming,
          text_column: hub.text_column.trim() || null,
          max_documents: num(hub.max) ?? null,
        },
      });
    } else if (tab === "local") {
      create.mutate({
        source: {
          kind: "local",
          path: local.path.trim(),
          txt_mode: local.txt_mode as "file" | "line" | "paragraph",
          text_column: local.text_column.trim() || null,
        },
      });
    } else if (file) {
      const form = new FormData();
      form.append("file", file);
      upload.mutate(form);
    }
  };
  const error = create.error ?? upload.error;
  const pending = create.isPending || upload.isPending;
  const ready =
    tab === "builtin" || (tab === "hub" && hub.repo_id.trim()) || (tab === "local" && local.path.trim()) || (tab === "upload" && file);

  return (
    <Card title="Import a dataset" testId="import-card">
      <Tabs
        tabs={[
          { id: "builtin", label: "Built-in corpus" },
          { id: "hub", label: "HuggingFace Hub" },
          { id: "local", label: "Local path" },
          { id: "upload", label: "Upload file" },
        ]}
        value={tab}
        onChange={setTab}
      />
      <div className="mt-4 grid gap-3 sm:grid-cols-2 lg:grid-cols-4">
        {tab === "builtin" && (
          <>
            <Field label="Corpus">
              <select value={builtin} onChange={(e) => setBuiltin(e.target.value)} data-testid="builtin-select">
                {(sources.data ?? [{ name: "python-stdlib", description: "" }, { name: "kjv", description: "" }]).map((s) => (
                  <option key={s.name} value={s.name}>
                    {s.name}
                  </option>
                ))}
              </select>
            </Field>
            <Field label="Max documents" hint="Empty imports everything">
              <input type="number" min={1} value={limit} onChange={(e) => setLimit(e.target.value)} data-testid="builtin-limit" />
            </Field>
            {builtin === "python-stdlib" && (
              <label className="flex items-center gap-2 self-end pb-2 text-sm text-slate-300">
                <input type="checkbox" checked={includeTests} onChange={(e) => setIncludeTests(e.target.checked)} />
                include test folders
              </label>
            )}
            <p className="text-xs text-slate-500 sm:col-span-2 lg:col-span-4">
              {sources.data?.find((s) => s.name === builtin)?.description}
            </p>
          </>
        )}
        {tab === "hub" && (
          <>
            <Field label="Repo id">
              <input placeholder="stanfordnlp/imdb" value={hub.repo_id} onChange={(e) => setHub({ ...hub, repo_id: e.target.value })} />
            </Field>
            <Field label="Config (subset)">
              <input value={hub.config} onChange={(e) => setHub({ ...hub, config: e.target.value })} />
            </Field>
            <Field label="Split">
              <input value={hub.split} onChange={(e) => setHub({ ...hub, split: e.target.value })} />
            </Field>
            <Field label="Access token" hint="For gated or private repos; never saved">
              <input
                type="password"
                autoComplete="off"
                value={hub.token}
                onChange={(e) => setHub({ ...hub, token: e.target.value })}
                data-testid="hub-token"
              />
            </Field>
            <Field label="Text column" hint="Default: text, content, body…">
              <input value={hub.text_column} onChange={(e) => setHub({ ...hub, text_column: e.target.value })} />
            </Field>
            <Field label="Max documents">
              <input type="number" min={1} value={hub.max} onChange={(e) => setHub({ ...hub, max: e.target.value })} />
            </Field>
            <label className="flex items-center gap-2 self-end pb-2 text-sm text-slate-300">
              <input type="checkbox" checked={hub.streaming} onChange={(e) => setHub({ ...hub, streaming: e.target.checked })} />
              stream rows
            </label>
          </>
        )}
        {tab === "local" && (
          <>
            <Field label="Path on the server" className="sm:col-span-2" hint="A txt/jsonl/json/parquet/csv file or a folder, under MISTUDIO_IMPORT_ROOTS">
              <input placeholder="/data/corpus" value={local.path} onChange={(e) => setLocal({ ...local, path: e.target.value })} />
            </Field>
            <Field label=".txt split">
              <select value={local.txt_mode} onChange={(e) => setLocal({ ...local, txt_mode: e.target.value })}>
                <option value="file">one document per file</option>
                <option value="line">one per line</option>
                <option value="paragraph">one per paragraph</option>
              </select>
            </Field>
            <Field label="Text column">
              <input value={local.text_column} onChange={(e) => setLocal({ ...local, text_column: e.target.value })} />
            </Field>
          </>
        )}
        {tab === "upload" && (
          <Field label="File" className="sm:col-span-2">
            <input type="file" accept=".txt,.jsonl,.json,.parquet,.csv" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
          </Field>
        )}
      </div>
      <div className="mt-4 flex items-center gap-3">
        <Button variant="primary" onClick={submit} disabled={!ready || pending} data-testid="import-submit">
          {pending ? "Starting…" : "Import"}
        </Button>
        <ErrorLine error={error} className="flex-1" />
      </div>
    </Card>
  );
}

function sourceLine(d: Dataset): string {
  const s = d.source as Record<string, unknown>;
  if (d.source_kind === "hub") return `hub · ${[s.repo_id, s.config, s.split].filter(Boolean).join(" / ")}`;
  if (d.source_kind === "local") return `local · ${String(s.path ?? "")}`;
  return `built-in · ${String(s.builtin ?? d.name)}`;
}

function DatasetCard({
  dataset: d,
  tokenizations,
  onTokenize,
  onSamples,
  onStats,
}: {
  dataset: Dataset;
  tokenizations: Tokenization[];
  onTokenize: () => void;
  onSamples: () => void;
  onStats: (t: Tokenization) => void;
}) {
  const remove = useApiMutation(() => api.del(`/datasets/${d.id}`), ["datasets"]);
  const importBuiltin = useApiMutation(
    () => api.post("/datasets", { source: { kind: "builtin", builtin: d.name, max_documents: null } }),
    ["datasets"],
  );
  const ready = d.status === "ready";
  return (
    <Card
      testId={`dataset-${d.name}`}
      title={
        <div className="space-y-1">
          <div className="flex items-center gap-2">
            <span className="truncate">{d.name}</span>
            {!isBusy(d.status) && <StatusPill status={d.status} />}
          </div>
          <div className="truncate text-xs font-normal text-slate-500">{sourceLine(d)}</div>
        </div>
      }
      actions={
        <>
          {ready && (
            <Button onClick={onTokenize} data-testid="tokenize-open">
              Tokenize
            </Button>
          )}
          {d.status === "available" && d.builtin && (
            <Button variant="primary" onClick={() => importBuiltin.mutate(undefined)}>
              Import
            </Button>
          )}
        </>
      }
    >
      <div className="grid grid-cols-3 gap-2">
        <Stat label="Documents" value={<span data-testid="sample-count">{formatCount(d.n_documents)}</span>} />
        <Stat label="Size" value={formatBytes(d.n_bytes)} />
        <Stat label="Created" value={formatDate(d.created_at)} />
      </div>
      {(isBusy(d.status) || d.status === "failed" || d.status === "cancelled") && (
        <div className="mt-3">
          <JobProgress jobId={d.job_id} />
        </div>
      )}
      {d.error && !d.job_id && <ErrorLine error={d.error} className="mt-3" />}
      {tokenizations.length > 0 && (
        <div className="mt-3 space-y-2">
          <div className="text-[11px] uppercase tracking-wide text-slate-500">Tokenizations</div>
          {tokenizations.map((t) => (
            <TokenizationRow key={t.id} tokenization={t} onStats={() => onStats(t)} />
          ))}
        </div>
      )}
      <div className="mt-3 flex gap-2">
        {ready && (
          <Button variant="ghost" onClick={onSamples} data-testid="samples-open">
            Browse samples
          </Button>
        )}
        {!d.builtin && (
          <Button variant="ghost" className="ml-auto text-rose-300" onClick={() => confirm(`Delete dataset ${d.name}?`) && remove.mutate(undefined)}>
            Delete
          </Button>
        )}
      </div>
      <ErrorLine error={remove.error ?? importBuiltin.error} className="mt-2" />
    </Card>
  );
}

function TokenizationRow({ tokenization: t, onStats }: { tokenization: Tokenization; onStats: () => void }) {
  const remove = useApiMutation(() => api.del(`/tokenizations/${t.id}`), ["tokenizations"]);
  return (
    <div className="rounded-md border border-slate-800 bg-slate-950/50 p-2" data-testid={`tokenization-${t.id}`}>
      <div className="flex items-center gap-2 text-xs">
        <span className="truncate font-medium text-slate-200">{t.name}</span>
        {!isBusy(t.status) && <StatusPill status={t.status} />}
        <span className="ml-auto font-mono text-slate-400">
          {t.n_sequences !== null ? `${formatCount(t.n_sequences)} seq · ${formatCount(t.n_tokens)} tok` : `len ${t.max_length}`}
        </span>
        {t.status === "ready" && (
          <Button variant="ghost" className="px-2 py-0.5 text-xs" onClick={onStats} data-testid="stats-open">
            Statistics
          </Button>
        )}
        <Button variant="ghost" className="px-2 py-0.5 text-xs text-rose-300" onClick={() => remove.mutate(undefined)}>
          ✕
        </Button>
      </div>
      {t.status !== "ready" && (
        <div className="mt-2">
          <JobProgress jobId={t.job_id} />
        </div>
      )}
      <ErrorLine error={remove.error} className="mt-2" />
    </div>
  );
}

export function TokenizeDialog({ dataset, onClose }: { dataset: Dataset; onClose: () => void }) {
  const models = useModels();
  const [modelId, setModelId] = useState<number | null>(null);
  const [cfg, setCfg] = useState({ max_length: "128", stride: "128", min_tokens: "1", max_documents: "", drop: "", prepend_bos: true, pack: true });
  const create = useApiMutation(
    (body: TokenizationCreate) => api.post("/tokenizations", body),
    ["tokenizations"],
    () => onClose(),
  );
  const chosen: Model | undefined = models.data?.items.find((m) => m.id === modelId) ?? models.data?.items[0];
  const submit = () => {
    if (!chosen) return;
    create.mutate({
      dataset_id: dataset.id,
      model_id: chosen.id,
      config: {
        max_length: num(cfg.max_length),
        stride: num(cfg.stride),
        min_tokens: num(cfg.min_tokens),
        max_documents: num(cfg.max_documents) ?? null,
        prepend_bos: cfg.prepend_bos,
        pack: cfg.pack,
        drop_if_contains: cfg.drop.split(",").map((s) => s.trim()).filter(Boolean),
      },
    });
  };
  return (
    <Modal
      title={`Tokenize ${dataset.name}`}
      onClose={onClose}
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button variant="primary" onClick={submit} disabled={!chosen || create.isPending} data-testid="tokenize-submit">
            Tokenize
          </Button>
        </>
      }
    >
      <div className="grid grid-cols-2 gap-3">
        <Field label="Tokenizer of model" className="col-span-2" hint={chosen ? `${chosen.source} · ${chosen.status}` : "Register a model first (Models panel)"}>
          <select value={chosen?.id ?? ""} onChange={(e) => setModelId(Number(e.target.value))} data-testid="tokenize-model">
            {models.data?.items.map((m) => (
              <option key={m.id} value={m.id}>
                {m.name}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Max length (tokens)">
          <input type="number" min={2} value={cfg.max_length} onChange={(e) => setCfg({ ...cfg, max_length: e.target.value })} data-testid="tokenize-max-length" />
        </Field>
        <Field label="Stride" hint="Step between overlapping windows of a long document">
          <input type="number" min={1} value={cfg.stride} onChange={(e) => setCfg({ ...cfg, stride: e.target.value })} />
        </Field>
        <Field label="Min tokens per document">
          <input type="number" min={0} value={cfg.min_tokens} onChange={(e) => setCfg({ ...cfg, min_tokens: e.target.value })} />
        </Field>
        <Field label="Max documents">
          <input type="number" min={1} value={cfg.max_documents} onChange={(e) => setCfg({ ...cfg, max_documents: e.target.value })} />
        </Field>
        <Field label="Drop documents containing" className="col-span-2" hint="Comma-separated, case-insensitive">
          <input value={cfg.drop} onChange={(e) => setCfg({ ...cfg, drop: e.target.value })} />
        </Field>
        <label className="flex items-center gap-2 text-sm text-slate-300">
          <input type="checkbox" checked={cfg.prepend_bos} onChange={(e) => setCfg({ ...cfg, prepend_bos: e.target.checked })} />
          prepend BOS
        </label>
        <label className="flex items-center gap-2 text-sm text-slate-300">
          <input type="checkbox" checked={cfg.pack} onChange={(e) => setCfg({ ...cfg, pack: e.target.checked })} />
          pack short documents
        </label>
      </div>
      <ErrorLine error={create.error} />
    </Modal>
  );
}

const PAGE = 10;

function Pager({ page, setPage, hasNext, total }: { page: number; setPage: (p: number) => void; hasNext: boolean; total?: number | null }) {
  return (
    <div className="flex items-center gap-2 text-xs text-slate-400">
      <Button className="px-2 py-0.5" disabled={page === 0} onClick={() => setPage(page - 1)}>
        ‹ Prev
      </Button>
      <span data-testid="page">
        page {page + 1}
        {total ? ` of ${Math.max(1, Math.ceil(total / PAGE))}` : ""}
      </span>
      <Button className="px-2 py-0.5" disabled={!hasNext} onClick={() => setPage(page + 1)}>
        Next ›
      </Button>
    </div>
  );
}

function SampleBrowser({ dataset, onClose }: { dataset: Dataset; onClose: () => void }) {
  const [page, setPage] = useState(0);
  const samples = useDatasetSamples(dataset.id, page * PAGE, PAGE);
  const items = samples.data ?? [];
  return (
    <Modal title={`Samples of ${dataset.name}`} onClose={onClose} wide footer={<Pager page={page} setPage={setPage} hasNext={items.length === PAGE} total={dataset.n_documents} />}>
      <ErrorLine error={samples.error} />
      <div className="max-h-[60vh] space-y-3 overflow-y-auto" data-testid="sample-list">
        {items.map((s) => (
          <div key={s.index} className="rounded-md border border-slate-800 bg-slate-950/60 p-3">
            <div className="mb-1 flex justify-between text-[11px] text-slate-500">
              <span>#{s.index}</span>
              <span>
                {formatCount(s.n_chars)} chars{s.truncated ? " (truncated)" : ""}
              </span>
            </div>
            <pre className="max-h-64 overflow-auto whitespace-pre-wrap break-words font-mono text-xs text-slate-200">{s.text}</pre>
            {Object.keys(s.metadata ?? {}).length > 0 && (
              <div className="mt-1 truncate font-mono text-[11px] text-slate-500">{JSON.stringify(s.metadata)}</div>
            )}
          </div>
        ))}
      </div>
    </Modal>
  );
}

function TokenizationStatsDialog({ tokenization: t, onClose }: { tokenization: Tokenization; onClose: () => void }) {
  const stats = useTokenizationStats(t.id);
  const [page, setPage] = useState(0);
  const samples = useTokenizationSamples(t.id, page * PAGE, PAGE);
  const [tab, setTab] = useState<"stats" | "samples">("stats");
  const s = stats.data;
  return (
    <Modal title={`Tokenization ${t.name}`} onClose={onClose} wide>
      <Tabs tabs={[{ id: "stats", label: "Statistics" }, { id: "samples", label: "Token samples" }]} value={tab} onChange={setTab} />
      <ErrorLine error={stats.error} />
      {tab === "stats" && s && (
        <div className="space-y-4" data-testid="tokenization-stats">
          <div className="grid grid-cols-3 gap-2 md:grid-cols-6">
            <Stat label="Documents" value={formatCount(s.n_documents)} />
            <Stat label="Tokens" value={formatCount(s.n_tokens)} />
            <Stat label="Sequences" value={formatCount(s.n_sequences)} />
            <Stat label="Mean length" value={formatNumber(s.mean_document_length)} />
            <Stat label="Distinct tokens" value={formatCount(s.n_distinct_tokens)} />
            <Stat label="Vocab coverage" value={`${(100 * s.vocab_coverage).toFixed(1)}%`} />
          </div>
          <div className="grid gap-4 md:grid-cols-2">
            <div>
              <div className="mb-1 text-xs text-slate-400">Document length (tokens)</div>
              <HistogramChart bins={s.document_length_histogram.bins} counts={s.document_length_histogram.counts} />
            </div>
            <div>
              <div className="mb-1 text-xs text-slate-400">Sequence fill (tokens)</div>
              <HistogramChart bins={s.sequence_length_histogram.bins} counts={s.sequence_length_histogram.counts} />
            </div>
          </div>
          <div>
            <div className="mb-1 text-xs text-slate-400">Top tokens</div>
            <div className="grid grid-cols-2 gap-x-6 gap-y-0.5 md:grid-cols-4" data-testid="top-tokens">
              {s.top_tokens.slice(0, 40).map((tok) => (
                <div key={tok.id} className="flex justify-between font-mono text-xs">
                  <span className="truncate text-slate-200">{JSON.stringify(tok.text)}</span>
                  <span className="text-slate-500">{formatCount(tok.count)}</span>
                </div>
              ))}
            </div>
          </div>
        </div>
      )}
      {tab === "samples" && (
        <div className="space-y-2">
          <ErrorLine error={samples.error} />
          <div className="max-h-[55vh] space-y-2 overflow-y-auto">
            {samples.data?.map((seq) => (
              <div key={seq.index} className="rounded-md border border-slate-800 bg-slate-950/60 p-2">
                <div className="mb-1 text-[11px] text-slate-500">
                  sequence {seq.index} · document {seq.document} · {seq.input_ids.length} tokens
                </div>
                <TokenText tokens={seq.strings} acts={seq.strings.map((_, i) => (i % 2 ? 0.25 : 0.1))} max={1} />
              </div>
            ))}
          </div>
          <Pager page={page} setPage={setPage} hasNext={(samples.data?.length ?? 0) === PAGE} total={t.n_sequences} />
        </div>
      )}
    </Modal>
  );
}
