/** The SAEs of one Hub repo or release, before download: folder, format, hook, width, L0, size; Add imports one. */
import type { HubBrowse, HubSae } from "../api/types";
import { Button } from "../components/ui";
import { formatBytes, formatCount, formatNumber } from "../lib/format";

/** L0 as the source gives it: a number, or Gemma Scope 2's small / medium / big. */
export function formatL0(l0: HubSae["l0"]): string {
  if (l0 === null || l0 === undefined) return "–";
  return typeof l0 === "number" ? formatNumber(l0, 3) : String(l0);
}

export function HubBrowseList({ listing, onAdd, adding }: { listing: HubBrowse; onAdd: (entry: HubSae) => void; adding: boolean }) {
  const shown = listing.entries.length;
  return (
    <div className="mt-4" data-testid="hub-browse">
      <div className="mb-2 flex flex-wrap items-baseline justify-between gap-2 text-xs text-slate-400">
        <span className="min-w-0 truncate">
          <span className="font-mono text-slate-200">{listing.release ?? listing.repo_id}</span> at{" "}
          <span className="font-mono">{listing.sha.slice(0, 7)}</span> · {listing.total} SAE{listing.total === 1 ? "" : "s"}
          {shown < listing.total ? ` (first ${shown})` : ""}
          {listing.gated && <span className="ml-2 text-amber-300">gated: an access token is needed to download</span>}
        </span>
        {listing.config_error && <span className="text-amber-300">configs not read: {listing.config_error}</span>}
      </div>
      {shown === 0 ? (
        <p className="rounded-md border border-dashed border-slate-700 p-4 text-center text-sm text-slate-400" data-testid="hub-browse-empty">
          No SAE folder of a known format in this repo.
        </p>
      ) : (
        <div className="max-h-96 overflow-auto rounded-md border border-slate-800">
          <table className="w-full text-sm">
            <thead className="sticky top-0 bg-slate-900 text-left text-[11px] uppercase tracking-wide text-slate-500">
              <tr>
                <th className="px-2 py-1.5">Folder</th>
                <th className="px-2 py-1.5">Format</th>
                <th className="px-2 py-1.5">Hook</th>
                <th className="px-2 py-1.5 text-right">Width</th>
                <th className="px-2 py-1.5 text-right">L0</th>
                <th className="px-2 py-1.5 text-right">Size</th>
                <th className="px-2 py-1.5" />
              </tr>
            </thead>
            <tbody>
              {listing.entries.map((e) => (
                <tr key={e.path} className="border-t border-slate-800" data-testid="hub-sae">
                  <td className="max-w-[22rem] px-2 py-1.5">
                    <div className="truncate font-mono text-xs text-slate-200" title={e.path || "(repo root)"}>
                      {e.path || "(repo root)"}
                    </div>
                    {e.release_sae && (
                      <div className="truncate text-[11px] text-slate-500" title={e.release_sae}>
                        {e.release_sae}
                      </div>
                    )}
                  </td>
                  <td className="px-2 py-1.5 text-xs text-slate-300">{e.format ?? <span className="text-amber-300">unknown</span>}</td>
                  <td className="max-w-[14rem] truncate px-2 py-1.5 font-mono text-xs text-slate-300" title={e.hook_name ?? undefined}>
                    {e.hook_name ?? "–"}
                  </td>
                  <td className="px-2 py-1.5 text-right font-mono text-xs" title={e.d_in ? `d_in ${e.d_in}` : undefined}>
                    {formatCount(e.d_sae)}
                  </td>
                  <td className="px-2 py-1.5 text-right font-mono text-xs">{formatL0(e.l0)}</td>
                  <td className="px-2 py-1.5 text-right font-mono text-xs text-slate-400">{formatBytes(e.size_bytes)}</td>
                  <td className="px-2 py-1.5 text-right">
                    <Button className="px-2 py-0.5 text-xs" disabled={!e.format || adding} onClick={() => onAdd(e)} data-testid="hub-sae-add">
                      Add
                    </Button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
