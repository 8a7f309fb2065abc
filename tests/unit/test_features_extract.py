"""Feature extraction on a tiny model with a small random SAE, checked against brute force."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from mistudio.core.activations import ActivationCache, ActivationStreamConfig, cache_activations
from mistudio.core.data import DatasetSource, TokenizeConfig, import_dataset, tokenize_dataset
from mistudio.core.features import (
    ExtractionConfig,
    ExtractionInterrupted,
    ExtractionResult,
    ExtractionTarget,
    extract_features,
)
from mistudio.core.sae import SAEConfig, build_sae
from mistudio.errors import InvalidInputError
from tests.unit.tiny_models import random_texts, tiny_loaded, tiny_tokenizer

HOOK = "blocks.1.hook_resid_post"
BEFORE, AFTER, K = 4, 2, 6


@pytest.fixture(scope="module")
def tokenization(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("features")
    src = tmp / "docs.jsonl"
    src.write_text("\n".join(json.dumps({"text": t}) for t in random_texts(50)))
    import_dataset(DatasetSource.local(src), tmp / "ds")
    return tokenize_dataset(
        tmp / "ds", tiny_tokenizer(), TokenizeConfig(max_length=16, stride=8), tmp / "tok"
    )


@pytest.fixture(scope="module")
def loaded():
    return tiny_loaded("llama")


def make_sae(hook: str = HOOK, d_sae: int = 40, seed: int = 0):
    torch.manual_seed(seed)
    return build_sae(
        SAEConfig(architecture="topk", d_in=32, d_sae=d_sae, k=5, metadata={"hook_name": hook})
    )


def config(**kw) -> ExtractionConfig:
    base = dict(
        n_tokens=100_000,
        top_k=K,
        context_before=BEFORE,
        context_after=AFTER,
        n_samples=5,
        n_random_contexts=12,
        batch_size=5,
        coactivation_latents_per_token=40,
    )
    return ExtractionConfig(**(base | kw))


def brute_force(loaded, tokenization, sae, layer: int = 2):
    """Latents of every counted token, from output_hidden_states (no hooks), with the token's
    (sequence, position); a document token counts once (its first window)."""
    rows = tokenization.get_batch(0, len(tokenization))
    ids = torch.from_numpy(rows.input_ids)
    att = torch.from_numpy(rows.attention_mask)
    with torch.no_grad():
        hidden = loaded.model(ids, attention_mask=att.long(), output_hidden_states=True)
    acts = hidden.hidden_states[layer]  # [n_seq, s, d]
    bos = int(tokenization.meta.prepend_bos)
    specials = set(tokenization.meta.special_token_ids) | {0, 1, 2}
    seen_flat: set[int] = set()
    keep = []
    for seq, (start, length) in enumerate(tokenization.windows):
        for c in range(int(length)):
            flat = int(start) + c
            pos = c + bos
            if flat in seen_flat or int(ids[seq, pos]) in specials:
                continue
            seen_flat.add(flat)
            keep.append((seq, pos))
    loc = np.array(keep)  # [n, 2]
    x = acts[loc[:, 0], loc[:, 1]]
    with torch.no_grad():
        lat = sae.encode(x).numpy()  # [n, d_sae]
    return lat, loc, rows.input_ids


@pytest.fixture(scope="module")
def extracted(loaded, tokenization, tmp_path_factory):
    sae = make_sae()
    out = tmp_path_factory.mktemp("ext") / "ext"
    (result,) = extract_features(loaded, tokenization, [ExtractionTarget(sae)], config(), [out])
    return sae, result


def test_top_k_equals_brute_force(loaded, tokenization, extracted):
    sae, result = extracted
    lat, loc, _ = brute_force(loaded, tokenization, sae)
    assert result.meta.n_tokens == lat.shape[0]
    values = np.asarray(result.array("top_values"))
    locations = np.asarray(result.array("top_locations"))
    checked = 0
    for i in range(sae.d_sae):
        col = lat[:, i]
        order = np.argsort(-col, kind="stable")
        order = order[col[order] > 0][:K]
        n = len(order)
        assert result.stats(i).n_top == n
        np.testing.assert_allclose(values[i, :n], col[order], rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(locations[i, :n], loc[order])
        assert (locations[i, n:] == -1).all()
        checked += n
    assert checked > sae.d_sae  # the SAE fires: the comparison is not vacuous


def test_stats_and_histograms(loaded, tokenization, extracted):
    sae, result = extracted
    lat, _, _ = brute_force(loaded, tokenization, sae)
    table = result.table()
    active = lat > 0
    np.testing.assert_array_equal(table["count"], active.sum(0))
    np.testing.assert_allclose(table["frequency"], active.mean(0))
    np.testing.assert_allclose(table["max_act"], lat.max(0), rtol=1e-5)
    mean = (lat * active).sum(0) / np.maximum(active.sum(0), 1)
    np.testing.assert_allclose(table["mean_act"], mean, rtol=1e-4)
    for i in range(sae.d_sae):
        hist = result.histogram(i)
        assert hist.counts.sum() == table["count"][i]
        # Each activation lands in the bin its value says.
        ref = np.bincount(
            np.searchsorted(hist.edges, lat[active[:, i], i], side="right"),
            minlength=len(hist.edges) + 1,
        )
        np.testing.assert_array_equal(hist.counts, ref)


def test_examples_page_back_windows_of_the_tokenization(tokenization, extracted, loaded):
    sae, result = extracted
    lat, loc, input_ids = brute_force(loaded, tokenization, sae)
    where = {(int(s), int(p)): t for t, (s, p) in enumerate(loc)}
    for i in (0, 7, sae.d_sae - 1):
        examples = result.examples(i, loaded.tokenizer)
        assert len(examples) == result.stats(i).n_top
        for ex in examples:
            lo = max(ex.position - BEFORE, 0)
            seq_len = int(tokenization.sequence_lengths()[ex.sequence])
            hi = min(ex.position + AFTER + 1, seq_len)
            assert ex.token_ids == input_ids[ex.sequence, lo:hi].tolist()
            assert ex.token_ids[ex.center] == input_ids[ex.sequence, ex.position]
            assert ex.tokens == [
                f"w{t}" if t > 2 else ex.tokens[j] for j, t in enumerate(ex.token_ids)
            ]
            for j, p in enumerate(range(lo, hi)):
                t = where.get((ex.sequence, p))
                expected = 0.0 if t is None else float(lat[t, i])
                assert ex.acts[j] == pytest.approx(expected, abs=1e-5)
            assert ex.acts[ex.center] == pytest.approx(ex.value)
            # Words cover the window's tokens in order (the tiny vocabulary's 'w7' tokens are
            # words of their own) and read as the window.
            assert ex.words is not None
            assert [(w.start, w.end) for w in ex.words][0][0] == 0
            assert ex.words[-1].end == len(ex.token_ids)
            assert all(a.end == b.start for a, b in zip(ex.words, ex.words[1:], strict=False))
    samples = result.samples(3)
    assert 0 < len(samples) <= 5
    assert all(s.value > 0 and s.quantile is not None for s in samples)
    assert [s.value for s in samples] == sorted((s.value for s in samples), reverse=True)
    for i in range(sae.d_sae):
        for ctx in result.random_contexts(i):
            assert ctx.value == 0.0


def test_lineage_and_analyses_present(extracted, tokenization):
    sae, result = extracted
    reopened = ExtractionResult.open(result.folder)
    meta = reopened.meta
    assert meta.hook_name == HOOK and meta.d_sae == sae.d_sae
    assert meta.tokenization_folder == str(tokenization.folder)
    assert meta.config.top_k == K
    lens = reopened.logit_lens(2, reopened.tokenizer())
    assert len(lens.positive) == 20 and lens.positive_text[0].startswith(("w", "<"))
    assert lens.hist_counts.sum() == tiny_tokenizer().vocab_size
    corr = reopened.correlated(2)
    assert corr.decoder and all(j != 2 for j, _ in corr.decoder)
    stats = reopened.stats(2)
    assert 0.0 <= stats.interpretability_proxy <= 1.0 or np.isnan(stats.interpretability_proxy)


def test_one_lm_pass_serves_every_sae(loaded, tokenization, tmp_path):
    saes = [make_sae("blocks.0.hook_resid_post", seed=1), make_sae(HOOK, seed=2)]
    calls = []
    handle = loaded.model.register_forward_pre_hook(lambda *_: calls.append(1))
    try:
        results = extract_features(
            loaded,
            tokenization,
            [ExtractionTarget(s) for s in saes],
            config(),
            [tmp_path / "a", tmp_path / "b"],
        )
    finally:
        handle.remove()
    assert len(calls) == -(-len(tokenization) // 5)  # one forward per batch, not per SAE
    for sae, result, layer in zip(saes, results, (1, 2), strict=True):
        lat, _, _ = brute_force(loaded, tokenization, sae, layer)
        np.testing.assert_array_equal(result.table()["count"], (lat > 0).sum(0))


def test_token_budget_is_exact(loaded, tokenization, tmp_path):
    (result,) = extract_features(
        loaded, tokenization, [ExtractionTarget(make_sae())], config(n_tokens=77), [tmp_path / "x"]
    )
    assert result.meta.n_tokens == 77
    assert result.table()["count"].sum() == 77 * 5  # a TopK SAE fires k=5 latents per token


def test_bad_inputs_fail_with_one_line(loaded, tokenization, tmp_path):
    wrong_width = build_sae(
        SAEConfig(architecture="topk", d_in=16, d_sae=8, k=2, metadata={"hook_name": HOOK})
    )
    with pytest.raises(InvalidInputError, match="d_in=16"):
        extract_features(
            loaded, tokenization, [ExtractionTarget(wrong_width)], config(), [tmp_path / "a"]
        )
    with pytest.raises(InvalidInputError, match="does not exist"):
        extract_features(
            loaded,
            tokenization,
            [ExtractionTarget(make_sae("blocks.9.hook_resid_post"))],
            config(),
            [tmp_path / "a"],
        )
    with pytest.raises(InvalidInputError, match="top_k"):
        ExtractionConfig(n_tokens=10, top_k=20)
    with pytest.raises(InvalidInputError, match="top_k"):
        extract_features(
            loaded,
            tokenization,
            [ExtractionTarget(make_sae())],
            config(top_k=50_000, n_tokens=60_000),
            [tmp_path / "a"],
        )
    other = tiny_tokenizer()
    other.add_tokens(["extra"])
    other_loaded = tiny_loaded("llama")
    other_loaded.tokenizer = other
    with pytest.raises(InvalidInputError, match="different vocabulary"):
        extract_features(
            other_loaded, tokenization, [ExtractionTarget(make_sae())], config(), [tmp_path / "a"]
        )


def test_interrupted_run_writes_nothing(loaded, tokenization, tmp_path):
    calls = iter(range(100))
    with pytest.raises(ExtractionInterrupted):
        extract_features(
            loaded,
            tokenization,
            [ExtractionTarget(make_sae())],
            config(),
            [tmp_path / "x"],
            should_stop=lambda: next(calls) >= 2,
        )
    assert not (tmp_path / "x").exists()
    assert list(tmp_path.iterdir()) == []
    (tmp_path / ".x.partial").mkdir()  # what a killed process leaves behind
    with pytest.raises(InvalidInputError, match="interrupted"):
        ExtractionResult.open(tmp_path / "x")


def _from_cache(loaded, tokenization, sae, cache, dest):
    (result,) = extract_features(
        loaded,
        tokenization,
        [ExtractionTarget(sae)],
        config(),
        [dest],
        cache=ActivationCache.open(cache),
    )
    return result


def test_a_cache_replaces_the_lm_pass(loaded, tokenization, extracted, tmp_path):
    """Issue 22's first run extracts from the activations it cached for training: the same
    arrays as the LM stream, with no forward pass; a cache that ends early bounds the tokens."""
    sae, direct = extracted
    stream = ActivationStreamConfig(hook_points=[HOOK], batch_size=3)
    cache_activations(loaded, tokenization, stream, tmp_path / "cache", shard_tokens=37)
    calls = []
    handle = loaded.model.register_forward_pre_hook(lambda *_: calls.append(1))
    try:
        replayed = _from_cache(loaded, tokenization, sae, tmp_path / "cache", tmp_path / "x")
    finally:
        handle.remove()
    assert calls == []
    assert replayed.meta.n_tokens == direct.meta.n_tokens
    for name in ("top_values", "top_locations", "top_tokens", "hist_counts"):
        np.testing.assert_allclose(
            np.asarray(replayed.array(name)), np.asarray(direct.array(name)), rtol=1e-5, atol=1e-6
        )
    np.testing.assert_array_equal(replayed.table()["count"], direct.table()["count"])

    short = ActivationStreamConfig(hook_points=[HOOK], batch_size=3, stop_sequence=10)
    cache_activations(loaded, tokenization, short, tmp_path / "short")
    part = _from_cache(loaded, tokenization, sae, tmp_path / "short", tmp_path / "part")
    assert 0 < part.meta.n_tokens < direct.meta.n_tokens
    assert int(np.asarray(part.array("top_locations"))[..., 0].max()) < 10  # only sequences 0-9


def test_a_cache_of_other_tokens_or_settings_is_refused(loaded, tokenization, tmp_path):
    sae = make_sae()
    late = ActivationStreamConfig(hook_points=[HOOK], batch_size=4, start_sequence=2)
    cache_activations(loaded, tokenization, late, tmp_path / "late")
    # A manifest from before start_sequence was recorded: it claims sequence 0.
    manifest = json.loads((tmp_path / "late" / "manifest.json").read_text())
    assert manifest["start_sequence"] == 2
    manifest.pop("start_sequence")
    (tmp_path / "late" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(InvalidInputError, match="does not hold tokenization"):
        _from_cache(loaded, tokenization, sae, tmp_path / "late", tmp_path / "a")
    keep = ActivationStreamConfig(hook_points=[HOOK], skip_special_tokens=False)
    cache_activations(loaded, tokenization, keep, tmp_path / "keep")
    with pytest.raises(InvalidInputError, match="kept special tokens"):
        _from_cache(loaded, tokenization, sae, tmp_path / "keep", tmp_path / "b")
    other = ActivationStreamConfig(hook_points=["blocks.0.hook_resid_post"])
    cache_activations(loaded, tokenization, other, tmp_path / "other")
    with pytest.raises(InvalidInputError, match="has no blocks.1"):
        _from_cache(loaded, tokenization, sae, tmp_path / "other", tmp_path / "c")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
