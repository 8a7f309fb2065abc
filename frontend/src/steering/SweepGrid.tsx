/** A strength sweep: one row per strength with its generation and metrics. */
import type { SteeringResult } from "../api/types";
import { Metrics } from "./Metrics";
import { Output } from "./Output";
import { PromptVariables } from "./PromptVariables";

export function SweepGrid({ result }: { result: SteeringResult }) {
  const strengths: (number | null)[] = [];
  for (const p of result.prompts) for (const s of p.steered) if (!strengths.includes(s.strength)) strengths.push(s.strength);
  return (
    <div className="overflow-x-auto">
      <table className="w-full table-fixed border-collapse text-left text-sm" data-testid="sweep-grid">
        <thead>
          <tr>
            <th className="w-20 p-2 text-[11px] uppercase text-slate-500">Strength</th>
            {result.prompts.map((p, i) => (
              <th key={i} className="min-w-[14rem] p-2 align-top text-xs font-normal text-slate-300">
                <span className="whitespace-pre-wrap">{p.prompt}</span>
                <div className="mt-1">
                  <PromptVariables variables={p.variables} />
                </div>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          <tr data-testid="sweep-baseline">
            <td className="p-2 align-top font-mono text-xs text-slate-400">baseline</td>
            {result.prompts.map((p, i) => (
              <td key={i} className="p-2 align-top">
                <Output text={p.baseline.text} />
              </td>
            ))}
          </tr>
          {strengths.map((st, r) => (
            <tr key={r} data-testid="sweep-row" className="border-t border-slate-800">
              <td className="p-2 align-top font-mono text-xs text-emerald-400">{st === null ? "as set" : st}</td>
              {result.prompts.map((p, i) => {
                const s = p.steered.find((x) => x.strength === st);
                return (
                  <td key={i} className="p-2 align-top">
                    {s ? (
                      <>
                        <Output text={s.text} />
                        {!s.finite && <p className="text-xs text-rose-300">{s.error ?? "not finite"}</p>}
                        <Metrics m={s.metrics} />
                      </>
                    ) : (
                      <span className="text-slate-600">–</span>
                    )}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
