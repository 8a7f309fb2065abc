"""Activation throughput on SmolLM2: early stop vs full forward, one hook vs three, vs SAELens.

Run: ``make bench`` (or ``.venv/bin/python benchmarks/activations.py``). Every figure comes from
this one run on this machine, over exactly the same token array:

* miStudio's ``stream_activations`` at ``blocks.6.hook_resid_post`` with early stop, and with
  the full forward (final norm and 49k-vocab unembedding included);
* three hook points (layers 2, 6, 10) from one pass against layer 10 alone;
* SAELens' ``ActivationsStore`` (``.venv-bench``, see ``benchmarks/saelens_activations.py``) with
  its own early stop, on the same tokens.

Writes ``benchmarks/results/activations.json``; ``benchmarks/report.py`` folds it into
``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from mistudio.core.activations import ActivationStreamConfig, stream_activations
from mistudio.core.data import (
    DatasetSource,
    Tokenization,
    TokenizeConfig,
    import_dataset,
    tokenize_dataset,
)
from mistudio.core.language_models import load_model

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
BENCH_PY = HERE.parent / ".venv-bench" / "bin" / "python"


def bench_tokenization(ctx: int, tokenizer: object) -> Tokenization:
    """python-stdlib packed into ``ctx``-token windows (no padding), built once and reused."""
    folder = CACHE / f"stdlib-{ctx}"
    if (folder / "meta.json").exists():
        return Tokenization.open(folder)
    ds = CACHE / "stdlib"
    if not (ds / "dataset.json").exists():
        import_dataset(DatasetSource.builtin_corpus("python-stdlib", max_documents=200), ds)
    config = TokenizeConfig(max_length=ctx, stride=ctx, pack=True)
    return tokenize_dataset(ds, tokenizer, config, folder)


def full_run_start(tok: Tokenization, n: int) -> int:
    """First index of ``n`` consecutive unpadded windows (long files give long runs)."""
    full = tok.windows[:, 1] == tok.content_length
    run = 0
    for i, ok in enumerate(full):
        run = run + 1 if ok else 0
        if run == n:
            return i - n + 1
    raise SystemExit(f"no {n} consecutive full windows; use fewer --sequences")


def time_stream(loaded, tok, hooks, start, n_seq, batch_size, stop_early) -> dict[str, float]:
    config = ActivationStreamConfig(
        hook_points=hooks,
        batch_size=batch_size,
        skip_special_tokens=False,
        stop_early=stop_early,
        start_sequence=start,
        stop_sequence=start + n_seq,
    )
    warm = config.model_copy(update={"stop_sequence": start + batch_size})
    for _ in stream_activations(loaded, tok, warm):
        pass
    t0 = time.perf_counter()
    positions = 0
    for batch in stream_activations(loaded, tok, config):
        positions += batch.n_tokens
    seconds = time.perf_counter() - t0
    return {
        "tokens": positions,
        "seconds": seconds,
        "tokens_per_s": positions / seconds,
        # Other processes on a 2-core machine skew timings; the load says how much.
        "load_avg_1m": os.getloadavg()[0],
    }


def run_saelens(tokens_file: Path, batch_size: int, full: bool) -> dict[str, float] | None:
    if not BENCH_PY.exists():
        print("(.venv-bench missing: run `make bench-env` for the SAELens column)", file=sys.stderr)
        return None
    cmd = [
        str(BENCH_PY),
        str(HERE / "saelens_activations.py"),
        "--tokens",
        str(tokens_file),
        "--hook",
        "model.layers.6",
        "--batch-size",
        str(batch_size),
    ] + (["--full-forward"] if full else [])
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        print(out.stderr[-2000:], file=sys.stderr)
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ctx", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--sequences", type=int, default=96)
    parser.add_argument("--full-sequences", type=int, default=32, help="for the slow full forward")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    CACHE.mkdir(exist_ok=True)

    loaded = load_model("smollm2-135m")
    tok = bench_tokenization(args.ctx, loaded.tokenizer)
    start = full_run_start(tok, args.sequences)
    rows = tok.get_batch(start, start + args.sequences)
    assert rows.attention_mask.all(), "benchmark windows must be unpadded"
    tokens_file = CACHE / f"tokens-{args.ctx}-{args.sequences}.npy"
    np.save(tokens_file, rows.input_ids)
    full_file = CACHE / f"tokens-{args.ctx}-{args.full_sequences}.npy"
    np.save(full_file, rows.input_ids[: args.full_sequences])

    l6 = ["blocks.6.hook_resid_post"]
    three = [f"blocks.{layer}.hook_resid_post" for layer in (2, 6, 10)]
    l10 = ["blocks.10.hook_resid_post"]
    bs, n = args.batch_size, args.sequences
    results = {
        "mistudio_layer6_early_stop": time_stream(loaded, tok, l6, start, n, bs, True),
        "mistudio_layer6_full_forward": time_stream(
            loaded, tok, l6, start, args.full_sequences, bs, False
        ),
        "mistudio_layer10_alone": time_stream(loaded, tok, l10, start, n, bs, True),
        "mistudio_layers_2_6_10_one_pass": time_stream(loaded, tok, three, start, n, bs, True),
        "saelens_layer6_early_stop": run_saelens(tokens_file, bs, full=False),
        "saelens_layer6_full_forward": run_saelens(full_file, bs, full=True),
    }
    r = results
    ratios = {
        "early_stop_speedup": r["mistudio_layer6_early_stop"]["tokens_per_s"]
        / r["mistudio_layer6_full_forward"]["tokens_per_s"],
        "three_layers_cost_vs_deepest": r["mistudio_layer10_alone"]["tokens_per_s"]
        / r["mistudio_layers_2_6_10_one_pass"]["tokens_per_s"],
    }
    if r["saelens_layer6_early_stop"]:
        ratios["mistudio_vs_saelens_store"] = (
            r["mistudio_layer6_early_stop"]["tokens_per_s"]
            / r["saelens_layer6_early_stop"]["tokens_per_s"]
        )
    report = {
        "benchmark": "activations",
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads, "
        f"{platform.processor() or platform.platform()}",
        "settings": {
            "model": "SmolLM2-135M-Instruct (fp32)",
            "ctx": args.ctx,
            "batch_size": bs,
            "sequences": n,
            "full_forward_sequences": args.full_sequences,
        },
        "results": results,
        "ratios": ratios,
        "targets": {
            "early_stop_speedup": ">= 4",
            "three_layers_cost_vs_deepest": "<= 1.3",
            "mistudio_vs_saelens_store": ">= 1",
        },
    }
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "activations.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
