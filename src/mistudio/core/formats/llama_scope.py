"""Llama Scope (``fnlp/Llama3_1-8B-Base-LX{R,M,A,TC}-{8,32}x``): ``hyperparams.json`` +
``checkpoints/final.safetensors`` (FORMATS §8).

Verified against two sources, since no library writes these files here:

- sae-lens 6.54's ``get_llama_scope_config_from_hf`` / ``llama_scope_sae_huggingface_loader``
  and ``SAE.from_pretrained``'s fold: ``W_enc = encoder.weight.T``, ``W_dec = decoder.weight.T``,
  ``b_enc = encoder.bias``, ``b_dec = decoder.bias``, ``apply_b_dec_to_input: false``, one scalar
  ``jump_relu_threshold`` for every latent, and ``normalize_activations:
  expected_average_only_in`` folded with ``s = sqrt(d_model) / dataset_average_activation_norm.in``
  (``W_enc *= s; W_dec /= s; b_dec /= s``) while the threshold is multiplied by ``s`` and
  ``b_enc`` left alone.
- OpenMOSS lm-saes (the library that trained them), ``SparseAutoEncoder.encode`` and
  ``standardize_parameters_of_dataset_norm``: training sees ``x * s_in``; for inference the
  library divides ``encoder.bias`` by ``s_in``, ``decoder.bias`` by ``s_out`` and multiplies
  ``decoder.weight`` by ``s_in / s_out`` but leaves ``jump_relu_threshold`` as it is, and masks
  ``hidden_pre * ||decoder column||`` (when ``sparsity_include_decoder_norm``, its default) against
  the threshold; latents are ``hidden_pre * mask`` (no ReLU).

So the function the released SAE computes at inference is, with
``pre = x @ encoder.weight.T * s_in + encoder.bias`` (the training-scale pre-activation),
``f = pre * (pre > t_i)`` and ``x_hat = (f @ decoder.weight.T + decoder.bias) / s_out``, where
``t_i = jump_relu_threshold * s_in`` (``* s_out / ||decoder column i||`` instead when the decoder
norm enters the mask). That is SAELens' fold exactly when ``s_in == s_out`` and the decoder
columns have unit norm (what SAELens assumes); we also get transcoders (``in != out``, e.g. the
``TC`` series reading ``ln2.hook_normalized`` and writing ``hook_mlp_out``, which SAELens' single
factor would inflate by ``s_in / s_out``) and non-unit decoders right. Latents keep SAELens'
scale (the training-scale ``pre``). Thresholds are positive, so ``relu(pre) * (pre > t)`` (our
JumpReLU) equals lm-saes' ``pre * (pre > t)``.

Hook names come from ``hook_point_in`` / ``hook_point_out`` (TransformerLens names;
``blocks.L.ln2.hook_normalized`` is our ``blocks.L.hook_mlp_in``), else from the folder name
(``L{n}R`` residual post, ``L{n}M`` MLP out, ``L{n}A`` attention out, ``L{n}TC`` transcoder).
The model is ``meta-llama/Llama-3.1-8B`` unless the hyperparameters name one.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import torch

from mistudio.core.formats.reading import (
    Site,
    built_sae,
    config_value,
    dims,
    dtype_name,
    imported_sae,
    read_source,
)
from mistudio.core.formats.registry import ImportedSAE, ReadRequest, register_format, tensor
from mistudio.errors import InvalidInputError

FORMAT = "llama_scope"
HYPERPARAMS_FILE = "hyperparams.json"
WEIGHTS_FILE = "checkpoints/final.safetensors"
DEFAULT_MODEL = "meta-llama/Llama-3.1-8B"

_SITES = {
    "R": ("blocks.{L}.hook_resid_post", None),
    "M": ("blocks.{L}.hook_mlp_out", None),
    "A": ("blocks.{L}.hook_attn_out", None),
    "TC": ("blocks.{L}.hook_mlp_in", "blocks.{L}.hook_mlp_out"),
}
_TL_ALIASES = {"ln2.hook_normalized": "hook_mlp_in"}


def _our_hook(name: str | None) -> str | None:
    if not name:
        return None
    for theirs, ours in _TL_ALIASES.items():
        name = re.sub(rf"^(blocks\.\d+)\.{re.escape(theirs)}$", rf"\1.{ours}", name)
    return name


def _hooks_from_folder(folder: Path) -> tuple[str | None, str | None]:
    match = re.search(r"L(\d+)(TC|R|M|A)(?:-|$)", folder.name)
    if match is None:
        return None, None
    layer, site = match.groups()
    hook_in, hook_out = _SITES[site]
    return hook_in.format(L=layer), hook_out.format(L=layer) if hook_out else None


def _norms(hp: dict[str, Any]) -> tuple[float, float]:
    if hp.get("norm_activation", "dataset-wise") != "dataset-wise":
        raise InvalidInputError(
            f"{HYPERPARAMS_FILE}: norm_activation {hp.get('norm_activation')!r} is not supported "
            "(Llama Scope releases use dataset-wise)"
        )
    key = "dataset_average_activation_norm"
    norm_in, norm_out = (
        config_value(hp, f"{key}.{end}", float, HYPERPARAMS_FILE) for end in ("in", "out")
    )
    norm_out = norm_in if norm_out is None else norm_out  # one norm for input and output
    if norm_in is None or norm_out is None or min(norm_in, norm_out) <= 0:
        raise InvalidInputError(
            f"{HYPERPARAMS_FILE}: {key} must hold positive numbers 'in' (and 'out'), "
            f"found {hp.get(key)!r}"
        )
    return norm_in, norm_out


@register_format(FORMAT, f"{HYPERPARAMS_FILE} + {WEIGHTS_FILE}")
def read(folder: Path, request: ReadRequest) -> ImportedSAE:
    """A Llama Scope SAE or transcoder, folded to work on raw activations."""
    hp, tensors = read_source(folder, FORMAT, HYPERPARAMS_FILE, WEIGHTS_FILE)
    d_in = dims(hp, "d_model", HYPERPARAMS_FILE)
    d_sae = dims(hp, "d_sae", HYPERPARAMS_FILE)
    act = str(hp.get("act_fn", "jumprelu")).lower()
    if act != "jumprelu":
        raise InvalidInputError(f"{HYPERPARAMS_FILE}: act_fn {act!r} is not supported yet")
    threshold = hp.get("jump_relu_threshold")
    if not isinstance(threshold, int | float) or isinstance(threshold, bool) or threshold < 0:
        # (a negative threshold would make lm-saes' un-ReLU'd ``pre * mask`` negative)
        raise InvalidInputError(
            f"{HYPERPARAMS_FILE}: jump_relu_threshold must be a number >= 0, found {threshold!r}"
        )
    if hp.get("apply_decoder_bias_to_pre_encoder"):
        raise InvalidInputError(
            f"{HYPERPARAMS_FILE}: apply_decoder_bias_to_pre_encoder true is not supported yet"
        )
    dtype = tensors["encoder.weight"].dtype if "encoder.weight" in tensors else torch.float32
    enc_w = tensor(tensors, "encoder.weight", (d_sae, d_in), WEIGHTS_FILE).float()
    enc_b = tensor(tensors, "encoder.bias", (d_sae,), WEIGHTS_FILE).float()
    d_out = tensors["decoder.weight"].shape[0] if "decoder.weight" in tensors else d_in
    dec_w = tensor(tensors, "decoder.weight", (d_out, d_sae), WEIGHTS_FILE).float()
    if "decoder.bias" in tensors:
        dec_b = tensor(tensors, "decoder.bias", (d_out,), WEIGHTS_FILE).float()
    else:  # use_decoder_bias false
        dec_b = torch.zeros(d_out)
    s_in, s_out = (math.sqrt(d_in) / n for n in _norms(hp))

    theta = float(threshold)
    if hp.get("sparsity_include_decoder_norm", True):
        col_norms = dec_w.norm(dim=0).clamp_min(1e-12)  # [d_sae]
        thresholds = theta * s_out / col_norms
    else:
        thresholds = torch.full((d_sae,), theta * s_in)

    hook_in, hook_out = (
        _our_hook(config_value(hp, key, str, HYPERPARAMS_FILE))
        for key in ("hook_point_in", "hook_point_out")
    )
    if hook_in is None:
        hook_in, hook_out = _hooks_from_folder(folder)
    if hook_out == hook_in:
        hook_out = None
    transcoder = hook_out is not None or d_out != d_in
    model = config_value(hp, "model_name", str, HYPERPARAMS_FILE) or DEFAULT_MODEL
    site = Site(hook_name=hook_in, hook_name_out=hook_out, model_name=model)
    weights = {
        "W_enc": enc_w.T * s_in,
        "b_enc": enc_b,
        "W_dec": dec_w.T / s_out,
        "b_dec": dec_b / s_out,
        "threshold": thresholds,
    }
    architecture = "jumprelu_transcoder" if transcoder else "jumprelu"
    fields = {"apply_b_dec_to_input": False, "dtype": dtype_name(dtype)}
    sae = built_sae(architecture, weights, site, **fields)
    info: dict[str, Any] = {
        "dataset_path": "cerebras/SlimPajama-627B",
        "context_size": 1024,
        "folded_norm_scaling_factor_in": s_in,
        "folded_norm_scaling_factor_out": s_out,
        "source_config": hp,
    }
    files = (HYPERPARAMS_FILE, WEIGHTS_FILE)
    return imported_sae(FORMAT, folder, request, files, sae, site, info)
