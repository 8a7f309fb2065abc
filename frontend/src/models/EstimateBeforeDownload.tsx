/**
 * What a model will need, before it downloads (issue 18 point 8): parameters, download size and
 * device memory for a batch in the chosen dtype or quantization, from the server's
 * `POST /models/estimate` (the repo's listing, config.json and safetensors headers: a few KB).
 */
import { Stat } from "../components/ui";
import { formatBytes, formatCount } from "../lib/format";
import type { ModelEstimate } from "./queries";

const PARAMS_FROM: Record<string, string> = {
  safetensors: "exact, from the weight headers",
  "file sizes": "from the weight files' sizes",
  config: "from config.json's shapes",
};

export function EstimateBeforeDownload({ estimate: e }: { estimate: ModelEstimate }) {
  const setting = e.weight_bytes === e.bytes_by_format["8bit"] || e.weight_bytes === e.bytes_by_format["4bit"];
  return (
    <div className="space-y-2" data-testid="model-estimate">
      <div className="grid grid-cols-2 gap-2 lg:grid-cols-5">
        <Stat label="Parameters" value={<span title={PARAMS_FROM[e.params_source]}>{formatCount(e.n_params)}</span>} />
        <Stat label="Download" value={e.download_bytes ? formatBytes(e.download_bytes) : "none (local)"} />
        <Stat label={setting ? "Weights (quantized)" : "Weights"} value={formatBytes(e.weight_bytes)} />
        <Stat label={`Activations + logits (${e.batch_size} × ${e.seq_len})`} value={formatBytes(e.activation_bytes + e.logits_bytes)} />
        <Stat label="Device memory" value={<span data-testid="estimate-total">{formatBytes(e.total_bytes)}</span>} />
      </div>
      <p className="text-[11px] text-slate-500">
        {e.family ?? "unknown family"} · {e.n_layers} layers · d_model {e.d_model} · vocab {formatCount(e.vocab_size)}
        {e.checkpoint_dtype ? ` · stored in ${e.checkpoint_dtype}` : ""} · parameters {PARAMS_FROM[e.params_source]}
        {e.gated ? " · gated: needs a token with access" : ""}
      </p>
    </div>
  );
}
