/** One latent: its label editor, statistics and the tabs of its detail (examples, linguistics, logit lens, correlations, ablation, label history). */
import { useState } from "react";
import type { Feature } from "../api/types";
import { ErrorLine, Modal, Stat, Tabs } from "../components/ui";
import { formatNumber } from "../lib/format";
import { formatFrequency } from "../components/FeatureTable";
import { AblationTab } from "./AblationTab";
import { CorrelationsTab } from "./CorrelationsTab";
import { ExamplesTab } from "./ExamplesTab";
import { LabelEditor } from "./LabelEditor";
import { LabelHistoryTab } from "./LabelHistoryTab";
import { LinguisticsTab } from "./LinguisticsTab";
import { LogitLensTab } from "./LogitLensTab";
import { useFeature } from "./queries";

type Tab = "examples" | "linguistics" | "logits" | "correlations" | "ablation" | "history";

export function FeatureDetail({ featureId, onClose, onChanged }: { featureId: number; onClose: () => void; onChanged?: (f: Feature) => void }) {
  const feature = useFeature(featureId);
  const [tab, setTab] = useState<Tab>("examples");
  const f = feature.data;
  return (
    <Modal title={f ? `Latent #${f.index}${f.label ? ` · ${f.label}` : ""}` : "Feature"} onClose={onClose} wide>
      <ErrorLine error={feature.error} />
      {f && (
        <div className="space-y-4" data-testid="feature-detail">
          <LabelEditor feature={f} onChanged={onChanged} />
          <div className="grid grid-cols-2 gap-2 md:grid-cols-6">
            <Stat label="Frequency" value={formatFrequency(f.frequency)} />
            <Stat label="Max activation" value={formatNumber(f.max_activation)} />
            <Stat label="Mean activation" value={formatNumber(f.mean_activation)} />
            <Stat label="Interpretability" value={formatNumber(f.interpretability)} />
            <Stat label="Detection" value={<span data-testid="detection-score">{formatNumber(f.detection_score, 2)}</span>} />
            <Stat label="Fuzzing" value={<span data-testid="fuzzing-score">{formatNumber(f.fuzzing_score, 2)}</span>} />
          </div>
          {f.label_method && (
            <p className="text-[11px] text-slate-500" data-testid="label-source">
              labelled by {f.label_method}
              {f.label_model ? ` (${f.label_model})` : ""}
              {f.label_confidence != null ? ` · confidence ${formatNumber(f.label_confidence, 2)}` : ""}
            </p>
          )}
          <Tabs
            tabs={[
              { id: "examples", label: "Examples" },
              { id: "linguistics", label: "Linguistics" },
              { id: "logits", label: "Logit lens" },
              { id: "correlations", label: "Correlations" },
              { id: "ablation", label: "Ablation" },
              { id: "history", label: "History" },
            ]}
            value={tab}
            onChange={setTab}
          />
          <div className="min-h-[12rem]" data-testid={`tab-${tab}`}>
            {tab === "examples" && <ExamplesTab feature={f} />}
            {tab === "linguistics" && <LinguisticsTab feature={f} />}
            {tab === "logits" && <LogitLensTab feature={f} />}
            {tab === "correlations" && <CorrelationsTab feature={f} />}
            {tab === "ablation" && <AblationTab feature={f} />}
            {tab === "history" && <LabelHistoryTab feature={f} onChanged={onChanged} />}
          </div>
        </div>
      )}
    </Modal>
  );
}
