/** The Models panel: add a model, one card per model, activation caches, and the dialogs they open. */
import { useState } from "react";
import { useActivationCaches, useModels } from "../api/hooks";
import type { Model } from "../api/types";
import { JobProgress } from "../components/ProgressBar";
import { Card, Empty, ErrorLine, PanelHeader, StatusPill } from "../components/ui";
import { isBusy } from "../lib/status";
import { formatCount } from "../lib/format";
import { AddModelCard } from "./AddModelCard";
import { ArchitectureDialog } from "./ArchitectureDialog";
import { CacheDialog } from "./CacheDialog";
import { ModelCard } from "./ModelCard";

export function ModelsPanel() {
  const models = useModels();
  const caches = useActivationCaches();
  const [archOf, setArchOf] = useState<Model | null>(null);
  const [cacheFor, setCacheFor] = useState<Model | null>(null);
  return (
    <div className="space-y-6">
      <PanelHeader title="Models" subtitle="Language models whose activations the SAEs read." />
      <AddModelCard />
      <ErrorLine error={models.error} />
      <div className="grid gap-4 lg:grid-cols-2 2xl:grid-cols-3">
        {models.data?.items.map((m) => (
          <ModelCard key={m.id} model={m} onArchitecture={() => setArchOf(m)} onCache={() => setCacheFor(m)} />
        ))}
      </div>
      {models.data?.items.length === 0 && <Empty>No models registered.</Empty>}
      {(caches.data?.items.length ?? 0) > 0 && (
        <Card title="Activation caches">
          <div className="space-y-2">
            {caches.data?.items.map((c) => (
              <div key={c.id} className="rounded-md border border-slate-800 p-2 text-xs">
                <div className="flex items-center gap-2">
                  <span className="font-medium text-slate-200">{c.name}</span>
                  {!isBusy(c.status) && <StatusPill status={c.status} />}
                  <span className="ml-auto font-mono text-slate-400">
                    {c.hook_points.length} hooks · {formatCount(c.n_tokens)} tokens
                  </span>
                </div>
                {c.status !== "ready" && (
                  <div className="mt-2">
                    <JobProgress jobId={c.job_id} />
                  </div>
                )}
              </div>
            ))}
          </div>
        </Card>
      )}
      {archOf && <ArchitectureDialog model={archOf} onClose={() => setArchOf(null)} />}
      {cacheFor && <CacheDialog model={cacheFor} onClose={() => setCacheFor(null)} />}
    </div>
  );
}
