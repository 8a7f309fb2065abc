"""SAELens folders of every version: ``cfg.json`` + ``sae_weights.safetensors`` (FORMATS §1, §8).

Read from sae-lens 6.54's own loader (``sae_lens/loading/pretrained_sae_loaders.py``:
``handle_config_defaulting``, ``handle_pre_6_0_config``, ``read_sae_components_from_disk``) and
its ``SAE`` classes; what this module does, and why:

- **Version.** A cfg without ``sae_lens_version`` (top level or in ``metadata``) or older than
  6.0.0 is a flat pre-6.0 config and is converted as SAELens does: ``hook_point`` ->
  ``hook_name``, ``hook_point_head_index`` -> ``hook_head_index``, ``activation_fn_str`` ->
  ``activation_fn``; ``activation_fn: topk`` with ``activation_fn_kwargs.k`` is architecture
  ``topk``; a boolean ``normalize_activations`` means ``expected_average_only_in`` when true;
  ``reshape_activations`` is ``hook_z`` when the hook name says so; the LLM keys go to
  ``metadata``. An activation function other than relu/topk is refused in one line.
- **Scaling factor.** A ``scaling_factor`` tensor of all ones is dropped (SAELens wrote one for
  a while). Any other is the pre-6 ``finetuning_scaling_factor``, which multiplied the latents
  before decoding: it is folded into ``W_dec``'s rows, exactly the same function. (SAELens 6
  itself renames it and then fails to load the state dict; we read it right instead.)
- **Normalisation.** ``constant_norm_rescale`` and ``layer_norm`` stay per-input
  (``SAEConfig.input_normalization``, computed as SAELens does). ``expected_average_only_in``
  needs the dataset scale, which lives in SAELens' release registry (``norm_scaling_factor``) or
  a ``norm_scaling_factor`` key in cfg.json: it is folded into the weights as
  ``SAE.fold_activation_norm_scaling_factor`` does (``W_enc *= s; W_dec /= s; b_dec /= s``), and
  refused in one line when unknown (SAELens warns and runs unscaled, which is a different
  function). ``covariance_whitening`` is folded by SAELens before saving, so a file still naming
  it is refused.
- **Shapes.** Every tensor is checked against the config (name and both shapes in the message)
  before the SAE is built.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from mistudio.core.formats.reading import (
    Site,
    config_value,
    dims,
    imported_sae,
    known,
    read_source,
)
from mistudio.core.formats.registry import ImportedSAE, ReadRequest, register_format, tensor
from mistudio.core.sae.base import SAE
from mistudio.core.sae.saelens_format import (
    CFG_FILE,
    SPARSITY_FILE,
    WEIGHTS_FILE,
    sae_from_saelens,
)
from mistudio.errors import InvalidInputError

FORMAT = "saelens"

LLM_METADATA_KEYS = (
    "model_name",
    "hook_name",
    "model_class_name",
    "hook_head_index",
    "model_from_pretrained_kwargs",
    "prepend_bos",
    "exclude_special_tokens",
    "neuronpedia_id",
    "context_size",
    "seqpos_slice",
    "dataset_path",
    "sae_lens_version",
    "sae_lens_training_version",
    "hook_name_out",
    "hook_head_index_out",
    "hf_hook_name",
    "hf_hook_name_out",
)
"""Keys a pre-6.0 flat config moves into ``metadata`` (SAELens' ``LLM_METADATA_KEYS``)."""

_RENAMES = {
    "hook_point": "hook_name",
    "hook_point_head_index": "hook_head_index",
    "activation_fn_str": "activation_fn",
}
_SAE_KEYS = (
    "architecture",
    "d_in",
    "d_sae",
    "d_out",
    "dtype",
    "device",
    "apply_b_dec_to_input",
    "normalize_activations",
    "reshape_activations",
    "k",
    "rescale_acts_by_decoder_norm",
)


def _version(value: Any) -> tuple[int, ...]:
    parts = re.findall(r"\d+", str(value or ""))[:3]
    return tuple(int(p) for p in parts)


def _saelens_version(cfg: dict[str, Any]) -> tuple[int, ...]:
    meta = config_value(cfg, "metadata", dict, CFG_FILE) or {}
    return _version(cfg.get("sae_lens_version") or meta.get("sae_lens_version"))


def convert_pre_6(cfg: dict[str, Any]) -> dict[str, Any]:
    """A pre-6.0 flat cfg.json as the 6.x layout (SAELens' ``handle_pre_6_0_config``)."""
    for key in cfg:
        if _RENAMES.get(key, key) in Site.NAMES:  # checked under the file's name (hook_point)
            config_value(cfg, key, str, CFG_FILE)
    flat = {_RENAMES.get(k, k): v for k, v in cfg.items()}
    flat.setdefault("apply_b_dec_to_input", True)
    flat.setdefault("architecture", "standard")
    activation = flat.get("activation_fn") or "relu"
    if activation == "topk":
        flat["architecture"] = "topk"
        flat["k"] = dims(flat, "activation_fn_kwargs.k", CFG_FILE)
    elif activation != "relu":
        raise InvalidInputError(f"cfg.json: activation_fn {activation!r} is not supported")
    norm = flat.get("normalize_activations")
    if isinstance(norm, bool):
        norm = "expected_average_only_in" if norm else "none"
    flat["normalize_activations"] = norm or "none"
    hook = str(flat.get("hook_name") or "")
    flat.setdefault("reshape_activations", "hook_z" if "hook_z" in hook else "none")
    out = {k: flat[k] for k in _SAE_KEYS if k in flat}
    out["metadata"] = {k: flat[k] for k in LLM_METADATA_KEYS if k in flat}
    for key in ("norm_scaling_factor", "finetuning_scaling_factor"):
        if key in flat:
            out[key] = flat[key]
    return out


def _fold_scaling_factor(cfg: dict[str, Any], tensors: dict[str, Tensor], d_sae: int) -> None:
    """Pre-6 ``scaling_factor``: dropped when all ones, folded into ``W_dec`` otherwise."""
    if "scaling_factor" not in tensors:
        return
    factor = tensor(tensors, "scaling_factor", (d_sae,), WEIGHTS_FILE)
    del tensors["scaling_factor"]
    if torch.allclose(factor, torch.ones_like(factor)):
        return
    if not cfg.get("finetuning_scaling_factor"):
        raise InvalidInputError(
            f"{WEIGHTS_FILE} has a scaling_factor tensor but cfg.json does not set "
            "finetuning_scaling_factor"
        )
    w_dec = tensor(tensors, "W_dec", (d_sae, tensors["W_dec"].shape[-1]), WEIGHTS_FILE)
    tensors["W_dec"] = w_dec * factor[:, None].to(w_dec.dtype)


def _check_shapes(cfg: dict[str, Any], tensors: dict[str, Tensor]) -> None:
    """The common tensors against the config, under their file names."""
    d_in = dims(cfg, "d_in", CFG_FILE)
    d_sae = dims(cfg, "d_sae", CFG_FILE)
    arch = str(cfg.get("architecture", "standard"))
    d_out = dims(cfg, "d_out", CFG_FILE, d_in)
    if arch == "topk":
        dims(cfg, "k", CFG_FILE)
    tensor(tensors, "W_enc", (d_in, d_sae), WEIGHTS_FILE)
    tensor(tensors, "W_dec", (d_sae, d_out), WEIGHTS_FILE)
    tensor(tensors, "b_dec", (d_out,), WEIGHTS_FILE)
    if arch == "gated":
        for name in ("b_gate", "b_mag", "r_mag"):
            tensor(tensors, name, (d_sae,), WEIGHTS_FILE)
    else:
        tensor(tensors, "b_enc", (d_sae,), WEIGHTS_FILE)
    if arch.startswith("jumprelu"):
        tensor(tensors, "threshold", (d_sae,), WEIGHTS_FILE)
    if "skip" in arch:
        tensor(tensors, "W_skip", (d_out, d_in), WEIGHTS_FILE)


def saelens_sae(
    cfg: dict[str, Any], tensors: dict[str, Tensor], norm_scaling_factor: float | None = None
) -> tuple[SAE, dict[str, Any]]:
    """Our SAE for a cfg.json dict of any SAELens version and its tensors; also returns the
    6.x-form config it was built from (what was folded is noted in its metadata)."""
    source_version = _saelens_version(cfg)
    cfg = convert_pre_6(cfg) if source_version < (6,) else dict(cfg)
    cfg["metadata"] = config_value(cfg, "metadata", dict, CFG_FILE) or {}
    config_value(cfg, "metadata.mistudio_architecture", str, CFG_FILE)
    tensors = dict(tensors)
    _fold_scaling_factor(cfg, tensors, dims(cfg, "d_sae", CFG_FILE))
    _check_shapes(cfg, tensors)
    norm = cfg.get("normalize_activations") or "none"
    scale = None
    if norm == "expected_average_only_in":
        scale = norm_scaling_factor or config_value(cfg, "norm_scaling_factor", float, CFG_FILE)
        if not scale:
            raise InvalidInputError(
                "normalize_activations is expected_average_only_in but no norm_scaling_factor "
                "is known (SAELens' release registry lists it per SAE); pass it to fold the "
                "dataset scale into the weights"
            )
        cfg["normalize_activations"] = "none"
        cfg["metadata"]["folded_norm_scaling_factor"] = float(scale)
    sae = sae_from_saelens(cfg, tensors)
    if scale is not None:
        sae.fold_activation_scale(float(scale))
    return sae, cfg


@register_format(FORMAT, f"{CFG_FILE} + {WEIGHTS_FILE}")
def read(folder: Path, request: ReadRequest) -> ImportedSAE:
    """A SAELens folder of any version."""
    source, tensors = read_source(folder, FORMAT, CFG_FILE, WEIGHTS_FILE)
    if request.config_overrides:  # a release's overrides replace top-level keys, as in SAELens
        source = {**source, **request.config_overrides}
    sae, cfg = saelens_sae(source, tensors, request.norm_scaling_factor)
    site = Site.from_metadata(cfg, CFG_FILE, str(cfg.get("reshape_activations") or "none"))
    info = {**known(cfg["metadata"]), "source_config": source}
    files = (CFG_FILE, WEIGHTS_FILE, SPARSITY_FILE)
    return imported_sae(FORMAT, folder, request, files, sae, site, info)
