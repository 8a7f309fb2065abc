"""SAE repos to serve from the fake Hub (``tests/fake_hub.py``): the small fixtures of
``tests/fixtures/formats`` (written by SAELens, sparsify and dictionary_learning themselves) laid
out the way the Hub's SAE repos are, plus random SAEs of a chosen width for a real model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "formats"


def fixture(case: str) -> Path:
    """``tests/fixtures/formats/<case>`` (e.g. ``saelens/topk``)."""
    return FIXTURES / case


def reference(case: str) -> dict[str, torch.Tensor]:
    """The library's own outputs on random inputs: ``x``, ``latents``, ``decoded``, ``forward``."""
    return load_file(str(FIXTURES / case / "reference.safetensors"))


def build_multi_sae_repo(root: Path) -> Path:
    """A repo of four SAEs in three formats, in subfolders, plus a README::

    blocks.3.hook_resid_post/   SAELens standard
    blocks.4.hook_resid_post/   SAELens topk
    sparsify/layers.3/          sparsify topk
    dl/trainer_0/               dictionary_learning JumpReLU
    """
    shutil.copytree(fixture("saelens/standard"), root / "blocks.3.hook_resid_post")
    shutil.copytree(fixture("saelens/topk"), root / "blocks.4.hook_resid_post")
    shutil.copytree(fixture("sparsify/topk/layers.3"), root / "sparsify/layers.3")
    shutil.copytree(fixture("dictionary_learning/JumpReluAutoEncoder"), root / "dl/trainer_0")
    (root / "README.md").write_text("---\nlibrary_name: saelens\n---\n# Four SAEs\n")
    return root


def saelens_folder(
    folder: Path,
    d_in: int,
    d_sae: int,
    hook_name: str,
    model_name: str,
    architecture: str = "topk",
    seed: int = 0,
) -> Path:
    """A random SAE as SAELens 6 writes it (cfg.json without our own metadata keys)."""
    from mistudio.core.sae import SAEConfig, build_sae, save_sae

    torch.manual_seed(seed)
    extra = {"k": max(1, d_sae // 16)} if architecture == "topk" else {}
    sae = build_sae(SAEConfig(architecture=architecture, d_in=d_in, d_sae=d_sae, **extra))
    with torch.no_grad():
        for p in sae.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    save_sae(sae, folder)
    cfg = json.loads((folder / "cfg.json").read_text())
    cfg["metadata"] = {
        "sae_lens_version": "6.54.12",
        "model_name": model_name,
        "hook_name": hook_name,
        "context_size": 128,
    }
    (folder / "cfg.json").write_text(json.dumps(cfg))
    return folder


def unknown_format_folder(folder: Path) -> Path:
    """Files no reader recognises."""
    folder.mkdir(parents=True)
    (folder / "weights.bin").write_bytes(b"\0" * 64)
    (folder / "notes.txt").write_text("not an SAE")
    return folder


def bad_shape_folder(folder: Path) -> Path:
    """A SAELens folder whose cfg.json says d_in 8 while its tensors are 16 wide."""
    shutil.copytree(fixture("saelens/standard"), folder)
    cfg = json.loads((folder / "cfg.json").read_text())
    cfg["d_in"] = 8
    (folder / "cfg.json").write_text(json.dumps(cfg))
    return folder
