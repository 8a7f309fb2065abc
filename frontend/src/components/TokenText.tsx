/**
 * Tokens shaded by activation. Every token is a React text node, so dataset text (including
 * `<script>` or HTML entities) is shown literally and never interpreted as markup.
 */
import clsx from "clsx";
import type { TokenWord } from "../api/types";
import { formatNumber } from "../lib/format";

/** Visible form of a token: SentencePiece/GPT-2 space markers shown as spaces, newlines as ↵. */
export function displayToken(token: string): string {
  return token.replace(/^Ġ|^▁/, " ").replace(/Ċ/g, "↵").replace(/\n/g, "↵").replace(/\t/g, "⇥");
}

/** Emerald shade for activation `value` relative to `max` (0 -> transparent). */
export function shade(value: number, max: number): string | undefined {
  if (!(value > 0) || !(max > 0)) return undefined;
  const a = Math.min(1, value / max);
  return `rgba(16, 185, 129, ${(0.12 + 0.78 * a).toFixed(3)})`;
}

/** Visible form of a word's text: newlines and tabs as ↵ and ⇥, as for tokens. */
function displayWord(text: string): string {
  return text.replace(/\n/g, "↵").replace(/\t/g, "⇥");
}

/** Each piece of a word with its activation, for the word's tooltip. */
function pieces(tokens: string[], acts: number[] | undefined, start: number, end: number): string {
  return tokens
    .slice(start, end)
    .map((t, k) => `${JSON.stringify(t)} ${formatNumber(acts?.[start + k] ?? 0)}`)
    .join(" · ");
}

export function TokenText({
  tokens,
  acts,
  max,
  center,
  className,
  compact,
  words,
  raw,
}: {
  tokens: string[];
  acts?: number[];
  /** Scale (default: the largest activation in `acts`). */
  max?: number;
  /** Index of the example's activating token (outlined). */
  center?: number;
  className?: string;
  compact?: boolean;
  /** The tokens grouped into words: shown word by word (shaded by the word's largest token,
   * each piece and its activation on hover) unless `raw`. */
  words?: TokenWord[];
  /** Show the tokens (BPE pieces) even when words are given. */
  raw?: boolean;
}) {
  const scale = max ?? Math.max(0, ...(acts ?? [0]));
  const byWord = !raw && words !== undefined && words.length > 0;
  return (
    <span
      data-testid="token-text"
      data-view={byWord ? "words" : "tokens"}
      // One white-space class, never two: with both pre-wrap and pre the stylesheet's order picks,
      // and a compact cell wrapped onto the next table row.
      className={clsx("font-mono text-xs leading-5", compact ? "whitespace-pre" : "whitespace-pre-wrap break-words", className)}
    >
      {byWord
        ? words.map((w, i) => {
            const value = Math.max(0, ...(acts?.slice(w.start, w.end) ?? [0]));
            const hasCenter = center !== undefined && center >= w.start && center < w.end;
            return (
              <span
                key={i}
                data-act={value}
                data-tokens={w.end - w.start}
                title={value > 0 || w.end - w.start > 1 ? pieces(tokens, acts, w.start, w.end) : undefined}
                className={clsx("rounded-[2px]", hasCenter && "outline outline-1 outline-emerald-300")}
                style={{ backgroundColor: shade(value, scale) }}
              >
                {displayWord(w.text)}
              </span>
            );
          })
        : tokens.map((token, i) => {
            const value = acts?.[i] ?? 0;
            return (
              <span
                key={i}
                data-act={value}
                title={value > 0 ? `${JSON.stringify(token)}: ${formatNumber(value)}` : undefined}
                className={clsx("rounded-[2px]", i === center && "outline outline-1 outline-emerald-300")}
                style={{ backgroundColor: shade(value, scale) }}
              >
                {displayToken(token)}
              </span>
            );
          })}
    </span>
  );
}

/** "Raw tokens" switch: examples as BPE pieces instead of words. */
export function RawTokensToggle({ raw, onChange }: { raw: boolean; onChange: (raw: boolean) => void }) {
  return (
    <label className="flex items-center gap-1.5 text-[11px] text-slate-400" title="Show each token (BPE piece) on its own instead of whole words">
      <input type="checkbox" checked={raw} onChange={(e) => onChange(e.target.checked)} data-testid="raw-tokens" />
      raw tokens
    </label>
  );
}

/** The colour scale: 0 to max. */
export function ActivationLegend({ max }: { max: number }) {
  const stops = [0, 0.25, 0.5, 0.75, 1];
  return (
    <div className="flex items-center gap-2 text-[11px] text-slate-400" data-testid="legend">
      <span>activation</span>
      <span className="flex overflow-hidden rounded">
        {stops.map((s) => (
          <span key={s} className="h-3 w-8" style={{ backgroundColor: shade(s * max, max) ?? "rgb(30 41 59)" }} />
        ))}
      </span>
      <span className="font-mono">0 – {formatNumber(max)}</span>
    </div>
  );
}
