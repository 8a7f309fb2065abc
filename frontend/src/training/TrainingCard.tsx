/**
 * One training run: its SAEs, step, live progress and charts (stored metrics downsampled by the
 * server, live events appended; `SparsityChart` for SAEs trained to a target L0), the stop/resume
 * note, produced SAEs (each with "Extract features", which opens the extraction dialog as the SAEs
 * panel does) and checkpoints.
 */
import { useCallback, useEffect, useMemo, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { api } from "../api/client";
import type { Job, Training } from "../api/types";
import { MetricChart } from "../components/charts";
import { JobProgress } from "../components/ProgressBar";
import { Button, Card, ErrorLine, StatusPill } from "../components/ui";
import { formatCount, formatDate } from "../lib/format";
import { isBusy } from "../lib/status";
import { useUi } from "../store/ui";
import { addEventMetrics, CHART_METRICS, mergeSeries, saeNames, seriesFromRows, type MetricSeries } from "../lib/metrics";
import type { SaeSpec } from "../lib/sparsity";
import { devicesText, plannedDevices } from "../lib/trainingForm";
import type { WireMessage } from "../ws/socket";
import { SeriesLegend } from "./SeriesLegend";
import { SparsityCharts } from "./SparsityChart";
import { useCheckpoints, useDeleteTraining, useTrainingMetrics } from "./queries";

export function TrainingCard({ training: t, selected, onSelect }: { training: Training; selected: boolean; onSelect: () => void }) {
  const metrics = useTrainingMetrics(t.id);
  const [series, setSeries] = useState<MetricSeries>({});
  const [showCheckpoints, setShowCheckpoints] = useState(false);
  const [lossLog, setLossLog] = useState(true);
  const checkpoints = useCheckpoints(t.id, showCheckpoints);
  const remove = useDeleteTraining(t.id);
  useEffect(() => {
    if (metrics.data) setSeries((live) => mergeSeries(seriesFromRows(metrics.data), live));
  }, [metrics.data]);
  const onEvent = useCallback((m: WireMessage) => {
    if (m.type === "progress" && m.data) setSeries((s) => addEventMetrics(s, m.data as Record<string, unknown>));
  }, []);
  const saes = useMemo(() => saeNames(series), [series]);
  const config = t.config as { train?: { saes?: SaeSpec[]; device?: string }; run?: { devices?: string[] | null; nproc?: number } };
  const train = config.train;
  // The devices the job holds (its row records them once it has their locks), else the ones it
  // asks for. The same query as JobProgress's (it keeps the cache live); no second subscription.
  const job = useQuery({
    queryKey: ["job", t.job_id],
    queryFn: ({ signal }) => api.get<Job>(`/jobs/${t.job_id}`, undefined, signal),
    enabled: !!t.job_id,
    staleTime: Infinity,
  }).data;
  const devices = job?.devices?.length ? job.devices : plannedDevices(config);
  const specs = train?.saes ?? [];
  const busy = isBusy(t.status);
  const result = t.result as Record<string, unknown>;
  const loss = series.loss;
  const liveStep = loss?.length ? loss[loss.length - 1].step : 0;
  const hasMetrics = Object.values(series).some((points) => points.length > 0);
  const saeIds = Array.isArray(result?.sae_ids) ? (result.sae_ids as number[]) : [];
  // As the SAEs panel does: the Features panel opens the extraction dialog for this SAE.
  const setPanel = useUi((s) => s.setPanel);
  const setExtractSaeId = useUi((s) => s.setExtractSaeId);
  const extract = (id: number) => {
    setExtractSaeId(id);
    setPanel("features");
  };
  return (
    <Card
      testId={`training-${t.id}`}
      title={
        <div className="flex items-center gap-2">
          <input type="checkbox" checked={selected} onChange={onSelect} aria-label={`select training ${t.name}`} />
          <span className="truncate">{t.name}</span>
          {!busy && <StatusPill status={t.status} />}
          <span className="font-normal text-slate-500">{formatDate(t.created_at)}</span>
        </div>
      }
      actions={
        <>
          <Button variant="ghost" onClick={() => setShowCheckpoints(!showCheckpoints)}>
            Checkpoints
          </Button>
          {!busy && (
            <Button variant="ghost" className="text-rose-300" onClick={() => confirm(`Delete training ${t.name}?`) && remove.mutate(undefined)}>
              Delete
            </Button>
          )}
        </>
      }
    >
      <div className="mb-3 flex flex-wrap gap-1.5 text-[11px]">
        {specs.map((s) => (
          <span key={s.hook_name} className="rounded bg-slate-800 px-1.5 py-0.5 font-mono text-slate-300">
            {s.sae.architecture} · {s.hook_name} · {formatCount(s.sae.d_sae)}
          </span>
        ))}
        <span
          className="rounded bg-slate-800 px-1.5 py-0.5 font-mono text-sky-300"
          data-testid="training-devices"
          title={job?.devices?.length ? "devices the job holds (one per rank)" : "devices the run asks for (one per rank)"}
        >
          {devicesText(devices)}
        </span>
        <span className="ml-auto font-mono text-slate-400" data-testid="training-step">
          {busy && liveStep > t.step
            ? `step ${formatCount(liveStep)} / ${formatCount(t.total_steps)}`
            : `step ${formatCount(t.step)} / ${formatCount(t.total_steps)} · ${formatCount(t.tokens_seen)} tokens`}
        </span>
      </div>
      <JobProgress jobId={t.job_id} onEvent={onEvent} />
      {t.error && !busy && !t.job_id && <ErrorLine error={t.error} />}
      {/* A run that ended without logging a step has nothing to chart: no "waiting for data" boxes. */}
      {(busy || hasMetrics) && (
        <>
          <div className="mt-3 flex flex-wrap items-start gap-3">
            <SeriesLegend names={saes} />
            {/* A loss spike (20,000 against ~1) flattens a linear axis; log is the default. */}
            <button
              type="button"
              className="ml-auto mt-3 text-[11px] text-emerald-400 hover:text-emerald-300"
              onClick={() => setLossLog(!lossLog)}
              data-testid="loss-scale"
              title="Loss axis: logarithmic keeps small losses readable beside a spike; linear shows differences as they are"
            >
              loss axis: {lossLog ? "log" : "linear"}
            </button>
          </div>
          <div className="mt-2 grid gap-2 md:grid-cols-3 xl:grid-cols-5" data-testid="training-charts">
            {CHART_METRICS.map((c) => (
              <MetricChart key={c.name} title={c.title} data={series[c.name] ?? []} series={saes} log={c.name === "loss" ? lossLog : c.log} height={120} />
            ))}
          </div>
          <SparsityCharts series={series} saes={saes} specs={specs} finished={!busy} />
        </>
      )}
      {result?.stopped === true && <p className="mt-2 text-xs text-amber-300">Stopped at step {formatCount(t.step)}; retry resumes from the last checkpoint.</p>}
      {saeIds.length > 0 && (
        <div className="mt-2 flex flex-wrap items-center gap-2 text-xs text-slate-400">
          <span>
            Produced SAE{saeIds.length > 1 ? "s" : ""} {saeIds.map((id) => `#${id}`).join(", ")}: see the SAEs panel for their evaluations.
          </span>
          {!busy &&
            saeIds.map((id) => (
              <Button key={id} onClick={() => extract(id)} data-testid={`training-extract-${id}`} title={`Extract features of SAE #${id} (opens the extraction dialog)`}>
                Extract features{saeIds.length > 1 ? ` (#${id})` : ""}
              </Button>
            ))}
        </div>
      )}
      {showCheckpoints && (
        <div className="mt-3 rounded-md border border-slate-800 p-2 text-xs">
          <ErrorLine error={checkpoints.error} />
          {checkpoints.data?.length === 0 && <span className="text-slate-500">No checkpoints yet.</span>}
          {checkpoints.data?.map((c) => (
            <div key={c.id} className="flex gap-4 font-mono text-slate-300">
              <span>step {formatCount(c.step)}</span>
              <span className="truncate text-slate-500">{c.path}</span>
              <span className="ml-auto text-slate-500">{formatDate(c.created_at)}</span>
            </div>
          ))}
        </div>
      )}
      <ErrorLine error={remove.error} className="mt-2" />
    </Card>
  );
}
