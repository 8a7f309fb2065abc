/** A new steering run: pick features from an extraction, set their interventions, prompts, sampling and sweep. */
import { useState } from "react";
import type { Feature, SteeringCreate } from "../api/types";
import { Button, Card, ErrorLine, Field, num, IdOptions } from "../components/ui";
import { formatNumber } from "../lib/format";
import { PickerFeature } from "./PickerFeature";
import { PromptEditor } from "./PromptEditor";
import { type Mode, type PickedFeature, parseStrengths, withFeatures } from "./picking";
import { useFeatureSearch, useStartSteering } from "./queries";
import { useExtractionChoice } from "../features/queries";

export function SteeringForm({ onStarted }: { onStarted: (id: number) => void }) {
  const { ready, extractionId, setExtractionId } = useExtractionChoice();
  const extraction = ready.find((e) => e.id === extractionId);
  const [q, setQ] = useState("");
  const search = useFeatureSearch(extractionId, q);
  const [picked, setPicked] = useState<PickedFeature[]>([]);
  const [prompts, setPrompts] = useState<string[]>(["The weather today is"]);
  const [gen, setGen] = useState({ max_new_tokens: "40", temperature: "0.7", top_p: "0.9", seed: "0" });
  const [sweep, setSweep] = useState("");
  const [formError, setFormError] = useState<string | null>(null);

  const addFeatures = (fs: Feature[], strength: number) => {
    if (extraction) setPicked(withFeatures(picked, fs, extraction, strength));
  };
  // One feature at 4x its max activation; a group at 1x each, since their pushes add up.
  const add = (f: Feature) => addFeatures([f], 4);
  const addAll = (fs: Feature[]) => addFeatures(fs, 1);
  const update = (i: number, patch: Partial<PickedFeature>) => setPicked(picked.map((p, j) => (j === i ? { ...p, ...patch } : p)));

  const start = useStartSteering((run) => onStarted(run.id));
  const submit = () =>
    start.mutate(() => {
      setFormError(null);
      const strengths = parseStrengths(sweep);
      if (strengths === null) throw new Error("sweep strengths: numbers separated by commas, e.g. 0,2,4,8,16");
      const body: SteeringCreate = {
        features: picked.map((p) => ({
          sae_id: p.sae_id,
          extraction_id: p.extraction_id,
          index: p.index,
          mode: p.mode,
          strength: p.strength,
          relative: p.relative,
        })),
        prompts: prompts.map((p) => p).filter((p) => p.trim() !== ""),
        generation: {
          max_new_tokens: num(gen.max_new_tokens) ?? 40,
          temperature: num(gen.temperature) ?? 0.7,
          top_p: num(gen.top_p) ?? 0.9,
          seed: num(gen.seed) ?? 0,
        },
        strengths: strengths.length ? strengths : null,
      };
      if (!body.features.length) throw new Error("add at least one feature");
      if (!body.prompts.length) throw new Error("write at least one prompt");
      return body;
    });

  return (
    <Card title="New steering run" testId="steering-form">
      <div className="space-y-4">
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
            <Button className="px-2 py-0.5 text-xs" onClick={() => addAll(search.data.items)} data-testid="steering-add-all">
              Add all {search.data.items.length}
            </Button>
          </div>
        )}
        {search.data && (
          <ul className="max-h-40 overflow-y-auto rounded-md border border-slate-800 text-sm" data-testid="steering-results">
            {search.data.items.map((f) => (
              <li key={f.id} className="flex items-center justify-between gap-2 border-b border-slate-800/60 px-3 py-1">
                <PickerFeature feature={f} />
                <Button className="px-2 py-0.5 text-xs" onClick={() => add(f)}>
                  Add
                </Button>
              </li>
            ))}
            {search.data.items.length === 0 && <li className="px-3 py-2 text-slate-500">no match</li>}
          </ul>
        )}
        {picked.length > 0 && (
          <div className="space-y-2" data-testid="steering-picked">
            {picked.map((p, i) => (
              <div key={`${p.sae_id}-${p.index}`} className="grid items-center gap-2 rounded-md bg-slate-800/50 p-2 text-sm md:grid-cols-[minmax(8rem,1fr)_7rem_minmax(10rem,1.5fr)_6rem_auto_auto]">
                <span className="truncate">
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
        )}
        <PromptEditor prompts={prompts} setPrompts={setPrompts} />
        <div className="grid grid-cols-2 gap-3 md:grid-cols-5">
          <Field label="Max tokens">
            <input type="number" min={1} value={gen.max_new_tokens} onChange={(e) => setGen({ ...gen, max_new_tokens: e.target.value })} data-testid="steering-max-tokens" />
          </Field>
          <Field label="Temperature">
            <input type="number" min={0} step="0.05" value={gen.temperature} onChange={(e) => setGen({ ...gen, temperature: e.target.value })} />
          </Field>
          <Field label="Top-p">
            <input type="number" min={0} max={1} step="0.05" value={gen.top_p} onChange={(e) => setGen({ ...gen, top_p: e.target.value })} />
          </Field>
          <Field label="Seed">
            <input type="number" value={gen.seed} onChange={(e) => setGen({ ...gen, seed: e.target.value })} />
          </Field>
          <Field label="Sweep strengths" hint="optional, e.g. 0,2,4,8,16">
            <input value={sweep} onChange={(e) => setSweep(e.target.value)} data-testid="steering-sweep" />
          </Field>
        </div>
        {formError && <ErrorLine error={formError} />}
        <ErrorLine error={start.error} />
        <div className="flex justify-end">
          <Button variant="primary" onClick={submit} disabled={start.isPending} data-testid="steering-run">
            Run
          </Button>
        </div>
      </div>
    </Card>
  );
}
