/** The Training panel: the new-training form, then one card per run with bulk delete. */
import { useState } from "react";
import { useTrainings } from "../api/hooks";
import { Button, Empty, ErrorLine, PanelHeader } from "../components/ui";
import { TrainingCard } from "./TrainingCard";
import { TrainingFormCard } from "./TrainingFormCard";
import { useDeleteTrainings } from "./queries";

export function TrainingPanel() {
  const trainings = useTrainings();
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const bulkDelete = useDeleteTrainings(() => setSelected(new Set()));
  const toggle = (id: number) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  };
  return (
    <div className="space-y-6">
      <PanelHeader title="Training" subtitle="Train sparse autoencoders on a model's activations, one per layer, in one pass." />
      <TrainingFormCard />
      <div className="flex items-center justify-between">
        <h2 className="text-sm font-semibold text-slate-200">Runs</h2>
        {selected.size > 0 && (
          <Button
            variant="danger"
            onClick={() => confirm(`Delete ${selected.size} training(s)?`) && bulkDelete.mutate([...selected])}
            data-testid="bulk-delete"
          >
            Delete {selected.size} selected
          </Button>
        )}
      </div>
      <ErrorLine error={trainings.error ?? bulkDelete.error} />
      <div className="space-y-4" data-testid="training-cards">
        {trainings.data?.items.map((t) => (
          <TrainingCard key={t.id} training={t} selected={selected.has(t.id)} onSelect={() => toggle(t.id)} />
        ))}
      </div>
      {trainings.data?.items.length === 0 && <Empty>No training runs yet.</Empty>}
    </div>
  );
}
