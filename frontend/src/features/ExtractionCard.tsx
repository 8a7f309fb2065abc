/** One extraction: its SAE, size and live progress, open and delete. */
import type { Extraction } from "../api/types";
import { JobProgress } from "../components/ProgressBar";
import { Button, Card, ErrorLine, StatusPill } from "../components/ui";
import { isBusy } from "../lib/status";
import { useDeleteExtraction } from "./queries";

export function ExtractionCard({ extraction: e }: { extraction: Extraction }) {
  const remove = useDeleteExtraction(e.id);
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
      <JobProgress jobId={e.job_id} />
      {e.error && !e.job_id && <ErrorLine error={e.error} />}
      <ErrorLine error={remove.error} />
    </Card>
  );
}
