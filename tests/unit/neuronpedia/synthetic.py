"""A synthetic extraction folder in the real layout (``ExtractionResult``'s module docstring):
random arrays of the right shapes and dtypes, any number of latents, without running a model.

Used where the size matters more than the values: batches of 1,024 features need more latents
than a tiny extraction is worth computing, and ``benchmarks/export_scale.py`` times an export of
65,536 latents. Arrays are written with ``np.lib.format.open_memmap`` block by block, so making
a 65k-latent folder never holds it in memory.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from mistudio.core.features import ExtractionConfig, ExtractionMeta
from mistudio.core.features.histogram import log_edges
from mistudio.core.features.result import META_FILE, STATS_DIR, TOKENIZER_DIR
from mistudio.core.sae import SAEConfig, build_sae, save_sae

HOOK = "blocks.6.hook_resid_post"


def word_tokenizer(vocab: int) -> object:
    """A word-level tokenizer of ``vocab`` ids (``<bos>``, ``<eos>``, ``<pad>``, ``w3``...)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = {"<bos>": 0, "<eos>": 1, "<pad>": 2} | {f" w{i}": i for i in range(3, vocab)}
    tok = Tokenizer(models.WordLevel(vocab=words, unk_token="<pad>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<bos>", eos_token="<eos>", pad_token="<pad>"
    )


def _memmap(folder: Path, name: str, dtype: object, shape: tuple[int, ...]) -> np.ndarray:
    path = folder / f"{name}.npy"
    path.parent.mkdir(parents=True, exist_ok=True)
    return np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)


def make_extraction(
    folder: Path,
    d_sae: int,
    *,
    d_in: int = 64,
    top_k: int = 20,
    n_samples: int = 0,
    before: int = 32,
    after: int = 8,
    vocab: int = 49_152,
    seed: int = 0,
    block: int = 4096,
) -> tuple[Path, Path]:
    """(extraction folder, SAE folder) of a random ``d_sae``-latent extraction."""
    rng = np.random.default_rng(seed)
    ext, sae_dir = folder / "extraction", folder / "sae"
    ext.mkdir(parents=True, exist_ok=True)
    c = before + 1 + after
    torch.manual_seed(seed)
    sae = build_sae(SAEConfig(architecture="topk", d_in=d_in, d_sae=d_sae, k=8))
    save_sae(sae, sae_dir, metadata={"hook_name": HOOK, "model_name": "synthetic"})
    word_tokenizer(vocab).save_pretrained(ext / TOKENIZER_DIR)  # type: ignore[attr-defined]
    edges = log_edges(10.0, 7, 8)
    n_edges, n_logit_bins, n_logits, n_corr = len(edges), 40, 20, 10
    arrays = {
        "top_values": (np.float32, (d_sae, top_k)),
        "top_locations": (np.int64, (d_sae, top_k, 2)),
        "top_tokens": (np.int32, (d_sae, top_k, c)),
        "top_acts": (np.float32, (d_sae, top_k, c)),
        "sample_values": (np.float32, (d_sae, n_samples)),
        "sample_locations": (np.int64, (d_sae, n_samples, 2)),
        "sample_tokens": (np.int32, (d_sae, n_samples, c)),
        "sample_acts": (np.float32, (d_sae, n_samples, c)),
        "sample_quantile": (np.int8, (d_sae, n_samples)),
        "random_max": (np.float16, (d_sae, 4)),
        "hist_counts": (np.int64, (d_sae, n_edges + 1)),
        "logit_pos_ids": (np.int32, (d_sae, n_logits)),
        "logit_pos_values": (np.float32, (d_sae, n_logits)),
        "logit_neg_ids": (np.int32, (d_sae, n_logits)),
        "logit_neg_values": (np.float32, (d_sae, n_logits)),
        "logit_hist_counts": (np.int64, (d_sae, n_logit_bins)),
        "logit_hist_range": (np.float32, (d_sae, 2)),
        **{
            f"{name}_{part}": (np.int32 if part == "index" else np.float32, (d_sae, n_corr))
            for name in ("neighbours", "pearson", "jaccard")
            for part in ("index", "value")
        },
        f"{STATS_DIR}/count": (np.int64, (d_sae,)),
        f"{STATS_DIR}/frequency": (np.float32, (d_sae,)),
        f"{STATS_DIR}/max_act": (np.float32, (d_sae,)),
        f"{STATS_DIR}/mean_act": (np.float32, (d_sae,)),
        f"{STATS_DIR}/interpretability_proxy": (np.float32, (d_sae,)),
        f"{STATS_DIR}/n_top": (np.int64, (d_sae,)),
        f"{STATS_DIR}/n_samples": (np.int64, (d_sae,)),
        f"{STATS_DIR}/top_token_ids": (np.int32, (d_sae, 5)),
        f"{STATS_DIR}/top_token_counts": (np.int64, (d_sae, 5)),
        f"{STATS_DIR}/top_token_mass": (np.float32, (d_sae, 5)),
    }
    maps = {name: _memmap(ext, name, dtype, shape) for name, (dtype, shape) in arrays.items()}
    np.save(ext / "hist_edges.npy", edges)
    np.save(ext / "random_tokens.npy", rng.integers(3, vocab, (4, c), dtype=np.int32))
    np.save(ext / "random_locations.npy", np.zeros((4, 2), np.int64))
    for start in range(0, d_sae, block):
        stop = min(start + block, d_sae)
        n = stop - start
        top = np.sort(rng.gamma(2.0, 1.0, (n, top_k)).astype(np.float32), axis=1)[:, ::-1]
        top[::7] = 0  # every 7th latent is dead
        alive = top[:, 0] > 0
        maps["top_values"][start:stop] = top
        maps["top_locations"][start:stop] = rng.integers(0, 10_000, (n, top_k, 2))
        tokens = rng.integers(3, vocab, (n, top_k, c), dtype=np.int32)
        tokens[:, :, :2] = -1  # windows cut at the start of their sequence
        maps["top_tokens"][start:stop] = tokens
        acts = rng.random((n, top_k, c), dtype=np.float32) * top[:, :, None] * 0.5
        acts[:, :, before] = top
        maps["top_acts"][start:stop] = acts
        if n_samples:
            maps["sample_values"][start:stop] = top[:, :1] * rng.random((n, n_samples))
            maps["sample_tokens"][start:stop] = rng.integers(3, vocab, (n, n_samples, c))
            maps["sample_acts"][start:stop] = rng.random((n, n_samples, c))
            maps["sample_quantile"][start:stop] = rng.integers(0, 5, (n, n_samples))
        counts = rng.integers(0, 50, (n, n_edges + 1)) * alive[:, None]
        maps["hist_counts"][start:stop] = counts
        for side in ("pos", "neg"):
            maps[f"logit_{side}_ids"][start:stop] = rng.integers(3, vocab, (n, n_logits))
            sign = 1 if side == "pos" else -1
            values = np.sort(rng.random((n, n_logits)), axis=1)[:, ::-1] * sign
            maps[f"logit_{side}_values"][start:stop] = values
        maps["logit_hist_counts"][start:stop] = rng.integers(0, 1000, (n, n_logit_bins))
        maps["logit_hist_range"][start:stop] = [-1.0, 1.0]
        for name in ("neighbours", "pearson", "jaccard"):
            maps[f"{name}_index"][start:stop] = rng.integers(0, d_sae, (n, n_corr))
            maps[f"{name}_value"][start:stop] = rng.random((n, n_corr))
        count = counts.sum(1)
        maps[f"{STATS_DIR}/count"][start:stop] = count
        maps[f"{STATS_DIR}/frequency"][start:stop] = count / 1e6
        maps[f"{STATS_DIR}/max_act"][start:stop] = top[:, 0]
        maps[f"{STATS_DIR}/mean_act"][start:stop] = top.mean(1)
        maps[f"{STATS_DIR}/interpretability_proxy"][start:stop] = rng.random(n)
        maps[f"{STATS_DIR}/n_top"][start:stop] = np.where(alive, top_k, 0)
        maps[f"{STATS_DIR}/n_samples"][start:stop] = np.where(alive, n_samples, 0)
        maps[f"{STATS_DIR}/top_token_ids"][start:stop] = rng.integers(3, vocab, (n, 5))
        maps[f"{STATS_DIR}/top_token_counts"][start:stop] = rng.integers(1, 100, (n, 5))
        maps[f"{STATS_DIR}/top_token_mass"][start:stop] = rng.random((n, 5))
    for m in maps.values():
        m.flush()
    del maps
    meta = ExtractionMeta(
        sae_folder=str(sae_dir),
        sae_architecture="topk",
        d_in=d_in,
        d_sae=d_sae,
        hook_name=HOOK,
        hf_hook_name="model.layers.6",
        model_name="synthetic",
        model_path=str(folder / "no-model"),
        tokenization_folder=str(folder / "no-tokenization"),
        tokenization_name="synthetic",
        tokenizer_fingerprint="synthetic",
        n_tokens=1_000_000,
        n_sequences=4096,
        config=ExtractionConfig(
            n_tokens=1_000_000,
            top_k=top_k,
            context_before=before,
            context_after=after,
            n_samples=n_samples,
        ),
        coactivation_tokens=0,
        coactivation_pairs=0,
        seconds=0.0,
    )
    (ext / META_FILE).write_text(meta.model_dump_json())
    return ext, sae_dir
