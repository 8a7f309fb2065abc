/** Edit a latent's label, category and description, star it, or relabel it with its labeller. */
import { useEffect, useState } from "react";
import type { Feature } from "../api/types";
import { JobProgress } from "../components/ProgressBar";
import { Button, ErrorLine, Field } from "../components/ui";
import { useFeatureEdits } from "./queries";

export function LabelEditor({ feature: f, onChanged }: { feature: Feature; onChanged?: (f: Feature) => void }) {
  const [draft, setDraft] = useState({ label: f.label ?? "", category: f.category ?? "", description: f.description ?? "" });
  useEffect(() => setDraft({ label: f.label ?? "", category: f.category ?? "", description: f.description ?? "" }), [f.id, f.label, f.category, f.description]);
  const { save, star, relabel, refresh } = useFeatureEdits(f, onChanged);
  const dirty = draft.label !== (f.label ?? "") || draft.category !== (f.category ?? "") || draft.description !== (f.description ?? "");
  return (
    <div className="grid gap-3 md:grid-cols-[1fr_160px_2fr_auto]">
      <Field label="Label">
        <input value={draft.label} onChange={(e) => setDraft({ ...draft, label: e.target.value })} data-testid="feature-label" />
      </Field>
      <Field label="Category">
        <input value={draft.category} onChange={(e) => setDraft({ ...draft, category: e.target.value })} />
      </Field>
      <Field label="Description">
        <input value={draft.description} onChange={(e) => setDraft({ ...draft, description: e.target.value })} />
      </Field>
      <div className="flex items-end gap-2">
        <Button
          variant="primary"
          disabled={!dirty || save.isPending}
          data-testid="feature-label-save"
          onClick={() => save.mutate({ label: draft.label || null, category: draft.category || null, description: draft.description || null })}
        >
          Save
        </Button>
        <Button onClick={() => star.mutate()} aria-label={f.starred ? "unstar" : "star"}>
          <span className={f.starred ? "text-amber-400" : ""}>{f.starred ? "★" : "☆"}</span>
        </Button>
        <Button onClick={() => relabel.mutate()} disabled={relabel.isPending || !!relabel.data} data-testid="feature-relabel" title="Queue a labelling job for this latent (rules; see the Labeling panel for LLM runs); the label it replaces stays in History">
          {relabel.data ? "Relabel queued" : "Regenerate label"}
        </Button>
      </div>
      {relabel.data && (
        <div className="md:col-span-4">
          <JobProgress jobId={relabel.data.job_id} onEvent={(m) => m.type === "status" && refresh()} />
        </div>
      )}
      <ErrorLine error={save.error ?? star.error ?? relabel.error} className="md:col-span-4" />
    </div>
  );
}
