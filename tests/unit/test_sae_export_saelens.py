"""SAELens itself reads our export zips with the same outputs, for SAEs of every source format.

sae-lens is not a product dependency: this is skipped unless it is importable, e.g. from the
benchmark venv's packages (same torch build as the product venv)::

    PYTHONPATH=.venv-bench/lib/python3.11/site-packages .venv/bin/pytest \
        tests/unit/test_sae_export_saelens.py -q

(The product-venv tests compare the exported folder read back by miStudio; this one asks SAELens.)
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from mistudio.core.formats import read_sae
from mistudio.core.sae import save_sae
from mistudio.core.sae_export import export_members, write_saelens_folder, write_zip
from tests.unit.formats.test_library_fixtures import _sae_folder

sae_lens = pytest.importorskip("sae_lens")

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "formats"
NO_SAELENS_ARCHITECTURE = {"sparsify/skip", "sparsify/transcode_skip"}
CASES = sorted(
    case
    for p in FIXTURES.rglob("reference.safetensors")
    if (case := str(p.parent.relative_to(FIXTURES))) not in NO_SAELENS_ARCHITECTURE
)
"""Every library-written fixture but the two SAELens has no architecture for."""


@pytest.mark.parametrize("case", CASES)
def test_saelens_loads_the_export_with_equal_outputs(case: str, tmp_path: Path) -> None:
    ref = load_file(str(FIXTURES / case / "reference.safetensors"))
    scale = float(ref["norm_scaling_factor"]) if "norm_scaling_factor" in ref else None
    imported = read_sae(_sae_folder(FIXTURES / case), norm_scaling_factor=scale)
    hook = imported.hook_name or "blocks.0.hook_resid_post"
    meta = {"hook_name": hook} | (
        {"reshape_activations": imported.reshape} if imported.reshape != "none" else {}
    )
    stored = save_sae(imported.sae, tmp_path / "stored", meta)
    folder = write_saelens_folder(stored, tmp_path / "export")
    archive = write_zip(export_members(folder, "sae/"), tmp_path / "sae.zip")
    with zipfile.ZipFile(archive) as z:
        z.extractall(tmp_path / "unzipped")
    theirs = sae_lens.SAE.load_from_disk(str(tmp_path / "unzipped" / "sae"), device="cpu")
    x = ref["x"]
    if imported.reshape == "hook_z":  # SAELens takes [..., n_heads, d_head] and gives it back
        x = x.reshape(len(x), 4, -1)
    with torch.no_grad():
        latents, forward = theirs.encode(x), theirs(x).reshape(ref["forward"].shape)
    torch.testing.assert_close(latents, ref["latents"], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(forward, ref["forward"], atol=1e-5, rtol=1e-5)


def test_saelens_loads_hand_built_gemma_and_llama_scope_exports(tmp_path: Path) -> None:
    """Gemma Scope 2's affine skip transcoder (SAELens' jumprelu_skip_transcoder) and Llama
    Scope's dataset-norm JumpReLU, built as in ``formats/test_hand_built.py``."""
    from tests.unit.formats import test_hand_built as hb

    w = hb._weights(5, d_out=hb.D_OUT)
    affine = torch.randn(hb.D_IN, hb.D_OUT, generator=torch.Generator().manual_seed(6)) / 4
    config = {
        "architecture": "jump_relu",
        "hf_hook_point_in": "model.layers.7.pre_feedforward_layernorm.output",
        "hf_hook_point_out": "model.layers.7.post_feedforward_layernorm.output",
        "model_name": "gemma-3-270m-pt",
        "affine_connection": True,
        "type": "transcoder",
    }
    gemma = hb._gemma_scope_2(
        tmp_path / "gs2" / "layer_7_width_16k_l0_small_affine", w, config, affine
    )
    from tests.unit.test_saes_cli import _hand_built

    llama = _hand_built("llama_scope", tmp_path / "llama-src")
    for name, source in (("gemma", gemma), ("llama", llama)):
        imported = read_sae(source)
        stored = save_sae(
            imported.sae, tmp_path / name / "stored", {"hook_name": imported.hook_name}
        )
        folder = write_saelens_folder(stored, tmp_path / name / "export")
        theirs = sae_lens.SAE.load_from_disk(str(folder), device="cpu")
        x = hb._x(5)
        with torch.no_grad():
            torch.testing.assert_close(
                theirs.encode(x), imported.sae.encode(x), atol=1e-5, rtol=1e-5
            )
            torch.testing.assert_close(theirs(x), imported.sae(x).x_hat, atol=1e-5, rtol=1e-5)
