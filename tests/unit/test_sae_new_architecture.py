"""Adding an SAE architecture is one class plus its registration, and nothing else changes.

A tiny architecture is registered here, inside the test, and goes through every generic path:
config validation, the architecture catalog the API serves, the memory estimate, training with
resume-able checkpoints, saving as a SAELens folder and loading back as the same class. If any of
those paths still branched on built-in names, this test would fail (the Matryoshka issue relies
on it).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from torch import Tensor

from mistudio.core.sae import base, load_sae, registry
from mistudio.core.sae.base import SAE, SAEConfig, SAEOutput, TrainContext, mse_loss
from mistudio.core.sae.catalog import architecture_catalog
from mistudio.core.sae.registry import register_sae
from mistudio.core.sae.saelens_format import read_cfg
from mistudio.core.training import SAETrainConfig, TrainConfig, estimate_training_memory, train_saes
from mistudio.errors import InvalidInputError

NAME = "test_scaled_relu"


@pytest.fixture
def new_arch(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[SAE]]:
    """Registers the test architecture in a copy of the registry (undone after the test)."""
    registry.registered_architectures()  # built-ins loaded before the copy
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))

    @register_sae(NAME)
    class ScaledReLUSAE(SAE):
        """ReLU SAE with a learned per-latent output gain and a plain L1 penalty (test only)."""

        sparsity_penalty = "l1"
        sparsity_control = "penalty"
        supports_resampling = True

        def __init__(self, cfg: SAEConfig) -> None:
            super().__init__(cfg)
            self.gain = torch.nn.Parameter(
                torch.ones(self.d_sae, dtype=self.W_enc.dtype, device=self.W_enc.device)
            )

        def activate(self, pre: Tensor) -> Tensor:
            return torch.relu(pre) * self.gain

        def training_forward(self, x: Tensor, target: Tensor, ctx: TrainContext) -> SAEOutput:
            latents = self.encode(x)  # [batch, d_sae]
            x_hat = self.decode(latents, x)
            mse = mse_loss(x_hat, target)
            sparsity = ctx.sparsity_coefficient * latents.abs().sum(-1).mean()
            active = latents > 0
            return SAEOutput(
                x_hat=x_hat,
                latents=latents,
                loss=mse + sparsity,
                losses={"mse": mse, "sparsity": sparsity},
                l0=active.sum(-1).float().mean(),
                fired=active.sum(0),
            )

        def saelens_tensors(self) -> dict[str, Tensor]:
            return {**self._base_tensors(), "gain": self.gain.detach()}

        def load_saelens_tensors(self, tensors: dict[str, Tensor]) -> None:
            super().load_saelens_tensors(tensors)
            with torch.no_grad():
                self.gain.copy_(tensors["gain"])

    yield ScaledReLUSAE


def _batches(n: int, d: int = 8, rows: int = 64) -> list[dict[str, Tensor]]:
    gen = torch.Generator().manual_seed(0)
    return [{"h": torch.randn(rows, d, generator=gen)} for _ in range(n)]


def test_generic_paths_know_a_new_architecture(new_arch: type[SAE], tmp_path: Path) -> None:
    cfg = SAEConfig(architecture=NAME, d_in=8, d_sae=16)
    assert type(base.build_sae(cfg)) is new_arch

    # Its facts are served like a built-in's.
    info = {a.name: a for a in architecture_catalog()}[NAME]
    assert info.sparsity_control == "penalty" and info.supports_resampling
    assert info.description.startswith("ReLU SAE with a learned per-latent output gain")
    assert info.saelens_names == [NAME]

    # Training-config checks ask the class: a penalty architecture needs a coefficient.
    with pytest.raises(InvalidInputError, match=f"{NAME} needs sparsity_coefficient"):
        SAETrainConfig(hook_name="h", sae=cfg)
    spec = SAETrainConfig(hook_name="h", sae=cfg, sparsity_coefficient=0.01, resample_steps=[3])

    # The memory estimate counts its extra parameter without knowing about it.
    run = TrainConfig(saes=[spec], total_tokens=6 * 64, batch_tokens=64, init_batches=1)
    per_sae = estimate_training_memory(run).per_sae[spec.resolved_name]
    n_params = 8 * 16 + 16 + 16 * 8 + 8 + 16  # W_enc, b_enc, W_dec, b_dec, gain
    assert per_sae.params == n_params * 4

    # Train (with a checkpoint), save, and load back as the same class with the same function.
    result = train_saes(run.model_copy(update={"checkpoint_every": 3}), _batches(6), tmp_path)
    assert result.steps == 6
    folder = result.saes[spec.resolved_name].folder
    assert read_cfg(folder)["architecture"] == NAME
    loaded = load_sae(folder)
    assert type(loaded) is new_arch
    x = torch.randn(5, 8)
    trained = base.build_sae(loaded.cfg)
    trained.load_saelens_tensors(loaded.saelens_tensors())
    assert torch.equal(loaded(x).x_hat, trained(x).x_hat)
    assert not torch.equal(loaded.gain, torch.ones(16)), "the extra parameter was trained and saved"


def test_unknown_architecture_is_one_line(new_arch: type[SAE]) -> None:
    with pytest.raises(InvalidInputError, match="unknown SAE architecture 'nope'; known: .*"):
        SAEConfig(architecture="nope", d_in=8, d_sae=16)
    try:
        SAEConfig(architecture="nope", d_in=8, d_sae=16)
    except InvalidInputError as exc:
        assert "\n" not in str(exc) and NAME in str(exc)
