/** Baseline and steered generations side by side, per prompt, with their metrics and any sweep. */
import type { SteeringResult } from "../api/types";
import { Metrics } from "./Metrics";
import { Output } from "./Output";
import { PromptVariables } from "./PromptVariables";
import { SweepGrid } from "./SweepGrid";
import { metric, percent } from "./format";

/** Baseline and steered side by side per prompt (a template's prompts with the values they
 * filled in); with a sweep, a grid (rows strengths, columns prompts). */
export function CompareView({ result }: { result: SteeringResult }) {
  const sweep = result.prompts.some((p) => p.steered.length > 1 || (p.steered[0] && p.steered[0].strength !== null));
  return (
    <div className="mt-3 space-y-4" data-testid="steering-compare">
      {result.similarity_note && <p className="text-xs text-amber-300">{result.similarity_note}</p>}
      {sweep ? <SweepGrid result={result} /> : null}
      {!sweep &&
        result.prompts.map((p, i) => (
          <div key={i} className="space-y-2" data-testid="steering-prompt-result">
            <div className="flex flex-wrap items-center gap-2 text-xs text-slate-400">
              <span>
                Prompt: <span className="whitespace-pre-wrap text-slate-200">{p.prompt}</span>
              </span>
              <PromptVariables variables={p.variables} />
            </div>
            <div className="grid gap-3 md:grid-cols-2">
              <div>
                <div className="mb-1 text-[11px] uppercase tracking-wide text-slate-500">
                  Baseline · ppl {metric(p.baseline.perplexity, 2)}
                  {p.baseline.fire_rate !== undefined && <> · fires {percent(p.baseline.fire_rate)}</>}
                </div>
                <Output text={p.baseline.text} />
              </div>
              {p.steered.map((s, j) => (
                <div key={j}>
                  <div className="mb-1 text-[11px] uppercase tracking-wide text-emerald-400">Steered</div>
                  <Output text={s.text} />
                  {!s.finite && <p className="text-xs text-rose-300">{s.error ?? "not finite"}</p>}
                  <Metrics m={s.metrics} />
                </div>
              ))}
            </div>
          </div>
        ))}
    </div>
  );
}
