"""The training plan shown before Start: the sparsity plan is checked against what a real run
records (training.json's auto_sparsity), the step and forward timings against real runs."""

from __future__ import annotations

import json

import pytest
import torch

from mistudio.core.training import TrainConfig, train_saes
from mistudio.core.training.plan import (
    benchmark_lm_forward,
    benchmark_steps,
    sparsity_plan,
    sparsity_plans,
)
from mistudio.errors import InvalidInputError
from tests.unit.tiny_models import tiny_loaded

D_IN = 16


def _config(**sae: object) -> TrainConfig:
    spec = {"hook_name": "h", "sae": {"architecture": "standard", "d_in": D_IN, "d_sae": 64}}
    spec.update(sae)
    return TrainConfig(saes=[spec], total_tokens=60 * 128, batch_tokens=128, log_every=10)


def _batches(n: int):
    gen = torch.Generator().manual_seed(1)
    base = torch.randn(256, D_IN, generator=gen)
    for _ in range(n):
        idx = torch.randint(0, 256, (128,), generator=gen)
        yield {"h": base[idx] + 0.1 * torch.randn(128, D_IN, generator=gen)}


def test_auto_sparsity_plan_matches_the_run(tmp_path) -> None:
    config = _config(target_l0=8, auto_sparsity_fraction=0.5)
    plan = sparsity_plans(config)[config.saes[0].resolved_name]
    assert plan.control == "penalty" and plan.target_l0 == 8
    assert plan.start_coefficient == pytest.approx(D_IN / (10 * 8))
    assert plan.hold_steps == 30 and plan.adapt_steps == 12  # 50% and 20% of 60 steps
    assert "adapts toward target L0 8" in plan.summary and "then stays" in plan.summary

    result = train_saes(config, list(_batches(60)), tmp_path)
    folder = next(iter(result.saes.values())).folder
    record = json.loads((folder / "training.json").read_text())["auto_sparsity"]
    assert record["coefficient_steps"] == plan.adapt_steps
    assert record["frozen_at_step"] == plan.hold_steps
    assert record["trajectory"][0]["coefficient"] == pytest.approx(plan.start_coefficient)
    # After the adapting steps the coefficient stays where it ended.
    late = [p["coefficient"] for p in record["trajectory"] if p["step"] > plan.adapt_steps]
    assert late and max(late) == pytest.approx(min(late))


def test_given_start_and_fixed_and_k_plans() -> None:
    hinted = _config(target_l0=8, sparsity_coefficient=0.25).saes[0]
    assert sparsity_plan(hinted, 60).start_coefficient == pytest.approx(0.25)
    fixed = sparsity_plan(_config(sparsity_coefficient=3.0, sparsity_warmup_steps=5).saes[0], 60)
    assert (fixed.start_coefficient, fixed.adapt_steps, fixed.warmup_steps) == (3.0, 0, 5)
    assert fixed.summary == "coefficient 3, fixed, reached after a 5-step warm-up from 0"
    topk = _config(sae={"architecture": "topk", "d_in": D_IN, "d_sae": 64, "k": 4}).saes[0]
    plan = sparsity_plan(topk, 60)
    assert plan.control == "k" and plan.start_coefficient is None and "k=4" in plan.summary


def test_benchmark_steps_times_every_sae() -> None:
    config = TrainConfig(
        saes=[
            {"hook_name": "a", "sae": {"architecture": "topk", "d_in": 8, "d_sae": 32, "k": 4}},
            {
                "hook_name": "b",
                "sae": {"architecture": "standard", "d_in": 12, "d_sae": 48},
                "target_l0": 4,
            },
        ],
        total_tokens=64 * 100,
        batch_tokens=64,
    )
    timing = benchmark_steps(config, max_steps=3)
    assert 1 <= timing.steps_timed <= 3
    assert set(timing.per_sae) == {s.resolved_name for s in config.saes}
    assert all(t > 0 for t in timing.per_sae.values())
    assert timing.steps_timed == 3  # at least MIN_TIMED_STEPS, at most max_steps
    assert timing.seconds_per_step >= max(timing.per_sae.values())
    with pytest.raises(InvalidInputError, match="max_steps"):
        benchmark_steps(config, max_steps=0)


def test_benchmark_lm_forward_stops_at_the_deepest_hook() -> None:
    loaded = tiny_loaded("llama")
    timing = benchmark_lm_forward(loaded, ["blocks.0.hook_resid_post"], batch_size=2, seq_len=16)
    assert timing.forwards_timed >= 1 and timing.seconds_per_forward > 0
    assert timing.tokens_per_second == pytest.approx(32 / timing.seconds_per_forward)
    with pytest.raises(InvalidInputError):
        benchmark_lm_forward(loaded, ["blocks.9.hook_resid_post"], batch_size=2, seq_len=16)
