/** One steering run: live progress, then its comparison, and its JSON export once finished. */
import type { SteeringResult } from "../api/types";
import { JobProgress } from "../components/ProgressBar";
import { Button, Card, ErrorLine, StatusPill } from "../components/ui";
import { CompareView } from "./CompareView";
import { runFinished } from "./format";
import { exportRun, useSteeringRun } from "./queries";

export function RunView({ runId }: { runId: number }) {
  const run = useSteeringRun(runId);
  const r = run.data;
  const result = r?.result as unknown as SteeringResult | undefined;
  return (
    <Card
      title={r ? `Run ${r.name}` : `Run ${runId}`}
      actions={
        r && (
          <>
            <StatusPill status={r.status} />
            {runFinished(r.status) && <Button onClick={() => void exportRun(r.id, r.name)}>Export JSON</Button>}
          </>
        )
      }
      testId="steering-run-view"
    >
      <ErrorLine error={run.error} />
      {r && <JobProgress jobId={r.job_id} />}
      {r?.error && r.status === "failed" && <ErrorLine error={r.error} />}
      {result && Array.isArray(result.prompts) && <CompareView result={result} />}
    </Card>
  );
}
