/** A progress bar with percentage and ETA; `JobProgress` keeps one live from a job's events. */
import clsx from "clsx";
import { clampFraction, formatEta, formatPercent } from "../lib/format";
import { TERMINAL_STATUSES } from "../lib/status";
import { useJob } from "../ws/live";
import type { WireMessage } from "../ws/socket";
import { Button, ErrorLine, StatusPill } from "./ui";
import { useJobAction } from "../api/hooks";

export function ProgressBar({
  progress,
  eta,
  message,
  status,
  className,
}: {
  progress: number | null | undefined;
  eta?: number | null;
  message?: string | null;
  status?: string;
  className?: string;
}) {
  const fraction = clampFraction(progress);
  const etaText = formatEta(eta);
  const failed = status === "failed";
  return (
    <div className={clsx("space-y-1", className)} data-testid="progress">
      <div
        role="progressbar"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.round(fraction * 100)}
        className="h-2 w-full overflow-hidden rounded-full bg-slate-800"
      >
        <div
          className={clsx(
            "h-full rounded-full transition-[width] duration-300",
            failed ? "bg-rose-500" : status === "cancelled" ? "bg-slate-500" : "bg-emerald-500",
          )}
          style={{ width: `${fraction * 100}%` }}
        />
      </div>
      <div className="flex justify-between gap-2 text-[11px] text-slate-400">
        <span className="truncate">{message ?? ""}</span>
        <span className="shrink-0 font-mono">
          {formatPercent(fraction)}
          {etaText && <span data-testid="eta"> · ETA {etaText}</span>}
        </span>
      </div>
    </div>
  );
}

/** Live progress of a job: bar, status, error, and cancel / retry buttons. */
export function JobProgress({
  jobId,
  onEvent,
  showWhenDone = false,
  controls = true,
}: {
  jobId: string | null | undefined;
  onEvent?: (m: WireMessage) => void;
  showWhenDone?: boolean;
  controls?: boolean;
}) {
  const { data: job, error } = useJob(jobId, onEvent);
  const cancel = useJobAction(jobId, "cancel");
  const retry = useJobAction(jobId, "retry");
  if (!jobId) return null;
  if (error) return <ErrorLine error={error} />;
  if (!job) return <div className="h-6 animate-pulse rounded bg-slate-800" />;
  const done = TERMINAL_STATUSES.has(job.status);
  if (done && job.status === "completed" && !showWhenDone) return null;
  return (
    <div className="space-y-2" data-testid="job-progress" data-status={job.status}>
      {!done || job.status !== "completed" ? (
        <ProgressBar
          progress={job.progress}
          eta={done ? null : job.eta_seconds}
          // A failed job's error is the line below; its last message often repeats it.
          message={job.cancel_requested && !done ? "stopping…" : job.status === "failed" && job.error ? null : job.message}
          status={job.status}
        />
      ) : null}
      <div className="flex flex-wrap items-center gap-2">
        <StatusPill status={job.status} />
        {controls && !done && (
          <Button variant="ghost" className="px-2 py-0.5 text-xs" onClick={() => cancel.mutate()} disabled={job.cancel_requested}>
            Stop
          </Button>
        )}
        {controls && (job.status === "failed" || job.status === "cancelled") && (
          <Button variant="ghost" className="px-2 py-0.5 text-xs" onClick={() => retry.mutate()}>
            Retry
          </Button>
        )}
      </div>
      {job.status === "failed" && job.error && <ErrorLine error={job.error} />}
      <ErrorLine error={cancel.error ?? retry.error} />
    </div>
  );
}
