/** Labelled latents nearest in meaning to the query (embedding search over labels). */
import { ErrorLine } from "../components/ui";
import { formatNumber } from "../lib/format";
import { useSemanticSearch } from "./queries";

export function SemanticResults({ extractionId, q, onOpen }: { extractionId: number; q: string; onOpen: (id: number) => void }) {
  const hits = useSemanticSearch(extractionId, q);
  return (
    <div className="rounded-lg border border-slate-800" data-testid="semantic-results">
      <div className="border-b border-slate-800 px-3 py-2 text-[11px] font-medium uppercase tracking-wide text-slate-500">
        Semantic matches {hits.isFetching ? "…" : hits.data ? `(${hits.data.length})` : ""}
      </div>
      <ErrorLine error={hits.error} className="m-2" />
      <ul className="max-h-72 overflow-y-auto text-sm">
        {hits.data?.map((h) => (
          <li key={h.feature.id}>
            <button type="button" className="grid w-full grid-cols-[70px_1fr_140px_60px] gap-3 px-3 py-1.5 text-left hover:bg-slate-800/50" onClick={() => onOpen(h.feature.id)}>
              <span className="font-mono text-xs text-slate-400">#{h.feature.index}</span>
              <span className="truncate text-slate-100">{h.feature.label ?? ""}</span>
              <span className="truncate text-xs text-slate-400">{h.feature.category ?? ""}</span>
              <span className="text-right font-mono text-xs text-slate-300">{formatNumber(h.similarity, 2)}</span>
            </button>
          </li>
        ))}
        {hits.data && hits.data.length === 0 && <li className="px-3 py-2 text-slate-500">no labelled latent is close</li>}
      </ul>
    </div>
  );
}
