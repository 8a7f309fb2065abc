/** Models: register and download (Hub, folder, GGUF, built-in), load progress with ETA,
 * architecture viewer with hook points and memory estimate, and the activation-caching dialog. */
import { useMemo, useState } from "react";
import { api } from "../api/client";
import { useActivationCaches, useApiMutation, useModels, useTokenizations } from "../api/hooks";
import type { ActivationCacheCreate, ArchitectureSummary, Model, ModelCreate } from "../api/types";
import { LayerGrid } from "../components/LayerGrid";
import { JobProgress } from "../components/ProgressBar";
import { Button, Card, Empty, ErrorLine, Field, Modal, PanelHeader, Stat, StatusPill, num } from "../components/ui";
import { architectureOf, cacheDiskBytes, forwardSeconds, inferenceMemory, modelWeightBytes } from "../lib/estimates";
import { isBusy } from "../lib/status";
import { formatBytes, formatCount, formatEta } from "../lib/format";
import { useSystemStore } from "../ws/live";

export const HOOK_KINDS = ["resid_post", "resid_pre", "resid_mid", "attn_out", "mlp_in", "mlp_out"] as const;

export function ModelsPanel() {
  const models = useModels();
  const caches = useActivationCaches();
  const [archOf, setArchOf] = useState<Model | null>(null);
  const [cacheFor, setCacheFor] = useState<Model | null>(null);
  return (
    <div className="space-y-6">
      <PanelHeader title="Models" subtitle="Language models whose activations the SAEs read." />
      <AddModelCard />
      <ErrorLine error={models.error} />
      <div className="grid gap-4 lg:grid-cols-2 2xl:grid-cols-3">
        {models.data?.items.map((m) => (
          <ModelCard key={m.id} model={m} onArchitecture={() => setArchOf(m)} onCache={() => setCacheFor(m)} />
        ))}
      </div>
      {models.data?.items.length === 0 && <Empty>No models registered.</Empty>}
      {(caches.data?.items.length ?? 0) > 0 && (
        <Card title="Activation caches">
          <div className="space-y-2">
            {caches.data?.items.map((c) => (
              <div key={c.id} className="rounded-md border border-slate-800 p-2 text-xs">
                <div className="flex items-center gap-2">
                  <span className="font-medium text-slate-200">{c.name}</span>
                  {!isBusy(c.status) && <StatusPill status={c.status} />}
                  <span className="ml-auto font-mono text-slate-400">
                    {c.hook_points.length} hooks · {formatCount(c.n_tokens)} tokens
                  </span>
                </div>
                {c.status !== "ready" && (
                  <div className="mt-2">
                    <JobProgress jobId={c.job_id} />
                  </div>
                )}
              </div>
            ))}
          </div>
        </Card>
      )}
      {archOf && <ArchitectureDialog model={archOf} onClose={() => setArchOf(null)} />}
      {cacheFor && <CacheDialog model={cacheFor} onClose={() => setCacheFor(null)} />}
    </div>
  );
}

const EMPTY_MODEL_FORM = { source: "", name: "", dtype: "float32", revision: "", token: "", trust: false, trustConfirmed: false };

function AddModelCard() {
  // The token lives only in this form's state (never in storage) and is cleared once sent.
  const [form, setForm] = useState(EMPTY_MODEL_FORM);
  const create = useApiMutation((body: ModelCreate) => api.post("/models", body), ["models"], () => setForm(EMPTY_MODEL_FORM));
  const blocked = form.trust && !form.trustConfirmed;
  return (
    <Card title="Add a model" testId="add-model">
      <div className="grid gap-3 sm:grid-cols-2 lg:grid-cols-4">
        <Field label="Hub repo id, folder or .gguf" className="sm:col-span-2" hint="e.g. HuggingFaceTB/SmolLM2-135M, /models/my-model, /models/x.gguf">
          <input value={form.source} onChange={(e) => setForm({ ...form, source: e.target.value })} placeholder="org/name" />
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
              source: form.source.trim(),
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

function ModelCard({ model: m, onArchitecture, onCache }: { model: Model; onArchitecture: () => void; onCache: () => void }) {
  const load = useApiMutation(() => api.post(`/models/${m.id}/load`), ["models"]);
  const remove = useApiMutation(() => api.del(`/models/${m.id}`), ["models"]);
  const arch = architectureOf(m);
  return (
    <Card
      testId={`model-${m.id}`}
      title={
        <div className="space-y-1">
          <div className="flex items-center gap-2">
            <span className="truncate">{m.name}</span>
            {!isBusy(m.status) && <StatusPill status={m.status} />}
            {m.builtin && <span className="rounded bg-slate-800 px-1.5 py-0.5 text-[10px] text-slate-400">built-in</span>}
          </div>
          <div className="truncate text-xs font-normal text-slate-500">
            {m.source_kind} · {m.source}
          </div>
        </div>
      }
      actions={
        <>
          {m.status === "ready" ? (
            <Button onClick={onArchitecture} data-testid="architecture-open">
              Architecture
            </Button>
          ) : !isBusy(m.status) ? (
            <Button variant="primary" onClick={() => load.mutate(undefined)} data-testid="model-load">
              Load
            </Button>
          ) : null}
        </>
      }
    >
      <div className="grid grid-cols-3 gap-2">
        <Stat label="Family" value={m.family ?? "–"} />
        <Stat label="Parameters" value={formatCount(m.n_params)} />
        <Stat label="Layers" value={arch?.n_layers ?? "–"} />
      </div>
      {(isBusy(m.status) || m.status === "failed") && (
        <div className="mt-3">
          <JobProgress jobId={m.job_id} />
        </div>
      )}
      {m.error && !m.job_id && <ErrorLine error={m.error} className="mt-3" />}
      <div className="mt-3 flex gap-2">
        {m.status === "ready" && (
          <Button variant="ghost" onClick={onCache}>
            Cache activations
          </Button>
        )}
        {!m.builtin && (
          <Button variant="ghost" className="ml-auto text-rose-300" onClick={() => confirm(`Forget model ${m.name}?`) && remove.mutate(undefined)}>
            Delete
          </Button>
        )}
      </div>
      <ErrorLine error={load.error ?? remove.error} className="mt-2" />
    </Card>
  );
}

/** Hook points grouped by layer: {layer: [kind...]}. */
export function hooksByLayer(hooks: string[]): Map<number, string[]> {
  const map = new Map<number, string[]>();
  for (const h of hooks) {
    const m = /^blocks\.(\d+)\.hook_(\w+)$/.exec(h);
    if (!m) continue;
    const layer = Number(m[1]);
    map.set(layer, [...(map.get(layer) ?? []), m[2]]);
  }
  return map;
}

function ArchitectureDialog({ model, onClose }: { model: Model; onClose: () => void }) {
  const arch = architectureOf(model);
  const weights = modelWeightBytes(model);
  const byLayer = useMemo(() => hooksByLayer(arch?.hook_points ?? Object.keys(model.hook_dims ?? {})), [arch, model]);
  const dims = (model.hook_dims ?? {}) as Record<string, number>;
  return (
    <Modal title={`${model.name}: architecture`} onClose={onClose} wide>
      {!arch ? (
        <Empty>Load the model to inspect it.</Empty>
      ) : (
        <div className="space-y-4" data-testid="architecture">
          <div className="grid grid-cols-3 gap-2 md:grid-cols-5">
            <Stat label="Family" value={arch.family} />
            <Stat label="Layers" value={arch.n_layers} testId="arch-layers" />
            <Stat label="d_model" value={arch.d_model} />
            <Stat label="d_mlp" value={arch.d_mlp} />
            <Stat label="Heads (KV)" value={`${arch.n_heads} (${arch.n_kv_heads})`} />
            <Stat label="Vocabulary" value={formatCount(arch.vocab_size)} />
            <Stat label="Parameters" value={formatCount(arch.n_params)} />
            <Stat label="Context" value={formatCount(arch.context_length)} />
            <Stat label="dtype" value={arch.dtype} />
            <Stat label="Hook points" value={arch.hook_points.length} />
          </div>
          <MemoryEstimate arch={arch} weights={weights} />
          <div>
            <div className="mb-1 text-xs text-slate-400">Hook points (width)</div>
            <div className="max-h-72 overflow-y-auto rounded-md border border-slate-800">
              <table className="w-full text-xs">
                <tbody>
                  {[...byLayer.entries()].map(([layer, kinds]) => (
                    <tr key={layer} className="border-b border-slate-800/60">
                      <td className="w-20 px-2 py-1 font-mono text-slate-400">block {layer}</td>
                      <td className="px-2 py-1">
                        <div className="flex flex-wrap gap-1">
                          {kinds.map((k) => (
                            <span key={k} className="rounded bg-slate-800 px-1.5 py-0.5 font-mono text-[11px] text-slate-300" title={`blocks.${layer}.hook_${k}`}>
                              {k}
                              <span className="text-slate-500"> {dims[`blocks.${layer}.hook_${k}`] ?? ""}</span>
                            </span>
                          ))}
                        </div>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </div>
        </div>
      )}
    </Modal>
  );
}

function MemoryEstimate({ arch, weights }: { arch: ArchitectureSummary; weights: number }) {
  return (
    <div className="grid grid-cols-3 gap-2" data-testid="memory-estimate">
      <Stat label="Weights" value={formatBytes(weights)} />
      <Stat label="Inference (batch 8 × 512)" value={formatBytes(inferenceMemory(arch, weights))} />
      <Stat label="Weights in float16" value={formatBytes(arch.n_params * 2)} />
    </div>
  );
}

function CacheDialog({ model, onClose }: { model: Model; onClose: () => void }) {
  const arch = architectureOf(model);
  const toks = useTokenizations({ model_id: model.id, status: "ready" });
  const gpu = (useSystemStore((s) => s.latest?.gpus.length) ?? 0) > 0;
  const [tokId, setTokId] = useState<number | null>(null);
  const [layers, setLayers] = useState<number[]>([Math.floor((arch?.n_layers ?? 2) / 2)]);
  const [kind, setKind] = useState<string>("resid_post");
  const [batch, setBatch] = useState("8");
  const [maxTokens, setMaxTokens] = useState("100000");
  const [dtype, setDtype] = useState("float32");
  const create = useApiMutation((body: ActivationCacheCreate) => api.post("/activations", body), ["activations"], () => onClose());
  const tok = toks.data?.items.find((t) => t.id === tokId) ?? toks.data?.items[0];
  const hooks = layers.map((l) => `blocks.${l}.hook_${kind}`);
  const dims = (model.hook_dims ?? {}) as Record<string, number>;
  const widths = hooks.map((h) => dims[h] ?? arch?.d_model ?? 0);
  const tokens = Math.min(num(maxTokens) ?? Infinity, tok?.n_tokens ?? Infinity);
  const finiteTokens = Number.isFinite(tokens) ? tokens : 0;
  const deepest = layers.length ? Math.max(...layers) + 1 : 0;
  const seconds = arch ? forwardSeconds(finiteTokens, arch.n_params, gpu, deepest / arch.n_layers) : 0;
  return (
    <Modal
      title={`Cache activations of ${model.name}`}
      onClose={onClose}
      wide
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button
            variant="primary"
            disabled={!tok || hooks.length === 0 || create.isPending}
            onClick={() =>
              tok &&
              create.mutate({
                model_id: model.id,
                tokenization_id: tok.id,
                stream: {
                  hook_points: hooks,
                  batch_size: num(batch),
                  dtype: dtype as "float32",
                  max_tokens: num(maxTokens) ?? null,
                },
              })
            }
          >
            Cache
          </Button>
        </>
      }
    >
      <div className="grid grid-cols-2 gap-3 md:grid-cols-4">
        <Field label="Tokenized dataset" className="col-span-2" hint={toks.data?.items.length === 0 ? "Tokenize a dataset with this model first" : undefined}>
          <select value={tok?.id ?? ""} onChange={(e) => setTokId(Number(e.target.value))}>
            {toks.data?.items.map((t) => (
              <option key={t.id} value={t.id}>
                {t.name} ({formatCount(t.n_tokens)} tokens)
              </option>
            ))}
          </select>
        </Field>
        <Field label="Hook type">
          <select value={kind} onChange={(e) => setKind(e.target.value)}>
            {HOOK_KINDS.map((k) => (
              <option key={k}>{k}</option>
            ))}
          </select>
        </Field>
        <Field label="dtype">
          <select value={dtype} onChange={(e) => setDtype(e.target.value)}>
            <option>float32</option>
            <option>float16</option>
            <option>bfloat16</option>
          </select>
        </Field>
        <Field label="Batch size (sequences)">
          <input type="number" min={1} value={batch} onChange={(e) => setBatch(e.target.value)} />
        </Field>
        <Field label="Token limit">
          <input type="number" min={1} value={maxTokens} onChange={(e) => setMaxTokens(e.target.value)} />
        </Field>
      </div>
      <Field label="Layers">
        <LayerGrid layers={arch?.n_layers ?? 0} selected={layers} onChange={setLayers} />
      </Field>
      <div className="grid grid-cols-3 gap-2">
        <Stat label="Tokens" value={formatCount(finiteTokens)} />
        <Stat label="Disk" value={formatBytes(cacheDiskBytes(finiteTokens, widths, dtype))} />
        <Stat label={`Time (rough, ${gpu ? "GPU" : "CPU"})`} value={formatEta(seconds) || "–"} />
      </div>
      <ErrorLine error={create.error} />
    </Modal>
  );
}
