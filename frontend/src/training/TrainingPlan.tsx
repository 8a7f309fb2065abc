/**
 * What the run will do, shown before Start: each SAE's sparsity plan (the coefficient it starts
 * at and how it adapts toward the target L0, as the server's controller will run it), the memory
 * of each hook point's batch against the device's free memory, and the training time from a
 * micro-benchmark of real steps on this device (`POST /trainings/benchmark`, on request: it
 * takes a second or two; it then follows the form, and the server caches per config).
 */
import { useState } from "react";
import type { TrainingCreate, TrainingEstimate } from "../api/types";
import { Button, ErrorLine } from "../components/ui";
import { formatBytes, formatCount, formatEta } from "../lib/format";
import { useTrainingTime } from "./queries";

/** The distinct sparsity plans of a run: SAEs with the same plan are said once. */
export function planLines(estimate: TrainingEstimate | undefined): { names: string[]; summary: string }[] {
  const lines: { names: string[]; summary: string }[] = [];
  for (const [name, plan] of Object.entries(estimate?.sparsity ?? {})) {
    const same = lines.find((l) => l.summary === plan.summary);
    if (same) same.names.push(name);
    else lines.push({ names: [name], summary: plan.summary });
  }
  return lines;
}

export function TrainingPlan({
  request,
  estimate,
  streams,
  ready,
}: {
  request: TrainingCreate;
  estimate: TrainingEstimate | undefined;
  /** Activations stream live from the model (its forward is timed too). */
  streams: boolean;
  /** The form is complete enough to measure. */
  ready: boolean;
}) {
  const [asked, setAsked] = useState(false);
  const time = useTrainingTime(
    asked && ready
      ? {
          train: request.train,
          run: request.run,
          model_id: streams ? request.model_id : null,
          tokenization_id: request.tokenization_id || null,
        }
      : null,
  );
  const device = estimate?.device_memory;
  const over = device && estimate ? estimate.total > device.free : false;
  const lines = planLines(estimate);
  return (
    <div className="mt-3 space-y-2 rounded-md border border-slate-800 p-3 text-xs text-slate-300" data-testid="training-plan">
      {lines.map((l) => (
        <p key={l.summary} data-testid="sparsity-plan">
          <span className="text-slate-500">Sparsity{lines.length > 1 ? ` (${l.names.length} SAE${l.names.length > 1 ? "s" : ""})` : ""}: </span>
          {l.summary}
        </p>
      ))}
      {estimate && (
        <div data-testid="memory-per-hook">
          <span className="text-slate-500">Memory: </span>
          {Object.entries(estimate.per_hook ?? {}).map(([hook, bytes]) => (
            <span key={hook} className="mr-3 font-mono">
              {hook} {formatBytes(bytes)}
            </span>
          ))}
          <span className="mr-3">SAEs {formatBytes(Object.values(estimate.per_sae ?? {}).reduce((a, m) => a + m.total, 0))}</span>
          {(estimate.lm_bytes ?? 0) > 0 && <span className="mr-3">model {formatBytes(estimate.lm_bytes)}</span>}
          <span>
            total {formatBytes(estimate.total)}
            {device && (
              <span className={over ? "text-rose-400" : "text-slate-500"} data-testid="memory-free">
                {" "}
                of {formatBytes(device.free)} free on {device.device}
                {over ? ": too much, lower the batch or the width" : ""}
              </span>
            )}
          </span>
        </div>
      )}
      <div className="flex flex-wrap items-center gap-2" data-testid="time-estimate">
        <span className="text-slate-500">Time:</span>
        {!asked && (
          <Button onClick={() => setAsked(true)} disabled={!ready} data-testid="time-measure" title="Time a few real steps of these SAEs on this device">
            Measure
          </Button>
        )}
        {asked && time.isFetching && <span>measuring…</span>}
        {asked && time.data && !time.isFetching && (
          <span data-testid="time-value" title={time.data.method}>
            ≈ {formatEta(time.data.seconds)} for {formatCount(time.data.total_steps)} steps ({(time.data.steps.seconds_per_step * 1000).toPrecision(3)} ms/step
            {time.data.forward ? `, model ${formatCount(Math.round(time.data.forward.tokens_per_second))} tokens/s` : ""}) · measured: {time.data.method}
          </span>
        )}
        <ErrorLine error={asked ? time.error : null} />
      </div>
    </div>
  );
}
