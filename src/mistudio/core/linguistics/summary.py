"""One latent's linguistic summary: shares of what its top-activating tokens are, and one line.

Each analysed example contributes one :class:`TokenReading`: the token the example was chosen
for (the latent's activation peak in that window), read in its context. Every example counts
once (not weighted by activation): "82% verbs" then means 82 of 100 top examples fire on a verb.

Categories put prose and code on one axis so one column can filter both: a prose token's category
is its universal part of speech (``VERB``, ``NOUN``, ``PROPN``, ``PUNCT``, ``NUM``, ...), a code
token's is ``code:<class>`` (``code:keyword``, ``code:identifier``, ...;
:data:`mistudio.core.linguistics.code_tokens.CODE_CLASSES`). The dominant category and its share
are what the feature browser filters on: a share above one half can only belong to the dominant
category, so "VERB share >= 0.7" is "category VERB, share >= 0.7".

The one-line text (:func:`summary_line`) names the strongest pattern first: one token that is
most of the examples (``Python keyword `def` (92%)``), an entity type (``PERSON entities (64%);
lemmas: moses/aaron``), else the dominant category with the lemmas or words of that category
behind it (``82% verbs; lemmas: say/tell/ask``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

TOP_LEMMAS = 8
"""Lemmas (or code words) listed per latent."""

POS_NAMES = {
    "ADJ": "adjectives",
    "ADP": "prepositions",
    "ADV": "adverbs",
    "AUX": "auxiliaries",
    "CCONJ": "conjunctions",
    "DET": "determiners",
    "INTJ": "interjections",
    "NOUN": "nouns",
    "NUM": "numbers",
    "PART": "particles",
    "PRON": "pronouns",
    "PROPN": "proper nouns",
    "PUNCT": "punctuation",
    "SCONJ": "subordinating conjunctions",
    "SYM": "symbols",
    "VERB": "verbs",
    "X": "other words",
    "SPACE": "whitespace",
}
CODE_NAMES = {
    "keyword": "keywords",
    "builtin": "builtins",
    "identifier": "identifiers",
    "operator": "operators",
    "string": "strings",
    "comment": "comments",
    "number": "numbers",
    "whitespace": "whitespace",
}


@dataclass(frozen=True)
class TokenReading:
    """What one activating token is, in its example's context."""

    code: bool
    """The example window reads as code."""
    category: str
    """Part of speech (prose) or ``code:<class>`` (code)."""
    lemma: str
    """Prose: the word's lemma, lower-cased; code: the token's text, stripped."""
    entity: str | None = None
    """Named-entity type (prose only)."""
    stop: bool = False
    """An English stop word (prose only)."""
    punct: bool = False
    """Punctuation (prose) or an operator (code)."""
    number: bool = False
    """A number, in prose or code."""


@dataclass
class LinguisticSummary:
    """What a latent's top-activating tokens are, as shares of the examples analysed.

    The object the feature page shows, the feature list's columns come from, and labellers may
    read as context; every share is of ``n_examples`` unless its doc says otherwise."""

    index: int
    """Latent index."""
    n_examples: int
    """Activating tokens analysed (top examples; 0 for a latent that never fired)."""
    code_share: float = 0.0
    """Share of examples whose window reads as code."""
    top_category: str | None = None
    """The most frequent category (part of speech, or ``code:<class>``); None without examples."""
    top_share: float = 0.0
    """Its share."""
    categories: dict[str, float] = field(default_factory=dict)
    """Share of every category seen, largest first."""
    entities: dict[str, float] = field(default_factory=dict)
    """Share of examples inside a named entity, per entity type, largest first."""
    stop_share: float = 0.0
    """Share of examples on a stop word."""
    punct_share: float = 0.0
    """Share on punctuation or a code operator."""
    number_share: float = 0.0
    """Share on a number."""
    top_lemmas: list[tuple[str, float]] = field(default_factory=list)
    """Most frequent lemmas (prose) or token texts (code) with their shares, largest first."""
    category_lemmas: list[tuple[str, float]] = field(default_factory=list)
    """The same, among the examples of ``top_category`` only (shares still of ``n_examples``)."""
    text: str = ""
    """One line for people (e.g. ``82% verbs; lemmas: say/tell/ask``)."""

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["top_lemmas"] = [list(pair) for pair in self.top_lemmas]
        data["category_lemmas"] = [list(pair) for pair in self.category_lemmas]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LinguisticSummary:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        for key in ("top_lemmas", "category_lemmas"):
            known[key] = [(str(w), float(s)) for w, s in known.get(key, [])]
        return cls(**known)


def _shares(counter: Counter[str], n: int) -> dict[str, float]:
    return {k: round(v / n, 4) for k, v in counter.most_common()}


def category_name(category: str) -> str:
    """``VERB`` -> ``verbs``, ``code:keyword`` -> ``code keywords``."""
    if category.startswith("code:"):
        return "code " + CODE_NAMES.get(category[5:], category[5:])
    return POS_NAMES.get(category, category)


def _words(lemmas: list[tuple[str, float]], limit: int = 3) -> str:
    return "/".join(w for w, _ in lemmas[:limit] if w)


def summary_line(s: LinguisticSummary) -> str:
    """One line naming the strongest pattern of a summary (see the module docstring)."""
    if s.n_examples == 0 or s.top_category is None:
        return "no activating examples"
    if s.top_lemmas and s.top_lemmas[0][1] >= 0.5 and s.top_lemmas[0][0]:
        word, share = s.top_lemmas[0]
        if s.top_category.startswith("code:"):
            kind = s.top_category[5:]
            lang = "Python " if kind in ("keyword", "builtin") else ""
            return f"{lang}{kind} `{word}` ({share:.0%})"
        return f"the word '{word}' ({share:.0%}, {category_name(s.top_category)})"
    if s.entities:
        entity, share = next(iter(s.entities.items()))
        if share >= 0.5:
            words = _words(s.top_lemmas)
            return f"{entity} entities ({share:.0%})" + (f"; lemmas: {words}" if words else "")
    words = _words(s.category_lemmas)
    head = f"{s.top_share:.0%} {category_name(s.top_category)}"
    if not words:
        return head
    label = "tokens" if s.top_category.startswith("code:") else "lemmas"
    return f"{head}; {label}: {words}"


def summarise(index: int, readings: list[TokenReading]) -> LinguisticSummary:
    """Aggregate the readings of one latent's examples into its summary."""
    n = len(readings)
    if n == 0:
        return LinguisticSummary(index=index, n_examples=0, text="no activating examples")
    categories = Counter(r.category for r in readings)
    entities = Counter(r.entity for r in readings if r.entity)
    lemmas = Counter(r.lemma for r in readings if r.lemma)
    top_category, top_count = categories.most_common(1)[0]
    in_top = Counter(r.lemma for r in readings if r.lemma and r.category == top_category)
    out = LinguisticSummary(
        index=index,
        n_examples=n,
        code_share=round(sum(r.code for r in readings) / n, 4),
        top_category=top_category,
        top_share=round(top_count / n, 4),
        categories=_shares(categories, n),
        entities=_shares(entities, n),
        stop_share=round(sum(r.stop for r in readings) / n, 4),
        punct_share=round(sum(r.punct for r in readings) / n, 4),
        number_share=round(sum(r.number for r in readings) / n, 4),
        top_lemmas=[(w, round(c / n, 4)) for w, c in lemmas.most_common(TOP_LEMMAS)],
        category_lemmas=[(w, round(c / n, 4)) for w, c in in_top.most_common(TOP_LEMMAS)],
    )
    out.text = summary_line(out)
    return out
