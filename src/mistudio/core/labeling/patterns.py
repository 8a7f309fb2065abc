"""Pattern labels: the built-in local labeller's default, a searched predicate named in words.

Issue 19 part 4 measured the built-in SmolLM2-135M-Instruct on the walkthrough SAE's most frequent
latents that the rules leave ``unclear`` (``benchmarks/local_labeller.py``, table in
``benchmarks/RESULTS.md``): it labels few of them, and what it writes does not predict held-out
activations better than chance. This labeller labels every one of them in milliseconds, and its
label is a predicate, so it is scored exactly as rule labels are (by the predicate itself).

How a label is found. Each token of the shown (top) examples is read with what part 1 and 2 of
the issue give: its text, the whole word it belongs to (:mod:`mistudio.core.data.words`), the
token before and after it, and, in windows that read as code, its Python class (keyword,
identifier, string, comment, ... from :mod:`mistudio.core.linguistics.code_tokens`). Candidate
predicates are sets over one of these views (``word in {def, class}``, ``previous token in
{self.}``, ``code class = string``). Each is judged on the shown windows only (held-out examples
and negatives stay for scoring): *recall* is the share of the activation mass on matching tokens,
*precision* the share of matching tokens that are active; a set grows greedily, largest mass
first, while its F1 rises. The best F1 wins; below :data:`MIN_F1` the latent is ``unclear``.
The label names the predicate (``words "def"/"class"``, ``tokens after "self."``, ``code
strings``); the F1 is its confidence.

The rules (:mod:`mistudio.core.labeling.rules`) ask for one class explaining 60% of the mass;
these patterns accept a small set of specific words or contexts, which is what most code latents
of a small SAE fire on, and weigh what the pattern wrongly includes.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from mistudio.core.labeling.context import FeatureContext
from mistudio.core.labeling.errors import MalformedReplyError
from mistudio.core.labeling.prompts import show_token
from mistudio.core.labeling.records import FeatureLabel
from mistudio.core.labeling.rules import PY_KEYWORDS
from mistudio.core.labeling.scoring import ScoreKind, ScoringExample
from mistudio.core.linguistics.code_tokens import classify_python, looks_like_code, span_class

ACTIVE_SHARE = 0.3
"""A token is active above this fraction of the latent's max (the prompts' highlight, delphi)."""
MAX_VALUES = 6
"""Most words/tokens one label lists."""
MIN_F1 = 0.25
"""Below this the best pattern explains too little: the latent is ``unclear``."""
VIEWS = ("word", "token", "prev", "next", "code")
"""What a predicate looks at: the token's word, the token, its neighbours, its code class."""
CODE_NAMES = {
    "keyword": "Python keywords",
    "builtin": "Python builtins",
    "identifier": "code identifiers",
    "operator": "operators",
    "string": "code strings",
    "comment": "code comments",
    "number": "numbers in code",
}


def normal(text: str) -> str:
    """A token or word as a predicate compares it: stripped and lower-cased (blank stays)."""
    return text.strip().lower() or text


@dataclass(frozen=True)
class Reading:
    """One token of a window as the predicates see it."""

    word: str
    token: str
    prev: str
    next: str
    code: str
    """Python class in a code window, ``prose`` otherwise."""

    def view(self, kind: str) -> str:
        return str(getattr(self, kind))


def token_words(tokens: Sequence[str]) -> list[str]:
    """The word each token belongs to: a token that starts with a word character joins the
    word before it when that ends with one (``un|believ|able``, ``get|_|item``). Read from the
    decoded token texts alone, so labelling and scoring (whose examples carry no words) see the
    same words."""
    groups: list[list[int]] = []
    for j, tok in enumerate(tokens):
        starts_word = tok[:1].isalnum() or tok[:1] == "_"
        after_word = j > 0 and (tokens[j - 1][-1:].isalnum() or tokens[j - 1][-1:] == "_")
        if groups and starts_word and after_word:
            groups[-1].append(j)
        else:
            groups.append([j])
    out = [""] * len(tokens)
    for group in groups:
        text = "".join(tokens[j] for j in group)
        for j in group:
            out[j] = text
    return out


def read_window(tokens: Sequence[str]) -> list[Reading]:
    """Every token of a window with its word, neighbours and code class."""
    tokens = list(tokens)
    word_of = token_words(tokens)
    text = "".join(tokens)
    classes = classify_python(text) if looks_like_code(text) else None
    out, offset = [], 0
    for j, tok in enumerate(tokens):
        end = offset + len(tok)
        out.append(
            Reading(
                word=normal(word_of[j]),
                token=normal(tok),
                prev=normal(tokens[j - 1]) if j else "",
                next=normal(tokens[j + 1]) if j + 1 < len(tokens) else "",
                code=span_class(classes, offset, end) if classes is not None else "prose",
            )
        )
        offset = end
    return out


@dataclass(frozen=True)
class Pattern:
    """A predicate on one token: its ``view`` is one of ``values``."""

    view: str
    values: tuple[str, ...]
    f1: float = 0.0
    """How well it fits the shown examples (the label's confidence)."""

    def matches(self, reading: Reading) -> bool:
        return reading.view(self.view) in self.values

    def _shown(self, limit: int = 4) -> str:
        return "/".join(f'"{show_token(v)}"' for v in self.values[:limit])

    def label(self) -> str:
        if self.view == "code":
            return CODE_NAMES.get(self.values[0], f"code {self.values[0]}")
        if self.view in ("word", "token") and all(v in PY_KEYWORDS for v in self.values):
            return f"Python keyword{'s' if len(self.values) > 1 else ''} {self._shown()}"
        what = {"word": "words", "token": "tokens"}.get(self.view)
        if what:
            return f"{what} {self._shown()}"
        return f"tokens {'after' if self.view == 'prev' else 'before'} {self._shown(3)}"

    def category(self) -> str:
        if self.view == "code":
            return f"Code > {CODE_NAMES.get(self.values[0], self.values[0]).capitalize()}"
        if self.view in ("prev", "next"):
            return "Context > " + ("Previous token" if self.view == "prev" else "Next token")
        return "Lexical > Specific words"

    def description(self) -> str:
        shown = ", ".join(repr(show_token(v)) for v in self.values)
        return {
            "word": f"Fires on the words {shown}.",
            "token": f"Fires on the tokens {shown}.",
            "prev": f"Fires on the token that follows {shown}.",
            "next": f"Fires on the token just before {shown}.",
            "code": f"Fires on {self.label()} (Python's own token classes).",
        }[self.view]


def _f1(recall: float, precision: float) -> float:
    return 2 * recall * precision / (recall + precision) if recall + precision else 0.0


def find_pattern(ctx: FeatureContext) -> Pattern | None:
    """The best-fitting pattern of ``ctx``'s shown examples (see the module docstring)."""
    tokens: list[tuple[Reading, float]] = []  # (reading, activation if active else 0)
    for e in ctx.examples:
        if not e.tokens:
            continue
        cut = ACTIVE_SHARE * (ctx.max_act or max(e.acts, default=0.0))
        for r, a in zip(read_window(e.tokens), e.acts, strict=True):
            tokens.append((r, a if a > cut and a > 0 else 0.0))
    total = sum(a for _, a in tokens)
    if total <= 0:
        return None
    best: Pattern | None = None
    for view in VIEWS:
        mass: dict[str, float] = {}
        seen: dict[str, int] = {}
        fired: dict[str, int] = {}
        for r, a in tokens:
            v = r.view(view)
            seen[v] = seen.get(v, 0) + 1
            if a > 0:
                mass[v] = mass.get(v, 0.0) + a
                fired[v] = fired.get(v, 0) + 1
        mass.pop("", None)  # no previous or next token: the window's edge, not a context
        if view == "code":
            mass.pop("prose", None)
            mass.pop("whitespace", None)
        chosen: list[str] = []
        m = n_seen = n_fired = 0.0
        score = 0.0
        limit = 1 if view == "code" else MAX_VALUES
        for v in sorted(mass, key=lambda k: -mass[k])[:limit]:
            f1 = _f1((m + mass[v]) / total, (n_fired + fired[v]) / (n_seen + seen[v]))
            if f1 <= score:
                break
            chosen.append(v)
            m, n_seen, n_fired, score = m + mass[v], n_seen + seen[v], n_fired + fired[v], f1
        # Ties go to the shorter list: one context token over six words that fit as well.
        if chosen and (
            best is None
            or round(score, 4) > best.f1
            or (round(score, 4) == best.f1 and len(chosen) < len(best.values))
        ):
            best = Pattern(view, tuple(chosen), round(score, 4))
    return best if best is not None and best.f1 >= MIN_F1 else None


class PatternLabeler:
    """``local`` with the built-in pattern model: no LLM, a label per latent in milliseconds."""

    method = "local"
    concurrent = False

    def __init__(self, model: str, method: str = "local") -> None:
        self.model: str | None = model
        self.method = method
        self._patterns: dict[int, Pattern] = {}

    def label(self, ctx: FeatureContext) -> FeatureLabel:
        start = time.perf_counter()
        pattern = find_pattern(ctx)
        if pattern is None:
            return FeatureLabel(
                index=ctx.index,
                status="unclear",
                label="unclear",
                category="Unclear",
                description="No word, context or code-class pattern fits the top examples.",
                method=self.method,
                model=self.model,
                seconds=time.perf_counter() - start,
            )
        self._patterns[ctx.index] = pattern
        return FeatureLabel(
            index=ctx.index,
            status="labelled",
            label=pattern.label(),
            category=pattern.category(),
            description=pattern.description(),
            confidence=pattern.f1,
            method=self.method,
            model=self.model,
            seconds=time.perf_counter() - start,
        )

    def scorer(self) -> PatternScorer:
        return PatternScorer(self._patterns)

    def check(self) -> None:
        """Patterns need nothing."""

    def close(self) -> None:
        """Nothing to release."""


class PatternScorer:
    """Answers scoring questions with the label's own predicate (as :class:`RuleScorer`)."""

    def __init__(self, patterns: dict[int, Pattern]) -> None:
        self.patterns = patterns

    def answer(
        self, label: FeatureLabel, kind: ScoreKind, batch: Sequence[ScoringExample]
    ) -> list[int]:
        pattern = self.patterns.get(label.index)
        if pattern is None:
            raise MalformedReplyError(f"no pattern behind the label of feature {label.index}")
        out = []
        for e in batch:
            hits = [pattern.matches(r) for r in read_window(e.tokens)]
            if kind == "detection":
                out.append(int(any(hits)))
            else:
                marked = [h for h, m in zip(hits, e.marked, strict=True) if m]
                out.append(int(bool(marked) and all(marked)))
        return out
