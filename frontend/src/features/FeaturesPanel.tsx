/**
 * The Features panel: extractions of SAEs over evaluation tokens (a card per running one and one
 * for the selected ready one), the browser of the selected extraction's latents, the feature
 * detail of the open latent, and the selected extraction's Neuronpedia exports (started from
 * "Export…" beside the extraction picker).
 */
import { useEffect, useState } from "react";
import { useExtractions } from "../api/hooks";
import type { Extraction } from "../api/types";
import { Button, Empty, ErrorLine, PanelHeader } from "../components/ui";
import { isBusy } from "../lib/status";
import { useJob } from "../ws/live";
import { ExportDialog } from "../exports/ExportDialog";
import { ExportList } from "../exports/ExportList";
import { useUi } from "../store/ui";
import { ExtractionCard } from "./ExtractionCard";
import { ExtractionDialog } from "./ExtractionDialog";
import { FeatureBrowser } from "./FeatureBrowser";

export function FeaturesPanel() {
  const extractions = useExtractions();
  const extractSaeId = useUi((s) => s.extractSaeId);
  const setExtractSaeId = useUi((s) => s.setExtractSaeId);
  const extractionId = useUi((s) => s.extractionId);
  const setExtractionId = useUi((s) => s.setExtractionId);
  const [dialog, setDialog] = useState(false);
  const [exporting, setExporting] = useState(false);
  const pendingTemplate = useUi((s) => s.pendingTemplate);
  useEffect(() => {
    if (extractSaeId !== null || pendingTemplate?.kind === "extraction") setDialog(true);
  }, [extractSaeId, pendingTemplate]);
  const items = extractions.data?.items ?? [];
  const ready = items.filter((e) => e.status === "ready" || e.status === "completed");
  const current = items.find((e) => e.id === extractionId) ?? ready[0];
  const currentReady = current && (current.status === "ready" || current.status === "completed") ? current : null;
  useEffect(() => {
    if (extractionId === null && ready[0]) setExtractionId(ready[0].id);
  }, [extractionId, ready, setExtractionId]);
  const running = items.filter((e) => e.status !== "ready" && e.status !== "completed");
  // The selected ready extraction keeps its card: what goes on after its job (the follow-up
  // labelling it asked for, its linguistic analysis) shows there.
  const cards = currentReady ? [...running, currentReady] : running;

  return (
    <div className="space-y-6">
      <PanelHeader
        title="Features"
        subtitle="What each latent responds to: browse, search, star and label."
        actions={
          <>
            {items.length > 0 && (
              <select value={current?.id ?? ""} onChange={(e) => setExtractionId(Number(e.target.value))} data-testid="extraction-select">
                {items.map((e) => (
                  <ExtractionOption key={e.id} extraction={e} />
                ))}
              </select>
            )}
            {currentReady && (
              <Button onClick={() => setExporting(true)} data-testid="extraction-export" title="Export this extraction for Neuronpedia">
                Export…
              </Button>
            )}
            <Button variant="primary" onClick={() => setDialog(true)} data-testid="extraction-new">
              New extraction
            </Button>
          </>
        }
      />
      <ErrorLine error={extractions.error} />
      {cards.length > 0 && (
        <div className="grid gap-3 md:grid-cols-2">
          {cards.map((e) => (
            <ExtractionCard key={e.id} extraction={e} />
          ))}
        </div>
      )}
      {currentReady && <ExportList extractionId={currentReady.id} />}
      {currentReady ? (
        <FeatureBrowser extraction={currentReady} />
      ) : (
        items.length === 0 && <Empty>No extractions yet. Pick an SAE on the SAEs panel and choose “Extract features”, or start one here.</Empty>
      )}
      {exporting && currentReady && <ExportDialog extraction={currentReady} onClose={() => setExporting(false)} />}
      {dialog && (
        <ExtractionDialog
          saeId={extractSaeId}
          onClose={() => {
            setDialog(false);
            setExtractSaeId(null);
          }}
        />
      )}
    </div>
  );
}

/** A picker entry with the status its card shows: the job's live one while it is on its way (the
 * row says "pending" until the job ends). */
function ExtractionOption({ extraction: e }: { extraction: Extraction }) {
  const { data: job } = useJob(isBusy(e.status) ? e.job_id : null);
  return <option value={e.id}>{`${e.name} (${job?.status ?? e.status})`}</option>;
}
