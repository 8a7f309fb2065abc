"""Code or prose, and what a character of code is: Python's own tokenizer, then a small lexer.

Decisions:

- **Code or prose is decided per example window** (:func:`looks_like_code`), not per corpus: the
  built-in corpora are the Python standard library (code with docstrings and comments) and the
  King James Bible, and a user's corpus may mix both. A window is code when its text carries at
  least two code markers (``def name(``, ``self.``, ``import x``, ``==``, ``a_b`` names, a line
  that ends in ``:``, indentation of four spaces, brackets, ...) or when code punctuation
  (``()[]{}=_<>*#@\\"'``) is at least 6% of its non-space characters. Bible verses (``1:1 In the
  beginning``) use colons, commas and semicolons only, which are not counted. A window that
  starts inside a docstring reads as code; the docstring's words are then classed ``string``.
- **Python first** (:func:`classify_python`): the window goes through :mod:`tokenize` (with
  :mod:`keyword` and :mod:`builtins` to tell keywords, soft keywords, builtins and identifiers
  apart). A window is a fragment: it can start inside a string or end in an unclosed bracket,
  which makes ``tokenize`` stop. Tokens read before it stopped are kept, and the rest of the text
  goes through :func:`classify_generic`, a regular-expression lexer for any C-like or script
  language (strings, ``#`` and ``//`` comments, numbers, words, operators) that also serves
  non-Python code.
- Python's tokenizer reads an unterminated quote as an error token; the generic lexer takes over
  from there and reads it as a string running to the end of its line.
- A character's class is what the token covering it is; whitespace between tokens is
  ``whitespace`` (a model token that is only a newline or indentation is classed so).
"""

from __future__ import annotations

import builtins
import io
import keyword
import re
import token as token_types
import tokenize

CODE_CLASSES = (
    "keyword",
    "builtin",
    "identifier",
    "operator",
    "string",
    "comment",
    "number",
    "whitespace",
)
"""Every class a code character can have."""

_MARKERS = [
    re.compile(p, re.MULTILINE)
    for p in (
        r"\bdef \w+\s*\(|^\s*(?:async\s+)?def \w",
        r"\bclass \w+\s*[:(]|^\s*class \w",
        r"^\s*(?:from \w[\w.]* )?import \w",
        r"\bself\.",
        r"^\s*return\b",
        r"[=!<>]=|->|\+=|-=|\*\*",
        r"\b[a-z]+_[a-z_]+\b",
        r":\s*$",
        r"^ {4,}\S",
        r"\w\([^)]*\)",
        r"\w\.\w+\(",
        r"[\[\]{}]",
        r"^\s*#",
        r'"""|\'\'\'',
    )
]
_CODE_PUNCT = set("()[]{}=_<>*#@\\\"'")
CODE_PUNCT_SHARE = 0.06
"""Share of code punctuation among non-space characters from which a window is code."""

_BUILTINS = frozenset(name for name in dir(builtins) if not name.startswith("_"))
_SOFT_KEYWORDS = frozenset(getattr(keyword, "softkwlist", ()))


def looks_like_code(text: str) -> bool:
    """Whether an example window reads as source code (see the module docstring)."""
    markers = sum(1 for pattern in _MARKERS if pattern.search(text))
    if markers >= 2:
        return True
    chars = [c for c in text if not c.isspace()]
    if not chars:
        return False
    return sum(c in _CODE_PUNCT for c in chars) / len(chars) >= CODE_PUNCT_SHARE


def _word_class(word: str) -> str:
    if keyword.iskeyword(word) or word in _SOFT_KEYWORDS:
        return "keyword"
    if word in _BUILTINS:
        return "builtin"
    return "identifier"


def _python_class(kind: int, text: str) -> str | None:
    if kind == token_types.NAME:
        return _word_class(text)
    if kind == token_types.NUMBER:
        return "number"
    if kind == token_types.STRING:
        return "string"
    if kind == token_types.COMMENT:
        return "comment"
    if kind == token_types.OP:
        return "operator"
    return None


def _line_starts(text: str) -> list[int]:
    starts = [0]
    for i, c in enumerate(text):
        if c == "\n":
            starts.append(i + 1)
    return starts


def classify_python(text: str) -> list[str]:
    """The class of every character of ``text`` (len(text) entries), read as Python."""
    classes = ["whitespace"] * len(text)
    starts = _line_starts(text)
    reached = 0
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            cls = _python_class(tok.type, tok.string)
            if tok.start[0] > len(starts):
                break
            begin = starts[tok.start[0] - 1] + tok.start[1]
            end = starts[min(tok.end[0], len(starts)) - 1] + tok.end[1]
            end = min(end, len(text))
            if tok.type == token_types.ERRORTOKEN and not tok.string.isspace():
                # An unterminated quote (a string the window cut short) or a character Python
                # cannot read: the generic lexer goes on from here.
                reached = begin
                break
            if cls is None:
                reached = max(reached, end)
                continue
            classes[begin:end] = [cls] * (end - begin)
            reached = max(reached, end)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    if reached < len(text):
        rest = classify_generic(text[reached:])
        classes[reached:] = rest
    return classes


_GENERIC = re.compile(
    r"""
    (?P<comment>\#[^\n]*|//[^\n]*|/\*.*?(?:\*/|$))
  | (?P<string>"(?:[^"\\\n]|\\.)*"?|'(?:[^'\\\n]|\\.)*'?|`[^`]*`?)
  | (?P<number>\b(?:0[xX][0-9a-fA-F_]+|\d[\d_]*(?:\.\d+)?(?:[eE][+-]?\d+)?)\b)
  | (?P<word>[A-Za-z_]\w*)
  | (?P<operator>[^\w\s])
    """,
    re.VERBOSE | re.DOTALL,
)


def classify_generic(text: str) -> list[str]:
    """The class of every character of ``text`` by a small lexer for code of any language."""
    classes = ["whitespace"] * len(text)
    for m in _GENERIC.finditer(text):
        kind = m.lastgroup or "operator"
        cls = _word_class(m.group()) if kind == "word" else kind
        classes[m.start() : m.end()] = [cls] * (m.end() - m.start())
    return classes


def span_class(classes: list[str], start: int, end: int) -> str:
    """The class of a character span: its most frequent non-whitespace class (whitespace when
    the span is only whitespace or empty)."""
    counts: dict[str, int] = {}
    for cls in classes[start:end]:
        if cls != "whitespace":
            counts[cls] = counts.get(cls, 0) + 1
    if not counts:
        return "whitespace"
    return max(counts.items(), key=lambda kv: kv[1])[0]
