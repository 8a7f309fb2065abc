/** The features a run steers with: mode, strength (slider and number), relative to max activation, remove. */
import { Button, num } from "../components/ui";
import { formatNumber } from "../lib/format";
import type { Mode, PickedFeature } from "./picking";

export function PickedFeatures({ picked, setPicked }: { picked: PickedFeature[]; setPicked: (p: PickedFeature[]) => void }) {
  const update = (i: number, patch: Partial<PickedFeature>) => setPicked(picked.map((p, j) => (j === i ? { ...p, ...patch } : p)));
  if (!picked.length) return null;
  return (
    <div className="space-y-2" data-testid="steering-picked">
      {picked.map((p, i) => (
        <div key={`${p.sae_id}-${p.index}`} className="grid items-center gap-2 rounded-md bg-slate-800/50 p-2 text-sm md:grid-cols-[minmax(8rem,1fr)_7rem_minmax(10rem,1.5fr)_6rem_auto_auto]">
          <span className="truncate" title={p.label ?? undefined}>
            <span className="font-mono text-xs text-slate-500">#{p.index}</span> {p.label ?? ""}
          </span>
          <select value={p.mode} onChange={(e) => update(i, { mode: e.target.value as Mode })} aria-label="mode">
            <option value="add">add</option>
            <option value="clamp">clamp</option>
            <option value="suppress">suppress</option>
          </select>
          <input
            type="range"
            aria-label="strength"
            min={p.relative ? -20 : -200}
            max={p.relative ? 20 : 200}
            step={p.relative ? 0.5 : 1}
            value={p.strength}
            disabled={p.mode === "suppress"}
            onChange={(e) => update(i, { strength: Number(e.target.value) })}
          />
          <input type="number" step="any" value={p.strength} disabled={p.mode === "suppress"} onChange={(e) => update(i, { strength: num(e.target.value) ?? 0 })} aria-label="strength value" />
          <label className="flex items-center gap-1 text-xs text-slate-400" title={p.max_activation !== null ? `max activation ${formatNumber(p.max_activation)}` : undefined}>
            <input type="checkbox" checked={p.relative} onChange={(e) => update(i, { relative: e.target.checked })} />× max act.
          </label>
          <Button variant="ghost" className="px-2 py-0.5 text-xs" onClick={() => setPicked(picked.filter((_, j) => j !== i))} aria-label="remove feature">
            ✕
          </Button>
        </div>
      ))}
    </div>
  );
}
