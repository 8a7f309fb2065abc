/**
 * The Features panel: extractions of SAEs over evaluation tokens, the browser of the selected
 * extraction's latents, and the feature detail of the open latent.
 */
import { useEffect, useState } from "react";
import { useExtractions } from "../api/hooks";
import { Button, Empty, ErrorLine, PanelHeader, IdOptions } from "../components/ui";
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
  const pendingTemplate = useUi((s) => s.pendingTemplate);
  useEffect(() => {
    if (extractSaeId !== null || pendingTemplate?.kind === "extraction") setDialog(true);
  }, [extractSaeId, pendingTemplate]);
  const items = extractions.data?.items ?? [];
  const ready = items.filter((e) => e.status === "ready" || e.status === "completed");
  const current = items.find((e) => e.id === extractionId) ?? ready[0];
  useEffect(() => {
    if (extractionId === null && ready[0]) setExtractionId(ready[0].id);
  }, [extractionId, ready, setExtractionId]);
  const running = items.filter((e) => e.status !== "ready" && e.status !== "completed");

  return (
    <div className="space-y-6">
      <PanelHeader
        title="Features"
        subtitle="What each latent responds to: browse, search, star and label."
        actions={
          <>
            {items.length > 0 && (
              <select value={current?.id ?? ""} onChange={(e) => setExtractionId(Number(e.target.value))} data-testid="extraction-select">
                <IdOptions items={items} label={(e) => `${e.name} (${e.status})`} />
              </select>
            )}
            <Button variant="primary" onClick={() => setDialog(true)} data-testid="extraction-new">
              New extraction
            </Button>
          </>
        }
      />
      <ErrorLine error={extractions.error} />
      {running.length > 0 && (
        <div className="grid gap-3 md:grid-cols-2">
          {running.map((e) => (
            <ExtractionCard key={e.id} extraction={e} />
          ))}
        </div>
      )}
      {current && (current.status === "ready" || current.status === "completed") ? (
        <FeatureBrowser extraction={current} />
      ) : (
        items.length === 0 && <Empty>No extractions yet. Pick an SAE on the SAEs panel and choose “Extract features”, or start one here.</Empty>
      )}
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
