"""Config validation, schedules and memory estimates (auto sparsity: test_auto_sparsity.py)."""

from __future__ import annotations

import pytest

from mistudio.core.training import (
    TrainConfig,
    estimate_training_memory,
    lr_factor,
    warmup_factor,
)
from mistudio.errors import InvalidInputError

TOPK = dict(hook_name="h", sae=dict(architecture="topk", d_in=8, d_sae=32, k=4))


@pytest.mark.parametrize(
    ("sae", "match"),
    [
        (
            dict(hook_name="h", sae=dict(architecture="standard", d_in=8, d_sae=32)),
            "needs sparsity",
        ),
        ({**TOPK, "target_l0": 3}, "fixes L0 with k"),
        ({**TOPK, "lr": 0}, "lr must be > 0"),
        ({**TOPK, "adam_betas": (0.9, 1.0)}, "adam_betas"),
        ({**TOPK, "resample_steps": [5]}, "resample_steps"),
        (
            dict(
                hook_name="h",
                sae=dict(architecture="standard", d_in=8, d_sae=32),
                target_l0=40,
            ),
            "target_l0 must be in",
        ),
        (
            dict(
                hook_name="h",
                sae=dict(architecture="transcoder", d_in=8, d_sae=32, d_out=4),
                sparsity_coefficient=1.0,
            ),
            "needs hook_name_out",
        ),
        ({**TOPK, "hook_name_out": "other"}, "only a transcoder"),
        ({**TOPK, "dead_window_tokens": 0}, "dead_window_tokens"),
        ({**TOPK, "unknown_field": 1}, "unknown_field"),
    ],
)
def test_bad_sae_train_configs(sae: dict, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        TrainConfig(saes=[sae], total_tokens=1000, batch_tokens=100)


def test_bad_run_configs() -> None:
    with pytest.raises(InvalidInputError, match="at least one SAE"):
        TrainConfig(saes=[], total_tokens=1000)
    with pytest.raises(InvalidInputError, match="less than one batch"):
        TrainConfig(saes=[TOPK], total_tokens=10, batch_tokens=100)
    with pytest.raises(InvalidInputError, match="unique"):
        TrainConfig(saes=[TOPK, TOPK], total_tokens=1000, batch_tokens=100)
    with pytest.raises(InvalidInputError, match="CUDA"):
        TrainConfig(saes=[TOPK], total_tokens=1000, batch_tokens=100, autocast="bfloat16")
    cfg = TrainConfig(saes=[TOPK, {**TOPK, "name": "second"}], total_tokens=1000, batch_tokens=100)
    assert cfg.total_steps == 10
    assert cfg.saes[0].resolved_name == "h.topk.32.k4"


def test_lr_schedule() -> None:
    f = [
        lr_factor(s, 100, warmup_steps=10, decay="linear", decay_start_fraction=0.8)
        for s in range(100)
    ]
    assert f[0] == pytest.approx(0.1) and f[9] == pytest.approx(1.0)
    assert f[50] == 1.0 and f[79] == 1.0
    assert f[90] == pytest.approx(0.5) and f[99] == pytest.approx(0.05)
    cos = [
        lr_factor(s, 100, decay="cosine", decay_start_fraction=0.0, end_fraction=0.1)
        for s in range(100)
    ]
    assert cos[0] == 1.0 and cos[50] == pytest.approx(0.1 + 0.9 * 0.5)
    assert all(a >= b for a, b in zip(cos, cos[1:], strict=False))
    assert lr_factor(99, 100, decay="constant") == 1.0
    assert warmup_factor(4, 10) == pytest.approx(0.5) and warmup_factor(20, 10) == 1.0


def test_memory_estimate() -> None:
    big = dict(hook_name="a", sae=dict(architecture="topk", d_in=576, d_sae=4608, k=32))
    std = dict(
        hook_name="b",
        sae=dict(architecture="standard", d_in=576, d_sae=4608),
        sparsity_coefficient=1,
    )
    est = estimate_training_memory(
        TrainConfig(saes=[big, std], total_tokens=10**6, batch_tokens=4096), lm_bytes=10**9
    )
    n_params = 2 * 576 * 4608 + 4608 + 576
    topk = est.per_sae["a.topk.4608.k32"]
    assert topk.params == 4 * n_params and topk.optimizer == 8 * n_params
    dense = est.per_sae["b.standard.4608.c1"]
    assert dense.activations > 3 * topk.activations  # dense [batch, d_sae] temporaries
    assert est.per_hook == {"a": 4096 * 576 * 4, "b": 4096 * 576 * 4}
    assert est.total > 10**9 + topk.params * 4
    assert 1.0 < est.total_gib < 3.0


@pytest.mark.parametrize(
    ("sae", "match"),
    [
        (dict(architecture="gated", d_in=8, d_sae=32), "inference only"),
        (
            dict(architecture="topk", d_in=8, d_sae=32, k=4, input_normalization="layer_norm"),
            "input_normalization",
        ),
    ],
)
def test_imported_only_saes_are_refused_for_training(sae: dict, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        TrainConfig(saes=[dict(hook_name="h", sae=sae)], total_tokens=4096, batch_tokens=512)
