/**
 * The feature browser's table: virtualised, so only the rows in view (plus a small overscan) are
 * in the DOM, whether the extraction has 4k latents or 65k. Rows are fetched page by page as they
 * scroll into view; a row not loaded yet shows a placeholder.
 */
import clsx from "clsx";
import { forwardRef, useEffect, useImperativeHandle, useRef } from "react";
import { useVirtualizer } from "@tanstack/react-virtual";
import type { Feature, TokenWord } from "../api/types";
import { formatNumber } from "../lib/format";
import { TokenText } from "./TokenText";

export const ROW_HEIGHT = 40;
const COLUMNS = "grid-cols-[70px_minmax(120px,1.2fr)_100px_minmax(140px,1.4fr)_minmax(140px,1.2fr)_minmax(200px,2fr)_90px_90px_44px]";

/** A feature row as the table reads it; `example` is used when the API sends one. */
export type FeatureRow = Feature & { example?: { tokens: string[]; acts: number[]; words?: TokenWord[] } | null };

/** `top_tokens` as stored (a JSON list, or a " | "-separated string) to a list. */
export function parseTopTokens(value: string | null | undefined): string[] {
  if (!value) return [];
  try {
    const parsed: unknown = JSON.parse(value);
    if (Array.isArray(parsed)) return parsed.map(String);
  } catch {
    /* not JSON */
  }
  return value.includes(" | ") ? value.split(" | ") : value.split(/\s+/).filter(Boolean);
}

export interface FeatureTableHandle {
  scrollToRow: (row: number) => void;
}

interface Props {
  count: number;
  rowAt: (i: number) => FeatureRow | undefined;
  /** The rows rendered (the viewport plus the overscan): the ones whose data is needed. */
  onRange?: (start: number, end: number) => void;
  /** The rows actually in the viewport (no overscan): what a "rows a–b" label should count. */
  onVisible?: (start: number, end: number) => void;
  onOpen: (f: FeatureRow) => void;
  onStar: (f: FeatureRow) => void;
  height?: number;
  /** Initial viewport size (tests; the browser measures). */
  initialRect?: { width: number; height: number };
  selectedId?: number | null;
  /** Examples token by token instead of word by word. */
  rawTokens?: boolean;
}

export const FeatureTable = forwardRef<FeatureTableHandle, Props>(function FeatureTable(
  { count, rowAt, onRange, onVisible, onOpen, onStar, height = 560, initialRect, selectedId, rawTokens = false },
  ref,
) {
  const scroller = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 8,
    initialRect,
  });
  useImperativeHandle(ref, () => ({ scrollToRow: (row) => virtualizer.scrollToIndex(row, { align: "start" }) }), [virtualizer]);
  const items = virtualizer.getVirtualItems();
  const first = items[0]?.index ?? 0;
  const last = items[items.length - 1]?.index ?? -1;
  useEffect(() => {
    if (last >= first) onRange?.(first, last);
  }, [first, last, onRange]);
  // `range` is the virtualiser's viewport without the overscan (read after getVirtualItems,
  // which computes it for this render).
  const shownFirst = virtualizer.range?.startIndex ?? 0;
  const shownLast = count ? Math.min(virtualizer.range?.endIndex ?? -1, count - 1) : -1;
  useEffect(() => {
    if (shownLast >= shownFirst) onVisible?.(shownFirst, shownLast);
  }, [shownFirst, shownLast, onVisible]);

  return (
    <div className="overflow-hidden rounded-lg border border-slate-800" data-testid="feature-table">
      <div className={clsx("grid gap-3 border-b border-slate-800 bg-slate-900 px-3 py-2 text-[11px] font-medium uppercase tracking-wide text-slate-500", COLUMNS)}>
        <span>Index</span>
        <span>Label</span>
        <span>Category</span>
        <span>Description</span>
        <span title="The dominant linguistic category of the top examples (after a linguistic analysis)">Linguistics</span>
        <span>Example context</span>
        <span className="text-right">Frequency</span>
        <span className="text-right">Interp.</span>
        <span className="text-center">★</span>
      </div>
      <div ref={scroller} style={{ height }} className="overflow-y-auto" data-testid="feature-scroller">
        <div style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
          {items.map((v) => {
            const f = rowAt(v.index);
            return (
              <div
                key={v.key}
                data-testid="feature-row"
                data-index={v.index}
                role="row"
                className={clsx(
                  "absolute left-0 top-0 grid w-full cursor-pointer items-center gap-3 border-b border-slate-800/60 px-3 text-sm hover:bg-slate-800/50",
                  COLUMNS,
                  f && f.id === selectedId && "bg-emerald-500/10",
                )}
                style={{ height: ROW_HEIGHT, transform: `translateY(${v.start}px)` }}
                onClick={() => f && onOpen(f)}
              >
                {f ? (
                  <>
                    <span className="font-mono text-xs text-slate-400">#{f.index}</span>
                    <span className="truncate text-slate-100">
                      {f.best_version_id != null && (
                        <span className="mr-1.5 rounded bg-sky-900/60 px-1 py-0.5 text-[10px] text-sky-300" title="best-scored version, not the current label" data-testid="label-best-badge">
                          best
                        </span>
                      )}
                      {f.label ?? <span className="text-slate-600">unlabelled</span>}
                    </span>
                    <span className="truncate text-xs text-slate-400">{f.category ?? ""}</span>
                    <span className="truncate text-xs text-slate-400">{f.description ?? ""}</span>
                    <span className="truncate text-xs text-sky-300" title={f.ling_summary ?? undefined} data-testid="ling-summary">
                      {f.ling_summary ?? ""}
                    </span>
                    <span className="min-w-0 overflow-hidden">
                      {f.example ? (
                        <TokenText tokens={f.example.tokens} acts={f.example.acts} words={f.example.words} raw={rawTokens} compact className="block overflow-hidden text-ellipsis" />
                      ) : (
                        <TopTokens tokens={parseTopTokens(f.top_tokens)} />
                      )}
                    </span>
                    <span className="text-right font-mono text-xs text-slate-300">{formatFrequency(f.frequency)}</span>
                    <span className="text-right font-mono text-xs text-slate-300">{formatNumber(f.interpretability, 2)}</span>
                    <button
                      type="button"
                      aria-label={f.starred ? "unstar" : "star"}
                      data-testid="star"
                      className={clsx("text-center text-base", f.starred ? "text-amber-400" : "text-slate-600 hover:text-slate-300")}
                      onClick={(e) => {
                        e.stopPropagation();
                        onStar(f);
                      }}
                    >
                      {f.starred ? "★" : "☆"}
                    </button>
                  </>
                ) : (
                  <span className="col-span-9 h-3 w-1/2 animate-pulse rounded bg-slate-800" />
                )}
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
});

function TopTokens({ tokens }: { tokens: string[] }) {
  const shown = tokens.slice(0, 6);
  return (
    <span className="flex gap-1 overflow-hidden whitespace-nowrap">
      {shown.map((t, i) => (
        <TokenText key={i} tokens={[t]} acts={[shown.length - i]} max={shown.length} compact className="rounded bg-slate-800/60 px-1" />
      ))}
    </span>
  );
}

export function formatFrequency(f: number | null | undefined): string {
  if (f === null || f === undefined || !Number.isFinite(f)) return "–";
  if (f === 0) return "0";
  const pct = f * 100;
  return pct >= 0.01 ? `${formatNumber(pct, 3)}%` : `${f.toExponential(1)}`;
}
