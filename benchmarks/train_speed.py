"""Training-speed micro-benchmark: tokens/s of one SAE step per architecture, and the dense bound.

Shapes default to the product benchmark (SmolLM2-135M residual stream): d_in 576, d_sae 4608,
4096 tokens per batch, lr 3e-4, 2 CPU threads. Data is synthetic (a planted sparse dictionary of
the right width, generated with embedding_bag so it costs ~nothing); the comparison with SAELens /
dictionary_learning on real SmolLM2 activations lives elsewhere.

* ``dense_bound``: the five GEMMs of one dense SAE step (encode, decode, two decoder grads,
  encoder grad) with preallocated outputs: the floor of any dense implementation.
* ``speed``: per architecture, ``--steps`` full training steps through :func:`train_saes` (Adam,
  clipping, decoder constraint, dead-latent tracking, metrics), tokens/s from the step times after
  ``--warmup`` steps (median and best), data time excluded.
* ``--quality-tokens N``: also train topk (and standard) for N tokens and report FVU / L0 / dead
  measured on the last 64k training tokens.

Run: ``.venv/bin/python benchmarks/train_speed.py [--archs topk,batchtopk,standard,jumprelu]``.
Timings on a shared machine are noisy: the script interleaves a dense-bound measurement before
each architecture and reports both, so ratios stay meaningful.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import torch

from mistudio.core.training import TrainConfig, train_saes


def dense_bound(batch: int, d_in: int, d_sae: int, reps: int = 5) -> float:
    """Tokens/s of the 5 GEMMs of a dense step (best of ``reps``)."""
    x = torch.randn(batch, d_in)
    W_enc = torch.randn(d_in, d_sae) / d_in**0.5
    W_dec = torch.randn(d_sae, d_in) / d_sae**0.5
    f = torch.empty(batch, d_sae)
    g_f = torch.empty(batch, d_sae)
    x_hat = torch.empty(batch, d_in)
    g = torch.randn(batch, d_in)
    gw_dec = torch.empty(d_sae, d_in)
    gw_enc = torch.empty(d_in, d_sae)

    def step() -> None:
        torch.mm(x, W_enc, out=f)  # encode
        torch.mm(f, W_dec, out=x_hat)  # decode
        torch.mm(g, W_dec.T, out=g_f)  # grad of latents
        torch.mm(f.T, g, out=gw_dec)  # grad W_dec
        torch.mm(x.T, g_f, out=gw_enc)  # grad W_enc

    step()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    return batch / min(times)


class Planted:
    """Tokens = sum of ``n_active`` random unit atoms (positive coefficients) + noise."""

    def __init__(self, d: int, n_atoms: int, n_active: int, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        atoms = torch.randn(n_atoms, d, generator=g)
        self.atoms = atoms / atoms.norm(dim=-1, keepdim=True)
        # Zipf-like atom frequencies, as in LM activations.
        self.freq = 1.0 / torch.arange(1, n_atoms + 1).float() ** 0.5
        self.n_active, self.d = n_active, d

    def batch(self, n: int, index: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(index + 12345)
        idx = torch.multinomial(self.freq, n * self.n_active, replacement=True, generator=g)
        coef = torch.rand(n * self.n_active, generator=g) * 2 + 0.5
        offsets = torch.arange(0, n * self.n_active, self.n_active)
        x = torch.nn.functional.embedding_bag(
            idx, self.atoms, offsets, mode="sum", per_sample_weights=coef
        )
        return x + 0.05 * torch.randn(n, self.d, generator=g)


class TimedData:
    """Data factory that records how long producing batches took (excluded from tokens/s)."""

    def __init__(self, planted: Planted, hook: str, batch: int) -> None:
        self.planted, self.hook, self.batch = planted, hook, batch
        self.requested: list[float] = []  # when the trainer asked for batch i
        self.delivered: list[float] = []  # when batch i was ready

    def __call__(self, position: int) -> Iterator[dict[str, torch.Tensor]]:
        i = position
        while True:
            self.requested.append(time.perf_counter())
            out = {self.hook: self.planted.batch(self.batch, i)}
            self.delivered.append(time.perf_counter())
            yield out
            i += 1

    def step_times(self) -> list[float]:
        """Training time of each batch: from its delivery to the request of the next one."""
        return [b - a for a, b in zip(self.delivered, self.requested[1:], strict=False)]


def sae_spec(arch: str, d_in: int, d_sae: int, k: int, lr: float) -> dict:
    sae: dict = {"architecture": arch, "d_in": d_in, "d_sae": d_sae}
    spec: dict = {"hook_name": "h", "lr": lr, "sae": sae}
    if arch in ("topk", "batchtopk"):
        sae["k"] = k
    else:
        spec["sparsity_coefficient"] = 5.0 if arch == "standard" else 1.0
    return spec


def run_arch(
    arch: str, args: argparse.Namespace, steps: int, log_every: int, final_tokens: int
) -> dict:
    planted = Planted(args.d_in, args.atoms, args.active)
    data = TimedData(planted, "h", args.batch)
    cfg = TrainConfig(
        saes=[sae_spec(arch, args.d_in, args.d_sae, args.k, args.lr)],
        total_tokens=steps * args.batch,
        batch_tokens=args.batch,
        log_every=log_every,
        init_batches=1,
        final_eval_tokens=final_tokens,
        threads=args.threads,
    )
    logs: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        res = train_saes(cfg, data, Path(tmp), progress=lambda s, t, **m: logs.append(m))
        wall = time.perf_counter() - start
    step_times = data.step_times()[args.warmup :]
    (r,) = res.saes.values()
    out = {
        "arch": arch,
        "steps": res.steps,
        "tokens_per_s_median": args.batch / statistics.median(step_times) if step_times else None,
        "tokens_per_s_best": args.batch / min(step_times) if step_times else None,
        "wall_s": wall,
        "final": r.final.model_dump() if r.final is not None else None,
        "last_log": logs[-1] if logs else None,
    }
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--archs", default="topk,batchtopk,standard,jumprelu")
    p.add_argument("--d-in", type=int, default=576)
    p.add_argument("--d-sae", type=int, default=4608)
    p.add_argument("--batch", type=int, default=4096)
    p.add_argument("--k", type=int, default=32)
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--steps", type=int, default=25)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--atoms", type=int, default=8192)
    p.add_argument("--active", type=int, default=24)
    p.add_argument("--quality-tokens", type=int, default=0)
    p.add_argument("--quality-archs", default="topk")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    results: dict = {
        "config": vars(args) | {"json": str(args.json)},
        "load_average_at_start": os.getloadavg(),  # > threads means the numbers are contended
        "speed": [],
        "quality": [],
    }
    for arch in args.archs.split(","):
        bound = dense_bound(args.batch, args.d_in, args.d_sae)
        r = run_arch(arch, args, args.steps, max(1, args.steps), 0)
        r["dense_bound_tokens_per_s"] = bound
        results["speed"].append(r)
        print(
            f"{arch:10s} {r['tokens_per_s_median']:8.0f} tok/s median "
            f"({r['tokens_per_s_best']:8.0f} best)   dense GEMM bound {bound:8.0f} tok/s",
            flush=True,
        )
    if args.quality_tokens:
        for arch in args.quality_archs.split(","):
            steps = args.quality_tokens // args.batch
            args_q = argparse.Namespace(**vars(args))
            args_q.warmup = steps // 5
            r = run_arch(arch, args_q, steps, max(1, steps // 10), 65_536)
            results["quality"].append(r)
            f = r["final"] or {}
            print(
                f"{arch:10s} {steps * args.batch} tokens: FVU {f.get('fvu', float('nan')):.4f} "
                f"L0 {f.get('l0', float('nan')):.1f} dead {f.get('dead_fraction', 0) * 100:.2f}% "
                f"speed {r['tokens_per_s_median']:.0f} tok/s (median after 20%)",
                flush=True,
            )
    results["load_average_at_end"] = os.getloadavg()
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
