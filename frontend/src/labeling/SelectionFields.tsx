/** Which latents a labelling run labels: all unlabelled, listed indices, or a statistics filter. */
import { Field } from "../components/ui";
import type { SelectionFilter, SelectionMode } from "./options";

export function SelectionFields({
  mode: selMode,
  setMode: setSelMode,
  indices,
  setIndices,
  filter,
  setFilter,
}: {
  mode: SelectionMode;
  setMode: (mode: SelectionMode) => void;
  indices: string;
  setIndices: (text: string) => void;
  filter: SelectionFilter;
  setFilter: (filter: SelectionFilter) => void;
}) {
  return (
    <>
      <Field label="Selection">
        <select value={selMode} onChange={(e) => setSelMode(e.target.value as SelectionMode)} data-testid="labeling-selection">
          <option value="unlabelled">all unlabelled</option>
          <option value="indices">indices</option>
          <option value="filter">filter</option>
        </select>
      </Field>
      {selMode === "indices" && (
        <Field label="Indices" hint="e.g. 1, 4, 10-20">
          <input value={indices} onChange={(e) => setIndices(e.target.value)} data-testid="labeling-indices" />
        </Field>
      )}
      {selMode === "filter" && (
        <div className="grid grid-cols-4 gap-2 md:col-span-2">
          {(
            [
              ["min_frequency", "min frequency"],
              ["max_frequency", "max frequency"],
              ["min_max_act", "min max act."],
              ["limit", "at most"],
            ] as const
          ).map(([k, label]) => (
            <Field key={k} label={label}>
              <input type="number" step="any" min={0} value={filter[k]} onChange={(e) => setFilter({ ...filter, [k]: e.target.value })} />
            </Field>
          ))}
        </div>
      )}
    </>
  );
}
