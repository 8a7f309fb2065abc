/**
 * One extraction: its SAE, size and live progress with the latents found so far (the job's
 * `features_found` progress metric), the follow-up labelling run it asked for (planned until the
 * extraction is ready, then that run's own status and progress), its linguistic analysis (run it,
 * its progress and cost), open and delete.
 */
import { useSaes } from "../api/hooks";
import type { Extraction } from "../api/types";
import { JobProgress } from "../components/ProgressBar";
import { Button, Card, ErrorLine, StatusPill } from "../components/ui";
import { useLiveCounters } from "../datasets/liveCounters";
import { isBusy } from "../lib/status";
import { ExtractionLinguistics } from "./ExtractionLinguistics";
import { FollowUpLabeling } from "./FollowUpLabeling";
import { useDeleteExtraction } from "./queries";

/** "1,234 of 4,096 features found (30%)" (empty before the first count). */
export function featuresFoundLine(found: number | undefined, dSae: number | null | undefined): string {
  if (found === undefined) return "";
  const n = found.toLocaleString("en-US");
  if (!dSae) return `${n} features found`;
  return `${n} of ${dSae.toLocaleString("en-US")} features found (${Math.round((100 * found) / dSae)}%)`;
}

export function ExtractionCard({ extraction: e }: { extraction: Extraction }) {
  const remove = useDeleteExtraction(e.id);
  const [counters, onEvent] = useLiveCounters();
  const dSae = useSaes().data?.items.find((s) => s.id === e.sae_id)?.d_sae;
  const found = isBusy(e.status) ? featuresFoundLine(counters.features_found, dSae) : "";
  return (
    <Card
      testId={`extraction-${e.id}`}
      title={
        <div className="flex items-center gap-2">
          <span className="truncate">{e.name}</span>
          {!isBusy(e.status) && <StatusPill status={e.status} />}
        </div>
      }
      actions={
        !isBusy(e.status) && (
          <Button variant="ghost" className="text-rose-300" onClick={() => remove.mutate(undefined)}>
            Delete
          </Button>
        )
      }
    >
      <JobProgress jobId={e.job_id} onEvent={onEvent} />
      {found && (
        <div className="mt-1 font-mono text-[11px] text-emerald-300" data-testid="features-found">
          {found}
        </div>
      )}
      <FollowUpLabeling extraction={e} />
      <ExtractionLinguistics extraction={e} />
      {e.error && !e.job_id && <ErrorLine error={e.error} />}
      <ErrorLine error={remove.error} />
    </Card>
  );
}
