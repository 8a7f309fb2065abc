/** The Datasets panel: import, one card per dataset with its tokenizations, and the dialogs they open. */
import { useState } from "react";
import { useDatasets, useTokenizations } from "../api/hooks";
import type { Dataset, Tokenization } from "../api/types";
import { Empty, ErrorLine, PanelHeader } from "../components/ui";
import { DatasetCard } from "./DatasetCard";
import { ImportCard } from "./ImportCard";
import { SampleBrowser } from "./SampleBrowser";
import { TokenizationStatsDialog } from "./TokenizationStatsDialog";
import { TokenizeDialog } from "./TokenizeDialog";

export function DatasetsPanel() {
  const datasets = useDatasets();
  const tokenizations = useTokenizations();
  const [tokenizeFor, setTokenizeFor] = useState<Dataset | null>(null);
  const [samplesOf, setSamplesOf] = useState<Dataset | null>(null);
  const [statsOf, setStatsOf] = useState<Tokenization | null>(null);

  return (
    <div className="space-y-6">
      <PanelHeader
        title="Datasets"
        subtitle="Import text, tokenize it with a model's tokenizer, and look at what you have."
      />
      <ImportCard />
      <ErrorLine error={datasets.error} />
      <div className="grid gap-4 lg:grid-cols-2 2xl:grid-cols-3" data-testid="dataset-cards">
        {datasets.data?.items.map((d) => (
          <DatasetCard
            key={d.id}
            dataset={d}
            tokenizations={tokenizations.data?.items.filter((t) => t.dataset_id === d.id) ?? []}
            onTokenize={() => setTokenizeFor(d)}
            onSamples={() => setSamplesOf(d)}
            onStats={setStatsOf}
          />
        ))}
      </div>
      {datasets.data && datasets.data.items.length === 0 && <Empty>No datasets yet: import one above.</Empty>}
      {tokenizeFor && <TokenizeDialog dataset={tokenizeFor} onClose={() => setTokenizeFor(null)} />}
      {samplesOf && <SampleBrowser dataset={samplesOf} onClose={() => setSamplesOf(null)} />}
      {statsOf && <TokenizationStatsDialog tokenization={statsOf} onClose={() => setStatsOf(null)} />}
    </div>
  );
}
