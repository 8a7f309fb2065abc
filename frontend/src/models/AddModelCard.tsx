/**
 * Registering a model (Hub id, folder or GGUF). `trust_remote_code` needs a second confirmation, and a
 * Hub token lives in form state only, cleared once the model is accepted.
 */
import { useState } from "react";
import type { ModelCreate } from "../api/types";
import { Button, Card, ErrorLine, Field } from "../components/ui";
import { hubIdProblem, isLocalPath } from "../lib/hubId";
import { useAddModel } from "./queries";

const EMPTY_MODEL_FORM = { source: "", name: "", dtype: "float32", revision: "", token: "", trust: false, trustConfirmed: false };

export function AddModelCard() {
  // The token lives only in this form's state (never in storage) and is cleared once sent.
  const [form, setForm] = useState(EMPTY_MODEL_FORM);
  const create = useAddModel(() => setForm(EMPTY_MODEL_FORM));
  const source = form.source.trim();
  // A source that is not a local path must be a Hub id: `gpt2` as well as `org/name`.
  const sourceProblem = source && !isLocalPath(source) ? hubIdProblem(source) : null;
  const blocked = (form.trust && !form.trustConfirmed) || sourceProblem !== null;
  return (
    <Card title="Add a model" testId="add-model">
      <div className="grid gap-3 sm:grid-cols-2 lg:grid-cols-4">
        <Field label="Hub repo id, folder or .gguf" className="sm:col-span-2" hint="e.g. gpt2, HuggingFaceTB/SmolLM2-135M, /models/my-model, /models/x.gguf">
          <input value={form.source} onChange={(e) => setForm({ ...form, source: e.target.value })} placeholder="org/name" data-testid="model-source" />
          {sourceProblem && <span className="text-xs text-amber-300" data-testid="model-source-problem">{sourceProblem}</span>}
        </Field>
        <Field label="Display name">
          <input value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
        </Field>
        <Field label="Precision" hint="Weights are converted to this dtype after loading">
          <select value={form.dtype} onChange={(e) => setForm({ ...form, dtype: e.target.value })}>
            <option value="float32">float32</option>
            <option value="bfloat16">bfloat16</option>
            <option value="float16">float16</option>
          </select>
        </Field>
        <Field label="Revision">
          <input value={form.revision} onChange={(e) => setForm({ ...form, revision: e.target.value })} placeholder="main" />
        </Field>
        <Field label="Access token" hint="For gated or private Hub repos; never saved">
          <input
            type="password"
            autoComplete="off"
            value={form.token}
            onChange={(e) => setForm({ ...form, token: e.target.value })}
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
      <p className="mt-2 text-[11px] text-slate-500">Without an access token, gated Hub models use the server's HF_TOKEN.</p>
      <div className="mt-3 flex items-center gap-3">
        <Button
          variant="primary"
          disabled={!form.source.trim() || blocked || create.isPending}
          onClick={() =>
            create.mutate({
              source,
              name: form.name.trim() || null,
              dtype: form.dtype as ModelCreate["dtype"],
              revision: form.revision.trim() || null,
              trust_remote_code: form.trust,
              load: true,
              token: form.token.trim() || null,
            })
          }
        >
          Download & load
        </Button>
        <ErrorLine error={create.error} className="flex-1" />
      </div>
    </Card>
  );
}
