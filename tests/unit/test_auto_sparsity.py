"""Auto sparsity (``target_l0``): the run starts at the target, the controller holds it there
while the coefficient settles, a missed target is a warning on a finished SAE, and only what
cannot work at all is refused before training."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from mistudio.core.sae import build_sae
from mistudio.core.sae.base import SAEConfig
from mistudio.core.training import L0Controller, TrainConfig, start_at_target, train_saes
from mistudio.core.training.auto_sparsity import (
    MAX_TRAJECTORY,
    MIN_ADJUST_STEPS,
    target_warning,
)
from mistudio.errors import InvalidInputError
from tests.unit.planted import PlantedDictionary, one_thread

STEPS = 150
BATCH = 512


def _spec(arch: str, target: float, **extra: object) -> dict[str, object]:
    spec: dict[str, object] = dict(
        hook_name="h", sae=dict(architecture=arch, d_in=32, d_sae=256), target_l0=target, lr=1e-3
    )
    if arch == "transcoder":
        spec["hook_name_out"] = "h"  # reads and predicts the same planted activations
    return spec | extra


@pytest.mark.parametrize(
    ("arch", "target"),
    [("standard", 5), ("standard_skip", 5), ("transcoder", 5), ("jumprelu", 3)],
)
def test_target_l0_is_reached_in_150_steps(arch: str, target: float, tmp_path: Path) -> None:
    """Planted data has 3 atoms per token: a JumpReLU SAE's own L0 falls towards 3 early on,
    so its target sits there; ReLU SAEs hold more latents at a given penalty."""
    planted = PlantedDictionary(d=32, n_atoms=128, n_active=3)
    cfg = TrainConfig(
        saes=[_spec(arch, target)],
        total_tokens=STEPS * BATCH,
        batch_tokens=BATCH,
        final_eval_tokens=20 * BATCH,
    )
    with one_thread():
        res = train_saes(cfg, planted.factory("h", BATCH), tmp_path)
    (r,) = res.saes.values()
    assert abs(r.reached_l0 - target) <= 0.15 * target, r.reached_l0
    assert r.warnings == []
    saved = json.loads((r.folder / "training.json").read_text())
    record = saved["auto_sparsity"]
    assert record["target_l0"] == target and record["frozen_at_step"] == STEPS
    assert record["coefficient_steps"] == int(0.2 * STEPS)  # then the coefficient stays
    late = [p["coefficient"] for p in record["trajectory"] if p["step"] > 0.2 * STEPS]
    assert late and max(late) == min(late) == pytest.approx(r.sparsity_coefficient)
    assert record["coefficient"] == pytest.approx(r.sparsity_coefficient)
    steps = [p["step"] for p in record["trajectory"]]
    assert steps[0] == 1 and steps[-1] >= STEPS - 1 and steps == sorted(steps)
    # The run starts at the target: the first step's L0 is within 15% of it.
    assert abs(record["trajectory"][0]["l0"] - target) <= 0.15 * target
    assert all(m["target_l0"] == target for m in saved["metrics"])


def test_the_run_starts_at_the_target() -> None:
    torch.manual_seed(0)
    x = torch.randn(4096, 16) * 3 + 1
    for arch in ("standard", "jumprelu"):
        sae = build_sae(SAEConfig(architecture=arch, d_in=16, d_sae=512))
        assert start_at_target(sae, x, 20.0)
        l0 = float((sae.encode(x) > 0).sum(-1).float().mean())
        assert l0 == pytest.approx(20.0, rel=0.02), (arch, l0)
    topk = build_sae(SAEConfig(architecture="topk", d_in=16, d_sae=512, k=8))
    assert not start_at_target(topk, x, 20.0)


def test_the_controller_corrects_l0_with_the_thresholds_and_moves_the_coefficient() -> None:
    ctl = L0Controller.start(target=20, initial=1.0, d_in=64, total_steps=1000)
    assert ctl.update(20.0, 0.5) == 0.0 and ctl.coefficient == 1.0  # on target: nothing moves
    shift = ctl.update(20.0 * math.e, 0.5)  # L0 e times too high
    assert shift == pytest.approx(ctl.gain * 0.5)  # raise thresholds by gain * scale
    assert ctl.coefficient == pytest.approx(math.exp(ctl.k_c * ctl.gain))  # and the penalty
    assert ctl.update(20.0 / math.e, 0.5) < 0  # too sparse: lower them
    assert ctl.update(float("nan"), 0.5) == 0.0 and ctl.update(40.0, None) == 0.0
    ctl.freeze()
    before = ctl.coefficient
    assert ctl.update(400.0, 0.5) == 0.0 and ctl.coefficient == before and ctl.frozen_at == 5
    for _ in range(10_000):  # never raises, stays within its bounds
        ctl.update(1e9, 1.0)
    assert math.isfinite(ctl.coefficient)
    assert len(ctl.record()["trajectory"]) <= 2 * MAX_TRAJECTORY  # thinned, however long


def test_a_missed_target_is_a_warning_on_a_saved_sae(tmp_path: Path) -> None:
    """JumpReLU on planted data wants about 3 latents; held at 8 while adjusting, it falls back
    once the coefficient freezes. The run finishes, saves the SAE and says how far it is off."""
    planted = PlantedDictionary(d=32, n_atoms=128, n_active=3)
    spec = _spec("jumprelu", 8, lr=3e-3, auto_sparsity_fraction=0.3)
    cfg = TrainConfig(saes=[spec], total_tokens=STEPS * BATCH, batch_tokens=BATCH)
    with one_thread():
        res = train_saes(cfg, planted.factory("h", BATCH), tmp_path)
    (r,) = res.saes.values()
    assert abs(r.reached_l0 - 8) > 0.15 * 8
    assert len(r.warnings) == 1 and "target L0 8 not reached" in r.warnings[0]
    assert "%" in r.warnings[0]
    assert (r.folder / "sae_weights.safetensors").exists()
    saved = json.loads((r.folder / "training.json").read_text())
    assert saved["warnings"] == r.warnings and saved["final"] is not None


def test_a_run_too_short_to_adjust_is_refused_before_training() -> None:
    spec = _spec("standard", 5, auto_sparsity_fraction=0.8)
    need = math.ceil(MIN_ADJUST_STEPS / 0.8)
    with pytest.raises(InvalidInputError, match=f"at least {need * BATCH:,} tokens"):
        TrainConfig(saes=[spec], total_tokens=12 * BATCH, batch_tokens=BATCH)
    TrainConfig(saes=[spec], total_tokens=need * BATCH, batch_tokens=BATCH)


def test_target_warning_says_how_far_off() -> None:
    assert target_warning(None, 639.0) is None
    assert target_warning(32, 30.0) is None
    assert "L0 638.8 (+1896%)" in (target_warning(32, 638.8) or "")


def test_failing_final_evals_keep_the_trained_sae(tmp_path: Path) -> None:
    planted = PlantedDictionary(d=32, n_atoms=128, n_active=3)
    cfg = TrainConfig(saes=[_spec("standard", 5)], total_tokens=20 * BATCH, batch_tokens=BATCH)

    def evaluate(name: str, sae: object) -> dict[str, object]:
        raise RuntimeError("the model went away")

    with one_thread():
        res = train_saes(cfg, planted.factory("h", BATCH), tmp_path, evaluate=evaluate)
    (r,) = res.saes.values()
    assert (r.folder / "sae_weights.safetensors").exists()
    assert any("final evaluation failed (RuntimeError" in w for w in r.warnings), r.warnings
    saved = json.loads((r.folder / "training.json").read_text())
    assert saved["evals"] == {"error": "RuntimeError: the model went away"}


def test_the_fast_loop_calms_down_when_it_overshoots() -> None:
    """A plant twice as sensitive as the scale says: at gain 1 each shift overshoots by as much
    as it corrects (L0 would swing forever); the halved gain lands it."""
    ctl = L0Controller.start(target=45, initial=1.0, d_in=64, total_steps=1000)
    offset = 0.3  # thresholds below where they should be: L0 too high
    for _ in range(30):
        l0 = 45 * math.exp(2 * offset / 0.1)  # scale 0.1, sensitivity 2 / scale
        offset -= ctl.update(l0, 0.1)
    assert ctl.gain_now < ctl.gain
    assert abs(math.log(45 * math.exp(2 * offset / 0.1) / 45)) < 0.05
