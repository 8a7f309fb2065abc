"""SAEs written by their own libraries (SAELens 6.54, eai-sparsify 1.3, dictionary-learning 0.1)
read by miStudio give the library's own encode / decode / forward to 1e-5.

The fixtures and their reference outputs come from ``benchmarks/format_fixtures.py`` (run in
``.venv-bench``, where the libraries are installed); this test needs none of them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from mistudio.core.formats import detect_format, read_sae
from mistudio.core.sae import load_sae, save_sae
from mistudio.core.sae_export import write_saelens_folder
from mistudio.errors import InvalidInputError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "formats"
CASES = sorted(p.parent for p in FIXTURES.rglob("reference.safetensors"))
TOL = 1e-5


def _sae_folder(case: Path) -> Path:
    """The SAE inside a case folder (sparsify keeps it in a hookpoint subfolder)."""
    subfolders = [p for p in case.iterdir() if p.is_dir()]
    return subfolders[0] if len(subfolders) == 1 else case


def _id(case: Path) -> str:
    return str(case.relative_to(FIXTURES))


def test_every_library_wrote_its_cases() -> None:
    written = json.loads((FIXTURES / "VERSIONS.json").read_text())["cases"]
    assert sorted(written) == sorted(_id(c) for c in CASES)
    assert {c.parts[-2] for c in CASES} == {"saelens", "sparsify", "dictionary_learning"}


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_outputs_equal_the_library(case: Path) -> None:
    ref = load_file(str(case / "reference.safetensors"))
    folder = _sae_folder(case)
    assert detect_format(folder) == case.parts[-2]
    scale = float(ref["norm_scaling_factor"]) if "norm_scaling_factor" in ref else None
    imported = read_sae(folder, norm_scaling_factor=scale)
    sae, x = imported.sae, ref["x"]
    with torch.no_grad():
        latents = sae.encode(x)
        decoded = sae.decode(ref["latents"], x)
        forward = sae(x).x_hat
    torch.testing.assert_close(latents, ref["latents"], atol=TOL, rtol=TOL)
    torch.testing.assert_close(decoded, ref["decoded"], atol=TOL, rtol=TOL)
    torch.testing.assert_close(forward, ref["forward"], atol=TOL, rtol=TOL)
    assert imported.files and all(len(h) == 64 for h in imported.files.values())


NO_SAELENS_ARCHITECTURE = {"sparsify/skip", "sparsify/transcode_skip"}
"""sparsify's TopK SAEs with a skip connection: SAELens 6.54 has no TopK skip architecture."""


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_saved_back_as_saelens_folder(case: Path, tmp_path: Path) -> None:
    """What we import, we write as a SAELens folder (the stored form and the export zip's
    folder) that reads back to the same outputs; where SAELens has no such architecture, the
    export says so in one line."""
    ref = load_file(str(case / "reference.safetensors"))
    scale = float(ref["norm_scaling_factor"]) if "norm_scaling_factor" in ref else None
    imported = read_sae(_sae_folder(case), norm_scaling_factor=scale)
    folder = save_sae(imported.sae, tmp_path / "out")
    if _id(case) in NO_SAELENS_ARCHITECTURE:
        with torch.no_grad():  # stored under our own name, read back the same
            torch.testing.assert_close(
                load_sae(folder)(ref["x"]).x_hat, ref["forward"], atol=TOL, rtol=TOL
            )
        with pytest.raises(InvalidInputError, match="has no SAELens counterpart") as refused:
            write_saelens_folder(folder, tmp_path / "export")
        assert "\n" not in str(refused.value) and not (tmp_path / "export").exists()
        return
    exported = write_saelens_folder(folder, tmp_path / "export")
    for back in (load_sae(folder), load_sae(exported)):
        with torch.no_grad():
            torch.testing.assert_close(back(ref["x"]).x_hat, ref["forward"], atol=TOL, rtol=TOL)
    cfg = json.loads((folder / "cfg.json").read_text())
    assert cfg["normalize_activations"] == imported.sae.cfg.input_normalization
    assert cfg["reshape_activations"] == imported.reshape


def test_saelens_metadata() -> None:
    standard = read_sae(FIXTURES / "saelens" / "standard")
    assert standard.format == "saelens" and standard.reshape == "none"
    assert standard.metadata["source_config"]["architecture"] == "standard"
    pre6 = read_sae(FIXTURES / "saelens" / "pre6_standard")
    assert pre6.hook_name == "blocks.3.hook_resid_pre"
    assert pre6.model_name == "gpt2-small"
    assert pre6.metadata["context_size"] == 128
    assert pre6.metadata["neuronpedia_id"] == "gpt2-small/3-res-jb"
    hook_z = read_sae(FIXTURES / "saelens" / "pre6_hook_z")
    assert hook_z.reshape == "hook_z" and hook_z.hook_name == "blocks.1.attn.hook_z"
    assert read_sae(FIXTURES / "saelens" / "pre6_topk").sae.architecture == "topk"
    assert read_sae(FIXTURES / "saelens" / "gated").sae.architecture == "gated"
    layer_norm = read_sae(FIXTURES / "saelens" / "norm_layer_norm")
    assert layer_norm.sae.cfg.input_normalization == "layer_norm"
    skip = read_sae(FIXTURES / "saelens" / "jumprelu_skip_transcoder")
    assert skip.sae.architecture == "jumprelu_transcoder" and skip.sae.has_skip


def test_sparsify_metadata() -> None:
    topk = read_sae(FIXTURES / "sparsify" / "topk" / "layers.3")
    assert topk.sae.architecture == "topk" and topk.sae.d_sae == 40
    assert topk.hook_name == "blocks.3.hook_resid_post" and topk.hook_name_out is None
    assert topk.model_name == "EleutherAI/pythia-70m"
    assert topk.metadata["hookpoint"] == "layers.3"
    assert set(topk.files) == {"cfg.json", "sae.safetensors", "../config.json"}
    tc = read_sae(FIXTURES / "sparsify" / "transcode_skip" / "layers.3.mlp")
    assert tc.sae.architecture == "topk_transcoder" and tc.sae.has_skip
    assert (tc.hook_name, tc.hook_name_out) == ("blocks.3.hook_mlp_in", "blocks.3.hook_mlp_out")
    assert tc.sae.apply_b_dec_to_input is False


def test_dictionary_learning_metadata() -> None:
    ae = read_sae(FIXTURES / "dictionary_learning" / "AutoEncoder")
    assert ae.hook_name == "blocks.3.hook_resid_post"
    assert ae.model_name == "EleutherAI/pythia-70m-deduped"
    assert ae.metadata["context_size"] == 128 and ae.metadata["dict_class"] == "AutoEncoder"
    jump = read_sae(FIXTURES / "dictionary_learning" / "JumpReluAutoEncoder")
    assert jump.sae.architecture == "jumprelu" and jump.sae.apply_b_dec_to_input is False
    assert read_sae(FIXTURES / "dictionary_learning" / "GatedAutoEncoder").sae.architecture == (
        "gated"
    )
