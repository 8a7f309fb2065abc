"""Checkpoints, exact resume, stop requests, divergence, retention."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from mistudio.core.training import (
    TrainConfig,
    TrainingDivergedError,
    best_checkpoint,
    list_checkpoints,
    train_saes,
)
from mistudio.core.training.checkpoints import load_state
from mistudio.errors import InvalidInputError
from tests.unit.planted import PlantedDictionary, one_thread

BATCH = 128


def _config(**overrides) -> TrainConfig:
    saes = [
        dict(
            name="topk",
            hook_name="a",
            sae=dict(architecture="topk", d_in=16, d_sae=64, k=3),
            dead_window_tokens=BATCH * 2,  # AuxK active
            lr_warmup_steps=3,
        ),
        dict(
            name="std",
            hook_name="a",
            sae=dict(architecture="standard", d_in=16, d_sae=64),
            target_l0=6,
            auto_sparsity_fraction=1.0,  # 10 adjusting steps even in the 10-step runs
            lr_decay="cosine",
        ),
        dict(
            name="jump",
            hook_name="b",
            sae=dict(architecture="jumprelu", d_in=16, d_sae=32),
            sparsity_coefficient=0.5,
            sparsity_warmup_steps=5,
            resample_steps=[6],
            dead_window_tokens=BATCH,
        ),
        dict(
            name="btk",
            hook_name="b",
            sae=dict(architecture="batchtopk", d_in=16, d_sae=32, k=2),
        ),
    ]
    fields = dict(
        saes=saes, total_tokens=16 * BATCH, batch_tokens=BATCH, log_every=4, init_batches=2
    )
    fields.update(overrides)
    return TrainConfig(**fields)


def _data():
    pa = PlantedDictionary(d=16, n_atoms=48, n_active=2, seed=1)
    pb = PlantedDictionary(d=16, n_atoms=48, n_active=2, seed=2)

    def factory(position: int):
        i = position
        while True:
            yield {"a": pa.sample(BATCH, i), "b": pb.sample(BATCH, i)}
            i += 1

    return factory


def _weights(run: Path) -> dict[str, dict[str, torch.Tensor]]:
    out = {}
    for folder in sorted((run / "saes").iterdir()):
        out[folder.name] = load_file(str(folder / "sae_weights.safetensors"))
    return out


def test_resume_equals_uninterrupted_run(tmp_path: Path) -> None:
    with one_thread():
        _check_resume(tmp_path)


def _check_resume(tmp_path: Path) -> None:
    full = train_saes(_config(), _data(), tmp_path / "full")
    assert full.steps == 16 and not full.stopped

    calls = {"n": 0}

    def stop_after_7() -> bool:
        calls["n"] += 1
        return calls["n"] > 7

    part = train_saes(_config(checkpoint_every=5), _data(), tmp_path / "part", stop=stop_after_7)
    assert part.stopped and part.steps == 7
    assert [c.step for c in list_checkpoints(tmp_path / "part")] == [5, 7]
    state = load_state(list_checkpoints(tmp_path / "part")[-1])
    assert state["position"] == 7 and state["tokens_seen"] == 7 * BATCH

    resumed = train_saes(_config(checkpoint_every=5), _data(), tmp_path / "part")
    assert resumed.steps == 16 and resumed.tokens_seen == 16 * BATCH
    a, b = _weights(tmp_path / "full"), _weights(tmp_path / "part")
    assert a.keys() == b.keys()
    for name in a:
        for key in a[name]:
            assert torch.equal(a[name][key], b[name][key]), f"{name}/{key}"
    ta = json.loads((tmp_path / "full" / "saes" / "std" / "training.json").read_text())
    tb = json.loads((tmp_path / "part" / "saes" / "std" / "training.json").read_text())
    assert [m["loss"] for m in ta["metrics"]] == [m["loss"] for m in tb["metrics"]]
    assert ta["sparsity_coefficient"] == tb["sparsity_coefficient"]


def test_resume_with_a_different_config_is_refused(tmp_path: Path) -> None:
    train_saes(_config(total_tokens=10 * BATCH), _data(), tmp_path)
    changed = _config(total_tokens=10 * BATCH)
    changed.saes[0].lr = 1e-3
    with pytest.raises(InvalidInputError, match=r"config differs .*saes\.0\.lr"):
        train_saes(changed, _data(), tmp_path)
    # harmless fields may change
    train_saes(_config(total_tokens=10 * BATCH, log_every=1), _data(), tmp_path)


def test_stop_event_leaves_a_checkpoint_and_folders(tmp_path: Path) -> None:
    event = threading.Event()
    seen = []

    def progress(step, total, **m):
        seen.append(step)
        if step >= 4:
            event.set()

    res = train_saes(_config(), _data(), tmp_path, progress=progress, stop=event)
    assert res.stopped and res.steps == 4
    assert res.checkpoint is not None and (res.checkpoint / "std" / "cfg.json").is_file()
    assert all((f.folder / "sae_weights.safetensors").is_file() for f in res.saes.values())


def test_nan_stops_with_step_and_keeps_checkpoint(tmp_path: Path) -> None:
    base = _data()

    def poisoned(position: int):
        for i, batch in enumerate(base(position), start=position):
            if i == 6:
                batch = {k: v.clone() for k, v in batch.items()}
                batch["a"][3, 2] = float("inf")
            yield batch

    with pytest.raises(TrainingDivergedError, match="at step 6"):
        train_saes(_config(checkpoint_every=3), poisoned, tmp_path)
    # step 6 (0-based) is the 7th update: checkpoints after 3 and 6 good updates remain
    ckpts = list_checkpoints(tmp_path)
    assert [c.step for c in ckpts] == [3, 6]
    weights = load_file(str(ckpts[-1].path / "topk" / "sae_weights.safetensors"))
    assert all(torch.isfinite(w).all() for w in weights.values())


def test_retention_keeps_last_and_best(tmp_path: Path) -> None:
    train_saes(_config(checkpoint_every=2, keep_checkpoints=2), _data(), tmp_path)
    steps = [c.step for c in list_checkpoints(tmp_path)]
    best = best_checkpoint(tmp_path)
    assert best is not None
    assert steps[-2:] == [14, 16]
    assert set(steps) <= {14, 16, best.step} and len(steps) <= 3


def test_bad_batches_are_reported(tmp_path: Path) -> None:
    def wrong_width(position: int):
        while True:
            yield {"a": torch.randn(BATCH, 8), "b": torch.randn(BATCH, 16)}

    with pytest.raises(InvalidInputError, match="expects \\[tokens, 16\\]"):
        train_saes(_config(), wrong_width, tmp_path / "w")

    def missing(position: int):
        while True:
            yield {"a": torch.randn(BATCH, 16)}

    with pytest.raises(InvalidInputError, match="no activations for hook 'b'"):
        train_saes(_config(), missing, tmp_path / "m")

    with pytest.raises(InvalidInputError, match="no batches"):
        train_saes(_config(), lambda p: iter(()), tmp_path / "e")
