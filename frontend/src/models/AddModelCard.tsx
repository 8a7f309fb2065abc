/**
 * Registering a model (Hub id, folder or GGUF). `trust_remote_code` needs a second confirmation, and a
 * Hub token lives in form state only, cleared once the model is accepted. The source field suggests
 * Hub repos while typing; 8-bit / 4-bit quantization is offered where the server's bitsandbytes
 * supports its device (otherwise the option is disabled with the server's reason); "Estimate memory"
 * asks the server what the model needs before anything large downloads.
 */
import { useState } from "react";
import type { ModelCreate } from "../api/types";
import { HubIdInput } from "../components/HubIdInput";
import { Button, Card, ErrorLine, Field } from "../components/ui";
import { hubIdProblem, isLocalPath } from "../lib/hubId";
import { EstimateBeforeDownload } from "./EstimateBeforeDownload";
import { useAddModel, useModelEstimate, useQuantization } from "./queries";

const EMPTY_MODEL_FORM = {
  source: "",
  name: "",
  dtype: "float32",
  quantization: "none",
  revision: "",
  token: "",
  trust: false,
  trustConfirmed: false,
};
const QUANTIZATION_LABELS: Record<string, string> = { none: "none", "8bit": "8-bit (bitsandbytes)", "4bit": "4-bit (bitsandbytes)" };

/**
 * One line for every quantization the server cannot load: the server words each reason for its
 * own option ("8bit quantization needs ..."), and where two reasons differ only by that name they
 * are said once for both ("8bit and 4bit quantization needs ..."), so the 4-bit reason is not lost.
 */
export function unavailableLine(options: readonly { name: string; reason?: string | null }[]): string {
  const groups = new Map<string, string[]>();
  for (const q of options) {
    const reason = q.reason ?? `${q.name} is unavailable`;
    const key = reason.split(q.name).join("\u0000");
    groups.set(key, [...(groups.get(key) ?? []), q.name]);
  }
  return [...groups]
    .map(([key, names]) => key.split("\u0000").join(names.length > 1 ? names.join(" and ") : names[0]))
    .join("; ");
}

export function AddModelCard() {
  // The token lives only in this form's state (never in storage) and is cleared once sent.
  const [form, setForm] = useState(EMPTY_MODEL_FORM);
  const estimate = useModelEstimate();
  const create = useAddModel(() => {
    setForm(EMPTY_MODEL_FORM);
    estimate.reset();
  });
  const quantization = useQuantization();
  const source = form.source.trim();
  // A source that is not a local path must be a Hub id: `gpt2` as well as `org/name`.
  const sourceProblem = source && !isLocalPath(source) ? hubIdProblem(source) : null;
  const blocked = (form.trust && !form.trustConfirmed) || sourceProblem !== null;
  // Until the server answers (or if it cannot), only "none" is offered.
  const options = Array.isArray(quantization.data) ? quantization.data : [{ name: "none", available: true, reason: null }];
  const unavailable = options.filter((q) => !q.available);
  // Every change of the form makes a shown estimate stale: drop it.
  const edit = (patch: Partial<typeof EMPTY_MODEL_FORM>) => {
    setForm({ ...form, ...patch });
    if (estimate.data || estimate.error) estimate.reset();
  };
  const estimateBody = () => ({
    source,
    revision: form.revision.trim() || null,
    dtype: form.dtype as ModelCreate["dtype"],
    quantization: form.quantization as ModelCreate["quantization"],
    token: form.token.trim() || null,
  });
  return (
    <Card title="Add a model" testId="add-model">
      <div className="grid gap-3 sm:grid-cols-2 lg:grid-cols-4">
        <Field label="Hub repo id, folder or .gguf" className="sm:col-span-2" hint="e.g. gpt2, HuggingFaceTB/SmolLM2-135M, /models/my-model, /models/x.gguf">
          <HubIdInput kind="models" value={form.source} onChange={(value) => edit({ source: value })} placeholder="org/name" testId="model-source" />
          {sourceProblem && <span className="text-xs text-amber-300" data-testid="model-source-problem">{sourceProblem}</span>}
        </Field>
        <Field label="Display name">
          <input value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
        </Field>
        <Field label="Precision" hint="Weights are converted to this dtype after loading">
          <select value={form.dtype} onChange={(e) => edit({ dtype: e.target.value })}>
            <option value="float32">float32</option>
            <option value="bfloat16">bfloat16</option>
            <option value="float16">float16</option>
          </select>
        </Field>
        <Field label="Quantization" hint={form.quantization !== "none" ? "Precision is then the compute dtype" : "Fewer bytes per weight, through bitsandbytes"}>
          <select value={form.quantization} onChange={(e) => edit({ quantization: e.target.value })} data-testid="model-quantization">
            {options.map((q) => (
              <option key={q.name} value={q.name} disabled={!q.available} title={q.reason ?? undefined}>
                {QUANTIZATION_LABELS[q.name] ?? q.name}
                {q.available ? "" : " (unavailable)"}
              </option>
            ))}
          </select>
          {unavailable.length > 0 && (
            <span className="text-[11px] text-slate-500" data-testid="quantization-unavailable">
              {unavailableLine(unavailable)}
            </span>
          )}
        </Field>
        <Field label="Revision">
          <input value={form.revision} onChange={(e) => edit({ revision: e.target.value })} placeholder="main" />
        </Field>
        <Field label="Access token" hint="For gated or private Hub repos; never saved">
          <input
            type="password"
            autoComplete="off"
            value={form.token}
            onChange={(e) => edit({ token: e.target.value })}
            data-testid="model-token"
          />
        </Field>
        <div className="flex flex-col gap-2 sm:col-span-3">
          <label className="flex items-center gap-2 text-sm text-slate-300">
            <input type="checkbox" checked={form.trust} onChange={(e) => setForm({ ...form, trust: e.target.checked, trustConfirmed: false })} />
            trust remote code
          </label>
          {form.trust && (
            <div className="rounded-md border border-amber-700 bg-amber-950/50 p-3 text-xs text-amber-200" role="alert">
              Remote code runs Python shipped with the repository on this server, with the studio's permissions. Only enable it
              for repositories you trust.
              <label className="mt-2 flex items-center gap-2 text-amber-100">
                <input type="checkbox" checked={form.trustConfirmed} onChange={(e) => setForm({ ...form, trustConfirmed: e.target.checked })} />
                I trust this repository
              </label>
            </div>
          )}
        </div>
      </div>
      <p className="mt-2 text-[11px] text-slate-500">
        Without an access token, gated Hub models use the server's HF_TOKEN. The token is used for this download only and is
        never saved or shown again.
      </p>
      {estimate.data && <div className="mt-3"><EstimateBeforeDownload estimate={estimate.data} /></div>}
      <div className="mt-3 flex items-center gap-3">
        <Button
          variant="primary"
          disabled={!form.source.trim() || blocked || create.isPending}
          onClick={() =>
            create.mutate({
              source,
              name: form.name.trim() || null,
              dtype: form.dtype as ModelCreate["dtype"],
              quantization: form.quantization as ModelCreate["quantization"],
              revision: form.revision.trim() || null,
              trust_remote_code: form.trust,
              load: true,
              token: form.token.trim() || null,
            })
          }
        >
          Download & load
        </Button>
        <Button
          disabled={!source || sourceProblem !== null || estimate.isPending}
          onClick={() => estimate.mutate(estimateBody())}
          data-testid="model-estimate-button"
        >
          {estimate.isPending ? "Estimating…" : "Estimate memory"}
        </Button>
        <ErrorLine error={create.error ?? estimate.error} className="flex-1" />
      </div>
    </Card>
  );
}
