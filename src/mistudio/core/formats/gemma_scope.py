"""Gemma Scope 1 (``params.npz``) and Gemma Scope 2 (``params.safetensors`` + ``config.json``),
FORMATS §2 and §8, checked against sae-lens 6.54's ``gemma_2_sae_huggingface_loader`` and
``get_gemma_3_config_from_hf`` / ``gemma_3_sae_huggingface_loader``.

No library writes these files, so what they mean is read from those loaders and Google's layout:

- **Gemma Scope 1** (``google/gemma-scope-{2b,9b,27b}-pt-{res,mlp,att}``,
  ``layer_{L}/width_{W}/average_l0_{N}/params.npz``): ``W_enc[d_in, d_sae]`` (or lowercase
  ``w_enc``), ``W_dec[d_sae, d_in]``, ``b_enc``, ``b_dec``, ``threshold``; a JumpReLU that does
  NOT subtract ``b_dec`` from its input. The archive names neither model nor hook: they come from
  the repo name (in ``ReadRequest.origin`` or anywhere in the path, e.g. a Hub cache folder
  ``models--google--gemma-scope-2b-pt-res``) and the ``layer_{L}`` folder: ``res`` reads
  ``blocks.L.hook_resid_post`` (HF ``model.layers.L``), ``mlp`` ``blocks.L.hook_mlp_out``
  (Gemma 2's MLP branch ends in ``post_feedforward_layernorm``), ``att`` ``blocks.L.attn.hook_z``
  (the input of ``o_proj``: heads flattened, marked ``reshape = hook_z``). The embedding SAEs
  (``embedding`` in the folder) were trained on embeddings before Gemma's ``sqrt(d_model)``
  scale; SAELens rescales them to TransformerLens' scaled ``hook_embed`` (``W_enc / sqrt(d)``,
  ``W_dec * sqrt(d)``), and so do we, also scaling ``b_dec`` by ``sqrt(d)``: the SAE applied to
  ``x / sqrt(d)`` and mapped back is ``sqrt(d) * (f @ W_dec + b_dec)``, and SAELens leaves
  ``b_dec`` unscaled (a slip on its side). No HF module output carries the scaled embedding, so
  ``hf_hook_name`` stays None there. A ``scaling_factor`` of all ones is dropped, any other is
  folded into ``W_dec`` as SAELens' pre-6 loader reads it.
- **Gemma Scope 2** (``google/gemma-scope-2-{size}-{pt,it}``): ``params.safetensors`` with
  lowercase ``w_enc``, ``w_dec``, ``b_enc``, ``b_dec``, ``threshold`` and, for affine skip
  transcoders, ``affine_skip_connection`` stored ``[d_in, d_out]`` (``W_skip`` is its transpose);
  ``config.json`` with ``architecture: jump_relu``, ``hf_hook_point_in`` / ``hf_hook_point_out``
  (``model.layers.10.output`` style: ``.output`` is dropped to give our HF names, ``.input``
  kept), ``model_name``. Transcoders (``transcoder`` or ``clt`` in the folder, or an
  ``hf_hook_point_out``) read ``blocks.L.hook_mlp_in`` and write ``blocks.L.hook_mlp_out`` and
  are ``jumprelu_transcoder``, ``jumprelu_skip_transcoder`` with the affine skip. A cross-layer
  transcoder (``w_dec`` with a layer axis) is refused in one line. The model name is normalised
  as SAELens does (``google/`` prefix, ``-v3`` -> ``-3``, 270m without ``-pt``).
  Note: SAELens writes ``reshape_activations: none`` for Gemma Scope 2's ``attn_out`` SAEs
  although they read ``attn.hook_z``; we mark them ``hook_z`` like Gemma Scope 1's.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from mistudio.core.formats.reading import (
    Site,
    built_sae,
    config_value,
    imported_sae,
    known,
    read_source,
)
from mistudio.core.formats.registry import (
    ImportedSAE,
    ReadRequest,
    encoder_decoder,
    matrix_shape,
    need_file,
    register_format,
    tensor,
)
from mistudio.errors import InvalidInputError

NPZ_FILE = "params.npz"
PARAMS_FILE = "params.safetensors"
CONFIG_FILE = "config.json"

_REPO_1 = re.compile(r"gemma-scope-(2b|9b|27b)-(pt|it)-(res|mlp|att)")
_MODELS_1 = {"2b": "gemma-2-2b", "9b": "gemma-2-9b", "27b": "gemma-2-27b"}


def _layer(text: str) -> int | None:
    match = re.search(r"layer[_s.]+(\d+)", text)
    return int(match.group(1)) if match else None


def _context(folder: Path, request: ReadRequest) -> str:
    """Where the repo and folder names can be read: the origin, then the folder's path."""
    return f"{request.origin or ''} {folder.resolve().as_posix()}"


def _npz_tensors(path: Path) -> dict[str, Tensor]:
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except (OSError, ValueError) as exc:
        raise InvalidInputError(f"{path.name} is not a readable numpy archive: {exc}") from None
    out = {}
    for key, value in arrays.items():
        name = "W_" + key[2:] if key.startswith("w_") else key
        if value.dtype.kind != "f":
            raise InvalidInputError(
                f"{path.name}: array {key!r} has dtype {value.dtype}, expected a float dtype"
            )
        out[name] = torch.from_numpy(np.ascontiguousarray(value)).float()
    return out


@register_format("gemma_scope", NPZ_FILE)
def read_gemma_scope(folder: Path, request: ReadRequest) -> ImportedSAE:
    """Gemma Scope 1: ``params.npz``, JumpReLU, hook and model from the repo and folder names."""
    tensors = _npz_tensors(need_file(folder, NPZ_FILE, "gemma_scope"))
    d_in, d_sae = matrix_shape(tensors, "W_enc", NPZ_FILE, "2-d array")
    weights = encoder_decoder(tensors, NPZ_FILE, d_in, d_sae, d_in)
    weights["threshold"] = tensor(tensors, "threshold", (d_sae,), NPZ_FILE)
    meta: dict[str, Any] = {}
    if "scaling_factor" in tensors:
        factor = tensor(tensors, "scaling_factor", (d_sae,), NPZ_FILE)
        if not torch.allclose(factor, torch.ones_like(factor)):
            weights["W_dec"] = weights["W_dec"] * factor[:, None]
            meta["folded_scaling_factor"] = True

    context = _context(folder, request)
    repo = _REPO_1.search(context)
    layer = _layer(request.origin or "")
    if layer is None:
        layer = _layer("/".join(folder.resolve().parts[-4:]))
    embedding = "embedding" in context
    hook = hf_hook = model = None
    reshape = "none"
    if repo is not None:
        size, variant, site = repo.groups()
        model = _MODELS_1[size] + ("-it" if variant == "it" else "")
        if site == "res" and embedding:
            hook = "hook_embed"
        elif layer is not None and site == "res":
            hook, hf_hook = f"blocks.{layer}.hook_resid_post", f"model.layers.{layer}"
        elif layer is not None and site == "mlp":
            hook = f"blocks.{layer}.hook_mlp_out"
            hf_hook = f"model.layers.{layer}.post_feedforward_layernorm"
        elif layer is not None and site == "att":
            hook = f"blocks.{layer}.attn.hook_z"
            hf_hook = f"model.layers.{layer}.self_attn.o_proj.input"
            reshape = "hook_z"
    if embedding:
        # Trained on unscaled embeddings; TransformerLens' hook_embed is scaled by sqrt(d_model).
        weights["W_enc"] = weights["W_enc"] / math.sqrt(d_in)
        weights["W_dec"] = weights["W_dec"] * math.sqrt(d_in)
        weights["b_dec"] = weights["b_dec"] * math.sqrt(d_in)
        meta["embedding_rescaled_by_sqrt_d_model"] = True
    l0 = re.search(r"average_l0_(\d+)", context)
    width = re.search(r"width_(\d+[km]?)", context)
    meta.update(
        {
            "l0": int(l0.group(1)) if l0 else None,
            "width": width.group(1) if width else None,
            "layer": layer,
            "dataset_path": "monology/pile-uncopyrighted",
            "context_size": 1024,
        }
    )
    names = Site(hook_name=hook, model_name=model, hf_hook_name=hf_hook, reshape=reshape)
    # The SAE's own config names no HF module here; the ImportedSAE does.
    sae = built_sae(
        "jumprelu", weights, replace(names, hf_hook_name=None), apply_b_dec_to_input=False
    )
    return imported_sae("gemma_scope", folder, request, (NPZ_FILE,), sae, names, known(meta))


# ---- Gemma Scope 2 -------------------------------------------------------------------------


def _hf_name(point: str | None) -> str | None:
    """``model.layers.10.output`` -> ``model.layers.10``; ``....input`` kept (our HF names)."""
    if not point:
        return None
    return point.removesuffix(".output")


def _model_name_2(raw: str | None) -> str | None:
    if not raw:
        return None
    name = raw if "google" in raw else "google/" + raw
    name = name.replace("-v3", "-3")
    return name.replace("-pt", "") if "270m" in name else name


def _site_2(folder: Path, cfg: dict[str, Any]) -> str | None:
    names = " ".join(p.lower() for p in folder.resolve().parts[-3:])
    for site in ("transcoder", "clt", "resid_post", "attn_out", "mlp_out"):
        if site in names or site == str(cfg.get("type", "")).lower():
            return site
    return None


def _hooks_2(site: str | None, layer: int | None) -> Site:
    """TransformerLens hooks (and reshape) of a Gemma Scope 2 site at ``layer``."""
    if layer is None:
        return Site()
    if site in ("transcoder", "clt"):
        return Site(
            hook_name=f"blocks.{layer}.hook_mlp_in", hook_name_out=f"blocks.{layer}.hook_mlp_out"
        )
    if site == "resid_post":
        return Site(hook_name=f"blocks.{layer}.hook_resid_post")
    if site == "attn_out":
        return Site(hook_name=f"blocks.{layer}.attn.hook_z", reshape="hook_z")
    if site == "mlp_out":
        return Site(hook_name=f"blocks.{layer}.hook_mlp_out")
    return Site()


@register_format("gemma_scope_2", f"{PARAMS_FILE} + {CONFIG_FILE}")
def read_gemma_scope_2(folder: Path, request: ReadRequest) -> ImportedSAE:
    """Gemma Scope 2: ``params.safetensors`` + ``config.json``; SAEs and (affine) transcoders."""
    source, tensors = read_source(folder, "gemma_scope_2", CONFIG_FILE, PARAMS_FILE)
    arch = source.get("architecture")
    if arch != "jump_relu":
        raise InvalidInputError(f"{CONFIG_FILE}: architecture {arch!r}, expected 'jump_relu'")
    d_in, d_sae = matrix_shape(tensors, "w_enc", PARAMS_FILE)
    if "w_dec" in tensors and tensors["w_dec"].ndim == 3:
        raise InvalidInputError(
            "cross-layer transcoders (w_dec with a layer axis) are not supported yet"
        )
    d_out = tensors["w_dec"].shape[-1] if "w_dec" in tensors else d_in
    weights = encoder_decoder(tensors, PARAMS_FILE, d_in, d_sae, d_out, w="w")
    weights["threshold"] = tensor(tensors, "threshold", (d_sae,), PARAMS_FILE)
    skip = "affine_skip_connection" in tensors
    if skip:
        weights["W_skip"] = tensor(tensors, "affine_skip_connection", (d_in, d_out), PARAMS_FILE).T

    site = _site_2(folder, source)
    point_in = config_value(source, "hf_hook_point_in", str, CONFIG_FILE)
    hf_in = _hf_name(point_in)
    hf_out = _hf_name(config_value(source, "hf_hook_point_out", str, CONFIG_FILE))
    layer = _layer(folder.name)
    if layer is None:
        layer = _layer(point_in or "")
    transcoder = site in ("transcoder", "clt") or hf_out is not None or skip
    model = _model_name_2(config_value(source, "model_name", str, CONFIG_FILE))
    hooks = _hooks_2(site, layer)
    names = replace(hooks, model_name=model, hf_hook_name=hf_in, hf_hook_name_out=hf_out)
    architecture = "jumprelu_transcoder" if transcoder else "jumprelu"
    sae = built_sae(architecture, weights, names, apply_b_dec_to_input=False)
    info: dict[str, Any] = {
        k: source[k] for k in ("l0", "width", "type", "affine_connection") if k in source
    }
    info.update({"layer": layer, "source_config": source})
    files = (CONFIG_FILE, PARAMS_FILE)
    return imported_sae("gemma_scope_2", folder, request, files, sae, names, known(info))
