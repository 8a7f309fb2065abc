/** The SAE lab's compare view: every SAE, two of them selected for a feature matching. */
import { useState } from "react";
import { useSaes } from "../api/hooks";
import { Card, Empty, ErrorLine, PanelHeader } from "../components/ui";
import { matchUrl } from "./routes";

export function CompareView() {
  const saes = useSaes();
  const [picked, setPicked] = useState<number[]>([]);
  const toggle = (id: number) =>
    setPicked((p) => (p.includes(id) ? p.filter((x) => x !== id) : [...p.slice(-1), id]));
  return (
    <div className="space-y-6">
      <PanelHeader title="SAE lab" subtitle="Compare SAEs of a model and hook, and match their features." />
      <ErrorLine error={saes.error} />
      {saes.data?.items.length === 0 && <Empty>No SAEs yet: train one, or add one on the SAEs panel.</Empty>}
      <Card
        title="SAEs"
        actions={
          picked.length === 2 ? (
            <a href={matchUrl(picked[0], picked[1])} data-testid="lab-match-link" className="rounded-md bg-emerald-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-emerald-500">
              Match #{picked[0]} ↔ #{picked[1]}
            </a>
          ) : (
            <span className="text-xs text-slate-500">Select two SAEs to match their features</span>
          )
        }
      >
        <ul className="space-y-1 text-sm">
          {saes.data?.items.map((s) => (
            <li key={s.id}>
              <label className="flex items-center gap-2 text-slate-300">
                <input type="checkbox" checked={picked.includes(s.id)} onChange={() => toggle(s.id)} data-testid={`lab-pick-${s.id}`} />
                <span className="truncate">{s.name}</span>
              </label>
            </li>
          ))}
        </ul>
      </Card>
    </div>
  );
}
