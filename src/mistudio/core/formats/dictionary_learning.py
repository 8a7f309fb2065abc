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
from typing import Any

import torch
from torch import Tensor

from mistudio.core.formats.registry import (
    ImportedSAE,
    ReadRequest,
    file_hashes,
    finish,
    need_file,
    read_json,
    register_format,
    tensor,
)
from mistudio.core.sae.base import SAEConfig, build_sae
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
    found = ", ".join(sorted(keys)) or "nothing"
    raise InvalidInputError(f"{WEIGHTS_FILE}: no dictionary_learning class has tensors {found}")


def _scalar(state: dict[str, Tensor], name: str) -> float:
    if name not in state or state[name].numel() != 1:
        raise InvalidInputError(f"{WEIGHTS_FILE} has no scalar {name!r}")
    return float(state[name].reshape(()))


def _linear(state: dict[str, Tensor], prefix: str, out: int, inp: int) -> Tensor:
    return tensor(state, f"{prefix}.weight", (out, inp), WEIGHTS_FILE)


def _convert(dict_class: str, state: dict[str, Tensor]) -> tuple[dict[str, Any], dict[str, Tensor]]:
    """(SAEConfig fields, SAELens-named tensors) for one dictionary_learning class."""
    if dict_class in ("JumpReluAutoEncoder", "MatryoshkaBatchTopKSAE") or (
        dict_class == "BatchTopKSAE" and "W_enc" in state
    ):
        d_in, d_sae = tensor(state, "W_enc", state["W_enc"].shape, WEIGHTS_FILE).shape
        w_enc = tensor(state, "W_enc", (d_in, d_sae), WEIGHTS_FILE)
        w_dec = tensor(state, "W_dec", (d_sae, d_in), WEIGHTS_FILE)
        b_enc = tensor(state, "b_enc", (d_sae,), WEIGHTS_FILE)
        b_dec = tensor(state, "b_dec", (d_in,), WEIGHTS_FILE)
        jump = dict_class == "JumpReluAutoEncoder"
        thr = (
            tensor(state, "threshold", (d_sae,), WEIGHTS_FILE)
            if jump
            else torch.full((d_sae,), _scalar(state, "threshold"))
        )
        fields = {"architecture": "jumprelu", "apply_b_dec_to_input": not jump}
        weights = {"W_enc": w_enc, "b_enc": b_enc, "W_dec": w_dec, "b_dec": b_dec}
        return {**fields, "d_in": d_in, "d_sae": d_sae}, {**weights, "threshold": thr}
    if "encoder.weight" not in state or state["encoder.weight"].ndim != 2:
        found = ", ".join(sorted(state)) or "nothing"
        raise InvalidInputError(f"{WEIGHTS_FILE} has no 2-d 'encoder.weight' (found: {found})")
    d_sae, d_in = state["encoder.weight"].shape
    enc = _linear(state, "encoder", d_sae, d_in)
    dec = _linear(state, "decoder", d_in, d_sae)
    base = {"d_in": d_in, "d_sae": d_sae}
    if dict_class == "AutoEncoder":
        weights = {
            "W_enc": enc.T,
            "b_enc": tensor(state, "encoder.bias", (d_sae,), WEIGHTS_FILE),
            "W_dec": dec.T,
            "b_dec": tensor(state, "bias", (d_in,), WEIGHTS_FILE),
        }
        return {**base, "architecture": "standard", "apply_b_dec_to_input": True}, weights
    if dict_class == "AutoEncoderNew":
        weights = {
            "W_enc": enc.T,
            "b_enc": tensor(state, "encoder.bias", (d_sae,), WEIGHTS_FILE),
            "W_dec": dec.T,
            "b_dec": tensor(state, "decoder.bias", (d_in,), WEIGHTS_FILE),
        }
        return {**base, "architecture": "standard", "apply_b_dec_to_input": False}, weights
    if dict_class == "GatedAutoEncoder":
        weights = {
            "W_enc": enc.T,
            "b_gate": tensor(state, "gate_bias", (d_sae,), WEIGHTS_FILE),
            "b_mag": tensor(state, "mag_bias", (d_sae,), WEIGHTS_FILE),
            "r_mag": tensor(state, "r_mag", (d_sae,), WEIGHTS_FILE),
            "W_dec": dec.T,
            "b_dec": tensor(state, "decoder_bias", (d_in,), WEIGHTS_FILE),
        }
        return {**base, "architecture": "gated", "apply_b_dec_to_input": True}, weights
    if dict_class in ("AutoEncoderTopK", "BatchTopKSAE"):
        weights = {
            "W_enc": enc.T,
            "b_enc": tensor(state, "encoder.bias", (d_sae,), WEIGHTS_FILE),
            "W_dec": dec.T,
            "b_dec": tensor(state, "b_dec", (d_in,), WEIGHTS_FILE),
        }
        if dict_class == "AutoEncoderTopK":
            k = int(_scalar(state, "k"))
            return {**base, "architecture": "topk", "k": k, "apply_b_dec_to_input": True}, weights
        theta = _scalar(state, "threshold")
        weights["threshold"] = torch.full((d_sae,), theta)
        return {**base, "architecture": "jumprelu", "apply_b_dec_to_input": True}, weights
    raise InvalidInputError(f"{CONFIG_FILE}: dict_class {dict_class!r} is not supported yet")


@register_format(FORMAT, WEIGHTS_FILE, lambda folder: (folder / WEIGHTS_FILE).is_file())
def read(folder: Path, request: ReadRequest) -> ImportedSAE:
    """A dictionary_learning trainer folder (``ae.pt`` + ``config.json``)."""
    state = load_state_dict(need_file(folder, WEIGHTS_FILE, FORMAT))
    config = read_json(folder / CONFIG_FILE) if (folder / CONFIG_FILE).is_file() else {}
    trainer = config.get("trainer") if isinstance(config.get("trainer"), dict) else {}
    buffer = config.get("buffer") if isinstance(config.get("buffer"), dict) else {}
    assert isinstance(trainer, dict) and isinstance(buffer, dict)
    dict_class = str(trainer.get("dict_class") or _infer_class(state))
    fields, weights = _convert(dict_class, state)
    for key, name in (("activation_dim", "d_in"), ("dict_size", "d_sae")):
        if key in trainer and trainer[key] != fields[name]:
            raise InvalidInputError(
                f"{CONFIG_FILE}: trainer.{key} is {trainer[key]}, but {WEIGHTS_FILE} holds "
                f"{fields[name]}"
            )
    layer = trainer.get("layer")
    submodule = str(trainer.get("submodule_name") or "")
    hook = None
    if isinstance(layer, int) and (not submodule or re.fullmatch(r"resid_?\d+", submodule)):
        hook = f"blocks.{layer}.hook_resid_post"
    model = trainer.get("lm_name")
    meta = {"hook_name": hook, "model_name": model}
    sae = build_sae(SAEConfig(**fields, metadata={k: v for k, v in meta.items() if v}))
    sae.load_saelens_tensors(weights)
    info: dict[str, Any] = {
        "dict_class": dict_class,
        "layer": layer,
        "submodule_name": submodule or None,
        "context_size": buffer.get("ctx_len"),
        "source_config": config or None,
    }
    return ImportedSAE(
        sae=finish(sae, request),
        format=FORMAT,
        hook_name=hook,
        hook_name_out=None,
        hf_hook_name=None,
        hf_hook_name_out=None,
        model_name=model if isinstance(model, str) else None,
        reshape="none",
        metadata={k: v for k, v in info.items() if v is not None},
        files=file_hashes(folder, (WEIGHTS_FILE, CONFIG_FILE)),
    )
