"""SAELens folders: exact keys, tensor names and shapes (FORMATS §1), and symmetric save/load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from mistudio.core.sae import SAEConfig, build_sae, load_sae, save_sae
from mistudio.core.sae.jumprelu import JumpReLUSAE
from mistudio.core.sae.saelens_format import load_firing_fraction, read_training_json
from mistudio.errors import InvalidInputError, NotFoundError

D_IN, D_SAE, D_OUT = 16, 48, 12

EXPECTED = {
    # architecture -> (saved architecture, extra cfg keys, tensor shapes)
    "standard": ("standard", {}, {}),
    "jumprelu": ("jumprelu", {}, {"threshold": (D_SAE,)}),
    "topk": ("topk", {"k": 4, "rescale_acts_by_decoder_norm": False}, {}),
    "batchtopk": ("jumprelu", {}, {"threshold": (D_SAE,)}),
    "standard_skip": ("skip_transcoder", {"d_out": D_IN}, {"W_skip": (D_IN, D_IN)}),
    "transcoder": ("transcoder", {"d_out": D_OUT}, {}),
}


def _make(arch: str):
    kw: dict = {}
    if arch in ("topk", "batchtopk"):
        kw["k"] = 4
    if arch == "transcoder":
        kw["d_out"] = D_OUT
    sae = build_sae(SAEConfig(architecture=arch, d_in=D_IN, d_sae=D_SAE, **kw))
    with torch.no_grad():
        for p in sae.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    if arch == "batchtopk":
        sae.threshold.fill_(0.07)
    return sae


@pytest.mark.parametrize("arch", list(EXPECTED))
def test_round_trip_and_layout(arch: str, tmp_path: Path) -> None:
    sae = _make(arch)
    meta = {"hook_name": "blocks.3.hook_resid_post", "hf_hook_name": "model.layers.3"}
    firing = torch.rand(D_SAE) * 0.2
    firing[0] = 0.0
    save_sae(sae, tmp_path / "sae", metadata=meta, firing_fraction=firing, training={"a": 1})

    cfg = json.loads((tmp_path / "sae" / "cfg.json").read_text())
    saved_arch, extra, extra_tensors = EXPECTED[arch]
    assert cfg["architecture"] == saved_arch
    for key in ("d_in", "d_sae", "dtype", "device", "apply_b_dec_to_input"):
        assert key in cfg
    assert cfg["d_in"] == D_IN and cfg["d_sae"] == D_SAE and cfg["dtype"] == "float32"
    assert cfg["normalize_activations"] == "none" and cfg["reshape_activations"] == "none"
    for key, value in extra.items():
        assert cfg[key] == value
    assert cfg["metadata"]["hook_name"] == "blocks.3.hook_resid_post"
    assert cfg["metadata"]["hf_hook_name"] == "model.layers.3"
    major, minor, _ = (int(v) for v in cfg["metadata"]["sae_lens_version"].split("."))
    assert (major, minor) >= (6, 0)
    if saved_arch in ("transcoder", "skip_transcoder"):
        assert cfg["apply_b_dec_to_input"] is False

    tensors = load_file(str(tmp_path / "sae" / "sae_weights.safetensors"))
    d_out = D_OUT if arch == "transcoder" else D_IN
    shapes = {
        "W_enc": (D_IN, D_SAE),
        "b_enc": (D_SAE,),
        "W_dec": (D_SAE, d_out),
        "b_dec": (d_out,),
        **extra_tensors,
    }
    assert {k: tuple(v.shape) for k, v in tensors.items()} == shapes

    sparsity = load_file(str(tmp_path / "sae" / "sparsity.safetensors"))["sparsity"]
    torch.testing.assert_close(sparsity, torch.log10(firing.double() + 1e-10).float())
    back_firing = load_firing_fraction(tmp_path / "sae")
    assert back_firing is not None
    torch.testing.assert_close(back_firing, firing, atol=1e-6, rtol=1e-4)
    assert read_training_json(tmp_path / "sae") == {"a": 1}

    loaded = load_sae(tmp_path / "sae")
    x = torch.randn(25, D_IN)
    expect = sae(x)
    got = loaded(x)
    torch.testing.assert_close(got.x_hat, expect.x_hat)
    assert got.latents is not None and expect.latents is not None
    torch.testing.assert_close(got.latents, expect.latents)
    if arch == "batchtopk":
        assert isinstance(loaded, JumpReLUSAE)  # a JumpReLU with one threshold
        torch.testing.assert_close(loaded.threshold, torch.full((D_SAE,), 0.07))
    else:
        assert loaded.architecture == arch


def test_saelens_forward_definition(tmp_path: Path) -> None:
    """Outputs from the file alone, by the formula in FORMATS §1 (independent of our classes)."""
    sae = _make("jumprelu")
    save_sae(sae, tmp_path)
    t = load_file(str(tmp_path / "sae_weights.safetensors"))
    x = torch.randn(10, D_IN)
    pre = (x - t["b_dec"]) @ t["W_enc"] + t["b_enc"]
    f = torch.relu(pre) * (pre > t["threshold"])
    torch.testing.assert_close(sae(x).x_hat, f @ t["W_dec"] + t["b_dec"])


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        load_sae(tmp_path / "missing")
    sae = _make("standard")
    save_sae(sae, tmp_path)
    cfg = json.loads((tmp_path / "cfg.json").read_text())
    cfg["architecture"] = "gated"
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))
    with pytest.raises(InvalidInputError, match="gated"):
        load_sae(tmp_path)
    cfg["architecture"] = "standard"
    cfg["d_sae"] = D_SAE + 1
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))
    with pytest.raises(InvalidInputError, match="shape"):
        load_sae(tmp_path)
