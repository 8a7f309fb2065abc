"""Train one peer SAE (SAELens or dictionary_learning) on the benchmark's in-memory activations.

Run by ``benchmarks/training.py`` through the benchmark venv::

    .venv-bench/bin/python benchmarks/peer_training.py --tool saelens --arch topk \\
        --data benchmarks/.cache/train-....npy --steps 488 --out DIR

``--data`` is the float16 ``[n_tokens, d_in]`` array (already shuffled) that miStudio trains on
too; every tool reads batch ``i`` = rows ``[i*B, (i+1)*B)`` converted to float32, cycling past
the end (peers consume extra batches for their normalisation estimate). Prints one JSON line:
timing of the training loop only (see :class:`TimedBatches`) and where the SAE was saved
(SAELens: ``save_inference_model`` folder; dictionary_learning: ``trainer_0/ae.pt``).

:class:`TimedBatches` is also imported by ``training.py`` (product venv) so all three tools are
timed the same way; nothing here imports a peer at module level.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch


class TimedBatches:
    """Cyclic batches over an in-memory [n, d] tensor, recording when each batch was asked for.

    ``calls[i]`` / ``rets[i]``: perf_counter when request ``i`` started / its batch was handed
    over; producing a batch (slice + float32 copy) is data time, excluded from training time.
    Iterating again starts again from batch 0 (dictionary_learning iterates twice: norm
    estimate, then training); the records accumulate.
    """

    def __init__(self, data: torch.Tensor, batch: int, hook: str | None = None) -> None:
        self.data, self.batch, self.hook = data, batch, hook
        self.n_batches = data.shape[0] // batch
        if self.n_batches == 0:
            raise SystemExit("fewer tokens than one batch")
        self.calls: list[float] = []
        self.rets: list[float] = []

    def get(self, i: int) -> torch.Tensor:
        j = i % self.n_batches
        return self.data[j * self.batch : (j + 1) * self.batch].float()

    def iterate(self, start: int = 0) -> Iterator[Any]:
        i = start
        while True:
            self.calls.append(time.perf_counter())
            x = self.get(i)
            out: Any = {self.hook: x} if self.hook else x
            self.rets.append(time.perf_counter())
            yield out
            i += 1

    def __iter__(self) -> Iterator[Any]:
        return self.iterate(0)

    def stats(self, steps: int, first: int, extra_last: int = 0) -> dict[str, float]:
        """Training-loop speed from the last ``steps`` (+ ``extra_last``) requests.

        The training loop asks for batch ``i`` before step ``i`` (1-based), so step ``i`` runs
        between the hand-over of request ``i`` and the call of request ``i + 1``. Measured: steps
        ``first .. steps-1`` (all tools lose their last step unless, like dictionary_learning,
        they ask for one batch more: ``extra_last=1`` covers step ``steps`` too).
        """
        n = steps + extra_last
        calls, rets = self.calls[-n:], self.rets[-n:]
        if len(calls) < n:
            raise RuntimeError(f"only {len(calls)} batch requests recorded, expected {n}")
        last = steps - 1 + extra_last  # index of the last request whose call closes a step
        step_times = [calls[i + 1] - rets[i] for i in range(first - 1, last)]
        total = sum(step_times)
        measured = len(step_times)
        return {
            "measured_steps": measured,
            "loop_seconds": total,
            "tokens_per_s": measured * self.batch / total,
            "tokens_per_s_median_step": self.batch / statistics.median(step_times),
            "tokens_per_s_best_step": self.batch / min(step_times),
        }


def load_array(path: str) -> torch.Tensor:
    return torch.from_numpy(np.load(path))


def train_saelens(args: argparse.Namespace, timed: TimedBatches, out: Path) -> dict[str, Any]:
    from sae_lens import (
        JumpReLUTrainingSAE,
        JumpReLUTrainingSAEConfig,
        StandardTrainingSAE,
        StandardTrainingSAEConfig,
        TopKTrainingSAE,
        TopKTrainingSAEConfig,
    )
    from sae_lens.config import LoggingConfig, SAETrainerConfig
    from sae_lens.training.sae_trainer import SAETrainer

    common = {
        "d_in": args.d_in,
        "d_sae": args.d_sae,
        "normalize_activations": "expected_average_only_in",
    }
    if args.arch == "standard":
        sae: Any = StandardTrainingSAE(
            StandardTrainingSAEConfig(
                l1_coefficient=args.l1, l1_warm_up_steps=0, lp_norm=1.0, **common
            )
        )
    elif args.arch == "jumprelu":
        # DeepMind's step L0 loss with SAELens' defaults (init threshold 0.01, bandwidth 0.05:
        # the same as ours), weighted by the coefficient miStudio chose.
        sae = JumpReLUTrainingSAE(
            JumpReLUTrainingSAEConfig(
                l0_coefficient=args.l1,
                l0_warm_up_steps=0,
                jumprelu_sparsity_loss_mode="step",
                **common,
            )
        )
    else:
        sae = TopKTrainingSAE(TopKTrainingSAEConfig(k=args.k, **common))
    cfg = SAETrainerConfig(
        total_training_samples=args.steps * args.batch,
        train_batch_size_samples=args.batch,
        lr=args.lr,
        lr_end=args.lr,
        lr_scheduler_name="constant",
        lr_warm_up_steps=0,
        lr_decay_steps=max(1, args.steps // 5),  # linear to 0 over the last 20%, as ours
        device="cpu",
        dead_feature_window=max(1, args.dead_tokens // args.batch),
        feature_sampling_window=2000,
        logger=LoggingConfig(log_to_wandb=False),
        n_batches_for_norm_estimate=args.norm_batches,
    )
    # The norm estimate reads its own batches; training then starts at batch 0 like the others.
    provider = itertools.chain(
        itertools.islice(timed.iterate(0), args.norm_batches), timed.iterate(0)
    )
    trainer = SAETrainer(cfg=cfg, sae=sae, data_provider=provider)
    t0 = time.perf_counter()
    sae = trainer.fit()
    wall = time.perf_counter() - t0
    folder = out / "saelens"
    sae.save_inference_model(str(folder))
    return {
        "format": "saelens",
        "path": str(folder),
        "fit_wall_s": wall,
        "steps_run": trainer.n_training_steps,
        "settings": {
            "l1_coefficient": args.l1 if args.arch == "standard" else None,
            "l0_coefficient": args.l1 if args.arch == "jumprelu" else None,
            "k": args.k if args.arch == "topk" else None,
            "normalize_activations": "expected_average_only_in",
            "n_batches_for_norm_estimate": args.norm_batches,
            "dead_feature_window_steps": cfg.dead_feature_window,
            "lr_decay_steps": cfg.lr_decay_steps,
        },
        "stats": timed.stats(args.steps, first=2),
    }


def train_dictionary_learning(
    args: argparse.Namespace, timed: TimedBatches, out: Path
) -> dict[str, Any]:
    from dictionary_learning.trainers import StandardTrainer, TopKTrainer
    from dictionary_learning.trainers.jumprelu import JumpReluTrainer
    from dictionary_learning.training import trainSAE

    dead_tokens = args.dead_tokens

    class TopKTrainerDeadWindow(TopKTrainer):  # type: ignore[misc]
        """TopKTrainer with the dead-latent window (10M tokens by default) set like the others."""

        def __init__(self, **kw: Any) -> None:
            super().__init__(**kw)
            self.dead_feature_threshold = dead_tokens

    common = {
        "steps": args.steps,
        "activation_dim": args.d_in,
        "dict_size": args.d_sae,
        "layer": 6,
        "lm_name": "SmolLM2-135M-Instruct",
        "submodule_name": "model.layers.6",
        "lr": args.lr,
        "warmup_steps": 0,
        "decay_start": max(1, int(0.8 * args.steps)),
        "device": "cpu",
        "seed": args.seed,
    }
    if args.arch == "standard":
        cfg = {
            "trainer": StandardTrainer,
            "l1_penalty": args.l1,
            "sparsity_warmup_steps": None,
            **common,
        }
    elif args.arch == "jumprelu":
        # Its own L0 loss, sparsity_penalty * (L0 / target - 1)^2 (no coefficient to share):
        # given the same target, with its other defaults (bandwidth 0.001, Adam beta1 0).
        cfg = {
            "trainer": JumpReluTrainer,
            "target_l0": args.target_l0,
            "sparsity_warmup_steps": None,
            **common,
        }
    else:
        cfg = {"trainer": TopKTrainerDeadWindow, "k": args.k, **common}
    t0 = time.perf_counter()
    trainSAE(
        data=timed,
        trainer_configs=[cfg],
        steps=args.steps,
        save_dir=str(out / "dictionary_learning"),
        device="cpu",
        normalize_activations=True,
    )
    wall = time.perf_counter() - t0
    folder = out / "dictionary_learning" / "trainer_0"
    return {
        "format": "dictionary_learning",
        "path": str(folder),
        "fit_wall_s": wall,
        "steps_run": args.steps,
        "settings": {
            "l1_penalty": args.l1 if args.arch == "standard" else None,
            "target_l0": args.target_l0 if args.arch == "jumprelu" else None,
            "k": args.k if args.arch == "topk" else None,
            "normalize_activations": True,
            "dead_feature_threshold_tokens": dead_tokens if args.arch == "topk" else None,
            "decay_start": common["decay_start"],
        },
        # trainSAE asks for one batch after the last step (and breaks): all steps covered.
        "stats": timed.stats(args.steps, first=2, extra_last=1),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tool", choices=["saelens", "dictionary_learning"], required=True)
    p.add_argument("--arch", choices=["standard", "topk", "jumprelu"], required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--steps", type=int, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--batch", type=int, default=4096)
    p.add_argument("--d-in", type=int, default=576)
    p.add_argument("--d-sae", type=int, default=4608)
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--l1", type=float, default=5.0)
    p.add_argument("--k", type=int, default=32)
    p.add_argument("--target-l0", type=float, default=45.0)
    p.add_argument("--dead-tokens", type=int, default=1_000_000)
    p.add_argument("--norm-batches", type=int, default=25)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    data = load_array(args.data)
    timed = TimedBatches(data, args.batch)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.tool == "saelens":
        result = train_saelens(args, timed, args.out)
    else:
        result = train_dictionary_learning(args, timed, args.out)
    result.update(tool=args.tool, arch=args.arch, steps=args.steps, threads=args.threads)
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
