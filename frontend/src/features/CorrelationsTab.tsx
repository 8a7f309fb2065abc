/** Latents that co-activate, co-fire or point the same way in the decoder; each opens its own detail. */
import { useState } from "react";
import type { CorrelatedFeature, Feature } from "../api/types";
import { Empty, ErrorLine } from "../components/ui";
import { formatNumber } from "../lib/format";
import { useUi } from "../store/ui";
import { Loading } from "./Loading";
import { Unavailable } from "./Unavailable";
import { findByIndex, useFeatureDetail } from "./queries";

export function CorrelationsTab({ feature }: { feature: Feature }) {
  const openFeature = useUi((s) => s.openFeature);
  const [error, setError] = useState<unknown>(null);
  const d = useFeatureDetail(feature.id);
  if (d.error) return <Unavailable error={d.error} />;
  if (!d.data) return <Loading />;
  const q = { data: d.data.correlations };
  if (q.data.length === 0) return <Empty>No correlated latents recorded.</Empty>;
  const open = async (c: CorrelatedFeature) => {
    setError(null);
    if (c.feature_id) return openFeature(c.feature_id);
    try {
      const hit = await findByIndex(feature.extraction_id, c.index);
      if (hit) openFeature(hit.id);
      else setError(`latent ${c.index} not found`);
    } catch (err) {
      setError(err);
    }
  };
  const kinds = [...new Set(q.data.map((c) => c.kind ?? "pearson"))];
  return (
    <div className="grid gap-4 md:grid-cols-3" data-testid="correlations">
      {kinds.map((kind) => (
        <div key={kind}>
          <div className="mb-1 text-xs text-slate-400">{kind === "pearson" ? "Co-activation (Pearson)" : kind === "jaccard" ? "Co-firing (Jaccard)" : "Decoder neighbours (cosine)"}</div>
          <ul className="space-y-0.5">
            {q.data
              .filter((c) => (c.kind ?? "pearson") === kind)
              .map((c) => (
                <li key={`${kind}-${c.index}`}>
                  <button
                    type="button"
                    className="flex w-full items-center justify-between rounded px-2 py-1 text-left text-sm hover:bg-slate-800"
                    onClick={() => void open(c)}
                    data-testid="correlated"
                  >
                    <span className="truncate">
                      <span className="font-mono text-xs text-slate-400">#{c.index}</span> {c.label ?? ""}
                    </span>
                    <span className="font-mono text-xs text-emerald-300">{formatNumber(c.value, 3)}</span>
                  </button>
                </li>
              ))}
          </ul>
        </div>
      ))}
      <ErrorLine error={error} className="md:col-span-3" />
    </div>
  );
}
