"""Extraction's activation threshold and token filters, checked against brute force, and the live
``features_found`` count it reports."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

from mistudio.core.data import DatasetSource, TokenizeConfig, import_dataset, tokenize_dataset
from mistudio.core.features import ExtractionConfig, ExtractionTarget, extract_features
from mistudio.core.features.token_exclusion import STOP_WORDS, excluded_token_table, keep_mask
from mistudio.errors import InvalidInputError
from tests.unit.test_features_extract import K, brute_force, config, make_sae
from tests.unit.tiny_models import random_texts, tiny_loaded, tiny_tokenizer


@pytest.fixture(scope="module")
def tokenization(tmp_path_factory):
    """The same tokenization as test_features_extract's (its brute force assumes it)."""
    tmp = tmp_path_factory.mktemp("filters")
    src = tmp / "docs.jsonl"
    src.write_text("\n".join(json.dumps({"text": t}) for t in random_texts(50)))
    import_dataset(DatasetSource.local(src), tmp / "ds")
    return tokenize_dataset(
        tmp / "ds", tiny_tokenizer(), TokenizeConfig(max_length=16, stride=8), tmp / "tok"
    )


@pytest.fixture(scope="module")
def loaded():
    return tiny_loaded("llama")


def _top_ids(result, input_ids, i: int) -> set[int]:
    locs = np.asarray(result.array("top_locations"))[i, : result.stats(i).n_top]
    return {int(input_ids[s, p]) for s, p in locs}


def test_listed_tokens_are_not_measured(loaded, tokenization, tmp_path):
    sae = make_sae()
    excluded = {5, 7, 11}
    (result,) = extract_features(
        loaded,
        tokenization,
        [ExtractionTarget(sae)],
        config(exclude_tokens=["w5", " W7 ", "w11"]),  # matched stripped and lower-cased
        [tmp_path / "x"],
    )
    lat, loc, input_ids = brute_force(loaded, tokenization, sae)
    token = input_ids[loc[:, 0], loc[:, 1]]
    kept = ~np.isin(token, list(excluded))
    assert 0 < (~kept).sum() < len(kept)  # the filter removes some positions, not all
    lat = lat[kept]
    assert result.meta.n_tokens == kept.sum()  # n_tokens counts measured tokens only
    table = result.table()
    np.testing.assert_array_equal(table["count"], (lat > 0).sum(0))
    np.testing.assert_allclose(table["frequency"], (lat > 0).mean(0))
    for i in range(sae.d_sae):
        assert not _top_ids(result, input_ids, i) & excluded  # never a top example
        for s in result.samples(i):
            assert s.token_ids[s.center] not in excluded


def test_threshold_zeroes_small_activations_everywhere(loaded, tokenization, tmp_path):
    sae = make_sae()
    lat, loc, input_ids = brute_force(loaded, tokenization, sae)
    threshold = float(np.quantile(lat[lat > 0], 0.5))
    (result,) = extract_features(
        loaded,
        tokenization,
        [ExtractionTarget(sae)],
        config(activation_threshold=threshold),
        [tmp_path / "x"],
    )
    firing = lat > threshold
    table = result.table()
    assert result.meta.n_tokens == lat.shape[0]  # the threshold removes activations, not tokens
    np.testing.assert_array_equal(table["count"], firing.sum(0))
    mean = (lat * firing).sum(0) / np.maximum(firing.sum(0), 1)
    np.testing.assert_allclose(table["mean_act"], mean, rtol=1e-4)
    values = np.asarray(result.array("top_values"))
    n_top = table["n_top"]
    for i in range(sae.d_sae):
        assert n_top[i] == min(K, firing[:, i].sum())
        assert (values[i, : n_top[i]] > threshold).all()
        for ex in result.examples(i, loaded.tokenizer):  # window activations are thresholded too
            assert all(a == 0.0 or a > threshold for a in ex.acts)


def test_special_tokens_can_be_measured(loaded, tokenization, tmp_path):
    sae = make_sae()
    runs = [
        extract_features(
            loaded,
            tokenization,
            [ExtractionTarget(sae)],
            config(exclude_special_tokens=flag, dedupe_overlap=False),
            [tmp_path / str(flag)],
        )[0]
        for flag in (True, False)
    ]
    rows = tokenization.get_batch(0, len(tokenization))
    specials = np.isin(rows.input_ids, [0, 1, 2]) & rows.attention_mask.astype(bool)
    assert specials.sum() >= len(tokenization)  # a BOS per sequence at least
    assert runs[1].meta.n_tokens == runs[0].meta.n_tokens + specials.sum()


def test_features_found_grows_to_the_live_latents(loaded, tokenization, tmp_path):
    calls: list[dict] = []
    (result,) = extract_features(
        loaded,
        tokenization,
        [ExtractionTarget(make_sae(d_sae=64))],
        config(),
        [tmp_path / "x"],
        progress=lambda step, total, **m: calls.append(m),
    )
    found = [c["features_found"] for c in calls]
    assert found == sorted(found) and found[0] > 0
    assert found[-1] == int((result.table()["count"] > 0).sum())


def test_stop_word_table_matches_whole_tokens_only():
    vocab = {"<pad>": 0, "the": 1, "The": 2, "there": 3, "cat": 4, "of": 5, "Cat": 6}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<pad>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>")
    assert "the" in STOP_WORDS and "there" in STOP_WORDS and "cat" not in STOP_WORDS
    table = excluded_token_table(fast, stop_words=True, words=[])
    assert table.tolist() == [False, True, True, True, False, True, False]
    table = excluded_token_table(fast, stop_words=False, words=["CAT"])
    assert table.tolist() == [False, False, False, False, True, False, True]
    assert excluded_token_table(fast, stop_words=False, words=[]) is None
    ids = torch.tensor([[1, 4, 9]])  # 9 is beyond the vocabulary: kept
    assert keep_mask(table, ids).tolist() == [[True, False, True]]


def test_bad_filters_are_one_line():
    with pytest.raises(InvalidInputError, match="empty word"):
        ExtractionConfig(exclude_tokens=["ok", "  "])
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        ExtractionConfig(activation_threshold=-1)
