/**
 * The Neuronpedia exports of one extraction, newest first: live progress while written, what each
 * holds, both downloads (streamed), an upload to a Neuronpedia instance with its outcome, delete.
 */
import { useState } from "react";
import { DownloadLink } from "../components/DownloadLink";
import { JobProgress } from "../components/ProgressBar";
import { Button, ErrorLine, Field, StatusPill } from "../components/ui";
import { formatBytes, formatCount, formatEta } from "../lib/format";
import { isBusy } from "../lib/status";
import {
  downloadUrl,
  useDeleteExport,
  useExports,
  useUploadExport,
  type Export,
  type ExportForm,
  type ExportResult,
  type ExportUpload,
} from "./queries";

export function ExportList({ extractionId }: { extractionId: number }) {
  const exports = useExports(extractionId);
  const items = exports.data?.items ?? [];
  if (!items.length) return <ErrorLine error={exports.error} />;
  return (
    <div className="space-y-2" data-testid="export-list">
      <div className="text-[11px] uppercase tracking-wide text-slate-500">Neuronpedia exports</div>
      {items.map((e) => (
        <ExportRow key={e.id} item={e} />
      ))}
    </div>
  );
}

function ExportRow({ item: e }: { item: Export }) {
  const remove = useDeleteExport(e.id);
  const [uploadOpen, setUploadOpen] = useState(false);
  const result = e.result as ExportResult;
  const upload = e.upload as ExportUpload;
  const ready = e.status === "ready";
  const busy = isBusy(e.status) || isBusy(upload.status);
  return (
    <div className="rounded-md border border-slate-800 bg-slate-950/40 p-2.5 text-xs" data-testid={`export-${e.id}`}>
      <div className="flex items-center gap-2">
        <span className="min-w-0 truncate font-medium text-slate-200" title={e.name}>
          {e.name}
        </span>
        <StatusPill status={e.status} />
        <div className="ml-auto flex shrink-0 items-center gap-1">
          {ready && <ExportDownload item={e} form="archive" label="Archive" />}
          {ready && <ExportDownload item={e} form="neuronpedia" label="Neuronpedia folder" />}
          {ready && (
            <Button variant="ghost" className="px-2 py-1 text-xs" onClick={() => setUploadOpen((o) => !o)} data-testid="export-upload-open">
              Upload…
            </Button>
          )}
          {!busy && (
            <Button variant="ghost" className="px-2 py-1 text-xs text-rose-300" onClick={() => remove.mutate(undefined)}>
              Delete
            </Button>
          )}
        </div>
      </div>
      <JobProgress jobId={isBusy(e.status) ? e.job_id : null} />
      {e.error && <ErrorLine error={e.error} className="mt-2" />}
      {ready && (
        <p className="mt-1 font-mono text-slate-400" data-testid="export-summary">
          {result.model_id}/{result.source_id} · {formatCount(result.latents)} latents · {formatCount(result.activations)} examples ·{" "}
          {formatCount(result.explanations)} explanations · archive {formatBytes(result.archive_bytes)} · Neuronpedia{" "}
          {formatBytes(result.bulk_bytes)} · {formatEta(result.seconds)}
        </p>
      )}
      <UploadStatus upload={upload} />
      {uploadOpen && <UploadForm id={e.id} onDone={() => setUploadOpen(false)} />}
      <ErrorLine error={remove.error} className="mt-2" />
    </div>
  );
}

function ExportDownload({ item, form, label }: { item: Export; form: ExportForm; label: string }) {
  const result = item.result as ExportResult;
  const stem = `${result.model_id ?? "export"}-${result.source_id ?? item.id}`;
  return (
    <DownloadLink
      url={downloadUrl(item.id, form)}
      filename={form === "archive" ? `${stem}-export.zip` : `${stem}-neuronpedia.zip`}
      title={form === "archive" ? "The studio archive: features, explanations, SAELens weights (zip)" : "Neuronpedia's bulk import folder (zip)"}
      testId={`export-download-${form}`}
      className="rounded-md px-2 py-1 text-xs text-sky-300 hover:bg-slate-800"
    >
      {label}
    </DownloadLink>
  );
}

function UploadStatus({ upload }: { upload: ExportUpload }) {
  if (!upload.status) return null;
  const r = upload.report;
  const clipped = Object.entries(r?.clipped ?? {}).filter(([, n]) => n > 0);
  return (
    <div className="mt-1.5 space-y-1" data-testid="export-upload-status" data-status={upload.status}>
      <div className="flex items-center gap-2 text-slate-400">
        <span>Upload to {upload.url}</span>
        <StatusPill status={upload.status} />
        {r && (
          <span className="font-mono">
            {formatCount(r.features_sent)} features in {formatCount(r.batches_sent)} batches
            {r.batches_resumed ? ` (${formatCount(r.batches_resumed)} accepted before)` : ""}
          </span>
        )}
      </div>
      {clipped.length > 0 && <p className="text-amber-300">clipped: {clipped.map(([k, n]) => `${formatCount(n)} ${k}`).join(", ")}</p>}
      {isBusy(upload.status) && <JobProgress jobId={upload.job_id} />}
      {upload.error && <ErrorLine error={upload.error} />}
    </div>
  );
}

function UploadForm({ id, onDone }: { id: number; onDone: () => void }) {
  const [url, setUrl] = useState("");
  const [key, setKey] = useState("");
  const upload = useUploadExport(id);
  return (
    <div className="mt-2 grid grid-cols-[1fr_1fr_auto] items-end gap-2" data-testid="export-upload-form">
      <Field label="Neuronpedia URL" hint="empty: the server's configured instance">
        <input value={url} placeholder="https://www.neuronpedia.org" onChange={(e) => setUrl(e.target.value)} data-testid="export-upload-url" />
      </Field>
      <Field label="API key" hint="used for this upload only, never stored">
        <input type="password" autoComplete="off" value={key} onChange={(e) => setKey(e.target.value)} data-testid="export-upload-key" />
      </Field>
      <Button
        variant="primary"
        disabled={upload.isPending}
        data-testid="export-upload-submit"
        onClick={() =>
          upload.mutate(
            { ...(url.trim() ? { url: url.trim() } : {}), ...(key ? { api_key: key } : {}) },
            { onSuccess: onDone },
          )
        }
      >
        Upload
      </Button>
      <ErrorLine error={upload.error} className="col-span-3" />
    </div>
  );
}
