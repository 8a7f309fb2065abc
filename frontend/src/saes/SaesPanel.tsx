/** The SAEs panel: every trained or imported SAE with its evaluations, origin and model, and Add SAE. */
import { useSaes } from "../api/hooks";
import type { SAE } from "../api/types";
import { Card, Empty, ErrorLine, PanelHeader } from "../components/ui";
import { useUi } from "../store/ui";
import { AddSaeCard } from "./AddSaeCard";
import { SaeRow } from "./SaeRow";
import { EVALS } from "./evals";

export function SaesPanel() {
  const saes = useSaes();
  const setPanel = useUi((s) => s.setPanel);
  const setExtractSaeId = useUi((s) => s.setExtractSaeId);
  const extract = (sae: SAE) => {
    setExtractSaeId(sae.id);
    setPanel("features");
  };
  return (
    <div className="space-y-6">
      <PanelHeader title="SAEs" subtitle="Sparse autoencoders trained here or imported from the Hub, SAELens releases or a folder." />
      <AddSaeCard />
      <ErrorLine error={saes.error} />
      {saes.data?.items.length === 0 && <Empty>No SAEs yet: train one, or add one from the Hub above.</Empty>}
      {(saes.data?.items.length ?? 0) > 0 && (
        <Card>
          <div className="overflow-x-auto">
            <table className="w-full text-sm" data-testid="sae-table">
              <thead className="text-left text-[11px] uppercase tracking-wide text-slate-500">
                <tr>
                  <th className="py-2 pr-3">Name</th>
                  <th className="py-2 pr-3">Arch.</th>
                  <th className="py-2 pr-3">Hook</th>
                  <th className="py-2 pr-3 text-right">d_in</th>
                  <th className="py-2 pr-3 text-right">d_sae</th>
                  {EVALS.map((e) => (
                    <th key={e.label} className="py-2 pr-3 text-right font-medium" title={e.title}>
                      {e.label}
                    </th>
                  ))}
                  <th className="py-2 pr-3">Model</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {saes.data?.items.map((s) => (
                  <SaeRow key={s.id} sae={s} onExtract={() => extract(s)} />
                ))}
              </tbody>
            </table>
          </div>
        </Card>
      )}
    </div>
  );
}
