/** Earlier steering runs, newest first: open one, or download its export. */
import clsx from "clsx";
import { useState } from "react";
import { Button, Card, Empty, ErrorLine, StatusPill } from "../components/ui";
import { formatDate } from "../lib/format";
import { runFinished } from "./format";
import { exportRun, useSteeringRuns } from "./queries";

export function SteeringHistory({ onOpen, selected }: { onOpen: (id: number) => void; selected: number | null }) {
  const runs = useSteeringRuns();
  const [exportError, setExportError] = useState<unknown>(null);
  return (
    <Card title="History" testId="steering-history">
      <ErrorLine error={runs.error ?? exportError} />
      {runs.data && runs.data.items.length === 0 && <Empty>No steering runs yet.</Empty>}
      <ul className="space-y-1">
        {runs.data?.items.map((r) => (
          <li key={r.id} className={clsx("flex items-center justify-between gap-2 rounded px-2 py-1 text-sm", r.id === selected && "bg-emerald-500/10")} data-testid="steering-history-item">
            <button type="button" className="min-w-0 flex-1 truncate text-left text-slate-200 hover:underline" onClick={() => onOpen(r.id)}>
              {r.name}
              <span className="block text-[11px] text-slate-500">{formatDate(r.created_at)}</span>
            </button>
            <StatusPill status={r.status} />
            {runFinished(r.status) && (
              <Button
                variant="ghost"
                className="px-1.5 py-0.5 text-xs"
                aria-label="export JSON"
                onClick={() => {
                  setExportError(null);
                  exportRun(r.id, r.name).catch(setExportError);
                }}
              >
                ⤓
              </Button>
            )}
          </li>
        ))}
      </ul>
    </Card>
  );
}
