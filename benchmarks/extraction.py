"""Feature-extraction throughput and memory on SmolLM2-135M, layer 6, with a random SAE.

    .venv/bin/python benchmarks/extraction.py                     # small defaults (~1-2 min CPU)
    .venv/bin/python benchmarks/extraction.py --tokens 100000 --memory-tokens 50000 200000

Measures, over the same evaluation tokens and batch size:

* ``bare_s``: the LM forward (early stop after layer 6) plus ``sae.encode`` per batch: the work
  any extraction must do;
* ``extract_loop_s``: :func:`extract_features`' streaming pass (all bookkeeping: counts, maxima,
  histograms, running top-K with windows, samples, random contexts, co-activation sample), read
  from ``extraction.json``'s ``seconds``; target ``overhead = extract_loop_s / bare_s - 1 <= 0.15``;
* ``finalize_s``: sorting and writing the arrays plus logit lens / neighbours / correlations
  (a fixed cost per SAE, independent of the token count);
* ``peak_rss_mb`` of a fresh process extracting each of ``--memory-tokens`` token counts
  (``ru_maxrss``): the target is that it does not grow with tokens.

Prints one JSON line. The tokenization (KJV built-in, 128-token sequences) is made once under
``MISTUDIO_HOME/artifacts`` and reused.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HOOK = "blocks.6.hook_resid_post"


def tokenization(max_length: int, documents: int) -> Any:
    from mistudio.core.data import (
        DatasetSource,
        Tokenization,
        TokenizeConfig,
        import_dataset,
        tokenize_dataset,
    )
    from mistudio.core.language_models import load_tokenizer
    from mistudio.settings import get_settings

    root = get_settings().artifacts_dir / "bench-extraction"
    ds, tok = root / f"kjv-{documents}", root / f"kjv-{documents}-{max_length}"
    if not (tok / "meta.json").exists():
        if not (ds / "dataset.json").exists():
            import_dataset(DatasetSource.builtin_corpus("kjv", max_documents=documents), ds)
        config = TokenizeConfig(max_length=max_length, stride=max_length // 2)
        tokenize_dataset(ds, load_tokenizer("smollm2-135m"), config, tok)
    return Tokenization.open(tok)


def make_sae(arch: str, d_sae: int, k: int) -> Any:
    import torch

    from mistudio.core.sae import SAEConfig, build_sae

    torch.manual_seed(0)
    cfg: dict[str, Any] = {"architecture": arch, "d_in": 576, "d_sae": d_sae}
    if arch == "topk":
        cfg["k"] = k
    return build_sae(SAEConfig(**cfg, metadata={"hook_name": HOOK}))


def run_extraction(args: argparse.Namespace, n_tokens: int) -> dict[str, Any]:
    from mistudio.core.features import ExtractionConfig, ExtractionTarget, extract_features
    from mistudio.core.language_models import load_model

    loaded = load_model("smollm2-135m")
    tok = tokenization(args.max_length, args.documents)
    sae = make_sae(args.arch, args.d_sae, args.k)
    config = ExtractionConfig(n_tokens=n_tokens, top_k=args.top_k, batch_size=args.batch_size)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        (result,) = extract_features(
            loaded, tok, [ExtractionTarget(sae)], config, [Path(tmp) / "ext"]
        )
        total = time.perf_counter() - t0
        loop = result.meta.seconds
        n = result.meta.n_tokens
    return {
        "tokens": n,
        "extract_loop_s": loop,
        "finalize_s": total - loop,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_bare(args: argparse.Namespace, n_tokens: int) -> dict[str, Any]:
    import torch

    from mistudio.core.activations import ActivationStreamConfig, stream_activations
    from mistudio.core.language_models import load_model

    loaded = load_model("smollm2-135m")
    tok = tokenization(args.max_length, args.documents)
    sae = make_sae(args.arch, args.d_sae, args.k)
    config = ActivationStreamConfig(
        hook_points=[HOOK], batch_size=args.batch_size, max_tokens=n_tokens
    )
    t0 = time.perf_counter()
    n = 0
    with torch.no_grad():
        for batch in stream_activations(loaded, tok, config):
            sae.encode(batch.flat(HOOK))
            n += batch.n_tokens
    return {"tokens": n, "bare_s": time.perf_counter() - t0}


def child(args: argparse.Namespace, what: str, n_tokens: int) -> dict[str, Any]:
    """Run one measurement in a fresh process (clean RSS peak, no warm caches shared)."""
    cmd = [sys.executable, __file__, "--child", what, "--child-tokens", str(n_tokens)]
    for key in ("arch", "d_sae", "k", "top_k", "batch_size", "max_length", "documents"):
        cmd += [f"--{key.replace('_', '-')}", str(getattr(args, key))]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(out.stderr[-2000:])
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=8192, help="tokens for the timing")
    parser.add_argument("--memory-tokens", type=int, nargs=2, default=[4096, 16384])
    parser.add_argument("--arch", choices=["topk", "standard"], default="topk")
    parser.add_argument("--d-sae", type=int, default=4608)
    parser.add_argument("--k", type=int, default=32)
    parser.add_argument("--top-k", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--documents", type=int, default=20_000)
    parser.add_argument("--child", choices=["bare", "extract"], help=argparse.SUPPRESS)
    parser.add_argument("--child-tokens", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        fn = run_bare if args.child == "bare" else run_extraction
        print(json.dumps(fn(args, args.child_tokens)))
        return
    tokenization(args.max_length, args.documents)  # build it once, outside the timings
    bare = child(args, "bare", args.tokens)
    ext = child(args, "extract", args.tokens)
    memory = [child(args, "extract", n) for n in args.memory_tokens]
    result = {
        "benchmark": "extraction",
        "model": "smollm2-135m",
        "hook": HOOK,
        "arch": args.arch,
        "d_sae": args.d_sae,
        "k": args.k if args.arch == "topk" else None,
        "top_k": args.top_k,
        "batch_size": args.batch_size,
        "tokens": ext["tokens"],
        "bare_s": round(bare["bare_s"], 3),
        "extract_loop_s": round(ext["extract_loop_s"], 3),
        "finalize_s": round(ext["finalize_s"], 3),
        "overhead": round(ext["extract_loop_s"] / bare["bare_s"] - 1, 4),
        "tokens_per_s": round(ext["tokens"] / ext["extract_loop_s"], 1),
        "memory": [
            {"tokens": m["tokens"], "peak_rss_mb": round(m["peak_rss_mb"], 1)} for m in memory
        ],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
