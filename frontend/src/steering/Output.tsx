/** One generated text, as a text node in a scrollable block. */
import clsx from "clsx";

/** Generated text, as text. */
export function Output({ text, className }: { text: string; className?: string }) {
  return (
    <p className={clsx("whitespace-pre-wrap break-words rounded bg-slate-950/60 p-2 text-sm text-slate-200", className)} data-testid="steering-output">
      {text}
    </p>
  );
}
