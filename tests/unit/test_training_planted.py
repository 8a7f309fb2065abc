"""End-to-end training on a planted sparse dictionary: the SAE must find the atoms."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from mistudio.core.sae import load_sae
from mistudio.core.training import TrainConfig, train_saes
from tests.unit.planted import PlantedDictionary, one_thread, recovery

D, ATOMS, BATCH = 32, 128, 512

CASES = {
    "topk": (dict(architecture="topk", k=4), {}, 150),
    "standard": (dict(architecture="standard"), dict(sparsity_coefficient=1.0), 300),
    "jumprelu": (
        dict(architecture="jumprelu", jumprelu_init_threshold=0.1),
        dict(sparsity_coefficient=1.0, lr=1e-2),
        300,
    ),
}


@pytest.fixture
def single_thread():
    with one_thread():
        yield


@pytest.mark.parametrize("arch", list(CASES))
def test_planted_dictionary_is_recovered(arch: str, tmp_path: Path, single_thread: None) -> None:
    planted = PlantedDictionary(d=D, n_atoms=ATOMS, n_active=3)
    sae_fields, train_fields, steps = CASES[arch]
    spec = dict(
        hook_name="h",
        sae=dict(d_in=D, d_sae=2 * ATOMS, **sae_fields),
        lr_warmup_steps=20,
        **({"lr": 3e-3} | train_fields),
    )
    cfg = TrainConfig(saes=[spec], total_tokens=steps * BATCH, batch_tokens=BATCH, log_every=50)
    logged: list[dict] = []
    result = train_saes(
        cfg, planted.factory("h", BATCH), tmp_path, progress=lambda s, t, **m: logged.append(m)
    )
    (res,) = result.saes.values()
    sae = load_sae(res.folder)  # the saved, scale-folded SAE on raw activations
    assert recovery(planted.atoms, sae.W_dec.detach()) >= 0.9
    assert res.final is not None and res.final.fvu < 0.35
    # the folded SAE reconstructs raw data as well as training measured
    x = planted.sample(2048, 10_000)
    with torch.no_grad():
        out = sae(x)
    fvu = (out.x_hat - x).pow(2).sum() / (x - x.mean(0)).pow(2).sum()
    assert float(fvu) < 0.35
    assert {"loss", "mse", "l0", "fvu", "dead", "dense", "lr", "grad_norm", "tokens_per_s"} <= set(
        logged[-1]
    )
    assert logged[-1]["sae"] == res.name
