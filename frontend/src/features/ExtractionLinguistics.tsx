/**
 * The linguistic analysis of an extraction on its card: a button to run it (again), its job's
 * progress with ETA while it runs, then what it read and what it cost next to the extraction.
 * When the job completes, the feature list and details are fetched again (new columns).
 */
import { useEffect, useRef } from "react";
import { useQueryClient } from "@tanstack/react-query";
import type { Extraction } from "../api/types";
import { JobProgress } from "../components/ProgressBar";
import { Button, ErrorLine } from "../components/ui";
import { useJob } from "../ws/live";
import { useStartLinguistics } from "./queries";

export interface LinguisticsResult {
  job_id?: string;
  ready?: boolean;
  pipeline?: string;
  seconds?: number;
  extraction_seconds?: number;
  n_windows?: number;
  n_code_windows?: number;
}

export function linguisticsOf(e: Extraction): LinguisticsResult | null {
  const r = (e.result as { linguistics?: LinguisticsResult } | undefined)?.linguistics;
  return r && typeof r === "object" ? r : null;
}

/** "612 windows (580 code) read by en_core_web_sm-3.8.0 in 4.1 s, 9% of the extraction's 45 s". */
export function costLine(r: LinguisticsResult): string {
  const windows = `${(r.n_windows ?? 0).toLocaleString("en-US")} windows (${(r.n_code_windows ?? 0).toLocaleString("en-US")} code)`;
  const secs = r.seconds != null ? ` in ${r.seconds.toFixed(1)} s` : "";
  const share = r.seconds != null && r.extraction_seconds ? `, ${Math.round((100 * r.seconds) / r.extraction_seconds)}% of the extraction's ${Math.round(r.extraction_seconds)} s` : "";
  return `${windows} read by ${r.pipeline ?? "spaCy"}${secs}${share}`;
}

export function ExtractionLinguistics({ extraction: e }: { extraction: Extraction }) {
  const start = useStartLinguistics(e.id);
  const client = useQueryClient();
  const r = linguisticsOf(e);
  const job = useJob(r?.job_id ?? null);
  const status = job.data?.status;
  const running = status === "queued" || status === "running";
  const seenRunning = useRef(false);
  if (running) seenRunning.current = true;
  useEffect(() => {
    if (status === "completed" && seenRunning.current) {
      seenRunning.current = false;
      void client.invalidateQueries({ queryKey: ["extractions"] });
      void client.invalidateQueries({ queryKey: ["features"] });
    }
  }, [status, client]);
  if (e.status !== "ready") return null;
  return (
    <div className="mt-2 space-y-1 text-xs text-slate-400" data-testid="extraction-linguistics" data-state={r?.ready && !running ? "ready" : (status ?? "none")}>
      <div className="flex items-center gap-2">
        <span className="font-medium text-slate-200">Linguistics</span>
        {!r?.ready && !running && <span>part of speech, lemma, entity, code class of each latent&apos;s top tokens</span>}
        {!running && (
          <Button variant="ghost" className="ml-auto px-2 py-0.5 text-xs" onClick={() => start.mutate({})} disabled={start.isPending} data-testid="linguistics-start">
            {r?.ready ? "Analyse again" : "Analyse linguistics"}
          </Button>
        )}
      </div>
      {r?.ready && !running && (
        <div className="break-words" data-testid="linguistics-cost">
          {costLine(r)}
        </div>
      )}
      {r?.job_id && running && <JobProgress jobId={r.job_id} />}
      {r?.job_id && (status === "failed" || status === "cancelled") && <JobProgress jobId={r.job_id} />}
      <ErrorLine error={start.error} />
    </div>
  );
}
