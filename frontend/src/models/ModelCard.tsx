/** One model: its architecture summary, load progress, and the architecture / cache / delete actions. */
import type { Model } from "../api/types";
import { JobProgress } from "../components/ProgressBar";
import { Button, Card, ErrorLine, Stat, StatusPill } from "../components/ui";
import { architectureOf } from "../lib/estimates";
import { isBusy } from "../lib/status";
import { formatCount } from "../lib/format";
import { useDeleteModel, useLoadModel } from "./queries";

export function ModelCard({ model: m, onArchitecture, onCache }: { model: Model; onArchitecture: () => void; onCache: () => void }) {
  const load = useLoadModel(m.id);
  const remove = useDeleteModel(m.id);
  const arch = architectureOf(m);
  const quantization = (m.config as { quantization?: string } | undefined)?.quantization;
  return (
    <Card
      testId={`model-${m.id}`}
      title={
        <div className="space-y-1">
          <div className="flex items-center gap-2">
            <span className="truncate">{m.name}</span>
            {!isBusy(m.status) && <StatusPill status={m.status} />}
            {m.builtin && <span className="rounded bg-slate-800 px-1.5 py-0.5 text-[10px] text-slate-400">built-in</span>}
          </div>
          <div className="truncate text-xs font-normal text-slate-500">
            {m.source_kind} · {m.source}
            {quantization && quantization !== "none" && <span data-testid="model-quantized"> · {quantization} weights</span>}
          </div>
        </div>
      }
      actions={
        <>
          {m.status === "ready" ? (
            <Button onClick={onArchitecture} data-testid="architecture-open">
              Architecture
            </Button>
          ) : !isBusy(m.status) ? (
            <Button variant="primary" onClick={() => load.mutate(undefined)} data-testid="model-load">
              Load
            </Button>
          ) : null}
        </>
      }
    >
      <div className="grid grid-cols-3 gap-2">
        <Stat label="Family" value={m.family ?? "–"} />
        <Stat label="Parameters" value={formatCount(m.n_params)} />
        <Stat label="Layers" value={arch?.n_layers ?? "–"} />
      </div>
      {(isBusy(m.status) || m.status === "failed") && (
        <div className="mt-3">
          <JobProgress jobId={m.job_id} />
        </div>
      )}
      {m.error && !m.job_id && <ErrorLine error={m.error} className="mt-3" />}
      <div className="mt-3 flex gap-2">
        {m.status === "ready" && (
          <Button variant="ghost" onClick={onCache}>
            Cache activations
          </Button>
        )}
        {!m.builtin && (
          <Button variant="ghost" className="ml-auto text-rose-300" onClick={() => confirm(`Forget model ${m.name}?`) && remove.mutate(undefined)}>
            Delete
          </Button>
        )}
      </div>
      <ErrorLine error={load.error ?? remove.error} className="mt-2" />
    </Card>
  );
}
