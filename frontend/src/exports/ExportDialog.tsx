/**
 * Export an extraction for Neuronpedia: which latents, what each carries, and the Neuronpedia ids.
 * Ids the dialog leaves empty are filled by the server from the SAE (source set
 * `mistudio-res-4k`, layer from the hook), and every choice is checked there: a bad id or latent
 * list comes back as one line under the form, before any job starts.
 */
import { useState } from "react";
import type { Extraction } from "../api/types";
import { Button, ErrorLine, Field, Modal, num } from "../components/ui";
import { formatCount } from "../lib/format";
import { useCreateExport, type NeuronpediaExportConfig } from "./queries";

const SELECTIONS = [
  ["all", "All latents"],
  ["extracted", "Latents that fired"],
  ["labelled", "Labelled latents"],
  ["starred", "Starred latents"],
  ["list", "A list or ranges…"],
] as const;

const INCLUDES = [
  ["include_explanations", "Labels and scores (explanations)"],
  ["include_logit_lens", "Logit lens (top and bottom tokens)"],
  ["include_histograms", "Activation and logit histograms"],
  ["include_samples", "Quantile samples (activation intervals)"],
  ["include_top_tokens", "Top tokens (archive only)"],
  ["include_vectors", "Decoder vectors (steering)"],
  ["include_saelens", "SAE weights as a SAELens folder"],
] as const;

type Include = (typeof INCLUDES)[number][0];

export function ExportDialog({ extraction, onClose }: { extraction: Extraction; onClose: () => void }) {
  const [selection, setSelection] = useState<string>("all");
  const [list, setList] = useState("0-99");
  const [examples, setExamples] = useState("20");
  const [includes, setIncludes] = useState<Record<Include, boolean>>(
    Object.fromEntries(INCLUDES.map(([key]) => [key, true])) as Record<Include, boolean>,
  );
  const [ids, setIds] = useState({ model_id: "smollm2-135m", source_set: "", layer: "", creator_id: "" });
  const create = useCreateExport(() => onClose());
  const config: NeuronpediaExportConfig = {
    latents: selection === "list" ? list : selection,
    examples: num(examples),
    ...includes,
    model_id: ids.model_id.trim() || undefined,
    source_set: ids.source_set.trim() || null,
    layer: ids.layer.trim() ? num(ids.layer) : null,
    ...(ids.creator_id.trim() ? { creator_id: ids.creator_id.trim() } : {}),
  };
  const dSae = extraction.n_features;
  return (
    <Modal
      title="Export for Neuronpedia"
      onClose={onClose}
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button
            variant="primary"
            data-testid="export-submit"
            disabled={create.isPending}
            onClick={() => create.mutate({ extraction_id: extraction.id, config })}
          >
            Export
          </Button>
        </>
      }
    >
      <p className="text-xs text-slate-400">
        Writes the studio archive (features, explanations, SAELens weights) and Neuronpedia&apos;s bulk import folder; upload to a Neuronpedia
        instance from the export&apos;s row when it is done.
      </p>
      <div className="grid grid-cols-2 gap-3">
        <Field label="Latents" hint={dSae ? `${formatCount(dSae)} in this SAE` : undefined}>
          <select value={selection} onChange={(e) => setSelection(e.target.value)} data-testid="export-latents">
            {SELECTIONS.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Examples per latent" hint="top activations (at most what the extraction kept)">
          <input type="number" min={0} max={1000} value={examples} onChange={(e) => setExamples(e.target.value)} data-testid="export-examples" />
        </Field>
        {selection === "list" && (
          <Field label="Latent indices and ranges" className="col-span-2" hint="e.g. 0-99,512">
            <input value={list} onChange={(e) => setList(e.target.value)} data-testid="export-latent-list" />
          </Field>
        )}
        <Field label="Neuronpedia model id">
          <input value={ids.model_id} onChange={(e) => setIds({ ...ids, model_id: e.target.value })} data-testid="export-model-id" />
        </Field>
        <Field label="Source set" hint="empty: mistudio-{res|mlp|att}-{width}">
          <input
            value={ids.source_set}
            placeholder="from the SAE"
            onChange={(e) => setIds({ ...ids, source_set: e.target.value })}
            data-testid="export-source-set"
          />
        </Field>
        <Field label="Layer" hint="empty: the block number of the SAE's hook">
          <input type="number" min={0} value={ids.layer} placeholder="from the hook" onChange={(e) => setIds({ ...ids, layer: e.target.value })} />
        </Field>
        <Field label="Creator id" hint="empty: Neuronpedia's default user">
          <input value={ids.creator_id} placeholder="default user" onChange={(e) => setIds({ ...ids, creator_id: e.target.value })} />
        </Field>
      </div>
      <fieldset className="grid grid-cols-2 gap-x-3 gap-y-1.5 text-xs text-slate-300">
        <legend className="mb-1 text-xs font-medium text-slate-300">Each latent carries</legend>
        {INCLUDES.map(([key, label]) => (
          <label key={key} className="flex items-center gap-2">
            <input
              type="checkbox"
              checked={includes[key]}
              onChange={(e) => setIncludes({ ...includes, [key]: e.target.checked })}
              data-testid={`export-${key}`}
            />
            {label}
          </label>
        ))}
      </fieldset>
      <ErrorLine error={create.error} />
    </Modal>
  );
}
