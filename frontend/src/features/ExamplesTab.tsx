/** Top activating examples of a latent, each token shaded by its activation, the activation
 * histogram, and "Export JSON" of its examples (exportExamples.ts). */
import { useState } from "react";
import type { Feature } from "../api/types";
import { ActivationLegend, RawTokensToggle, TokenText } from "../components/TokenText";
import { Button, Empty, ErrorLine } from "../components/ui";
import { formatNumber } from "../lib/format";
import { ActivationHistogram } from "./ActivationHistogram";
import { Loading } from "./Loading";
import { Unavailable } from "./Unavailable";
import { useFeatureDetail } from "./queries";
import { downloadJson, exportFileName, featureExamplesExport } from "./exportExamples";
import { useUi } from "../store/ui";

export function ExamplesTab({ feature }: { feature: Feature }) {
  const q = useFeatureDetail(feature.id);
  const [exporting, setExporting] = useState(false);
  const [exportError, setExportError] = useState<unknown>(null);
  const raw = useUi((s) => s.rawTokens);
  const setRaw = useUi((s) => s.setRawTokens);
  const exportJson = async () => {
    setExporting(true);
    setExportError(null);
    try {
      downloadJson(await featureExamplesExport(feature), exportFileName(feature));
    } catch (err) {
      setExportError(err);
    } finally {
      setExporting(false);
    }
  };
  if (q.error) return <Unavailable error={q.error} />;
  if (!q.data) return <Loading />;
  const examples = q.data.examples;
  if (examples.length === 0) return <Empty>This latent never fired on the evaluation tokens.</Empty>;
  const max = Math.max(feature.max_activation ?? 0, ...examples.map((e) => e.value));
  const hist = q.data.histogram;
  return (
    <div className="space-y-2">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <ActivationLegend max={max} />
        <span className="text-[11px] text-slate-500">hover a {raw ? "token" : "word"} for its {raw ? "activation" : "tokens' activations"}</span>
        <RawTokensToggle raw={raw} onChange={setRaw} />
        <Button onClick={() => void exportJson()} disabled={exporting} data-testid="export-examples" title="Download this latent's examples (up to 200), statistics and label as JSON">
          {exporting ? "Exporting…" : "Export JSON"}
        </Button>
      </div>
      <ErrorLine error={exportError} />
      {hist.counts.length > 0 && (
        <div>
          <div className="mb-1 text-xs text-slate-400">Activation histogram (log-spaced bins)</div>
          <ActivationHistogram edges={hist.edges} counts={hist.counts} />
        </div>
      )}
      <div className="max-h-[45vh] space-y-1.5 overflow-y-auto" data-testid="examples">
        {examples.map((e, i) => (
          <div key={i} className="flex gap-3 rounded-md border border-slate-800 bg-slate-950/60 px-2 py-1.5">
            <span className="w-12 shrink-0 pt-0.5 text-right font-mono text-[11px] text-emerald-300">{formatNumber(e.value, 3)}</span>
            <TokenText tokens={e.tokens} acts={e.acts} max={max} center={e.center} words={e.words} raw={raw} />
          </div>
        ))}
      </div>
    </div>
  );
}
