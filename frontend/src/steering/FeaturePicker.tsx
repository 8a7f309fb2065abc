/** Find features of an extraction by label (or top tokens) and add one, or every hit together. */
import { useState } from "react";
import type { Extraction, Feature } from "../api/types";
import { Button, ErrorLine, Field, IdOptions, num } from "../components/ui";
import { PickerFeature } from "./PickerFeature";
import { useFeatureSearch } from "./queries";

export function FeaturePicker({
  ready,
  extractionId,
  setExtractionId,
  onAdd,
}: {
  ready: Extraction[];
  extractionId: number | null;
  setExtractionId: (id: number | null) => void;
  /** Add these features at `strength` x their max activation. */
  onAdd: (features: Feature[], strength: number) => void;
}) {
  const [q, setQ] = useState("");
  const search = useFeatureSearch(extractionId, q);
  return (
    <>
      <div className="grid gap-3 md:grid-cols-[16rem_1fr]">
        <Field label="Extraction">
          <select value={extractionId ?? ""} onChange={(e) => setExtractionId(num(e.target.value) ?? null)} data-testid="steering-extraction">
            {extractionId === null && <option value="">—</option>}
            <IdOptions items={ready} />
          </select>
        </Field>
        <Field label="Find features by label">
          <input type="search" value={q} onChange={(e) => setQ(e.target.value)} placeholder="label, description or index" data-testid="steering-search" />
        </Field>
      </div>
      <ErrorLine error={search.error} />
      {search.data && q.trim() !== "" && search.data.items.length > 1 && (
        <div className="flex items-center justify-end gap-2 text-xs text-slate-400">
          steer every hit together (1× max act. each; their pushes add up)
          {/* One feature at 4x its max activation; a group at 1x each, since their pushes add up. */}
          <Button className="px-2 py-0.5 text-xs" onClick={() => onAdd(search.data.items, 1)} data-testid="steering-add-all">
            Add all {search.data.items.length}
          </Button>
        </div>
      )}
      {search.data && (
        <ul className="max-h-40 overflow-y-auto rounded-md border border-slate-800 text-sm" data-testid="steering-results">
          {search.data.items.map((f) => (
            <li key={f.id} className="flex items-center justify-between gap-2 border-b border-slate-800/60 px-3 py-1">
              <PickerFeature feature={f} />
              <Button className="px-2 py-0.5 text-xs" onClick={() => onAdd([f], 4)}>
                Add
              </Button>
            </li>
          ))}
          {search.data.items.length === 0 && <li className="px-3 py-2 text-slate-500">no match</li>}
        </ul>
      )}
    </>
  );
}
