/** A completion with and without the latent, and the loss it changes. */
import { useState } from "react";
import type { Feature } from "../api/types";
import { TokenBarChart } from "../components/charts";
import { tokenLabel } from "../lib/tokenLabel";
import { Button, Field, Stat } from "../components/ui";
import { formatNumber } from "../lib/format";
import { Unavailable } from "./Unavailable";
import { useAblation } from "./queries";

export function AblationTab({ feature }: { feature: Feature }) {
  const [prompt, setPrompt] = useState("def main():\n    ");
  const run = useAblation(feature.id);
  const r = run.data;
  const change = r ? (r.perplexity_ablated - r.perplexity_clean) / r.perplexity_clean : 0;
  return (
    <div className="space-y-3" data-testid="ablation">
      <Field label="Prompt for the completion comparison">
        <textarea rows={2} className="font-mono" value={prompt} onChange={(e) => setPrompt(e.target.value)} />
      </Field>
      <Button variant="primary" onClick={() => run.mutate(prompt)} disabled={run.isPending} data-testid="ablation-run">
        {run.isPending ? "Running…" : "Ablate this latent"}
      </Button>
      {run.error ? <Unavailable error={run.error} /> : null}
      {r && (
        <div className="space-y-3">
          <div className="grid grid-cols-3 gap-2">
            <Stat label="Perplexity (clean)" value={formatNumber(r.perplexity_clean)} />
            <Stat label="Perplexity (ablated)" value={formatNumber(r.perplexity_ablated)} />
            <Stat label="Change" value={`${change >= 0 ? "+" : ""}${formatNumber(change * 100, 3)}%`} />
          </div>
          <div className="grid gap-4 md:grid-cols-2">
            <div>
              <div className="mb-1 text-xs text-slate-400">Tokens made more likely without it</div>
              <TokenBarChart data={r.most_increased.map((t) => ({ token: tokenLabel(t.token), value: t.value }))} />
            </div>
            <div>
              <div className="mb-1 text-xs text-slate-400">Tokens made less likely without it</div>
              <TokenBarChart data={r.most_decreased.map((t) => ({ token: tokenLabel(t.token), value: t.value }))} />
            </div>
          </div>
          {(r.completion_clean !== null || r.completion_ablated !== null) && (
            <div className="grid gap-3 md:grid-cols-2">
              <div className="rounded-md border border-slate-800 p-2">
                <div className="mb-1 text-xs text-slate-400">Completion with the latent</div>
                <pre className="whitespace-pre-wrap font-mono text-xs text-slate-200">{r.completion_clean}</pre>
              </div>
              <div className="rounded-md border border-slate-800 p-2">
                <div className="mb-1 text-xs text-slate-400">Completion without it</div>
                <pre className="whitespace-pre-wrap font-mono text-xs text-slate-200">{r.completion_ablated}</pre>
              </div>
            </div>
          )}
        </div>
      )}
    </div>
  );
}
