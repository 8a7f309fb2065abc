"""Scoring labels by detection and fuzzing (FORMATS.md §4; delphi, EleutherAI 2024).

*Detection*: the scorer reads the explanation and a shuffled mix of held-out activating and
non-activating examples, five per prompt, and answers which activate (``[1,0,0,1,1]``).
*Fuzzing*: every example has tokens marked; in activating examples the tokens the latent really
fires on, in the others random tokens; the scorer answers whether each marking fits the
explanation. Both report balanced accuracy ``(TPR + TNR) / 2`` (chance is 0.5 whatever the mix),
detection also F1. The arithmetic is pure functions over 0/1 lists; prompts and the scorer
(an LLM client, or a rule's own predicate) are separate.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple, Protocol

from mistudio.core.features.result import Example
from mistudio.core.labeling.context import FeatureContext
from mistudio.core.labeling.errors import FATAL_ERRORS, BackendError
from mistudio.core.labeling.prompts import Message, active_mask, highlight, show_token
from mistudio.core.labeling.records import FeatureLabel, LabelScores

ScoreKind = Literal["detection", "fuzzing"]


class Confusion(NamedTuple):
    tp: int
    fp: int
    tn: int
    fn: int


def confusion(truth: Sequence[int], predicted: Sequence[int]) -> Confusion:
    """Counts of a binary prediction against the truth (1 = activating)."""
    if len(truth) != len(predicted):
        raise ValueError(f"{len(truth)} truths but {len(predicted)} predictions")
    tp = sum(1 for t, p in zip(truth, predicted, strict=True) if t and p)
    fp = sum(1 for t, p in zip(truth, predicted, strict=True) if not t and p)
    tn = sum(1 for t, p in zip(truth, predicted, strict=True) if not t and not p)
    return Confusion(tp, fp, tn, len(truth) - tp - fp - tn)


def balanced_accuracy(truth: Sequence[int], predicted: Sequence[int]) -> float | None:
    """``(TPR + TNR) / 2``; with only one class present, that class's rate; None if empty."""
    c = confusion(truth, predicted)
    rates = []
    if c.tp + c.fn:
        rates.append(c.tp / (c.tp + c.fn))
    if c.tn + c.fp:
        rates.append(c.tn / (c.tn + c.fp))
    return sum(rates) / len(rates) if rates else None


def f1_score(truth: Sequence[int], predicted: Sequence[int]) -> float | None:
    """F1 of the positive class; 0 when nothing is predicted right, None without positives."""
    c = confusion(truth, predicted)
    if c.tp + c.fn == 0:
        return None
    if c.tp == 0:
        return 0.0
    precision = c.tp / (c.tp + c.fp)
    recall = c.tp / (c.tp + c.fn)
    return 2 * precision * recall / (precision + recall)


@dataclass
class ScoringExample:
    """One example as a scorer sees it."""

    tokens: list[str]
    marked: list[bool]
    """Tokens shown marked (fuzzing; all False for detection)."""
    active: bool
    """The truth: the latent fires on this example (fuzzing: the marking is the real one)."""

    def text(self) -> str:
        return highlight(self.tokens, self.marked)


def _real_marks(e: Example, threshold: float) -> list[bool]:
    mask = active_mask(e.acts, max(e.acts, default=0.0), threshold)
    return mask if any(mask) else [j == e.center for j in range(len(e.acts))]


def _random_marks(n_tokens: int, n_marks: int, rng: random.Random) -> list[bool]:
    chosen = set(rng.sample(range(n_tokens), min(n_tokens, max(1, n_marks))))
    return [j in chosen for j in range(n_tokens)]


def scoring_examples(
    ctx: FeatureContext, kind: ScoreKind, rng: random.Random, threshold: float = 0.3
) -> list[ScoringExample]:
    """Held-out positives and negatives of ``ctx`` prepared for ``kind``, shuffled."""
    out: list[ScoringExample] = []
    positives = [e for e in ctx.held_out if e.tokens]
    negatives = [e for e in ctx.negatives if e.tokens]
    marks_seen = [sum(_real_marks(e, threshold)) for e in positives] or [1]
    for e in positives:
        tokens = list(e.tokens or [])
        marked = _real_marks(e, threshold) if kind == "fuzzing" else [False] * len(tokens)
        out.append(ScoringExample(tokens, marked, True))
    for e in negatives:
        tokens = list(e.tokens or [])
        if kind == "fuzzing":
            marked = _random_marks(len(tokens), rng.choice(marks_seen), rng)
        else:
            marked = [False] * len(tokens)
        out.append(ScoringExample(tokens, marked, False))
    rng.shuffle(out)
    return out


def batches(items: Sequence[ScoringExample], size: int) -> list[list[ScoringExample]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


DETECTION_SYSTEM = """You are an intelligent and meticulous linguistics researcher. You will be \
given an explanation of a feature of a language model, such as "male pronouns" or "leading \
whitespace that indents code", and several numbered text examples (a newline inside the text is \
written \\n). Decide for each example whether the feature fires somewhere in it, according to \
the explanation. Answer with a Python list of 0s and 1s, one per example in order, 1 if the \
feature fires, e.g. [1,0,0,1,0]. Reply with the list only."""

FUZZING_SYSTEM = """You are an intelligent and meticulous linguistics researcher. You will be \
given an explanation of a feature of a language model and several numbered text examples in \
which some tokens are marked <<like this>>. Decide for each example whether the marked tokens \
are ones the feature fires on, according to the explanation. Answer with a Python list of 0s \
and 1s, one per example in order, 1 if the marking is correct, e.g. [1,0,0,1,0]. Reply with the \
list only."""


def scoring_messages(
    label: FeatureLabel, kind: ScoreKind, batch: Sequence[ScoringExample]
) -> list[Message]:
    """The chat messages asking a scorer about one batch."""
    examples = "\n".join(
        f"Example {n}: {e.text() if kind == 'fuzzing' else ''.join(map(show_token, e.tokens))}"
        for n, e in enumerate(batch, 1)
    )
    user = (
        f"Explanation: {label.label}. {label.description}\n\n{examples}\n\n"
        f"Answer with a list of {len(batch)} values (0 or 1)."
    )
    system = DETECTION_SYSTEM if kind == "detection" else FUZZING_SYSTEM
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


class Scorer(Protocol):
    """Answers scoring questions: one 0/1 per example of a batch."""

    def answer(
        self, label: FeatureLabel, kind: ScoreKind, batch: Sequence[ScoringExample]
    ) -> list[int]:
        """May raise :class:`BackendError` for this batch (it is then left out)."""
        ...


def score_label(
    scorer: Scorer,
    label: FeatureLabel,
    ctx: FeatureContext,
    batch_size: int = 5,
    seed: int = 0,
    kinds: Sequence[ScoreKind] = ("detection", "fuzzing"),
) -> LabelScores:
    """Detection and fuzzing scores of ``label`` on ``ctx``'s held-out examples.

    A batch whose answer cannot be had (malformed after retries, rate limit) is left out and
    noted in ``error``; fatal backend errors propagate.
    """
    scores = LabelScores()
    errors: list[str] = []
    for kind in kinds:
        rng = random.Random(seed * 7919 + ctx.index * 2 + (kind == "fuzzing"))
        truth: list[int] = []
        predicted: list[int] = []
        for batch in batches(scoring_examples(ctx, kind, rng), batch_size):
            try:
                answers = scorer.answer(label, kind, batch)
            except FATAL_ERRORS:
                raise
            except BackendError as exc:
                errors.append(f"{kind}: {exc}")
                continue
            truth += [int(e.active) for e in batch]
            predicted += answers
        if kind == "detection":
            scores.detection = balanced_accuracy(truth, predicted)
            scores.detection_f1 = f1_score(truth, predicted)
            scores.n_detection = len(truth)
        else:
            scores.fuzzing = balanced_accuracy(truth, predicted)
            scores.n_fuzzing = len(truth)
    if errors:
        scores.error = f"{len(errors)} scoring batch(es) failed; first: {errors[0]}"
    return scores
