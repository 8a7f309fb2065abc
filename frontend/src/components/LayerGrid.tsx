/** A grid of layer toggles (click, shift-click for a range, all / none). */
import clsx from "clsx";
import { useRef } from "react";

export function LayerGrid({
  layers,
  selected,
  onChange,
}: {
  layers: number;
  selected: number[];
  onChange: (layers: number[]) => void;
}) {
  const last = useRef<number | null>(null);
  const set = new Set(selected);
  const toggle = (layer: number, shift: boolean) => {
    const next = new Set(set);
    if (shift && last.current !== null) {
      const [a, b] = [Math.min(last.current, layer), Math.max(last.current, layer)];
      for (let i = a; i <= b; i++) next.add(i);
    } else if (next.has(layer)) next.delete(layer);
    else next.add(layer);
    last.current = layer;
    onChange([...next].sort((x, y) => x - y));
  };
  return (
    <div>
      <div className="grid grid-cols-8 gap-1 sm:grid-cols-12" data-testid="layer-grid">
        {Array.from({ length: layers }, (_, i) => (
          <button
            key={i}
            type="button"
            data-testid={`layer-${i}`}
            aria-pressed={set.has(i)}
            onClick={(e) => toggle(i, e.shiftKey)}
            className={clsx(
              "rounded border px-1 py-1 font-mono text-xs",
              set.has(i)
                ? "border-emerald-500 bg-emerald-500/20 text-emerald-200"
                : "border-slate-700 bg-slate-900 text-slate-400 hover:border-slate-500",
            )}
          >
            {i}
          </button>
        ))}
      </div>
      <div className="mt-1 flex gap-3 text-[11px] text-slate-500">
        <button type="button" className="hover:text-slate-300" onClick={() => onChange(Array.from({ length: layers }, (_, i) => i))}>
          all
        </button>
        <button type="button" className="hover:text-slate-300" onClick={() => onChange([])}>
          none
        </button>
        <span>{selected.length} selected · shift-click selects a range</span>
      </div>
    </div>
  );
}
