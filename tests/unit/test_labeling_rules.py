"""Rule labels on constructed features: each pattern fires on its own kind of token."""

from __future__ import annotations

import pytest

from mistudio.core.labeling import RuleLabeler, match_rules
from mistudio.core.labeling.methods import RuleScorer
from mistudio.core.labeling.scoring import score_label
from tests.unit.labeling_fixtures import example, feature


def fires_on(windows: list[tuple[list[str], int]]) -> list[tuple[list[str], list[float]]]:
    """Windows with activation 5 at the given position, 0 elsewhere."""
    out = []
    for tokens, at in windows:
        acts = [0.0] * len(tokens)
        acts[at] = 5.0
        out.append((tokens, acts))
    return out


CASES = {
    "single_token": (
        [
            ([" the", " cat", " sat", " on", " the"], 4),
            (["I", " saw", " the", " dog"], 2),
            (["in", " the", " end"], 1),
            (["to", " the", " sea"], 1),
        ],
        "Lexical > Specific token",
    ),
    "code_keywords": (
        [
            (["\n", "def", " f", "():"], 1),
            (["    ", "return", " x"], 1),
            (["x", " if", " y"], 1),
            (["import", " os"], 0),
            (["for", " i", " in"], 0),
        ],
        "Code > Python keywords",
    ),
    "numbers": (
        [
            (["page", " 12"], 1),
            (["year", " 1984"], 1),
            (["x", " =", " 3"], 2),
            (["v", "2", ".", "5"], 1),
            (["chapter", " 7"], 1),
        ],
        "Syntax > Numbers",
    ),
    "punctuation": (
        [
            (["Hello", ",", " world"], 1),
            (["end", "."], 1),
            (["wait", ";"], 1),
            (["what", "?"], 1),
            (["yes", "!"], 1),
        ],
        "Syntax > Punctuation",
    ),
    "indentation": (
        [
            (["\n", "    ", "return"], 1),
            (["\n", "        ", "x"], 1),
            (["\n", "\t", "pass"], 1),
            (["\n", "  ", "y"], 1),
        ],
        "Formatting > Whitespace / indentation",
    ),
    "newlines": (
        [
            (["a", "\n", "b"], 1),
            (["c", "\n\n", "d"], 1),
            (["e", "\r\n", "f"], 1),
            (["g", "\n", "h"], 1),
            (["i", "\n\n", "j"], 1),
        ],
        "Formatting > Line breaks",
    ),
    "capitalised": (
        [
            ([" met", " Alice"], 1),
            ([" said", " Bob"], 1),
            ([" in", " Paris"], 1),
            ([" to", " Moses"], 1),
            ([" of", " London"], 1),
        ],
        "Lexical > Capitalised words / names",
    ),
    "line_start": (
        [
            (["x", "\n", "the"], 2),
            (["y", "\n", "    ", "while"], 3),
            (["z", "\n", "and"], 2),
            (["w", "\n", "so"], 2),
            (["v", "\n", "it"], 2),
        ],
        "Position > Line start",
    ),
    "word_prefix": (
        [
            ([" un", "believ", "able"], 0),
            ([" trans", "port"], 0),
            ([" re", "writ", "ing"], 0),
            ([" pre", "view"], 0),
            ([" counter", "act"], 0),
        ],
        "Morphology > Word prefix",
    ),
    "word_suffix": (
        [
            ([" walk", "ing"], 1),
            ([" jump", "ed"], 1),
            ([" quick", "ly"], 1),
            ([" happi", "ness"], 1),
            ([" play", "ers"], 1),
        ],
        "Morphology > Word suffix / continuation",
    ),
    "brackets": (
        [
            (["f", "(", "x"], 1),
            (["x", ")"], 1),
            (["a", "[", "0"], 1),
            (["d", "{"], 1),
            (["]", " ="], 0),
        ],
        "Syntax > Brackets",
    ),
}


@pytest.mark.parametrize("rule", sorted(CASES))
def test_each_pattern_fires_with_its_category(rule: str) -> None:
    windows, category = CASES[rule]
    ctx = feature(3, fires_on(windows))
    match = match_rules(ctx)
    assert match is not None, rule
    assert match.rule == rule
    assert match.category == category
    assert 0.6 <= match.share <= 1.0
    lab = RuleLabeler().label(ctx)
    assert (
        lab.status == "labelled"
        and lab.category == category
        and lab.confidence == pytest.approx(match.share, abs=1e-4)
    )
    assert lab.label and lab.description


def test_single_keyword_gets_its_class_category() -> None:
    ctx = feature(0, fires_on([(["\n", "def", " f"], 1)] * 4 + [(["x", "def", " g"], 1)]))
    match = match_rules(ctx)
    assert match is not None and match.rule == "single_token"
    assert match.label == 'the token "def"' and match.category == "Code > Python keywords"


def test_nothing_fits_is_unclear() -> None:
    ctx = feature(
        1,
        fires_on(
            [([" cat"], 0), ([" ran"], 0), ([","], 0), ([" 42"], 0), (["Paris"], 0), ([" blue"], 0)]
        ),
    )
    assert match_rules(ctx) is None
    lab = RuleLabeler().label(ctx)
    assert lab.status == "unclear" and lab.label == "unclear"


def test_weak_tokens_do_not_count() -> None:
    """Tokens under half the max do not sway the rule: commas fire weakly beside the keyword."""
    windows = [
        (["def", ",", ","], [5.0, 2.0, 2.0]),
        (["return", ","], [5.0, 2.4]),
        (["class", ","], [5.0, 1.0]),
    ]
    match = match_rules(feature(2, windows))
    assert match is not None and match.rule == "code_keywords"


def test_rule_scorer_uses_the_predicate() -> None:
    """Held-out keyword windows are detected; keyword-free negatives are not."""
    labeler = RuleLabeler()
    ctx = feature(5, fires_on(CASES["code_keywords"][0]))
    ctx.held_out = [
        example(["x", " = ", "lambda"], [0, 0, 4.0]),
        example(["while", " True"], [3.0, 0]),
    ]
    ctx.negatives = [example([" the", " cat"], [0, 0]), example([" a", " dog", "."], [0, 0, 0])]
    lab = labeler.label(ctx)
    scores = score_label(labeler.scorer(), lab, ctx)
    assert scores.detection == 1.0 and scores.detection_f1 == 1.0
    assert scores.fuzzing == 1.0  # real marks are keywords; random marks on prose are not
    assert isinstance(labeler.scorer(), RuleScorer)
