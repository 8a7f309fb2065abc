"""dictionary_learning: ``ae.pt`` (a torch state dict) + ``config.json`` (FORMATS §2).

Read from dictionary-learning 0.1.0's own classes (``dictionary.py``, ``trainers/top_k.py``,
``trainers/batch_top_k.py``, ``trainers/matryoshka_batch_top_k.py``) and ``training.py``, which
writes ``{"trainer": trainer.config, "buffer": ...}`` and saves ``ae.pt`` after scaling the
biases back (``scale_biases(norm_factor)``), so the saved SAE already works on raw activations.
Each class's default ``encode``/``decode`` is reproduced:

==========================  =====================================================================
``dict_class``              what it computes, and what it becomes here
==========================  =====================================================================
AutoEncoder                 ``relu(enc(x - bias))``, ``dec(f) + bias`` -> ``standard``
AutoEncoderNew              ``relu(enc(x))``, ``dec(f)`` with a decoder bias -> ``standard``
                            without ``b_dec`` subtraction
AutoEncoderTopK             top-k of ``relu(enc(x - b_dec))`` (``k`` buffer) -> ``topk``
BatchTopKSAE, Matryoshka-   default ``encode(use_threshold=True)``: ``relu(pre) * (relu(pre) >
BatchTopKSAE                threshold)`` with the learned scalar threshold -> ``jumprelu`` with
                            ``ones(d_sae) * threshold`` (an unset ``-1`` threshold is plain ReLU,
                            which the same JumpReLU computes)
JumpReluAutoEncoder         ``relu(pre * (pre > threshold))``, ``b_dec`` NOT subtracted ->
                            ``jumprelu``
GatedAutoEncoder            gate and magnitude paths -> ``gated``
==========================  =====================================================================

Outputs equal the module as it was saved. (``AutoEncoder.from_pretrained`` normalises decoder
columns by default, which rescales latents but not outputs; we keep the stored scale.)

``ae.pt`` is opened with ``torch.load(weights_only=True)``: a pickle that is more than tensors
and plain containers is refused in one line, never executed. Without ``config.json`` the class is
inferred from the state dict's keys. The hook is ``blocks.{layer}.hook_resid_post`` when the
submodule is a residual layer (SAELens' conversion assumes the same), and
``trainer.submodule_name`` is kept in the metadata.
"""

from __future__ import annotations

import pickle
import re
import zipfile
from pathlib import Path
from typing import Any, NamedTuple

import torch
from torch import Tensor

from mistudio.core.formats.reading import Site, built_sae, config_value, imported_sae, known
from mistudio.core.formats.registry import (
    ImportedSAE,
    ReadRequest,
    encoder_decoder,
    found,
    matrix_shape,
    need_file,
    read_json,
    register_format,
    tensor,
)
from mistudio.errors import InvalidInputError

FORMAT = "dictionary_learning"
WEIGHTS_FILE = "ae.pt"
CONFIG_FILE = "config.json"


def load_state_dict(path: Path) -> dict[str, Tensor]:
    """``ae.pt`` as a flat ``{name: tensor}``, loaded with ``weights_only=True``."""
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        # torch's message is several sentences of advice on allow-listing; keep what was refused.
        match = re.search(r"Unsupported global: GLOBAL [\w.]+", str(exc))
        why = match.group(0) if match else (str(exc).strip().splitlines() or ["?"])[0]
        raise InvalidInputError(
            f"{path.name} is not a plain state dict (refused by torch.load(weights_only=True): "
            f"{why})"
        ) from None
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile) as exc:
        raise InvalidInputError(f"{path.name} is not a readable torch file: {exc}") from None
    if isinstance(data, dict) and "state_dict" in data and isinstance(data["state_dict"], dict):
        data = data["state_dict"]
    if not isinstance(data, dict) or not all(isinstance(v, Tensor) for v in data.values()):
        raise InvalidInputError(
            f"{path.name} must hold a state dict of tensors, found {type(data).__name__}"
        )
    return dict(data)


def _infer_class(state: dict[str, Tensor]) -> str:
    keys = set(state)
    if {"gate_bias", "mag_bias", "r_mag"} <= keys:
        return "GatedAutoEncoder"
    if "W_enc" in keys and "threshold" in keys and "k" in keys:
        return "BatchTopKSAE"
    if "W_enc" in keys and "threshold" in keys:
        return "JumpReluAutoEncoder"
    if "k" in keys and "threshold" in keys:
        return "AutoEncoderTopK"  # TopK and BatchTopK files look alike; config.json tells them
    if "bias" in keys:
        return "AutoEncoder"
    if "decoder.bias" in keys:
        return "AutoEncoderNew"
    raise InvalidInputError(
        f"{WEIGHTS_FILE}: no dictionary_learning class has tensors {found(state)}"
    )


def _scalar(state: dict[str, Tensor], name: str) -> float:
    if name not in state or state[name].numel() != 1:
        raise InvalidInputError(f"{WEIGHTS_FILE} has no scalar {name!r}")
    return float(state[name].reshape(()))


def _linear(state: dict[str, Tensor], prefix: str, out: int, inp: int) -> Tensor:
    return tensor(state, f"{prefix}.weight", (out, inp), WEIGHTS_FILE)


_LINEAR_CLASSES = {
    "AutoEncoder": ("standard", "bias", True),
    "AutoEncoderNew": ("standard", "decoder.bias", False),
    "GatedAutoEncoder": ("gated", "decoder_bias", True),
    "AutoEncoderTopK": ("topk", "b_dec", True),
    "BatchTopKSAE": ("jumprelu", "b_dec", True),
}
"""Classes with ``nn.Linear`` encoder and decoder -> (architecture here, the file's name for
``b_dec``, whether ``b_dec`` is subtracted from the input)."""
_GATED_BIASES = (("b_gate", "gate_bias"), ("b_mag", "mag_bias"), ("r_mag", "r_mag"))
"""GatedAutoEncoder's per-latent vectors: SAELens name, the file's name."""


class Converted(NamedTuple):
    """One dictionary_learning class as our SAE."""

    architecture: str
    """Our architecture computing the class's default forward."""
    fields: dict[str, Any]
    """The rest of its SAEConfig (``apply_b_dec_to_input``, ``k``); sizes come from the weights."""
    weights: dict[str, Tensor]
    """The state dict under SAELens names, in SAELens orientation."""


def _convert(dict_class: str, state: dict[str, Tensor]) -> Converted:
    """Our architecture and SAELens-named tensors for one dictionary_learning class."""
    if dict_class in ("JumpReluAutoEncoder", "MatryoshkaBatchTopKSAE") or (
        dict_class == "BatchTopKSAE" and "W_enc" in state
    ):
        d_in, d_sae = matrix_shape(state, "W_enc", WEIGHTS_FILE, "2-d")
        weights = encoder_decoder(state, WEIGHTS_FILE, d_in, d_sae, d_in)
        jump = dict_class == "JumpReluAutoEncoder"
        weights["threshold"] = (
            tensor(state, "threshold", (d_sae,), WEIGHTS_FILE)
            if jump
            else torch.full((d_sae,), _scalar(state, "threshold"))
        )
        return Converted("jumprelu", {"apply_b_dec_to_input": not jump}, weights)
    d_sae, d_in = matrix_shape(state, "encoder.weight", WEIGHTS_FILE, "2-d")
    weights = {
        "W_enc": _linear(state, "encoder", d_sae, d_in).T,
        "W_dec": _linear(state, "decoder", d_in, d_sae).T,
    }
    if dict_class not in _LINEAR_CLASSES:
        raise InvalidInputError(f"{CONFIG_FILE}: dict_class {dict_class!r} is not supported yet")
    architecture, b_dec, subtract = _LINEAR_CLASSES[dict_class]
    if dict_class == "GatedAutoEncoder":
        for ours, theirs in _GATED_BIASES:
            weights[ours] = tensor(state, theirs, (d_sae,), WEIGHTS_FILE)
    else:
        weights["b_enc"] = tensor(state, "encoder.bias", (d_sae,), WEIGHTS_FILE)
    weights["b_dec"] = tensor(state, b_dec, (d_in,), WEIGHTS_FILE)
    fields: dict[str, Any] = {"apply_b_dec_to_input": subtract}
    if dict_class == "AutoEncoderTopK":
        fields["k"] = int(_scalar(state, "k"))
    if dict_class == "BatchTopKSAE":
        weights["threshold"] = torch.full((d_sae,), _scalar(state, "threshold"))
    return Converted(architecture, fields, weights)


@register_format(FORMAT, WEIGHTS_FILE)
def read(folder: Path, request: ReadRequest) -> ImportedSAE:
    """A dictionary_learning trainer folder (``ae.pt`` + ``config.json``)."""
    state = load_state_dict(need_file(folder, WEIGHTS_FILE, FORMAT))
    config = read_json(folder / CONFIG_FILE) if (folder / CONFIG_FILE).is_file() else {}
    trainer = config_value(config, "trainer", dict, CONFIG_FILE) or {}
    buffer = config_value(config, "buffer", dict, CONFIG_FILE) or {}
    dict_class = config_value(config, "trainer.dict_class", str, CONFIG_FILE) or _infer_class(state)
    converted = _convert(dict_class, state)
    d_in, d_sae = converted.weights["W_enc"].shape
    for key, size in (("activation_dim", d_in), ("dict_size", d_sae)):
        if key in trainer and trainer[key] != size:
            raise InvalidInputError(
                f"{CONFIG_FILE}: trainer.{key} is {trainer[key]}, but {WEIGHTS_FILE} holds {size}"
            )
    layer = config_value(config, "trainer.layer", int, CONFIG_FILE)
    submodule = config_value(config, "trainer.submodule_name", str, CONFIG_FILE) or ""
    hook = None
    if layer is not None and (not submodule or re.fullmatch(r"resid_?\d+", submodule)):
        hook = f"blocks.{layer}.hook_resid_post"
    model = config_value(config, "trainer.lm_name", str, CONFIG_FILE)
    site = Site(hook_name=hook, model_name=model)
    sae = built_sae(converted.architecture, converted.weights, site, **converted.fields)
    info: dict[str, Any] = {
        "dict_class": dict_class,
        "layer": layer,
        "submodule_name": submodule or None,
        "context_size": buffer.get("ctx_len"),
        "source_config": config or None,
    }
    files = (WEIGHTS_FILE, CONFIG_FILE)
    return imported_sae(FORMAT, folder, request, files, sae, site, known(info))
