"""Activation streaming, caching and shuffled reading on tiny models."""

from __future__ import annotations

import json

import pytest
import torch

from mistudio.core.activations import (
    ActivationCache,
    ActivationStreamConfig,
    ShuffledBatches,
    cache_activations,
    estimate_cache,
    flat_batches,
    stream_activations,
)
from mistudio.core.data import DatasetSource, TokenizeConfig, import_dataset, tokenize_dataset
from mistudio.errors import InvalidInputError, ResourceError
from tests.unit.tiny_models import random_texts, tiny_loaded, tiny_tokenizer

HOOKS = ["blocks.0.hook_resid_post", "blocks.1.hook_mlp_out", "blocks.1.hook_resid_post"]


@pytest.fixture
def tokenization(tmp_path):
    src = tmp_path / "docs.jsonl"
    src.write_text("\n".join(json.dumps({"text": t}) for t in random_texts(40)))
    import_dataset(DatasetSource.local(src), tmp_path / "ds")
    return tokenize_dataset(
        tmp_path / "ds", tiny_tokenizer(), TokenizeConfig(max_length=16, stride=8), tmp_path / "tok"
    )


@pytest.fixture
def loaded():
    return tiny_loaded("llama")


def test_stream_matches_hidden_states_and_masks_specials(loaded, tokenization):
    config = ActivationStreamConfig(hook_points=HOOKS, batch_size=4)
    batches = list(stream_activations(loaded, tokenization, config))
    assert sum(b.input_ids.shape[0] for b in batches) == len(tokenization)
    for batch in batches[:3]:
        rows = tokenization.get_batch(
            int(batch.sequence_index[0]), int(batch.sequence_index[-1]) + 1
        )
        ids = torch.from_numpy(rows.input_ids)
        mask = torch.from_numpy(rows.attention_mask)
        with torch.no_grad():
            ref = loaded.model(
                ids, attention_mask=mask.long(), output_hidden_states=True
            ).hidden_states
        valid = batch.mask
        torch.testing.assert_close(batch.acts["blocks.0.hook_resid_post"][valid], ref[1][valid])
        torch.testing.assert_close(batch.acts["blocks.1.hook_resid_post"][valid], ref[2][valid])
        specials = torch.isin(batch.input_ids, torch.tensor([0, 1, 2]))
        assert not (batch.mask & specials).any()
        assert torch.equal(batch.mask, mask & ~specials)
        assert batch.flat("blocks.1.hook_mlp_out").shape == (int(valid.sum()), 32)


def test_max_tokens_is_exact(loaded, tokenization):
    config = ActivationStreamConfig(hook_points=HOOKS[:1], batch_size=3, max_tokens=37)
    assert sum(b.n_tokens for b in stream_activations(loaded, tokenization, config)) == 37


def test_start_sequence_resumes_where_asked(loaded, tokenization):
    config = ActivationStreamConfig(hook_points=HOOKS[:1], batch_size=4)
    full = list(stream_activations(loaded, tokenization, config))
    later = list(
        stream_activations(loaded, tokenization, config.model_copy(update={"start_sequence": 4}))
    )
    assert torch.equal(full[1].acts[HOOKS[0]], later[0].acts[HOOKS[0]])


def test_cache_round_trip(loaded, tokenization, tmp_path):
    config = ActivationStreamConfig(hook_points=HOOKS, batch_size=4, dtype="float16")
    manifest = cache_activations(loaded, tokenization, config, tmp_path / "cache", shard_tokens=50)
    assert manifest.complete and len(manifest.shards) > 1
    streamed = list(flat_batches(stream_activations(loaded, tokenization, config)))
    cache = ActivationCache.open(tmp_path / "cache")
    assert cache.n_tokens == sum(b[HOOKS[0]].shape[0] for b in streamed)
    for hook in HOOKS:
        from_disk = torch.cat([s[hook] for s in cache.iter_shards()])
        direct = torch.cat([b[hook] for b in streamed])
        assert from_disk.dtype == torch.float16
        assert torch.equal(from_disk, direct)
    est = estimate_cache(loaded, tokenization, config, tmp_path / "cache")
    assert est.bytes >= manifest.n_tokens * (32 * 3 * 2)


def test_shuffled_batches_cover_every_row_once():
    rows = torch.arange(1000, dtype=torch.float32)[:, None].repeat(1, 4)
    chunks = [{"h": rows[i : i + 70]} for i in range(0, 1000, 70)]
    out = list(ShuffledBatches(chunks, batch_tokens=64, buffer_tokens=256, seed=3))
    assert all(b["h"].shape == (64, 4) for b in out)
    seen = torch.cat([b["h"][:, 0] for b in out]).long()
    assert len(seen) == len(set(seen.tolist())) == 1000 // 64 * 64
    assert not torch.equal(seen[:64], torch.arange(64))  # actually shuffled
    again = list(ShuffledBatches(chunks, batch_tokens=64, buffer_tokens=256, seed=3))
    assert all(torch.equal(a["h"], b["h"]) for a, b in zip(out, again, strict=True))


def test_bad_hook_and_incomplete_cache(loaded, tokenization, tmp_path):
    with pytest.raises(InvalidInputError, match="valid names"):
        next(stream_activations(loaded, tokenization, ActivationStreamConfig(hook_points=["nope"])))
    (tmp_path / "c").mkdir()
    with pytest.raises(InvalidInputError, match="not an activation cache"):
        ActivationCache.open(tmp_path / "c")


def test_not_enough_disk_is_refused(loaded, tokenization, tmp_path, monkeypatch):
    import shutil

    real = shutil.disk_usage
    monkeypatch.setattr(shutil, "disk_usage", lambda p: real(p)._replace(free=1000))
    config = ActivationStreamConfig(hook_points=HOOKS)
    with pytest.raises(ResourceError, match="not enough disk"):
        cache_activations(loaded, tokenization, config, tmp_path / "cache")


def test_tokenization_from_another_vocabulary_is_refused(loaded, tokenization):
    other = tiny_tokenizer()
    other.add_tokens(["an-extra-token"])
    loaded.tokenizer = other
    config = ActivationStreamConfig(hook_points=HOOKS[:1])
    with pytest.raises(InvalidInputError, match="different vocabulary|tokenizer"):
        next(stream_activations(loaded, tokenization, config))
