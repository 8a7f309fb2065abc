"""Gemma Scope 1 and 2 and Llama Scope: no library writes them here, so the folders are built by
hand from their documented layouts (FORMATS §2, §8) and our reading is checked against a forward
written out in this file from the publishers' definitions, not against our classes."""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from torch import Tensor

from mistudio.core.formats import detect_format, read_sae
from mistudio.core.sae import load_sae, save_sae
from mistudio.core.sae_export import write_saelens_folder

D_IN, D_SAE, D_OUT, N = 16, 32, 12, 10
TOL = 1e-5


def _weights(seed: int, d_in: int = D_IN, d_out: int = D_IN) -> dict[str, Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        "W_enc": torch.randn(d_in, D_SAE, generator=g) / d_in**0.5,
        "W_dec": torch.randn(D_SAE, d_out, generator=g) * (0.5 + torch.rand(D_SAE, 1, generator=g)),
        "b_enc": 0.2 * torch.randn(D_SAE, generator=g),
        "b_dec": 0.3 * torch.randn(d_out, generator=g),
        "threshold": 0.05 + 0.3 * torch.rand(D_SAE, generator=g),
    }


def _x(seed: int = 0, scale: float = 2.0) -> Tensor:
    return scale * torch.randn(N, D_IN, generator=torch.Generator().manual_seed(100 + seed))


def _jumprelu_forward(w: dict[str, Tensor], x: Tensor) -> tuple[Tensor, Tensor]:
    """Gemma Scope's JumpReLU (Google's tutorial): no b_dec subtraction."""
    pre = x @ w["W_enc"] + w["b_enc"]
    acts = (pre > w["threshold"]) * torch.relu(pre)
    return acts, acts @ w["W_dec"] + w["b_dec"]


def _check(imported, x: Tensor, latents: Tensor, out: Tensor) -> None:
    """Our reading equals the publisher's forward, and so does the SAELens folder it exports
    as (stored by the import job's ``save_sae``, then written out for SAELens)."""
    with torch.no_grad():
        torch.testing.assert_close(imported.sae.encode(x), latents, atol=TOL, rtol=TOL)
        torch.testing.assert_close(imported.sae(x).x_hat, out, atol=TOL, rtol=TOL)
        torch.testing.assert_close(imported.sae.decode(latents, x), out, atol=TOL, rtol=TOL)
    with tempfile.TemporaryDirectory() as tmp:
        stored = save_sae(imported.sae, Path(tmp) / "stored")
        back = load_sae(write_saelens_folder(stored, Path(tmp) / "export"))
        with torch.no_grad():
            torch.testing.assert_close(back.encode(x), latents, atol=TOL, rtol=TOL)
            torch.testing.assert_close(back(x).x_hat, out, atol=TOL, rtol=TOL)


# ---- Gemma Scope 1 -------------------------------------------------------------------------


def _gemma_scope_1(root: Path, repo: str, sub: str, w: dict[str, Tensor], lower: bool) -> Path:
    folder = root / repo / sub
    folder.mkdir(parents=True)
    arrays = {(k.lower() if lower else k): v.numpy() for k, v in w.items()}
    np.savez(folder / "params.npz", **arrays)
    return folder


@pytest.mark.parametrize("lower", [False, True], ids=["W_enc", "w_enc"])
def test_gemma_scope_1_residual(tmp_path: Path, lower: bool) -> None:
    w = _weights(1)
    folder = _gemma_scope_1(
        tmp_path, "gemma-scope-2b-pt-res", "layer_5/width_16k/average_l0_40", w, lower
    )
    assert detect_format(folder / "params.npz") == "gemma_scope"
    imported = read_sae(folder)
    assert imported.format == "gemma_scope"
    assert imported.hook_name == "blocks.5.hook_resid_post"
    assert imported.hf_hook_name == "model.layers.5"
    assert imported.model_name == "gemma-2-2b"
    assert imported.metadata["l0"] == 40 and imported.metadata["width"] == "16k"
    assert imported.sae.apply_b_dec_to_input is False
    x = _x(1)
    _check(imported, x, *_jumprelu_forward(w, x))


def test_gemma_scope_1_names_from_origin(tmp_path: Path) -> None:
    """A folder whose path says nothing gets its hook and model from the Hub origin."""
    folder = tmp_path / "download"
    folder.mkdir()
    np.savez(folder / "params.npz", **{k: v.numpy() for k, v in _weights(2).items()})
    origin = "google/gemma-scope-9b-it-att/layer_3/width_16k/average_l0_10"
    imported = read_sae(folder, origin=origin)
    assert imported.hook_name == "blocks.3.attn.hook_z" and imported.reshape == "hook_z"
    assert imported.hf_hook_name == "model.layers.3.self_attn.o_proj.input"
    assert imported.model_name == "gemma-2-9b-it"
    mlp = read_sae(folder, origin="google/gemma-scope-27b-pt-mlp/layer_9/width_1m/average_l0_5")
    assert mlp.hook_name == "blocks.9.hook_mlp_out"
    unknown = read_sae(folder)
    assert unknown.hook_name is None and unknown.model_name is None


def test_gemma_scope_1_embedding_rescaled(tmp_path: Path) -> None:
    """Trained on unscaled embeddings; read for TransformerLens' hook_embed (x * sqrt(d))."""
    w = _weights(3)
    folder = _gemma_scope_1(
        tmp_path, "gemma-scope-2b-pt-res", "embedding/width_4k/average_l0_6", w, False
    )
    imported = read_sae(folder)
    assert imported.hook_name == "hook_embed" and imported.hf_hook_name is None
    x_scaled = _x(3) * math.sqrt(D_IN)
    latents, out = _jumprelu_forward(w, x_scaled / math.sqrt(D_IN))
    _check(imported, x_scaled, latents, out * math.sqrt(D_IN))


# ---- Gemma Scope 2 -------------------------------------------------------------------------


def _gemma_scope_2(folder: Path, w: dict[str, Tensor], config: dict, skip: Tensor | None) -> Path:
    folder.mkdir(parents=True)
    tensors = {
        "w_enc": w["W_enc"],
        "w_dec": w["W_dec"],
        "b_enc": w["b_enc"],
        "b_dec": w["b_dec"],
        "threshold": w["threshold"],
    }
    if skip is not None:
        tensors["affine_skip_connection"] = skip  # stored [d_in, d_out]
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(folder / "params.safetensors"))
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def test_gemma_scope_2_residual(tmp_path: Path) -> None:
    w = _weights(4)
    config = {
        "architecture": "jump_relu",
        "hf_hook_point_in": "model.layers.7.output",
        "model_name": "gemma-v3-1b-pt",
        "width": 16384,
        "l0": 60,
        "type": "resid_post",
    }
    folder = _gemma_scope_2(
        tmp_path / "resid_post" / "layer_7_width_16k_l0_medium", w, config, None
    )
    assert detect_format(folder) == "gemma_scope_2"
    imported = read_sae(folder)
    assert imported.format == "gemma_scope_2"
    assert imported.hook_name == "blocks.7.hook_resid_post" and imported.hook_name_out is None
    assert imported.hf_hook_name == "model.layers.7"
    assert imported.model_name == "google/gemma-3-1b-pt"
    assert imported.metadata["l0"] == 60
    assert imported.sae.architecture == "jumprelu"
    x = _x(4)
    _check(imported, x, *_jumprelu_forward(w, x))


def test_gemma_scope_2_affine_skip_transcoder(tmp_path: Path) -> None:
    w = _weights(5, d_out=D_OUT)
    affine = torch.randn(D_IN, D_OUT, generator=torch.Generator().manual_seed(6)) / 4
    config = {
        "architecture": "jump_relu",
        "hf_hook_point_in": "model.layers.7.pre_feedforward_layernorm.output",
        "hf_hook_point_out": "model.layers.7.post_feedforward_layernorm.output",
        "model_name": "gemma-3-270m-pt",
        "affine_connection": True,
        "type": "transcoder",
    }
    folder = tmp_path / "transcoder_all" / "layer_7_width_16k_l0_small_affine"
    _gemma_scope_2(folder, w, config, affine)
    imported = read_sae(folder)
    assert imported.sae.architecture == "jumprelu_transcoder" and imported.sae.has_skip
    assert imported.sae.saelens_architecture() == "jumprelu_skip_transcoder"
    assert (imported.hook_name, imported.hook_name_out) == (
        "blocks.7.hook_mlp_in",
        "blocks.7.hook_mlp_out",
    )
    assert imported.hf_hook_name == "model.layers.7.pre_feedforward_layernorm"
    assert imported.hf_hook_name_out == "model.layers.7.post_feedforward_layernorm"
    assert imported.model_name == "google/gemma-3-270m"
    x = _x(5)
    latents, out = _jumprelu_forward(w, x)
    _check(imported, x, latents, out + x @ affine)


# ---- Llama Scope ---------------------------------------------------------------------------


def _lm_saes_inference(hp: dict, st: dict[str, Tensor], x: Tensor) -> tuple[Tensor, Tensor]:
    """lm-saes' inference path, written from its source: ``standardize_parameters_of_dataset_norm``
    (encoder bias / s_in, decoder bias / s_out, decoder weight * s_in / s_out, threshold kept),
    then ``encode`` (mask on ``hidden_pre * ||decoder column||`` when
    ``sparsity_include_decoder_norm``; latents ``hidden_pre * mask``) and ``decode``."""
    d = hp["d_model"]
    s_in = math.sqrt(d) / hp["dataset_average_activation_norm"]["in"]
    s_out = math.sqrt(d) / hp["dataset_average_activation_norm"]["out"]
    enc_b = st["encoder.bias"] / s_in
    dec_b = st["decoder.bias"] / s_out
    dec_w = st["decoder.weight"] * s_in / s_out  # [d_out, d_sae]
    hidden_pre = x @ st["encoder.weight"].T + enc_b
    if hp.get("sparsity_include_decoder_norm", True):
        gate = hidden_pre * dec_w.norm(dim=0)
    else:
        gate = hidden_pre
    feature_acts = hidden_pre * (gate > hp["jump_relu_threshold"])
    return feature_acts, feature_acts @ dec_w.T + dec_b


def _llama_scope(folder: Path, hp: dict, st: dict[str, Tensor]) -> Path:
    (folder / "checkpoints").mkdir(parents=True)
    (folder / "hyperparams.json").write_text(json.dumps(hp))
    save_file(st, str(folder / "checkpoints" / "final.safetensors"))
    return folder


def _llama_weights(seed: int, d_out: int = D_IN, unit_decoder: bool = False) -> dict[str, Tensor]:
    g = torch.Generator().manual_seed(seed)
    dec = torch.randn(d_out, D_SAE, generator=g) * (0.5 + torch.rand(1, D_SAE, generator=g))
    if unit_decoder:
        dec = dec / dec.norm(dim=0, keepdim=True)
    return {
        "encoder.weight": torch.randn(D_SAE, D_IN, generator=g) / 4,
        "encoder.bias": 0.1 * torch.randn(D_SAE, generator=g),
        "decoder.weight": dec.contiguous(),
        "decoder.bias": 0.2 * torch.randn(d_out, generator=g),
    }


def test_llama_scope_sae(tmp_path: Path) -> None:
    hp = {
        "d_model": D_IN,
        "d_sae": D_SAE,
        "act_fn": "jumprelu",
        "jump_relu_threshold": 0.3,
        "norm_activation": "dataset-wise",
        "dataset_average_activation_norm": {"in": 9.5, "out": 9.5},
        "sparsity_include_decoder_norm": True,
        "apply_decoder_bias_to_pre_encoder": False,
        "hook_point_in": "blocks.15.hook_resid_post",
        "hook_point_out": "blocks.15.hook_resid_post",
        "top_k": 50,
    }
    st = _llama_weights(7)
    folder = _llama_scope(tmp_path / "Llama3_1-8B-Base-L15R-8x", hp, st)
    assert detect_format(folder / "checkpoints" / "final.safetensors") == "llama_scope"
    imported = read_sae(folder)
    assert imported.format == "llama_scope"
    assert imported.hook_name == "blocks.15.hook_resid_post" and imported.hook_name_out is None
    assert imported.model_name == "meta-llama/Llama-3.1-8B"
    assert imported.sae.architecture == "jumprelu" and imported.sae.apply_b_dec_to_input is False
    x = 9.5 / 4 * _x(7)  # activations of about the dataset norm
    feature_acts, out = _lm_saes_inference(hp, st, x)
    s = math.sqrt(D_IN) / 9.5
    assert (feature_acts > 0).any() and (feature_acts == 0).any()
    # Latents keep SAELens' scale: the training-scale pre-activation (s times lm-saes' inference).
    _check(imported, x, feature_acts * s, out)


def test_llama_scope_matches_saelens_fold_on_unit_decoders(tmp_path: Path) -> None:
    """With unit decoder columns and one norm, the result is SAELens' own conversion:
    W_enc = enc.T * s, threshold = t * s, W_dec = dec.T / s, b_dec = dec_bias / s."""
    hp = {
        "d_model": D_IN,
        "d_sae": D_SAE,
        "jump_relu_threshold": 0.2,
        "dataset_average_activation_norm": {"in": 6.0, "out": 6.0},
    }
    st = _llama_weights(8, unit_decoder=True)
    imported = read_sae(_llama_scope(tmp_path / "Llama3_1-8B-Base-L3M-8x", hp, st))
    assert imported.hook_name == "blocks.3.hook_mlp_out"  # from the folder name
    s = math.sqrt(D_IN) / 6.0
    x = _x(8)
    pre = x @ (st["encoder.weight"].T * s) + st["encoder.bias"]
    f = torch.relu(pre) * (pre > 0.2 * s)
    out = f @ (st["decoder.weight"].T / s) + st["decoder.bias"] / s
    _check(imported, x, f, out)


def test_llama_scope_transcoder_two_norms(tmp_path: Path) -> None:
    hp = {
        "d_model": D_IN,
        "d_sae": D_SAE,
        "jump_relu_threshold": 0.1,
        "norm_activation": "dataset-wise",
        "dataset_average_activation_norm": {"in": 4.0, "out": 0.8},
        "sparsity_include_decoder_norm": False,
        "hook_point_in": "blocks.8.ln2.hook_normalized",
        "hook_point_out": "blocks.8.hook_mlp_out",
    }
    st = {k: v.to(torch.bfloat16) for k, v in _llama_weights(9).items()}
    imported = read_sae(_llama_scope(tmp_path / "Llama3_1-8B-Base-L8TC-8x", hp, st))
    assert imported.sae.architecture == "jumprelu_transcoder"
    assert (imported.hook_name, imported.hook_name_out) == (
        "blocks.8.hook_mlp_in",
        "blocks.8.hook_mlp_out",
    )
    assert imported.sae.W_enc.dtype == torch.bfloat16  # the source's dtype is kept
    sae = imported.sae.float()
    x = _x(9, scale=1.0)
    feature_acts, out = _lm_saes_inference(hp, {k: v.float() for k, v in st.items()}, x)
    s_in = math.sqrt(D_IN) / 4.0
    with torch.no_grad():
        torch.testing.assert_close(sae.encode(x), feature_acts * s_in, atol=2e-2, rtol=2e-2)
        torch.testing.assert_close(sae(x).x_hat, out, atol=2e-2, rtol=2e-2)
