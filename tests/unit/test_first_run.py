"""The first run's trimmed stages (issue 22) on constructed inputs, no model download:
tokenization stops once the stages' tokens are stored, the label passes (rules, then patterns
on the most frequent latents the rules leave unlabelled), the stage clock, and ``mistudio
label`` on a folder of extractions (one per SAE), as the demo writes it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mistudio.cli import _register, app
from mistudio.core.data import DatasetSource, Tokenization, TokenizeConfig, import_dataset
from mistudio.core.data import tokenize_dataset as tokenize_all
from mistudio.core.first_run import (
    STAGES,
    FirstRunConfig,
    StageClock,
    label_first_features,
    tokenize_for_first_run,
)
from mistudio.errors import NotFoundError
from tests.unit.labeling_fixtures import FeatureSpec, build_extraction
from tests.unit.test_data_tokenize import word_tokenizer
from tests.unit.test_labeling_run import CODE, PROSE, windows


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    src = tmp_path / "docs.jsonl"
    lines = [
        json.dumps({"text": " ".join(f"w{(i + j) % 200}" for j in range(40 + i))})
        for i in range(60)
    ]
    src.write_text("\n".join(lines))
    import_dataset(DatasetSource(kind="local", path=src, name="docs"), folder)
    return folder


def test_tokenization_stops_once_the_stages_tokens_are_stored(corpus, tmp_path):
    tokenizer = word_tokenizer()
    config = FirstRunConfig(max_length=32, train_tokens=300, extract_tokens=200, eval_sequences=2)
    assert config.tokens_needed() == 300 + 2 * 32
    capped = tokenize_for_first_run(config, corpus, tokenizer, tmp_path / "capped")
    whole = tokenize_all(
        corpus, tokenizer, TokenizeConfig(max_length=32, stride=16), tmp_path / "whole"
    )
    # Whole documents, stopped at the first one that reaches the cap: at least the tokens
    # needed, less than one more document beyond, and far fewer than the corpus.
    assert config.tokens_needed() <= capped.meta.n_tokens < config.tokens_needed() + 120
    assert capped.meta.n_documents < whole.meta.n_documents == 60
    # The same first sequences as tokenizing everything (training reads these).
    n = len(capped) - 4  # the last document's windows may end the capped run early
    first = capped.get_batch(0, n).input_ids
    assert (first == whole.get_batch(0, n).input_ids).all()
    # A second call reuses the folder.
    again = tokenize_for_first_run(config, corpus, tokenizer, tmp_path / "capped")
    assert isinstance(again, Tokenization) and again.meta.n_tokens == capped.meta.n_tokens


@pytest.fixture
def extraction(tmp_path: Path):
    specs = [
        FeatureSpec(windows(CODE * 3, {"    ", "        "}), windows(CODE * 2, {"    "})),
        FeatureSpec([]),  # dead: neither pass sees it
        FeatureSpec(windows(PROSE * 3, {","}), windows(PROSE * 2, {","})),
        # Fires on four unrelated words: the rules say unclear, the patterns name the tokens.
        FeatureSpec(windows([[" cat", " dog", " sat", " ran"]] * 6, {" cat", " dog", " sat"})),
        FeatureSpec(windows([[" a", " b", " x", " y"]] * 3, {" a", " b", " x", " y"})),
    ]
    random_windows = [[" the", " cat", " sat", "."], [" a", " dog", " ran", "."]] * 4
    result, tokenizer = build_extraction(tmp_path / "parent" / "layer6-topk", specs, random_windows)
    return result, tokenizer


def test_label_passes_rules_then_patterns_on_the_most_frequent_unlabelled(extraction, tmp_path):
    extraction, tokenizer = extraction
    config = FirstRunConfig(local_labels=1)
    passes = label_first_features(config, extraction, tokenizer, tmp_path / "labels")
    rules = {lab.index: lab for lab in passes.rules.labels}
    assert sorted(rules) == [0, 2, 3, 4]  # every live latent
    assert rules[0].status == "labelled" and rules[2].status == "labelled"
    assert all(lab.scores is not None for lab in rules.values() if lab.status == "labelled")
    unclear = [i for i, lab in rules.items() if lab.status != "labelled"]
    assert unclear, "the fixture needs a latent the rules leave unlabelled"
    # local_labels=1: only the most frequent of the unclear ones goes to the patterns.
    assert passes.local is not None
    frequency = extraction.table()["frequency"]
    top = max(unclear, key=lambda i: float(frequency[i]))
    assert [lab.index for lab in passes.local.labels] == [top]
    assert passes.labelled() >= {0, 2}
    assert (tmp_path / "labels" / "rules" / "labels.jsonl").exists()
    assert (tmp_path / "labels" / "local" / "labels.jsonl").exists()
    # A second run (the demo run again) resumes: nothing new, the same latents labelled.
    again = label_first_features(config, extraction, tokenizer, tmp_path / "labels")
    assert again.rules.labels == [] and again.local is not None and again.local.labels == []
    assert again.labelled() == passes.labelled()


def test_stage_clock_maps_stages_into_the_run_and_sums_shares():
    starts: list[tuple[str, float, float]] = []
    clock = StageClock(on_start=lambda n, s, e: starts.append((n, s, e)))
    for name in ("model", "train", "label"):
        with clock.stage(name):
            pass
    assert [s[0] for s in starts] == ["model", "train", "label"]
    assert starts[0][1] == 0.0 and starts[-1][2] == pytest.approx(1.0)
    before_train = list(STAGES)[: list(STAGES).index("train")]
    assert starts[1][1] == pytest.approx(sum(STAGES[n] for n in before_train))
    assert sum(share for _, _, share in clock.rows()) == pytest.approx(1.0)
    assert clock.lines()[-1].lstrip().startswith("total")


def test_label_accepts_a_folder_of_extractions(extraction, tmp_path, monkeypatch):
    from mistudio.core.features import ExtractionResult
    from mistudio.settings import get_settings

    extraction, tokenizer = extraction
    # The constructed folder has no saved HF tokenizer; its own word-list one stands in.
    monkeypatch.setattr(ExtractionResult, "tokenizer", lambda self: tokenizer)
    monkeypatch.setenv("MISTUDIO_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    _register()
    parent = extraction.folder.parent
    runner = CliRunner()
    try:
        result = runner.invoke(app, ["label", str(parent)])
        assert result.exit_code == 0, result.output
        assert "holds 1 extraction(s), one per SAE: layer6-topk; labelling all" in result.output
        assert (parent / "layer6-topk" / "labels" / "rules" / "labels.jsonl").exists()
        result = runner.invoke(app, ["label", str(parent), "--sae", "layer2-topk"])
        # A MiStudioError: `mistudio` (cli.main) prints it as one "error: ..." line.
        assert isinstance(result.exception, NotFoundError)
        message = str(result.exception)
        assert "no extraction of SAE 'layer2-topk'" in message and "it holds layer6-topk" in message
        result = runner.invoke(app, ["label", "nothing-here"])
        assert isinstance(result.exception, NotFoundError)
        assert "in folders of extractions: parent/layer6-topk" not in str(result.exception)
        result = runner.invoke(app, ["label", str(parent), "--sae", "layer6-topk"])
        assert result.exit_code == 0, result.output
        assert "labelled" in result.output
    finally:
        get_settings.cache_clear()
