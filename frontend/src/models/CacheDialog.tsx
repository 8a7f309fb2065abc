/** Cache a model's activations at chosen hook points over a tokenization, with disk and time estimates. */
import { useState } from "react";
import { useTokenizations } from "../api/hooks";
import type { Model } from "../api/types";
import { LayerGrid } from "../components/LayerGrid";
import { Button, ErrorLine, Field, Modal, Stat, num, IdOptions } from "../components/ui";
import { architectureOf, cacheDiskBytes, forwardSeconds } from "../lib/estimates";
import { formatBytes, formatCount, formatEta } from "../lib/format";
import { useSystemStore } from "../ws/live";
import { HOOK_KINDS } from "./hookPoints";
import { useCacheActivations } from "./queries";

export function CacheDialog({ model, onClose }: { model: Model; onClose: () => void }) {
  const arch = architectureOf(model);
  const toks = useTokenizations({ model_id: model.id, status: "ready" });
  const gpu = (useSystemStore((s) => s.latest?.gpus.length) ?? 0) > 0;
  const [tokId, setTokId] = useState<number | null>(null);
  const [layers, setLayers] = useState<number[]>([Math.floor((arch?.n_layers ?? 2) / 2)]);
  const [kind, setKind] = useState<string>("resid_post");
  const [batch, setBatch] = useState("8");
  const [maxTokens, setMaxTokens] = useState("100000");
  const [dtype, setDtype] = useState("float32");
  const create = useCacheActivations(() => onClose());
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
            <IdOptions items={toks.data?.items} label={(t) => `${t.name} (${formatCount(t.n_tokens)} tokens)`} />
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
