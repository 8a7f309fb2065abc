/** The Labeling panel: every labelling run, newest first, live, and the dialog that starts one. */
import { useState } from "react";
import { Button, Empty, ErrorLine, PanelHeader } from "../components/ui";
import { LabelingDialog } from "./LabelingDialog";
import { LabelingJobCard } from "./LabelingJobCard";
import { useLabelingRuns } from "./queries";

export function LabelingPanel() {
  const [dialog, setDialog] = useState(false);
  const runs = useLabelingRuns();
  return (
    <div className="space-y-4" data-testid="labeling-panel">
      <PanelHeader
        title="Labeling"
        subtitle="Label latents with rules, a local LLM, Ollama or an OpenAI-compatible backend, and score the labels."
        actions={
          <Button variant="primary" onClick={() => setDialog(true)} data-testid="labeling-new">
            New labelling run
          </Button>
        }
      />
      <ErrorLine error={runs.error} />
      {runs.data && runs.data.items.length === 0 && <Empty>No labelling runs yet.</Empty>}
      <div className="grid gap-3 lg:grid-cols-2">
        {runs.data?.items.map((r) => <LabelingJobCard key={r.id} run={r} />)}
      </div>
      {dialog && <LabelingDialog onClose={() => setDialog(false)} onStarted={() => setDialog(false)} />}
    </div>
  );
}
