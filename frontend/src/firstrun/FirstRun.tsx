/**
 * "Try it on the built-in model": what an empty studio offers above every panel (issue 22).
 *
 * `GET /first-run` says whether the studio is empty and which first-run job is the latest. The
 * offer starts one (`POST /first-run`); while it runs the card lists its stages, each finished one
 * with its seconds (from the job row's `result.stages`, refetched whenever the live message names
 * a new stage), the current one with the live bar and ETA. When it completes the studio opens the
 * Features panel on the labelled extraction.
 */
import clsx from "clsx";
import { useEffect, useState } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { api } from "../api/client";
import { useApiMutation } from "../api/hooks";
import type { FirstRunStarted, FirstRunState } from "../api/types";
import { JobProgress } from "../components/ProgressBar";
import { Button, Card, ErrorLine } from "../components/ui";
import { TERMINAL_STATUSES } from "../lib/status";
import { useUi } from "../store/ui";
import { useJob } from "../ws/live";

/** The job's stages in run order, as the worker names them, with what each does (for the
 * default settings; `stageTitles` names the model, corpus and layer a job's config gives). */
export const STAGES: { name: string; title: string }[] = [
  { name: "model", title: "Load SmolLM2-135M (dequantized once)" },
  { name: "dataset", title: "Import the Python standard library" },
  { name: "tokenize", title: "Tokenize the sequences the stages read" },
  { name: "activations", title: "Run the model once: cache layer 6's activations" },
  { name: "train", title: "Train a top-k SAE on layer 6 (from the cache)" },
  { name: "extract", title: "Extract its features (from the cache)" },
  { name: "index", title: "Index features for the browser" },
  { name: "label", title: "Label features (rules, then patterns)" },
];

/** A folder's or file's own name (a Hub id's model name), not its whole path. */
const lastPart = (path: string) => path.split(/[\\/]/).filter(Boolean).pop() ?? path;

const CORPORA: Record<string, string> = { "python-stdlib": "the Python standard library", kjv: "the KJV Bible" };

/** The stage titles of a first run whose job config is `config` (`{first_run: {model, corpus,
 * layer}}`): a studio configured for another model or corpus shows its own names. */
export function stageTitles(config: unknown): Map<string, string> {
  const run = ((config as { first_run?: Record<string, unknown> } | null)?.first_run ?? {}) as Record<string, unknown>;
  const model = typeof run.model === "string" ? run.model : "smollm2-135m";
  const corpus = typeof run.corpus === "string" ? run.corpus : "python-stdlib";
  const layer = typeof run.layer === "number" ? run.layer : 6;
  const titles = new Map(STAGES.map((s) => [s.name, s.title]));
  if (model !== "smollm2-135m") titles.set("model", `Load ${lastPart(model)}`);
  if (corpus !== "python-stdlib") titles.set("dataset", `Import ${CORPORA[corpus] ?? lastPart(corpus)}`);
  if (layer !== 6) {
    titles.set("activations", `Run the model once: cache layer ${layer}'s activations`);
    titles.set("train", `Train a top-k SAE on layer ${layer} (from the cache)`);
  }
  return titles;
}

interface StageDone {
  name: string;
  seconds: number;
}

interface RunResult {
  stages?: StageDone[];
  current?: string | null;
  extraction_id?: number;
  labelled?: number;
  d_sae?: number;
}

export function useFirstRunState() {
  return useQuery({
    queryKey: ["first-run"],
    queryFn: ({ signal }) => api.get<FirstRunState>("/first-run", undefined, signal),
    // An empty studio stops being empty through any panel (a model loaded, a training started):
    // ask again every few seconds while it is, so the offer does not stay over a full studio.
    refetchInterval: (q) => ((q.state.data as FirstRunState | undefined)?.empty ? 5000 : false),
  });
}

export function FirstRun() {
  const state = useFirstRunState();
  const [started, setStarted] = useState<string | null>(null);
  const start = useApiMutation(
    () => api.post<FirstRunStarted>("/first-run", {}),
    ["first-run"],
    (out) => setStarted(out.job_id),
  );
  const s = state.data;
  if (!s) return null;
  const running = s.job_id && s.status && !TERMINAL_STATUSES.has(s.status) ? s.job_id : null;
  const jobId = started ?? running;
  if (jobId) return <FirstRunProgress jobId={jobId} onDismiss={() => setStarted(null)} />;
  if (!s.empty) return null;
  return (
    <Card testId="first-run-offer" className="mb-6 border-emerald-800/70 bg-emerald-950/20">
      <div className="flex flex-wrap items-center justify-between gap-4">
        <div className="min-w-0 max-w-2xl space-y-1">
          <h2 className="text-base font-semibold text-slate-50">Try it on the built-in model</h2>
          <p className="text-sm text-slate-300">
            The studio is empty. One click trains a sparse autoencoder on layer 6 of SmolLM2-135M
            (built in, no download) over Python source, extracts its features and labels them, then
            opens them in the Features panel: a few minutes on a laptop CPU, with every stage shown.
          </p>
          {s.status === "failed" || s.status === "cancelled" ? (
            <p className="text-xs text-amber-300">The last first run {s.status}; starting again reuses the stages it finished.</p>
          ) : null}
        </div>
        <Button variant="primary" data-testid="first-run-start" onClick={() => start.mutate(undefined)} disabled={start.isPending}>
          {start.isPending ? "Starting…" : "Try it on the built-in model"}
        </Button>
      </div>
      <ErrorLine error={start.error} className="mt-3" />
    </Card>
  );
}

function FirstRunProgress({ jobId, onDismiss }: { jobId: string; onDismiss: () => void }) {
  const { data: job } = useJob(jobId);
  const client = useQueryClient();
  const setPanel = useUi((u) => u.setPanel);
  const setExtractionId = useUi((u) => u.setExtractionId);
  const message = job?.message;
  // A new stage's message: fetch the row again for the finished stages' seconds.
  useEffect(() => {
    if (message) void client.invalidateQueries({ queryKey: ["job", jobId] });
  }, [message, jobId, client]);
  const result = (job?.result ?? {}) as RunResult;
  const status = job?.status;
  const extractionId = result.extraction_id;
  useEffect(() => {
    if (status !== "completed" || !extractionId) return;
    void client.invalidateQueries({ queryKey: ["first-run"] });
    setExtractionId(extractionId);
    setPanel("features");
  }, [status, extractionId, client, setExtractionId, setPanel]);
  const done = new Map((result.stages ?? []).map((st) => [st.name, st.seconds]));
  const titles = stageTitles(job?.config);
  const current = status === "completed" ? null : (result.current ?? (status === "queued" ? null : STAGES[done.size]?.name));
  return (
    <Card
      testId="first-run-progress"
      title="First run: the built-in model"
      className="mb-6"
      actions={
        status && TERMINAL_STATUSES.has(status) ? (
          <Button variant="ghost" className="px-2 py-0.5 text-xs" onClick={onDismiss}>
            Dismiss
          </Button>
        ) : null
      }
    >
      <ol className="mb-3 grid gap-1 text-sm sm:grid-cols-2 lg:grid-cols-4" data-testid="first-run-stages">
        {STAGES.map((stage, i) => {
          const seconds = done.get(stage.name);
          const state = seconds !== undefined ? "done" : stage.name === current ? "running" : "waiting";
          return (
            <li
              key={stage.name}
              data-testid={`first-run-stage-${stage.name}`}
              data-state={state}
              className={clsx(
                "flex items-baseline justify-between gap-2 rounded-md border px-2.5 py-1.5 leading-snug",
                state === "done" && "border-emerald-900 bg-emerald-950/30 text-slate-200",
                state === "running" && "border-sky-700 bg-sky-950/40 text-sky-100",
                state === "waiting" && "border-slate-800 text-slate-500",
              )}
            >
              <span className="min-w-0" title={titles.get(stage.name)}>
                <span className="mr-1.5 font-mono text-[11px] text-slate-500">{i + 1}</span>
                {titles.get(stage.name)}
              </span>
              <span className="shrink-0 font-mono text-xs">
                {seconds !== undefined ? `${seconds.toFixed(1)} s` : state === "running" ? "…" : ""}
              </span>
            </li>
          );
        })}
      </ol>
      <JobProgress jobId={jobId} showWhenDone />
      {status === "completed" && result.d_sae ? (
        <p className="mt-2 text-sm text-slate-300" data-testid="first-run-summary">
          {result.labelled} of {result.d_sae} latents labelled; opening the Features panel.
        </p>
      ) : null}
    </Card>
  );
}
