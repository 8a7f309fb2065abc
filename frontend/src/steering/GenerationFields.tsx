/** Sampling settings of a steering run (shared by baseline and steered) and the optional strength sweep. */
import { Field } from "../components/ui";
import type { GenerationValues } from "./formState";

export function GenerationFields({
  gen,
  setGen,
  sweep,
  setSweep,
}: {
  gen: GenerationValues;
  setGen: (g: GenerationValues) => void;
  sweep: string;
  setSweep: (s: string) => void;
}) {
  return (
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
  );
}
