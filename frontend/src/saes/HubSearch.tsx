/** Search the Hub for SAE repos (SAELens library tag and text) and SAELens' release registry by name. */
import { useState } from "react";
import { Button } from "../components/ui";
import { formatCount } from "../lib/format";
import { useDebounced } from "../lib/useDebounced";
import { useHubSearch } from "./queries";

export function HubSearch({ onPick }: { onPick: (source: string) => void }) {
  const [open, setOpen] = useState(false);
  const [text, setText] = useState("");
  const q = useDebounced(text.trim(), 300);
  const search = useHubSearch(q, open);
  const repos = search.data?.repos ?? [];
  const releases = search.data?.releases ?? [];
  if (!open) {
    return (
      <Button variant="ghost" className="px-0 text-xs text-emerald-300" onClick={() => setOpen(true)} data-testid="hub-search-open">
        Search the Hub and SAELens releases…
      </Button>
    );
  }
  return (
    <div className="rounded-md border border-slate-800 bg-slate-950/40 p-3" data-testid="hub-search">
      <div className="flex items-center gap-2">
        <input
          className="flex-1"
          value={text}
          onChange={(e) => setText(e.target.value)}
          placeholder="gemma scope, gpt2, pythia…"
          aria-label="Search SAEs"
          data-testid="hub-search-input"
          autoFocus
        />
        <Button variant="ghost" className="text-xs" onClick={() => setOpen(false)}>
          Close
        </Button>
      </div>
      {search.data?.hub_error && <p className="mt-2 text-[11px] text-amber-300">Hub: {search.data.hub_error}</p>}
      {search.isFetching && <p className="mt-2 text-[11px] text-slate-500">Searching…</p>}
      {search.data && repos.length === 0 && releases.length === 0 && (
        <p className="mt-2 text-xs text-slate-400" data-testid="hub-search-empty">
          Nothing matches “{q}”.
        </p>
      )}
      <div className={`mt-2 grid gap-3 ${repos.length > 0 && releases.length > 0 ? "lg:grid-cols-2" : ""}`}>
        {repos.length > 0 && (
          <ul className="space-y-1" data-testid="hub-search-repos">
            <li className="text-[11px] uppercase tracking-wide text-slate-500">Hub repos (saelens)</li>
            {repos.map((r) => (
              <li key={r.repo_id}>
                <button type="button" className="flex w-full items-baseline justify-between gap-3 rounded px-2 py-1 text-left text-sm hover:bg-slate-800" onClick={() => onPick(r.repo_id)}>
                  <span className="min-w-0 truncate font-mono text-xs text-slate-200" title={r.repo_id}>
                    {r.repo_id}
                    {r.gated && <span className="ml-2 text-[10px] text-amber-300">gated</span>}
                  </span>
                  <span className="shrink-0 text-[11px] text-slate-500">{formatCount(r.downloads)} downloads</span>
                </button>
              </li>
            ))}
          </ul>
        )}
        {releases.length > 0 && (
          <ul className="space-y-1" data-testid="hub-search-releases">
            <li className="text-[11px] uppercase tracking-wide text-slate-500" title={search.data?.registry ?? undefined}>
              SAELens releases
            </li>
            {releases.map((r) => (
              <li key={r.name}>
                <button type="button" className="flex w-full items-baseline justify-between gap-3 rounded px-2 py-1 text-left text-sm hover:bg-slate-800" onClick={() => onPick(r.name)}>
                  <span className="min-w-0 truncate font-mono text-xs text-slate-200" title={`${r.name} · ${r.repo_id}`}>
                    {r.name}
                  </span>
                  <span className="shrink-0 text-[11px] text-slate-500">
                    {r.n_saes} SAEs{r.model ? ` · ${r.model}` : ""}
                  </span>
                </button>
              </li>
            ))}
          </ul>
        )}
      </div>
    </div>
  );
}
