/** One tokenization under its dataset: size, live progress, statistics and delete. */
import type { Tokenization } from "../api/types";
import { JobProgress } from "../components/ProgressBar";
import { Button, ErrorLine, StatusPill } from "../components/ui";
import { isBusy } from "../lib/status";
import { formatCount } from "../lib/format";
import { tokenizeLine, useLiveCounters } from "./liveCounters";
import { useDeleteTokenization } from "./queries";

export function TokenizationRow({ tokenization: t, onStats }: { tokenization: Tokenization; onStats: () => void }) {
  const remove = useDeleteTokenization(t.id);
  const [counters, onEvent] = useLiveCounters();
  const counted = tokenizeLine(counters);
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
          <JobProgress jobId={t.job_id} onEvent={onEvent} />
          {counted && (
            <div className="mt-1 font-mono text-[11px] text-slate-400" data-testid="tokens-processed">
              {counted}
            </div>
          )}
        </div>
      )}
      <ErrorLine error={remove.error} className="mt-2" />
    </div>
  );
}
