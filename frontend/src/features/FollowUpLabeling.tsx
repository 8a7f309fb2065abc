/**
 * The labelling run an extraction's request asked for ("then label with", kept in
 * `result.labeling`): planned until the extraction is ready, then that run's status, progress and
 * latents written so far; once done, labelled and unclear as the Labeling panel counts them. When a
 * run this card watched (it saw the extraction or the run busy) ends, the feature list is fetched
 * again so its labels show in the browser: a quick rules run may be over before its first fetch,
 * and its job's end then comes as no event.
 */
import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef } from "react";
import type { Extraction, LabelingJob } from "../api/types";
import { JobProgress } from "../components/ProgressBar";
import { ErrorLine, StatusPill } from "../components/ui";
import { isBusy } from "../lib/status";
import { useLabelingRun } from "./queries";

/** The follow-up labelling the extraction's request asked for (`result.labeling`), if any. */
export function plannedLabeling(e: Extraction): { method: string; run_id: number | null } | null {
  const plan = (e.result as { labeling?: { method?: unknown; run_id?: unknown } } | undefined)?.labeling;
  if (!plan || typeof plan.method !== "string") return null;
  return { method: plan.method, run_id: typeof plan.run_id === "number" ? plan.run_id : null };
}

/**
 * "388 labelled · 120 unclear" from a finished run's summary, as the Labeling panel and the
 * browser's "Labelled" count them (an unclear verdict is written but is no label); before that the
 * latents written so far.
 */
export function countLine(r: LabelingJob): string {
  const n = (v: number) => v.toLocaleString("en-US");
  const s = r.result as { labelled?: unknown; unclear?: unknown; failed?: unknown } | null | undefined;
  if (!s || typeof s.labelled !== "number") return `${n(r.n_labeled)} labelled`;
  const parts = [`${n(s.labelled)} labelled`];
  if (typeof s.unclear === "number" && s.unclear > 0) parts.push(`${n(s.unclear)} unclear`);
  if (typeof s.failed === "number" && s.failed > 0) parts.push(`${n(s.failed)} failed`);
  return parts.join(" · ");
}

export function FollowUpLabeling({ extraction: e }: { extraction: Extraction }) {
  const plan = plannedLabeling(e);
  const run = useLabelingRun(plan?.run_id);
  const client = useQueryClient();
  const watched = useRef(false);
  const runStatus = run.data?.status;
  const planned = plan !== null;
  useEffect(() => {
    if (!planned) return;
    if (isBusy(e.status) || isBusy(runStatus)) watched.current = true;
    else if (runStatus && watched.current) {
      watched.current = false;
      void client.invalidateQueries({ queryKey: ["features"] });
    }
  }, [planned, e.status, runStatus, client]);
  if (!plan) return null;
  const label = <span className="font-medium text-slate-200">{plan.method} labelling</span>;
  if (plan.run_id === null) {
    const why = isBusy(e.status) ? "starts when the extraction is ready" : "not started: the extraction did not finish";
    return (
      <div className="mt-2 text-xs text-slate-400" data-testid="follow-up-labeling" data-state="planned">
        Then {label}: {why}
      </div>
    );
  }
  const r = run.data;
  return (
    <div className="mt-2 space-y-1 text-xs text-slate-400" data-testid="follow-up-labeling" data-state={r?.status ?? "loading"}>
      <div className="flex items-center gap-2">
        <span>Then {label}</span>
        {r && !isBusy(r.status) && <StatusPill status={r.status} />}
        {r && (
          <span className="ml-auto font-mono" data-testid="follow-up-count">
            {countLine(r)}
          </span>
        )}
      </div>
      {r && isBusy(r.status) && <JobProgress jobId={r.job_id} controls={false} />}
      {r?.error && <ErrorLine error={r.error} />}
    </div>
  );
}
