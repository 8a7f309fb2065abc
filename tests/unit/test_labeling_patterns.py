"""The pattern labeller (the built-in ``local`` default): the predicate it finds on constructed
features, the words it reads from token texts, the label it writes, and scoring by the predicate
against held-out examples (a wrong pattern must score at chance, a right one well)."""

from __future__ import annotations

from mistudio.core.labeling.config import LabelingConfig
from mistudio.core.labeling.methods import create_labeler
from mistudio.core.labeling.patterns import (
    Pattern,
    PatternLabeler,
    find_pattern,
    read_window,
    token_words,
)
from mistudio.core.labeling.scoring import score_label
from tests.unit.labeling_fixtures import example, feature


def test_words_are_read_from_token_texts() -> None:
    assert token_words(["x", " un", "believ", "able", "!", " get", "_", "item"]) == [
        "x",
        " unbelievable",
        " unbelievable",
        " unbelievable",
        "!",
        " get_item",
        " get_item",
        " get_item",
    ]


def test_code_windows_get_python_classes() -> None:
    readings = read_window(["def", " f", "(", "x", "):", " return", " 'a'"])
    assert [r.code for r in readings] == [
        "keyword",
        "identifier",
        "operator",
        "identifier",
        "operator",
        "keyword",
        "string",
    ]
    assert readings[1].prev == "def" and readings[1].next == "("
    prose = read_window(["And", " God", " said"])
    assert {r.code for r in prose} == {"prose"}


def _windows_after_self() -> list[tuple[list[str], list[float]]]:
    names = [" x", " size", " name", " data", " items", " value"]
    return [
        ([" if", " self", ".", name.strip(), " >", " 0", ":"], [0, 0, 0, 5.0 - i * 0.3, 0, 0, 0])
        for i, name in enumerate(names)
    ]


def test_a_context_pattern_wins_where_no_word_repeats() -> None:
    ctx = feature(3, _windows_after_self())
    pattern = find_pattern(ctx)
    assert pattern == Pattern("prev", (".",), pattern.f1) and pattern.f1 > 0.9
    assert pattern.label() == 'tokens after "."'


def test_a_word_set_and_its_label() -> None:
    windows = [
        ([" the", " cat", " sat"], [0, 4.0, 0]),
        ([" a", " dog", " ran"], [0, 3.5, 0]),
        ([" my", " cat", " slept"], [0, 3.8, 0]),
        ([" one", " dog", " barked"], [0, 3.0, 0]),
    ]
    labeler = PatternLabeler("patterns")
    label = labeler.label(feature(1, windows))
    assert label.status == "labelled" and label.method == "local" and label.model == "patterns"
    assert label.label in ('words "cat"/"dog"', 'tokens "cat"/"dog"')
    assert label.confidence == 1.0
    keywords = labeler.label(feature(2, [(["def", " f", "():"], [5.0, 0, 0])] * 3))
    assert keywords.label == 'Python keyword "def"'


def test_nothing_to_find_is_unclear() -> None:
    # Every token fires a little and the peaks are different words: no small set fits.
    windows = [([f" w{i}{j}" for j in range(8)], [1.0] * 8) for i in range(6)]
    label = PatternLabeler("patterns").label(feature(5, windows))
    assert label.status == "unclear" and label.label == "unclear"


def test_scoring_by_the_predicate_separates_right_from_wrong() -> None:
    held = [example(t, a) for t, a in _windows_after_self()[:4]]
    negatives = [example([" for", " i", " in", " range", "(", "n", "):"], [0.0] * 7)] * 4
    ctx = feature(3, _windows_after_self(), held_out=held, negatives=negatives)
    labeler = PatternLabeler("patterns")
    label = labeler.label(ctx)
    scores = score_label(labeler.scorer(), label, ctx)
    assert scores.detection == 1.0 and scores.fuzzing is not None and scores.fuzzing >= 0.75
    # A pattern that matches everywhere detects nothing: chance.
    labeler._patterns[3] = Pattern("code", ("operator",), 0.5)
    assert score_label(labeler.scorer(), label, ctx).detection == 0.5


def test_local_without_a_model_is_the_pattern_labeller() -> None:
    labeler = create_labeler(LabelingConfig(method="local"))
    assert isinstance(labeler, PatternLabeler) and labeler.model == "patterns"
    assert isinstance(
        create_labeler(LabelingConfig(method="local", model="patterns")), PatternLabeler
    )
