/** The pairs of a matching, a page at a time (sorted on the server), and its splits. A row or a
 * split's part selects that pair. */
import clsx from "clsx";
import { useState } from "react";
import { Button, Card, ErrorLine } from "../../components/ui";
import { formatCount, formatNumber } from "../../lib/format";
import { usePairs, type PairSort } from "./queries";

const PAGE = 50;
type Pick = { a: number; b: number };

/** A column header that sorts by its keys (`[first, second]`: a click on the active column
 * switches to the other; A and B sort one way only). */
function SortHeader({ label, keys, sort, onSort }: { label: string; keys: [PairSort, PairSort]; sort: PairSort; onSort: (s: PairSort) => void }) {
  const active = keys.includes(sort);
  const next = sort === keys[0] ? keys[1] : keys[0];
  return (
    <th className="px-2 py-1 text-left font-medium">
      <button type="button" className={clsx("hover:text-slate-200", active && "text-emerald-300")} onClick={() => onSort(next)} data-testid={`pairs-sort-${label}`}>
        {label}
        {active ? (sort.startsWith("-") ? " ↓" : " ↑") : ""}
      </button>
    </th>
  );
}

export function PairTable({ matchingId, selected, onSelect }: { matchingId: number; selected: Pick | null; onSelect: (p: Pick) => void }) {
  const [sort, setSort] = useState<PairSort>("-cosine");
  const [offset, setOffset] = useState(0);
  const [splitsOnly, setSplitsOnly] = useState(false);
  const q = usePairs(matchingId, sort, offset, PAGE, splitsOnly);
  const page = q.data;
  const changeSort = (s: PairSort) => {
    setSort(s);
    setOffset(0);
  };
  const isSel = (a: number, b: number) => selected?.a === a && selected?.b === b;
  return (
    <div className="grid items-start gap-4 lg:grid-cols-2">
      <Card
        title="Pairs"
        testId="match-pairs"
        actions={
          <label className="flex items-center gap-1.5 text-xs text-slate-400">
            <input type="checkbox" checked={splitsOnly} onChange={(e) => { setSplitsOnly(e.target.checked); setOffset(0); }} data-testid="pairs-splits-only" />
            splits only
          </label>
        }
      >
        <ErrorLine error={q.error} />
        <table className="w-full text-sm">
          <thead className="text-xs text-slate-400">
            <tr>
              <SortHeader label="A" keys={["a", "a"]} sort={sort} onSort={changeSort} />
              <SortHeader label="B" keys={["b", "b"]} sort={sort} onSort={changeSort} />
              <SortHeader label="cosine" keys={["-cosine", "cosine"]} sort={sort} onSort={changeSort} />
              <th className="px-2 py-1 text-left font-medium" title="The B latent's best cosine over all of A">B's best in A</th>
              <th className="px-2 py-1 text-left font-medium" title="Correlation of the two latents' activations on shared tokens">act. corr</th>
            </tr>
          </thead>
          <tbody>
            {page?.items.map((p) => (
              <tr
                key={p.a}
                onClick={() => onSelect({ a: p.a, b: p.b })}
                className={clsx("cursor-pointer border-t border-slate-800 font-mono text-xs hover:bg-slate-800/60", isSel(p.a, p.b) && "bg-emerald-500/10")}
                data-testid={`pair-${p.a}`}
                aria-selected={isSel(p.a, p.b)}
              >
                <td className="px-2 py-1 text-slate-200">{p.a}{p.split && <span className="ml-1 text-amber-300" title="splits into several B latents">⑂</span>}</td>
                <td className="px-2 py-1 text-slate-200">{p.b}</td>
                <td className={clsx("px-2 py-1", p.cosine >= 0.7 ? "text-emerald-300" : "text-slate-400")}>{p.cosine.toFixed(3)}</td>
                <td className="px-2 py-1 text-slate-400">{p.b_best_a_cosine.toFixed(3)}</td>
                <td className="px-2 py-1 text-slate-400">{p.act_corr === null || p.act_corr === undefined ? "–" : p.act_corr.toFixed(2)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {page && page.items.length === 0 && <p className="py-3 text-center text-xs text-slate-500">No pairs{splitsOnly ? " split" : ""}.</p>}
        <div className="mt-2 flex items-center justify-between text-xs text-slate-400">
          <span data-testid="pairs-range">
            {page && page.total > 0 ? `${formatCount(offset + 1)}–${formatCount(Math.min(offset + PAGE, page.total))} of ${formatCount(page.total)}` : ""}
          </span>
          <span className="flex gap-2">
            <Button variant="ghost" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
              ← Prev
            </Button>
            <Button variant="ghost" disabled={!page || offset + PAGE >= page.total} onClick={() => setOffset(offset + PAGE)} data-testid="pairs-next">
              Next →
            </Button>
          </span>
        </div>
      </Card>
      <Card title={`Splits (${formatCount(page?.splits.length ?? 0)})`} testId="match-split-list">
        {page && page.splits.length === 0 ? (
          <p className="text-xs text-slate-500">No latent of A splits into several B latents at these thresholds.</p>
        ) : (
          <ul className="max-h-[28rem] space-y-1 overflow-y-auto text-xs">
            {page?.splits.map((s) => (
              <li key={s.a} className="flex flex-wrap items-center gap-1.5 font-mono text-slate-300" data-testid={`split-${s.a}`}>
                <span>A {s.a} →</span>
                {s.parts.map((part, i) => (
                  <button
                    key={part}
                    type="button"
                    onClick={() => onSelect({ a: s.a, b: part })}
                    className={clsx("rounded border border-slate-700 px-1.5 hover:border-emerald-500", isSel(s.a, part) && "border-emerald-500 text-emerald-300")}
                    title={`cosine ${formatNumber(s.cosines[i], 3)}, weight ${formatNumber(s.weights[i], 3)}`}
                  >
                    B {part}
                  </button>
                ))}
                <span className="text-slate-500">
                  together {formatNumber(s.r2_parts, 2)} · best alone {formatNumber(s.r2_best, 2)}
                </span>
              </li>
            ))}
          </ul>
        )}
      </Card>
    </div>
  );
}
