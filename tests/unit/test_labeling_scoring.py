"""Scoring arithmetic on constructed cases, answer parsing, and score_label end to end."""

from __future__ import annotations

import pytest

from mistudio.core.labeling import FeatureLabel, MalformedReplyError, balanced_accuracy, f1_score
from mistudio.core.labeling.parse import parse_binary_list
from mistudio.core.labeling.scoring import (
    confusion,
    score_label,
    scoring_examples,
    scoring_messages,
)
from tests.unit.labeling_fixtures import example, feature


def test_confusion_and_balanced_accuracy() -> None:
    truth = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    pred = [1, 1, 1, 0, 0, 0, 0, 0, 1, 1]
    assert confusion(truth, pred) == (3, 2, 4, 1)
    # TPR 3/4, TNR 4/6
    assert balanced_accuracy(truth, pred) == pytest.approx((0.75 + 4 / 6) / 2)
    # precision 3/5, recall 3/4
    assert f1_score(truth, pred) == pytest.approx(2 * 0.6 * 0.75 / 1.35)


def test_balanced_accuracy_is_chance_for_constant_answers() -> None:
    truth = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0]  # imbalanced: plain accuracy would reward all-0
    assert balanced_accuracy(truth, [0] * 10) == 0.5
    assert balanced_accuracy(truth, [1] * 10) == 0.5
    assert balanced_accuracy(truth, truth) == 1.0
    assert balanced_accuracy(truth, [1 - t for t in truth]) == 0.0


def test_edge_cases() -> None:
    assert balanced_accuracy([], []) is None
    assert balanced_accuracy([1, 1], [1, 0]) == 0.5  # only positives: TPR alone
    assert f1_score([0, 0], [1, 0]) is None  # no positives: undefined
    assert f1_score([1, 0], [0, 1]) == 0.0
    with pytest.raises(ValueError):
        confusion([1], [1, 0])


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("[1,0,0,1,1]", [1, 0, 0, 1, 1]),
        ("Sure! The answer is:\n[1, 0, 0, 1, 1]", [1, 0, 0, 1, 1]),
        ("Example 3 [see] ... final: [0, 0, 1, 0, 1]", [0, 0, 1, 0, 1]),
        ('{"answers": [true, false, false, true, true]}', [1, 0, 0, 1, 1]),
        ("```python\n['1', '0', '0', '0', '0']\n```", [1, 0, 0, 0, 0]),
    ],
)
def test_parse_binary_list(reply: str, expected: list[int]) -> None:
    assert parse_binary_list(reply, 5) == expected


@pytest.mark.parametrize("reply", ["[1,0,1]", "yes, no, yes", "[1,0,2,1,0]", ""])
def test_parse_binary_list_rejects(reply: str) -> None:
    with pytest.raises(MalformedReplyError):
        parse_binary_list(reply, 5)


def ctx_with_holdout():
    ctx = feature(7, [([" the", " cat"], [0.0, 4.0])])
    ctx.held_out = [example(["a", " cat", " sat"], [0, 3.0, 0]) for _ in range(6)]
    ctx.negatives = [example(["a", " dog", " ran"], [0, 0, 0]) for _ in range(4)]
    return ctx


def test_scoring_examples_mark_the_right_tokens() -> None:
    import random

    ctx = ctx_with_holdout()
    fuzz = scoring_examples(ctx, "fuzzing", random.Random(0))
    assert len(fuzz) == 10 and sum(e.active for e in fuzz) == 6
    for e in fuzz:
        if e.active:
            assert e.text() == "a<< cat>> sat"
        else:
            assert sum(e.marked) == 1  # as many random marks as real ones
    det = scoring_examples(ctx, "detection", random.Random(0))
    assert not any(any(e.marked) for e in det)
    msgs = scoring_messages(
        FeatureLabel(
            index=7, status="labelled", label="cats", description="The word cat.", method="x"
        ),
        "fuzzing",
        fuzz[:5],
    )
    assert "Example 5:" in msgs[1]["content"] and "list of 5 values" in msgs[1]["content"]


class Oracle:
    """Answers from the truth (optionally inverted or failing on some batches)."""

    def __init__(self, invert: bool = False, fail_every: int = 0) -> None:
        self.invert, self.fail_every, self.calls = invert, fail_every, 0

    def answer(self, label, kind, batch):
        self.calls += 1
        if self.fail_every and self.calls % self.fail_every == 0:
            raise MalformedReplyError("garbled")
        return [int(e.active) ^ self.invert for e in batch]


def test_score_label_perfect_inverted_and_partial() -> None:
    ctx = ctx_with_holdout()
    lab = FeatureLabel(index=7, status="labelled", label="cat", method="x")
    perfect = score_label(Oracle(), lab, ctx, batch_size=5)
    assert perfect.detection == perfect.fuzzing == perfect.detection_f1 == 1.0
    assert perfect.n_detection == perfect.n_fuzzing == 10 and perfect.score == 1.0
    inverted = score_label(Oracle(invert=True), lab, ctx)
    assert inverted.detection == inverted.fuzzing == 0.0
    partial = score_label(Oracle(fail_every=2), lab, ctx)
    assert partial.n_detection == 5 and partial.n_fuzzing == 5
    assert partial.error is not None and "garbled" in partial.error
