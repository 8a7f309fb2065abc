"""EleutherAI sparsify: ``<hookpoint>/cfg.json`` + ``sae.safetensors`` (FORMATS §2).

Read from eai-sparsify 1.3.3's ``SparseCoder`` (``sparse_coder.py``, ``fused_encoder.py``,
``config.py``): ``encoder.weight[d_sae, d_in]``, ``encoder.bias[d_sae]``, ``W_dec[d_sae, d_in]``
(already in ``x @ W`` orientation: ``W_enc = encoder.weight.T`` and ``W_dec`` as stored),
``b_dec[d_in]``, optional ``W_skip[d_in, d_in]``. The forward is
``topk(relu((x - b_dec) @ W_enc + b_enc))`` with ``b_dec`` subtracted only when not transcoding,
then ``f @ W_dec + b_dec`` plus ``x @ W_skip.T`` on the raw input. ``num_latents`` 0 means
``d_in * expansion_factor``; ``multi_topk`` only changes the training loss, so ``k`` is all
inference needs. ``activation: groupmax`` and a ``signed`` encoder are refused in one line.

Against SAELens 6.54's ``sparsify_disk_loader`` (FORMATS §2 says do it right, not alike): it
transposes ``W_dec``, which is wrong when ``d_in != d_sae``; it sets ``apply_b_dec_to_input`` to
``not normalize_decoder``, while sparsify subtracts ``b_dec`` whenever it is not transcoding; and
it drops ``W_skip`` and the transcoder flag. We read the file as sparsify runs it.

A plain TopK SAE becomes our ``topk``; skip and transcoder variants become ``topk_transcoder``
(inference only; sparsify's transcoders keep ``d_out == d_in``). Hook names: the folder is the
hookpoint, a module path relative to the model's ``base_model`` (``layers.6`` ->
``blocks.6.hook_resid_post``; ``layers.6.mlp`` -> ``blocks.6.hook_mlp_out``, or
``hook_mlp_in`` -> ``hook_mlp_out`` for a transcoder, which reads the module's input;
``embed_tokens`` -> ``hook_embed``). The HF path needs the model (the ``base_model`` prefix
differs per family), so ``hf_hook_name`` stays None and ``metadata.hookpoint`` keeps the raw
name. A ``config.json`` one folder up (sparsify's run config) gives the model and dataset.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mistudio.core.formats.reading import (
    Site,
    built_sae,
    config_value,
    dims,
    dtype_name,
    imported_sae,
    read_source,
)
from mistudio.core.formats.registry import (
    ImportedSAE,
    ReadRequest,
    read_json,
    register_format,
    tensor,
)
from mistudio.errors import InvalidInputError

FORMAT = "sparsify"
CFG_FILE = "cfg.json"
WEIGHTS_FILE = "sae.safetensors"
RUN_CONFIG = "config.json"


def _hooks(hookpoint: str, transcode: bool) -> tuple[str | None, str | None]:
    if hookpoint == "embed_tokens":
        return "hook_embed", None
    match = re.fullmatch(
        r"(?:.*\.)?layers[._](\d+)(?:\.(mlp|self_attn|attn|attention))?", hookpoint
    )
    if match is None:
        return None, None
    layer, module = match.groups()
    if module is None:
        return (None, None) if transcode else (f"blocks.{layer}.hook_resid_post", None)
    if module == "mlp":
        if transcode:
            return f"blocks.{layer}.hook_mlp_in", f"blocks.{layer}.hook_mlp_out"
        return f"blocks.{layer}.hook_mlp_out", None
    return (None, None) if transcode else (f"blocks.{layer}.hook_attn_out", None)


@register_format(FORMAT, f"{CFG_FILE} + {WEIGHTS_FILE}")
def read(folder: Path, request: ReadRequest) -> ImportedSAE:
    """One sparsify hookpoint folder."""
    cfg, tensors = read_source(folder, FORMAT, CFG_FILE, WEIGHTS_FILE)
    d_in = dims(cfg, "d_in", CFG_FILE)
    if config_value(cfg, "num_latents", int, CFG_FILE):  # 0: d_in * expansion_factor
        d_sae = dims(cfg, "num_latents", CFG_FILE)
    else:
        d_sae = d_in * dims(cfg, "expansion_factor", CFG_FILE, 32)
    activation = cfg.get("activation", "topk")
    if activation != "topk":
        raise InvalidInputError(f"{CFG_FILE}: activation {activation!r} is not supported yet")
    if cfg.get("signed"):
        raise InvalidInputError(f"{CFG_FILE}: signed encoders are not supported yet")
    k = dims(cfg, "k", CFG_FILE, 32)
    transcode = config_value(cfg, "transcode", bool, CFG_FILE) or False
    skip = config_value(cfg, "skip_connection", bool, CFG_FILE) or False
    enc_w = tensor(tensors, "encoder.weight", (d_sae, d_in), WEIGHTS_FILE)
    weights = {
        "W_enc": enc_w.T,
        "b_enc": tensor(tensors, "encoder.bias", (d_sae,), WEIGHTS_FILE),
        "W_dec": tensor(tensors, "W_dec", (d_sae, d_in), WEIGHTS_FILE),
        "b_dec": tensor(tensors, "b_dec", (d_in,), WEIGHTS_FILE),
    }
    if skip:
        weights["W_skip"] = tensor(tensors, "W_skip", (d_in, d_in), WEIGHTS_FILE)

    run = read_json(folder.parent / RUN_CONFIG) if (folder.parent / RUN_CONFIG).is_file() else {}
    model = config_value(run, "model", str, RUN_CONFIG)
    hookpoint = folder.name
    hook, hook_out = _hooks(hookpoint, transcode)
    site = Site(hook_name=hook, hook_name_out=hook_out, model_name=model)
    architecture = "topk_transcoder" if transcode or skip else "topk"
    fields = {"k": k, "apply_b_dec_to_input": not transcode, "dtype": dtype_name(enc_w.dtype)}
    sae = built_sae(architecture, weights, site, **fields)
    info: dict[str, Any] = {
        "hookpoint": hookpoint,
        "transcode": transcode,
        "skip_connection": skip,
        "multi_topk": bool(cfg.get("multi_topk", False)),
        "source_config": cfg,
    }
    for ours, theirs in (("dataset_path", "dataset"), ("context_size", "ctx_len")):
        if theirs in run:
            info[ours] = run[theirs]
    files = (CFG_FILE, WEIGHTS_FILE) + ((f"../{RUN_CONFIG}",) if run else ())
    return imported_sae(FORMAT, folder, request, files, sae, site, info)
