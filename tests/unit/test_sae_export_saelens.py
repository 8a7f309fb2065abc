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

from mistudio.core.formats import read_sae
from mistudio.core.sae import save_sae
from mistudio.core.sae_export import export_members, write_saelens_folder, write_zip
from tests.sae_repos import fixture

sae_lens = pytest.importorskip("sae_lens")

CASES = [
    "saelens/standard",
    "saelens/topk",
    "saelens/jumprelu",
    "saelens/gated",
    "saelens/pre6_topk",
    "sparsify/topk/layers.3",
    "dictionary_learning/AutoEncoder",
    "dictionary_learning/JumpReluAutoEncoder",
    "dictionary_learning/BatchTopKSAE",
]


@pytest.mark.parametrize("case", CASES)
def test_saelens_loads_the_export_with_equal_outputs(case: str, tmp_path: Path) -> None:
    imported = read_sae(fixture(case))
    stored = save_sae(imported.sae, tmp_path / "stored", {"hook_name": "blocks.0.hook_resid_post"})
    folder = write_saelens_folder(stored, tmp_path / "export")
    archive = write_zip(export_members(folder, "sae/"), tmp_path / "sae.zip")
    with zipfile.ZipFile(archive) as z:
        z.extractall(tmp_path / "unzipped")
    theirs = sae_lens.SAE.load_from_disk(str(tmp_path / "unzipped" / "sae"), device="cpu")
    x = torch.randn(64, imported.sae.d_in) * 2
    with torch.no_grad():
        assert torch.allclose(theirs.encode(x), imported.sae.encode(x), atol=1e-5)
        assert torch.allclose(theirs(x), imported.sae(x).x_hat, atol=1e-5)
