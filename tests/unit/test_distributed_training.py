"""Data-parallel training (torch.distributed, gloo on CPU) equals one process on the same batches.

One run trains four SAEs at once (standard with a target L0, so the auto-sparsity controller
runs; topk with AuxK active; jumprelu with a resampling step; batchtopk with its global batch
threshold), 16 steps of 128 tokens, checkpoints at steps 8 and 16. It is trained once in this
process and once over 2 ranks (64 rows each); the losses logged every 4 steps, the final
metrics, the step-8 checkpoint and the final weights must agree within float tolerance (the
only difference is the order of float sums: per-shard means averaged over ranks instead of one
mean). Resuming the other run's step-8 checkpoint with the other number of ranks (2 -> 1 and
1 -> 2) must give the same final weights again. Spawning 2 ranks costs ~3 s (each imports torch).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file

from mistudio.core.training import TrainConfig, list_checkpoints, train_saes
from mistudio.core.training.checkpoints import load_state
from mistudio.core.training.distributed import RankGroup, launch, shard_bounds
from mistudio.errors import InvalidInputError
from tests.servers import free_port
from tests.unit.planted import PlantedDictionary, one_thread

BATCH = 128
RTOL, ATOL = 1e-4, 2e-5


def _config(**overrides: Any) -> dict[str, Any]:
    saes = [
        dict(
            name="std",
            hook_name="a",
            sae=dict(architecture="standard", d_in=16, d_sae=64),
            target_l0=6,
            lr_decay="cosine",
        ),
        dict(
            name="topk",
            hook_name="a",
            sae=dict(architecture="topk", d_in=16, d_sae=64, k=3),
            dead_window_tokens=BATCH * 2,  # AuxK active
            lr_warmup_steps=3,
        ),
        dict(
            name="jump",
            hook_name="b",
            sae=dict(architecture="jumprelu", d_in=16, d_sae=32, jumprelu_init_threshold=2.0),
            sparsity_coefficient=0.5,
            resample_steps=[6],
            dead_window_tokens=BATCH,
        ),
        dict(name="btk", hook_name="b", sae=dict(architecture="batchtopk", d_in=16, d_sae=32, k=2)),
    ]
    fields: dict[str, Any] = dict(
        saes=saes,
        total_tokens=16 * BATCH,
        batch_tokens=BATCH,
        log_every=4,
        init_batches=2,
        checkpoint_every=8,
        keep_checkpoints=4,
    )
    fields.update(overrides)
    return fields


def _data():
    pa = PlantedDictionary(d=16, n_atoms=48, n_active=2, seed=1)
    pb = PlantedDictionary(d=16, n_atoms=48, n_active=2, seed=2)

    def factory(position: int):
        i = position
        while True:
            yield {"a": pa.sample(BATCH, i), "b": pb.sample(BATCH, i)}
            i += 1

    return factory


def _rank(group: RankGroup, progress, stop, config: dict[str, Any], run_dir: str):
    """What every rank runs (module level: ranks are spawned and import it)."""
    return train_saes(
        TrainConfig(**config), _data(), run_dir, progress=progress, stop=stop, group=group
    )


def _two_ranks(run_dir: Path, **config: Any):
    seen: list[tuple[int, str]] = []

    def progress(step: int, total: int, **fields: Any) -> None:
        seen.append((step, fields["sae"]))

    result = launch(
        _rank, 2, (_config(**config), str(run_dir)), progress=progress, port=free_port()
    )
    return result, seen


def _weights(run: Path) -> dict[str, dict[str, torch.Tensor]]:
    return {
        f.name: load_file(str(f / "sae_weights.safetensors"))
        for f in sorted((run / "saes").iterdir())
    }


def _assert_close(a: dict[str, dict[str, torch.Tensor]], b: dict[str, dict[str, torch.Tensor]]):
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].keys() == b[name].keys()
        for key in a[name]:
            where = f"{name}/{key}"
            torch.testing.assert_close(
                a[name][key], b[name][key], rtol=RTOL, atol=ATOL, msg=lambda m, w=where: f"{w}: {m}"
            )


def _training(run: Path, name: str) -> dict[str, Any]:
    return json.loads((run / "saes" / name / "training.json").read_text())


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("dist")
    with one_thread():
        one = train_saes(TrainConfig(**_config()), _data(), root / "one")
    two, seen = _two_ranks(root / "two")
    return {"root": root, "one": one, "two": two, "seen": seen}


def test_two_ranks_equal_one_process(runs: dict[str, Any]) -> None:
    root, one, two = runs["root"], runs["one"], runs["two"]
    assert two.steps == one.steps == 16
    assert two.tokens_seen == one.tokens_seen == 16 * BATCH  # global tokens, not one shard's
    assert set(two.saes) == {"std", "topk", "jump", "btk"}
    # Only rank 0 reported: one progress call per SAE per log step.
    assert runs["seen"] == [(s, n) for s in (4, 8, 12, 16) for n in ("std", "topk", "jump", "btk")]
    _assert_close(_weights(root / "one"), _weights(root / "two"))
    for name in two.saes:
        a, b = _training(root / "one", name), _training(root / "two", name)
        for key in ("loss", "l0", "mse", "fvu", "dead", "grad_norm", "sparsity_coefficient"):
            ours = [m[key] for m in b["metrics"] if m[key] is not None]
            theirs = [m[key] for m in a["metrics"] if m[key] is not None]
            assert ours == pytest.approx(theirs, rel=1e-4, abs=1e-5), f"{name} {key}"
        # Final metrics add every rank's shards (the whole run is the final window here).
        assert b["final"]["n_tokens"] == a["final"]["n_tokens"] == 16 * BATCH
        assert b["final"]["fvu"] == pytest.approx(a["final"]["fvu"], rel=1e-4)
        assert b["final"]["l0"] == pytest.approx(a["final"]["l0"], rel=1e-4)
        assert b["n_resampled"] == a["n_resampled"]
    assert _training(root / "two", "jump")["n_resampled"] > 0  # the resampling step ran
    std_a, std_b = _training(root / "one", "std"), _training(root / "two", "std")
    assert std_b["sparsity_coefficient"] == pytest.approx(std_a["sparsity_coefficient"], rel=1e-4)
    # The checkpoint holds global state: the same on both sides.
    a8, b8 = (list_checkpoints(root / r)[0] for r in ("one", "two"))
    assert a8.step == b8.step == 8
    sa, sb = load_state(a8), load_state(b8)
    assert sa["position"] == sb["position"] == 8 and sa["tokens_seen"] == sb["tokens_seen"]
    for name in sa["saes"]:
        assert torch.equal(sa["saes"][name]["since_fired"], sb["saes"][name]["since_fired"])
        assert sa["saes"][name]["final_acc"]["n"] == sb["saes"][name]["final_acc"]["n"] == 8 * BATCH


def _from_step_8(source: Path, dest: Path) -> None:
    """A copy of ``source`` as it was at step 8 (later checkpoint and SAE folders removed)."""
    shutil.copytree(source, dest)
    shutil.rmtree(dest / "saes")
    for c in list_checkpoints(dest):
        if c.step > 8:
            shutil.rmtree(c.path)
    assert [c.step for c in list_checkpoints(dest)] == [8]


def test_resume_two_ranks_on_one(runs: dict[str, Any]) -> None:
    root = runs["root"]
    _from_step_8(root / "two", root / "two_then_one")
    with one_thread():
        resumed = train_saes(TrainConfig(**_config()), _data(), root / "two_then_one")
    assert resumed.steps == 16 and resumed.tokens_seen == 16 * BATCH
    _assert_close(_weights(root / "one"), _weights(root / "two_then_one"))
    a, b = _training(root / "one", "topk"), _training(root / "two_then_one", "topk")
    assert b["final"]["n_tokens"] == a["final"]["n_tokens"]


def test_resume_one_process_on_two_ranks(runs: dict[str, Any]) -> None:
    root = runs["root"]
    _from_step_8(root / "one", root / "one_then_two")
    resumed, _ = _two_ranks(root / "one_then_two")
    assert resumed.steps == 16 and resumed.tokens_seen == 16 * BATCH
    _assert_close(_weights(root / "one"), _weights(root / "one_then_two"))
    a, b = _training(root / "one", "jump"), _training(root / "one_then_two", "jump")
    assert b["final"]["n_tokens"] == a["final"]["n_tokens"]  # rank 0 kept the summed window
    assert b["final"]["fvu"] == pytest.approx(a["final"]["fvu"], rel=1e-4)


def test_shard_bounds_cover_the_batch_in_order() -> None:
    for rows, world in ((128, 2), (10, 3), (7, 4)):
        bounds = [shard_bounds(rows, r, world) for r in range(world)]
        assert bounds[0][0] == 0 and bounds[-1][1] == rows
        assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:], strict=False))


def test_a_rank_error_comes_back_as_one_line(tmp_path: Path) -> None:

    # A config error on the ranks is re-raised here as the same one-line error.
    with pytest.raises(InvalidInputError, match="yielded no batches"):
        launch(_empty_rank, 2, (_config(), str(tmp_path)), port=free_port())
    assert not (tmp_path / "saes").exists()


def _empty_rank(group: RankGroup, progress, stop, config: dict[str, Any], run_dir: str):
    return train_saes(TrainConfig(**config), lambda position: iter(()), run_dir, group=group)


def test_run_training_over_two_ranks_from_a_live_stream(tmp_path: Path) -> None:
    """The pipeline with ``nproc=2``: rank 0 runs the LM and scatters each batch's shards; the
    SAEs equal a one-process run's, and only rank 0 evaluated them."""
    from mistudio.core.data import DatasetSource, TokenizeConfig, import_dataset, tokenize_dataset
    from mistudio.core.pipeline import TrainingRunConfig, run_training
    from tests.unit.tiny_models import random_texts, tiny_model, tiny_tokenizer

    src = tmp_path / "docs.jsonl"
    src.write_text("\n".join(json.dumps({"text": t}) for t in random_texts(60)))
    import_dataset(DatasetSource.local(src), tmp_path / "ds")
    tokenize_dataset(
        tmp_path / "ds",
        tiny_tokenizer(),
        TokenizeConfig(max_length=32, stride=16),
        tmp_path / "tok",
    )
    tiny_model("llama").save_pretrained(tmp_path / "lm")
    tiny_tokenizer().save_pretrained(tmp_path / "lm")
    train = TrainConfig(
        saes=[
            dict(
                name="topk",
                hook_name="model.layers.0",  # an HF name, normalised on rank 0 only
                sae=dict(architecture="topk", d_in=32, d_sae=64, k=4),
            )
        ],
        total_tokens=8 * 128,
        batch_tokens=128,
        log_every=4,
        init_batches=2,
    )

    def config(nproc: int) -> TrainingRunConfig:
        return TrainingRunConfig(
            model=str(tmp_path / "lm"),
            tokenization=str(tmp_path / "tok"),
            train=train,
            buffer_tokens=512,
            eval_sequences=4,
            eval_splice=False,
            nproc=nproc,
        )

    with one_thread():
        one = run_training(config(1), tmp_path / "one")
    two = run_training(config(2), tmp_path / "two")
    assert two.steps == one.steps == 8 and two.tokens_seen == 8 * 128
    _assert_close(_weights(tmp_path / "one"), _weights(tmp_path / "two"))
    held_one, held_two = (r.saes["topk"].evals["held_out"] for r in (one, two))
    assert held_two["fvu"] == pytest.approx(held_one["fvu"], rel=1e-4)
    with pytest.raises(InvalidInputError, match="must split evenly over 3 ranks"):
        run_training(config(3), tmp_path / "three")
