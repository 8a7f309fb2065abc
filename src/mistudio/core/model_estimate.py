"""How much memory a model will need, known before anything large downloads.

For a Hub id: the repo's file listing (sizes, one request), its ``config.json`` (a few KB) and,
when it has safetensors, the tensor headers (``HfApi.get_safetensors_metadata``: a Range request
of the first bytes of each shard), which give the exact parameter count per dtype. For a local
folder the same three things are read from disk. GGUF and built-in models are not estimated here:
their weights are one file that is dequantized on load, and their card shows the loaded figures.

The parameter count comes from the best source there is, and the answer says which:
``safetensors`` (exact), ``file sizes`` (weight files divided by the checkpoint dtype's bytes) or
``config`` (the usual transformer shapes: embedding, attention with grouped KV heads, a gated or
plain MLP, an untied head).

Memory at run time (what the dialog shows) is weights + activations + logits for one batch:

- weights in the chosen dtype or quantization (:func:`weight_bytes_by_format`);
- activations of one layer's forward, ``batch x seq x (6 d_model + 2 d_mlp)`` values in the
  compute dtype (the residual stream, attention projections and MLP hidden, kept while a layer
  runs; inference keeps no graph), the same rule the studio used from a loaded architecture;
- logits ``batch x seq x vocab`` in float32, which a full forward materialises and which dominate
  for small models with large vocabularies.
"""

from __future__ import annotations

import fnmatch
import json
import struct
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from mistudio.core.config import DocumentedModel
from mistudio.core.language_models import (
    HUB_MODEL_PATTERNS,
    DType,
    Quantization,
    hub_model_errors,
    resolve_source,
    weight_bytes_by_format,
)
from mistudio.errors import InvalidInputError

ParamsSource = Literal["safetensors", "file sizes", "config"]

_DTYPE_BYTES = {
    "F64": 8,
    "F32": 4,
    "F16": 2,
    "BF16": 2,
    "I64": 8,
    "I32": 4,
    "I16": 2,
    "I8": 1,
    "U8": 1,
    "BOOL": 1,
    "F8_E4M3": 1,
    "F8_E5M2": 1,
    "float32": 4,
    "float16": 2,
    "bfloat16": 2,
    "float64": 8,
}
"""Bytes per value of safetensors dtypes and config ``torch_dtype`` names."""

GATED_MLP_FAMILIES = frozenset(
    {"llama", "mistral", "mixtral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3_text", "phi3"}
)
"""Families whose MLP has three matrices (gate, up, down), for the config-only count."""


class EstimateRequest(DocumentedModel):
    """A model source and the settings it would run with."""

    source: str = Field(min_length=1, max_length=4096)
    """Hub repo id or local folder in HuggingFace layout."""
    revision: str | None = Field(default=None, max_length=200)
    """Hub branch, tag or commit (default: main)."""
    dtype: DType = "float32"
    """Weight dtype after loading (the compute dtype when quantized)."""
    quantization: Quantization = "none"
    """8-bit or 4-bit weights through bitsandbytes."""
    batch_size: int = Field(default=8, ge=1, le=4096)
    """Sequences per forward pass."""
    seq_len: int = Field(default=512, ge=1, le=1 << 20)
    """Tokens per sequence."""


class ModelEstimate(DocumentedModel):
    """What a model will need, before it is downloaded."""

    source: str
    """The source estimated."""
    sha: str | None
    """The Hub commit read (None for a folder)."""
    gated: bool
    """Whether the repo's files need a token with access."""
    family: str | None
    """``model_type`` from its config."""
    n_layers: int
    """Transformer blocks."""
    d_model: int
    """Residual-stream width."""
    d_mlp: int
    """MLP hidden width."""
    vocab_size: int
    """Vocabulary size."""
    context_length: int
    """Longest context its config allows (0 when it does not say)."""
    n_params: int
    """Parameters (tied embedding and unembedding counted once)."""
    params_source: ParamsSource
    """Where ``n_params`` comes from: safetensors headers (exact), weight file sizes, or the
    config's shapes."""
    checkpoint_dtype: str | None
    """The dtype the weights are stored in (its config's ``torch_dtype``, or the headers')."""
    download_bytes: int
    """Bytes a load downloads (config, tokenizer and weight files; 0 for a folder)."""
    bytes_by_format: dict[str, int]
    """``float32``, ``float16``, ``bfloat16``, ``8bit``, ``4bit`` -> bytes of weights."""
    weight_bytes: int
    """Weights in the asked dtype or quantization."""
    activation_bytes: int
    """One layer's activations for the batch, in the compute dtype."""
    logits_bytes: int
    """Logits for the batch in float32."""
    total_bytes: int
    """Weights + activations + logits: the device memory one batch needs."""
    batch_size: int
    """The batch the figures are for."""
    seq_len: int
    """The sequence length the figures are for."""


def _first(config: dict[str, Any], *keys: str) -> int | None:
    for key in keys:
        value = config.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


class _Shapes:
    """The shapes an estimate needs, read from a ``config.json`` (top level or ``text_config``)."""

    def __init__(self, raw: dict[str, Any]) -> None:
        text = raw.get("text_config")
        config = (
            {**text, **{k: v for k, v in raw.items() if k in ("model_type",)}}
            if (isinstance(text, dict) and _first(raw, "hidden_size", "n_embd", "d_model") is None)
            else raw
        )
        d_model = _first(config, "hidden_size", "n_embd", "d_model")
        n_layers = _first(config, "num_hidden_layers", "n_layer", "num_layers")
        vocab = _first(config, "vocab_size")
        if d_model is None or n_layers is None or vocab is None:
            raise InvalidInputError(
                "its config.json does not give the width, layer count and vocabulary size "
                "(hidden_size / n_embd, num_hidden_layers / n_layer, vocab_size)"
            )
        self.family = str(config.get("model_type") or raw.get("model_type") or "") or None
        self.d_model, self.n_layers, self.vocab_size = d_model, n_layers, vocab
        self.d_mlp = _first(config, "intermediate_size", "n_inner", "ffn_dim") or 4 * d_model
        self.n_heads = _first(config, "num_attention_heads", "n_head") or 1
        self.n_kv_heads = _first(config, "num_key_value_heads") or self.n_heads
        self.context = _first(config, "max_position_embeddings", "n_positions", "n_ctx") or 0
        dtype = config.get("torch_dtype") or config.get("dtype") or raw.get("torch_dtype")
        self.dtype = str(dtype) if isinstance(dtype, str) else None
        self.tied = bool(config.get("tie_word_embeddings", raw.get("tie_word_embeddings", True)))

    def params_from_config(self) -> int:
        d, kv = self.d_model, self.d_model * self.n_kv_heads // max(self.n_heads, 1)
        attention = d * d * 2 + d * kv * 2  # q, o; k, v (grouped heads)
        matrices = 3 if self.family in GATED_MLP_FAMILIES else 2
        mlp = matrices * d * self.d_mlp
        norms = 2 * d
        embed = self.vocab_size * d * (1 if self.tied else 2)
        return self.n_layers * (attention + mlp + norms) + embed + d


def _count_from_headers(headers: list[dict[str, Any]]) -> tuple[int, str | None]:
    """Parameters and the most common dtype in safetensors headers (``__metadata__`` skipped)."""
    total = 0
    by_dtype: dict[str, int] = {}
    for header in headers:
        for name, tensor in header.items():
            if name == "__metadata__" or not isinstance(tensor, dict):
                continue
            n = 1
            for dim in tensor.get("shape", []):
                n *= int(dim)
            total += n
            by_dtype[str(tensor.get("dtype"))] = by_dtype.get(str(tensor.get("dtype")), 0) + n
    return total, (max(by_dtype, key=by_dtype.__getitem__) if by_dtype else None)


def _read_header(path: Path) -> dict[str, Any]:
    with path.open("rb") as handle:
        (length,) = struct.unpack("<Q", handle.read(8))
        if length > 100_000_000:
            raise InvalidInputError(f"{path.name} is not a safetensors file (header too long)")
        header: dict[str, Any] = json.loads(handle.read(length))
    return header


def _finish(
    request: EstimateRequest,
    shapes: _Shapes,
    n_params: int,
    params_source: ParamsSource,
    checkpoint_dtype: str | None,
    download_bytes: int,
    sha: str | None,
    gated: bool,
) -> ModelEstimate:
    by_format = weight_bytes_by_format(n_params, shapes.vocab_size, shapes.d_model)
    weights = by_format[request.quantization if request.quantization != "none" else request.dtype]
    tokens = request.batch_size * request.seq_len
    compute_bytes = _DTYPE_BYTES[request.dtype]
    activations = tokens * (6 * shapes.d_model + 2 * shapes.d_mlp) * compute_bytes
    logits = tokens * shapes.vocab_size * 4
    return ModelEstimate(
        source=request.source,
        sha=sha,
        gated=gated,
        family=shapes.family,
        n_layers=shapes.n_layers,
        d_model=shapes.d_model,
        d_mlp=shapes.d_mlp,
        vocab_size=shapes.vocab_size,
        context_length=shapes.context,
        n_params=n_params,
        params_source=params_source,
        checkpoint_dtype=checkpoint_dtype,
        download_bytes=download_bytes,
        bytes_by_format=by_format,
        weight_bytes=weights,
        activation_bytes=activations,
        logits_bytes=logits,
        total_bytes=weights + activations + logits,
        batch_size=request.batch_size,
        seq_len=request.seq_len,
    )


def _params_from_sizes(
    shapes: _Shapes, weight_sizes: list[int], header_dtype: str | None
) -> tuple[int, ParamsSource]:
    per_value = _DTYPE_BYTES.get(header_dtype or shapes.dtype or "float32", 4)
    if weight_sizes:
        return sum(weight_sizes) // per_value, "file sizes"
    return shapes.params_from_config(), "config"


def _wanted(path: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatch(path, p) for p in patterns)


def estimate_hub_model(
    request: EstimateRequest, token: str | None = None, cache_dir: Path | None = None
) -> ModelEstimate:
    """Estimate a Hub model from its listing, config and safetensors headers (KBs, not GBs)."""
    # deferred: a heavy library (seconds to import), needed only when this runs
    from huggingface_hub import HfApi, hf_hub_download

    repo_id, revision = request.source, request.revision
    api = HfApi()
    with hub_model_errors(repo_id, revision, token):
        info = api.model_info(repo_id, revision=revision, token=token, files_metadata=True)
        sha = info.sha or revision
        files = {s.rfilename: int(s.size or 0) for s in info.siblings or []}
        config_path = hf_hub_download(
            repo_id, "config.json", revision=sha, token=token, cache_dir=cache_dir
        )
        shapes = _Shapes(_load_json(Path(config_path)))
        safetensors = [f for f in files if f.endswith(".safetensors")]
        patterns = list(HUB_MODEL_PATTERNS) + ([] if safetensors else ["*.bin"])
        n_params: int | None = None
        header_dtype: str | None = None
        source: ParamsSource = "safetensors"
        if safetensors:
            meta = api.get_safetensors_metadata(repo_id, revision=sha, token=token)
            counts = dict(meta.parameter_count)
            if counts:
                n_params = sum(counts.values())
                header_dtype = max(counts, key=counts.__getitem__)
    weights = [size for f, size in files.items() if f.endswith((".safetensors", ".bin"))]
    if n_params is None:
        n_params, source = _params_from_sizes(shapes, weights, None)
    download = sum(size for f, size in files.items() if _wanted(f, patterns))
    return _finish(
        request,
        shapes,
        n_params,
        source,
        shapes.dtype or _torch_name(header_dtype),
        download,
        sha,
        bool(info.gated),
    )


def _torch_name(safetensors_dtype: str | None) -> str | None:
    names = {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}
    return names.get(safetensors_dtype or "", safetensors_dtype)


def _load_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise InvalidInputError(f"cannot read {path.name}: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidInputError(f"{path.name} is not a JSON object")
    return data


def estimate_folder_model(request: EstimateRequest, folder: Path) -> ModelEstimate:
    """Estimate a local HuggingFace folder from its config and safetensors headers."""
    shapes = _Shapes(_load_json(folder / "config.json"))
    weights = sorted(folder.glob("*.safetensors"))
    if weights:
        n_params, dtype = _count_from_headers([_read_header(p) for p in weights])
        return _finish(request, shapes, n_params, "safetensors", _torch_name(dtype), 0, None, False)
    sizes = [p.stat().st_size for p in folder.glob("*.bin")]
    n_params, source = _params_from_sizes(shapes, sizes, None)
    return _finish(request, shapes, n_params, source, shapes.dtype, 0, None, False)


def estimate_model(
    request: EstimateRequest, token: str | None = None, cache_dir: Path | None = None
) -> ModelEstimate:
    """Estimate a Hub id or local folder (see the module docstring)."""
    kind, where = resolve_source(request.source)
    if kind == "hub":
        return estimate_hub_model(request, token, cache_dir)
    if kind == "folder":
        return estimate_folder_model(request, Path(where))
    raise InvalidInputError(
        f"{request.source}: a {'built-in' if kind == 'builtin' else 'GGUF'} model is estimated "
        "once loaded (its card shows it); an estimate before download is for Hub ids and folders"
    )
