/**
 * Tokens shaded by activation. Every token is a React text node, so dataset text (including
 * `<script>` or HTML entities) is shown literally and never interpreted as markup.
 */
import clsx from "clsx";
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

export function TokenText({
  tokens,
  acts,
  max,
  center,
  className,
  compact,
}: {
  tokens: string[];
  acts?: number[];
  /** Scale (default: the largest activation in `acts`). */
  max?: number;
  /** Index of the example's activating token (outlined). */
  center?: number;
  className?: string;
  compact?: boolean;
}) {
  const scale = max ?? Math.max(0, ...(acts ?? [0]));
  return (
    <span
      data-testid="token-text"
      // One white-space class, never two: with both pre-wrap and pre the stylesheet's order picks,
      // and a compact cell wrapped onto the next table row.
      className={clsx("font-mono text-xs leading-5", compact ? "whitespace-pre" : "whitespace-pre-wrap break-words", className)}
    >
      {tokens.map((token, i) => {
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
