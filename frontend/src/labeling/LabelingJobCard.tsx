/** One labelling run: live progress with features per second and ETA from its events, then its
 * summary and its labels' interpretability breakdown with "View features" (LabelingBreakdown). */
import { useState } from "react";
import type { LabelingJob, LabelingSummary } from "../api/types";
import { JobProgress } from "../components/ProgressBar";
import { Card, ErrorLine, StatusPill } from "../components/ui";
import { isBusy } from "../lib/status";
import { formatDate, formatEta, formatNumber } from "../lib/format";
import type { WireMessage } from "../ws/socket";
import { LabelingBreakdown } from "./LabelingBreakdown";
import { LabelingSummaryView } from "./LabelingSummaryView";

interface Rate {
  fps: number | null;
  eta: number | null;
  failed: number | null;
}

/** "2.5 features/s · ETA 3s · 1 failed", with only the parts known (no leading "· "). */
export function rateLine(rate: Rate): string {
  return [
    rate.fps !== null ? `${formatNumber(rate.fps, 2)} features/s` : null,
    rate.eta !== null ? `ETA ${formatEta(rate.eta)}` : null,
    rate.failed ? `${rate.failed} failed` : null,
  ]
    .filter(Boolean)
    .join(" · ");
}

export function LabelingJobCard({ run }: { run: LabelingJob }) {
  const [rate, setRate] = useState<Rate>({ fps: null, eta: null, failed: null });
  const onEvent = (m: WireMessage) => {
    const d = (m.data ?? {}) as Record<string, unknown>;
    if (m.type !== "progress") return;
    setRate({
      fps: typeof d.features_per_s === "number" ? d.features_per_s : null,
      eta: typeof d.eta_s === "number" ? d.eta_s : typeof d.eta_seconds === "number" ? d.eta_seconds : null,
      failed: typeof d.failed === "number" ? d.failed : null,
    });
  };
  const summary = run.result as unknown as LabelingSummary | undefined;
  const busy = isBusy(run.status);
  const cfg = run.config as Record<string, unknown>;
  return (
    <Card
      testId="labeling-card"
      title={
        <span>
          {run.name} <span className="text-xs font-normal text-slate-500">· extraction {run.extraction_id} · {String(cfg.method ?? "")}</span>
        </span>
      }
      actions={<StatusPill status={run.status} />}
    >
      <JobProgress jobId={run.job_id} onEvent={onEvent} />
      {busy && (rate.fps !== null || rate.eta !== null) && (
        <p className="mt-1 font-mono text-[11px] text-slate-400" data-testid="labeling-rate">
          {rateLine(rate)}
        </p>
      )}
      {summary && typeof summary.labelled === "number" && <LabelingSummaryView summary={summary} />}
      {summary && typeof summary.labelled === "number" && !busy && <LabelingBreakdown run={run} summary={summary} />}
      {run.error && run.status === "failed" && !run.job_id && <ErrorLine error={run.error} />}
      <p className="mt-2 text-[11px] text-slate-500">{formatDate(run.created_at)}</p>
    </Card>
  );
}
