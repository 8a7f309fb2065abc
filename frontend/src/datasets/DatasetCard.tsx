/** One dataset: its source, size and live import progress, its tokenizations and the actions on it. */
import type { Dataset, Tokenization } from "../api/types";
import { JobProgress } from "../components/ProgressBar";
import { Button, Card, ErrorLine, Stat, StatusPill } from "../components/ui";
import { isBusy } from "../lib/status";
import { formatBytes, formatCount, formatDate } from "../lib/format";
import { importLine, useLiveCounters } from "./liveCounters";
import { useDeleteDataset, useImportDataset } from "./queries";
import { TokenizationRow } from "./TokenizationRow";

/** An upload is saved as `<MISTUDIO_HOME>/uploads/<32 hex>/<its name>` (POST /datasets/upload):
 * the card names the file, not the server's folder. */
const UPLOADED = /[\/]uploads[\/][0-9a-f]{32}[\/]([^\/]+)$/;

function sourceLine(d: Dataset): string {
  const s = d.source as Record<string, unknown>;
  if (d.source_kind === "hub") return `hub · ${[s.repo_id, s.config, s.split].filter(Boolean).join(" / ")}`;
  const uploaded = UPLOADED.exec(String(s.path ?? ""));
  if (d.source_kind === "local" && uploaded) return `upload · ${uploaded[1]}`;
  if (d.source_kind === "local") return `local · ${String(s.path ?? "")}`;
  return `built-in · ${String(s.builtin ?? d.name)}`;
}

export function DatasetCard({
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
  const remove = useDeleteDataset(d.id);
  const importBuiltin = useImportDataset();
  const ready = d.status === "ready";
  const [counters, onEvent] = useLiveCounters();
  const counted = isBusy(d.status) ? importLine(counters) : "";
  return (
    <Card
      testId={`dataset-${d.name}`}
      title={
        <div className="space-y-1">
          <div className="flex items-center gap-2">
            <span className="truncate">{d.name}</span>
            {/* A failed or cancelled import's job says its status (with Retry) below. */}
            {!isBusy(d.status) && !(d.job_id && (d.status === "failed" || d.status === "cancelled")) && <StatusPill status={d.status} />}
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
            <Button variant="primary" onClick={() => importBuiltin.mutate({ source: { kind: "builtin", builtin: d.name, max_documents: null } })}>
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
          <JobProgress jobId={d.job_id} onEvent={onEvent} />
          {counted && (
            <div className="mt-1 font-mono text-[11px] text-slate-400" data-testid="import-counters">
              {counted}
            </div>
          )}
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
