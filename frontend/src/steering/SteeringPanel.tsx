/**
 * The Steering panel: the form and the open run beside the history of runs. Every generated string
 * is rendered as a React text node (never HTML).
 */
import { useState } from "react";
import { PanelHeader } from "../components/ui";
import { RunView } from "./RunView";
import { SteeringForm } from "./SteeringForm";
import { SteeringHistory } from "./SteeringHistory";

export function SteeringPanel() {
  const [runId, setRunId] = useState<number | null>(null);
  return (
    <div className="space-y-4" data-testid="steering-panel">
      <PanelHeader title="Steering" subtitle="Generate with feature interventions, compare with the baseline, and sweep strengths." />
      <div className="grid gap-4 xl:grid-cols-[minmax(0,1fr)_20rem]">
        <div className="space-y-4">
          <SteeringForm onStarted={setRunId} />
          {runId !== null && <RunView runId={runId} />}
        </div>
        <SteeringHistory onOpen={setRunId} selected={runId} />
      </div>
    </div>
  );
}
