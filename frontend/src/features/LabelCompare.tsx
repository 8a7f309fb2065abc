/**
 * Two label versions of one latent side by side, the older on the left: every field in a row,
 * rows that differ marked, and the newer version's score changes as signed differences (so
 * "the LLM label detects better than the rule" reads at a glance).
 */
import clsx from "clsx";
import type { ReactNode } from "react";
import { formatDate, formatNumber } from "../lib/format";
import { type LabelVersion, methodText, setBy, templateText, versionText } from "./labelHistory";

type Row = { name: string; text: (v: LabelVersion) => string; score?: (v: LabelVersion) => number | null | undefined };

const ROWS: Row[] = [
  { name: "Label", text: versionText },
  { name: "Category", text: (v) => v.category ?? "–" },
  { name: "Description", text: (v) => v.description ?? "–" },
  { name: "Status", text: (v) => v.status ?? "–" },
  { name: "Method", text: methodText },
  { name: "Template", text: templateText },
  { name: "Confidence", text: (v) => formatNumber(v.confidence, 2), score: (v) => v.confidence },
  { name: "Detection", text: (v) => formatNumber(v.detection_score, 2), score: (v) => v.detection_score },
  { name: "Fuzzing", text: (v) => formatNumber(v.fuzzing_score, 2), score: (v) => v.fuzzing_score },
  { name: "Score", text: (v) => formatNumber(v.score, 2), score: (v) => v.score },
  { name: "Set by", text: setBy },
  { name: "When", text: (v) => formatDate(v.created_at) },
];

function Delta({ from, to }: { from: number | null | undefined; to: number | null | undefined }): ReactNode {
  if (from == null || to == null) return null;
  const d = to - from;
  if (Math.abs(d) < 0.005) return null;
  return (
    <span className={clsx("ml-2 font-mono text-xs", d > 0 ? "text-emerald-400" : "text-rose-400")} data-testid="compare-delta">
      {d > 0 ? "+" : "−"}
      {Math.abs(d).toFixed(2)}
    </span>
  );
}

export function LabelCompare({ versions }: { versions: [LabelVersion, LabelVersion] }) {
  const [a, b] = [...versions].sort((x, y) => x.created_at.localeCompare(y.created_at) || x.id - y.id);
  const head = (v: LabelVersion, side: string) => (
    <div className="text-[11px] uppercase tracking-wide text-slate-500">
      {side} · {setBy(v)}
      {v.is_current && <span className="ml-2 rounded bg-emerald-900/60 px-1.5 py-0.5 normal-case tracking-normal text-emerald-300">current</span>}
    </div>
  );
  return (
    <div className="rounded-md border border-slate-800" data-testid="label-compare">
      <div className="grid grid-cols-[7rem_minmax(0,1fr)_minmax(0,1fr)] gap-x-3 border-b border-slate-800 bg-slate-900/60 px-3 py-2">
        <span />
        {head(a, "older")}
        {head(b, "newer")}
      </div>
      {ROWS.map((row) => {
        const left = row.text(a);
        const right = row.text(b);
        const differs = left !== right;
        return (
          <div
            key={row.name}
            className={clsx("grid grid-cols-[7rem_minmax(0,1fr)_minmax(0,1fr)] gap-x-3 px-3 py-1 text-sm", differs && "bg-amber-500/5")}
            data-testid="compare-row"
            data-field={row.name}
            data-differs={differs ? "true" : "false"}
          >
            <span className="text-xs text-slate-500">
              {row.name}
              {differs && <span className="ml-1 text-amber-400" title="differs">•</span>}
            </span>
            <span className={clsx("break-words", differs ? "text-slate-100" : "text-slate-400", row.score && "font-mono")}>{left}</span>
            <span className={clsx("break-words", differs ? "text-amber-200" : "text-slate-400", row.score && "font-mono")}>
              {right}
              {row.score && <Delta from={row.score(a)} to={row.score(b)} />}
            </span>
          </div>
        );
      })}
    </div>
  );
}
