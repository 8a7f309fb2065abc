"""Rule labels: fast, free, deterministic labels from the tokens a latent fires on.

Each rule is a predicate on one activating token in its context (the token text, its neighbours
and whether it starts a line). A latent gets the first rule, in order of specificity, that
explains at least ``min_share`` of its activation mass over the shown examples (tokens above
``threshold`` x max, weighted by activation); the share is the label's confidence. Nothing
explaining enough mass gives ``None`` (recorded as ``unclear``), which is honest for the many
latents whose pattern is semantic rather than lexical.

The same predicates score rule labels without an LLM (:class:`RuleScorer`): an example is
predicted to activate when any of its tokens matches, and a marking is right when the marked
tokens match.
"""

from __future__ import annotations

import keyword
import re
import string
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mistudio.core.features.result import Example
from mistudio.core.labeling.context import FeatureContext
from mistudio.core.labeling.prompts import show_token

PY_KEYWORDS = frozenset(keyword.kwlist) | (frozenset(keyword.softkwlist) - {"_"})
BRACKETS = frozenset("()[]{}")
QUOTES = frozenset("\"'`")
OPERATORS = frozenset(
    "= == != < > <= >= + - * / // % ** += -= *= /= -> := & | ^ ~ << >>".split()  # noqa: SIM905
)
PUNCTUATION = frozenset(string.punctuation) | frozenset(
    "\u2018\u2019\u201c\u201d\u2013\u2014\u2026"
)


@dataclass(frozen=True)
class TokenView:
    """One token with the context the predicates need."""

    text: str
    prev: str | None = None
    """Previous token in the window (None at its start)."""
    next: str | None = None
    """Next token (None at the window's end)."""
    line_start: bool = False
    """First non-blank token after a newline."""

    @property
    def core(self) -> str:
        return self.text.strip()


def _is_number(t: TokenView) -> bool:
    return re.fullmatch(r"[+-]?\d[\d.,_:]*", t.core) is not None


def _is_newline(t: TokenView) -> bool:
    return bool(t.text) and set(t.text) <= {"\n", "\r"}


def _is_indent(t: TokenView) -> bool:
    return bool(t.text) and t.text.isspace() and bool(set(t.text) & {" ", "\t"})


def _chars_in(chars: frozenset[str]) -> Callable[[TokenView], bool]:
    return lambda t: bool(t.core) and set(t.core) <= chars


def _is_capitalised(t: TokenView) -> bool:
    return t.core.isalpha() and t.core[0].isupper()


def _is_word_prefix(t: TokenView) -> bool:
    return t.core.isalpha() and t.next is not None and t.next[:1].isalpha()


def _is_word_suffix(t: TokenView) -> bool:
    return t.text[:1].isalpha() and t.prev is not None and t.prev[-1:].isalpha()


@dataclass(frozen=True)
class Rule:
    name: str
    category: str
    label: str
    description: str
    """Sentence template; ``{tokens}`` becomes the commonest matching tokens."""
    matches: Callable[[TokenView], bool]


RULES: list[Rule] = [
    Rule(
        "code_keywords",
        "Code > Python keywords",
        "Python keywords",
        "Fires on Python keywords such as {tokens}.",
        lambda t: t.core in PY_KEYWORDS,
    ),
    Rule(
        "numbers",
        "Syntax > Numbers",
        "digits and numbers",
        "Fires on numbers and digits such as {tokens}.",
        _is_number,
    ),
    Rule(
        "brackets",
        "Syntax > Brackets",
        "brackets and parentheses",
        "Fires on opening and closing brackets such as {tokens}.",
        _chars_in(BRACKETS),
    ),
    Rule(
        "quotes",
        "Syntax > Quotes",
        "quotation marks",
        "Fires on quotation marks and string delimiters such as {tokens}.",
        _chars_in(QUOTES),
    ),
    Rule(
        "operators",
        "Code > Operators",
        "operators",
        "Fires on operators such as {tokens}.",
        lambda t: t.core in OPERATORS,
    ),
    Rule(
        "punctuation",
        "Syntax > Punctuation",
        "punctuation",
        "Fires on punctuation marks such as {tokens}.",
        _chars_in(PUNCTUATION),
    ),
    Rule(
        "newlines",
        "Formatting > Line breaks",
        "newlines",
        "Fires on line breaks.",
        _is_newline,
    ),
    Rule(
        "indentation",
        "Formatting > Whitespace / indentation",
        "whitespace and indentation",
        "Fires on runs of spaces or tabs, such as the leading whitespace that indents a line.",
        _is_indent,
    ),
    Rule(
        "line_start",
        "Position > Line start",
        "first token of a line",
        "Fires on the first token after a line break, such as {tokens}.",
        lambda t: t.line_start and not t.text.isspace(),
    ),
    Rule(
        "capitalised",
        "Lexical > Capitalised words / names",
        "capitalised words and names",
        "Fires on capitalised words such as {tokens}, often names or sentence starts.",
        _is_capitalised,
    ),
    Rule(
        "word_prefix",
        "Morphology > Word prefix",
        "beginnings of split words",
        "Fires on the first piece of words the tokenizer splits, such as {tokens}.",
        _is_word_prefix,
    ),
    Rule(
        "word_suffix",
        "Morphology > Word suffix / continuation",
        "word continuations (suffixes)",
        "Fires on word pieces that continue the previous token, such as {tokens}.",
        _is_word_suffix,
    ),
]
RULES_BY_NAME = {r.name: r for r in RULES}
SINGLE_TOKEN = "single_token"
SINGLE_VS_CLASS = 0.85
"""A single token wins over a class rule when it explains at least this fraction of what the
class explains (``def`` at 95 % beats "Python keywords" at 100 %; 4 spaces at 67 % lose to
"indentation" at 100 %)."""
"""Name of the rule "one specific token carries most of the mass" (checked before the others)."""


def token_views(tokens: Sequence[str]) -> list[TokenView]:
    """Every token of a window with its neighbours and line-start flag."""
    views = []
    for j, text in enumerate(tokens):
        before = "".join(tokens[:j]).rstrip(" \t")
        views.append(
            TokenView(
                text=text,
                prev=tokens[j - 1] if j > 0 else None,
                next=tokens[j + 1] if j + 1 < len(tokens) else None,
                line_start=j > 0 and before.endswith("\n"),
            )
        )
    return views


def activating_tokens(
    examples: Sequence[Example], max_act: float, threshold: float = 0.5
) -> list[tuple[TokenView, float]]:
    """(token, activation) of every token above ``threshold`` x ``max_act`` in ``examples``."""
    out = []
    for e in examples:
        cut = threshold * (max_act or max(e.acts, default=0.0))
        for view, act in zip(token_views(e.tokens or []), e.acts, strict=True):
            if act > cut and act > 0:
                out.append((view, act))
    return out


def _normal(text: str) -> str:
    return text.strip().lower() or text


@dataclass
class RuleMatch:
    """The rule that explains a latent."""

    rule: str
    """Rule name (``single_token`` or one of :data:`RULES`)."""
    label: str
    category: str
    description: str
    share: float
    """Share of the activation mass the rule explains (the confidence)."""
    token: str | None = None
    """The token, for ``single_token``."""

    def matches(self, view: TokenView) -> bool:
        if self.rule == SINGLE_TOKEN:
            return self.token is not None and _normal(view.text) == self.token
        return RULES_BY_NAME[self.rule].matches(view)


def _examples_of(hits: list[tuple[TokenView, float]]) -> str:
    common = Counter(_normal(v.text) for v, _ in hits).most_common(3)
    return ", ".join(repr(show_token(t)) for t, _ in common)


def match_rules(
    ctx: FeatureContext, min_share: float = 0.6, threshold: float = 0.5
) -> RuleMatch | None:
    """The most specific rule explaining at least ``min_share`` of the latent's mass, or None."""
    acts = activating_tokens(ctx.examples, ctx.max_act, threshold)
    total = sum(a for _, a in acts)
    if total <= 0:
        return None
    mass: dict[str, float] = {}
    for view, act in acts:
        mass[_normal(view.text)] = mass.get(_normal(view.text), 0.0) + act
    token, top = max(mass.items(), key=lambda kv: kv[1])
    single = top / total
    for rule in RULES:
        hits = [(v, a) for v, a in acts if rule.matches(v)]
        share = sum(a for _, a in hits) / total
        if share >= min_share:
            break
    else:
        rule, share, hits = None, 0.0, []
    # One token is the better label unless a class of tokens explains clearly more.
    if single >= min_share and (rule is None or single >= SINGLE_VS_CLASS * share):
        shown = show_token(token)
        category = next(
            (r.category for r in RULES[:8] if r.matches(TokenView(token))),
            "Lexical > Specific token",
        )
        return RuleMatch(
            SINGLE_TOKEN,
            f'the token "{shown.strip() or shown}"',
            category,
            f"Fires on one specific token, {shown!r}, in most of its top examples.",
            single,
            token,
        )
    if rule is not None:
        return RuleMatch(
            rule.name,
            rule.label,
            rule.category,
            rule.description.format(tokens=_examples_of(hits)),
            share,
        )
    return None
