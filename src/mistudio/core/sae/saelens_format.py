"""Save and load SAEs as SAELens folders (FORMATS.md §1), our native SAE format.

A folder holds ``cfg.json``, ``sae_weights.safetensors``, optionally ``sparsity.safetensors``
(``log10(firing_fraction + 1e-10)``, shape ``[d_sae]``) and our own ``training.json`` (lineage,
config, metrics, final evals). ``metadata.sae_lens_version`` is written as 6.0.0 so SAELens skips
its pre-6.0 conversions; ``metadata.mistudio_architecture`` remembers what we trained (a BatchTopK
SAE is stored as ``jumprelu`` and loads back as one: same outputs at inference).

The saved SAE always works on raw activations: training-time normalisation must be folded in
(:meth:`SAE.fold_activation_scale`) before :func:`save_sae`. ``normalize_activations`` is written
as the SAE's per-input ``input_normalization`` (``"none"`` for everything trained here;
``constant_norm_rescale`` or ``layer_norm`` for an imported SAE that needs it), and
``reshape_activations`` as ``metadata.reshape_activations`` (``hook_z`` for attention-z SAEs).

:func:`load_sae` reads the folders this module writes (SAELens 6.x layout). Folders of every
SAELens version, with a scale to fold, are read by :mod:`mistudio.core.formats.saelens`, which
converts the config and calls :func:`sae_from_saelens`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import Tensor

from mistudio import __version__
from mistudio.core.sae.base import DTYPES, SAE, SAEConfig, build_sae
from mistudio.core.sae.registry import saelens_reader
from mistudio.errors import InvalidInputError, NotFoundError

SAELENS_VERSION = "6.0.0"
CFG_FILE = "cfg.json"
WEIGHTS_FILE = "sae_weights.safetensors"
SPARSITY_FILE = "sparsity.safetensors"
TRAINING_FILE = "training.json"

_DTYPE_NAMES = {v: k for k, v in DTYPES.items()}


def saelens_cfg(sae: SAE, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    """The cfg.json dict for ``sae``."""
    meta = dict(sae.cfg.metadata)
    meta.update(metadata or {})
    meta["sae_lens_version"] = SAELENS_VERSION
    meta["mistudio_version"] = __version__
    meta["mistudio_architecture"] = sae.architecture
    reshape = meta.pop("reshape_activations", None) or "none"
    if "hook_name" in meta:
        meta.setdefault("hf_hook_name", None)
    cfg: dict[str, Any] = {
        "architecture": sae.saelens_architecture(),
        "d_in": sae.d_in,
        "d_sae": sae.d_sae,
        "dtype": _DTYPE_NAMES[sae.W_enc.dtype],
        "device": str(sae.W_enc.device),
        "apply_b_dec_to_input": sae.apply_b_dec_to_input,
        "normalize_activations": sae.cfg.input_normalization,
        "reshape_activations": reshape,
    }
    cfg.update(sae.saelens_extra_cfg())
    cfg["metadata"] = meta
    return cfg


def save_sae(
    sae: SAE,
    folder: str | Path,
    metadata: dict[str, Any] | None = None,
    firing_fraction: Tensor | None = None,
    training: dict[str, Any] | None = None,
) -> Path:
    """Write ``sae`` as a SAELens folder; returns the folder.

    metadata: extra cfg.json metadata (hook_name, hf_hook_name, model_name, ...);
    firing_fraction: [d_sae] fraction of tokens each latent fired on (-> sparsity.safetensors);
    training: contents of training.json.
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in sae.saelens_tensors().items()}
    save_file(tensors, str(out / WEIGHTS_FILE))
    (out / CFG_FILE).write_text(json.dumps(saelens_cfg(sae, metadata), indent=2))
    if firing_fraction is not None:
        sparsity = torch.log10(firing_fraction.detach().double().cpu() + 1e-10).float()
        save_file({"sparsity": sparsity.contiguous()}, str(out / SPARSITY_FILE))
    if training is not None:
        write_training_json(out, training)
    return out


def read_cfg(folder: str | Path) -> dict[str, Any]:
    """cfg.json of an SAE folder."""
    path = Path(folder) / CFG_FILE
    if not path.is_file():
        raise NotFoundError(f"no {CFG_FILE} in {folder}; is it an SAELens SAE folder?")
    data: dict[str, Any] = json.loads(path.read_text())
    return data


INPUT_NORMALIZATIONS = ("constant_norm_rescale", "layer_norm")
"""SAELens ``normalize_activations`` kinds computed per input at inference (kept as
``SAEConfig.input_normalization``); ``expected_average_only_in`` must be folded with its scale
first (:mod:`mistudio.core.formats.saelens` does it when the scale is known)."""


def dtype_name(value: Any) -> str:
    """Our dtype name for a cfg.json ``dtype`` (``"float32"``, ``"torch.bfloat16"``, ...)."""
    name = str(value or "float32").removeprefix("torch.")
    return name if name in DTYPES else "float32"


def config_from_saelens(cfg: dict[str, Any]) -> SAEConfig:
    """The :class:`SAEConfig` of a SAELens 6.x cfg.json dict (one-line errors otherwise)."""
    arch = cfg.get("architecture", "standard")
    meta = dict(cfg.get("metadata") or {})
    ours = meta.get("mistudio_architecture")
    norm = cfg.get("normalize_activations") or "none"
    if norm not in ("none", *INPUT_NORMALIZATIONS):
        raise InvalidInputError(
            f"normalize_activations={norm!r} must be folded into the weights first "
            "(it needs the dataset's scale)"
        )
    reshape = cfg.get("reshape_activations") or "none"
    if reshape not in ("none", "hook_z"):
        raise InvalidInputError(f"reshape_activations={reshape!r} is not supported")
    if reshape != "none":
        meta["reshape_activations"] = reshape
    if cfg.get("rescale_acts_by_decoder_norm") and arch != "topk":
        raise InvalidInputError(f"rescale_acts_by_decoder_norm=true is not supported for {arch!r}")
    for key in ("d_in", "d_sae"):
        value = cfg.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise InvalidInputError(f"cfg.json: {key} must be a positive integer, found {value!r}")
    fields: dict[str, Any] = {
        "d_in": int(cfg["d_in"]),
        "d_sae": int(cfg["d_sae"]),
        "dtype": dtype_name(cfg.get("dtype")),
        "input_normalization": norm,
        "metadata": meta,
    }
    if "apply_b_dec_to_input" in cfg:
        fields["apply_b_dec_to_input"] = bool(cfg["apply_b_dec_to_input"])
    # The registered class decides which of ours reads this SAELens name, and how.
    _cls, own = saelens_reader(arch, ours, {**cfg, "architecture": arch})
    fields.update(own)
    return SAEConfig(**fields)


def sae_from_saelens(cfg: dict[str, Any], tensors: dict[str, Tensor]) -> SAE:
    """Our SAE for a SAELens 6.x cfg.json dict and its tensors (on CPU)."""
    sae = build_sae(config_from_saelens(cfg))
    sae.load_saelens_tensors(tensors)
    if cfg.get("rescale_acts_by_decoder_norm"):
        _fold_decoder_norms(sae)
    return sae


def load_sae(
    folder: str | Path, device: str | torch.device = "cpu", dtype: torch.dtype | None = None
) -> SAE:
    """Rebuild the SAE saved in ``folder`` (inverse of :func:`save_sae`)."""
    cfg = read_cfg(folder)
    path = Path(folder) / WEIGHTS_FILE
    if not path.is_file():
        raise NotFoundError(f"no {WEIGHTS_FILE} in {folder}")
    sae = sae_from_saelens(cfg, load_file(str(path)))
    return (
        sae.to(device=torch.device(device), dtype=dtype) if dtype else sae.to(torch.device(device))
    )


@torch.no_grad()
def _fold_decoder_norms(sae: SAE) -> None:
    """SAELens topk with ``rescale_acts_by_decoder_norm`` (what its trainer saves) computes
    ``topk(pre * ||W_dec_i||)`` and decodes ``(f / ||W_dec_i||) @ W_dec``; folding the norms into
    ``W_enc``/``b_enc`` and unit-normalising ``W_dec`` gives exactly that function."""
    norms = sae.W_dec.norm(dim=-1).clamp_min(1e-12)  # [d_sae]
    sae.W_enc.mul_(norms)
    sae.b_enc.mul_(norms)
    sae.W_dec.div_(norms[:, None])


def load_firing_fraction(folder: str | Path) -> Tensor | None:
    """[d_sae] firing fraction from sparsity.safetensors, or None when absent."""
    path = Path(folder) / SPARSITY_FILE
    if not path.is_file():
        return None
    log = load_file(str(path))["sparsity"].double()
    return (torch.pow(10.0, log) - 1e-10).clamp_min(0).float()


def write_training_json(folder: str | Path, data: dict[str, Any]) -> None:
    """Write training.json (lineage, config, metrics, evals) next to the weights."""
    (Path(folder) / TRAINING_FILE).write_text(json.dumps(data, indent=2, default=_json_default))


def read_training_json(folder: str | Path) -> dict[str, Any] | None:
    path = Path(folder) / TRAINING_FILE
    if not path.is_file():
        return None
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _json_default(value: Any) -> Any:
    if isinstance(value, Tensor):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    return str(value)
