"""Sparse-probing tasks the built-in corpora supply offline (issue 21).

Every example is a window of exactly ``window`` token ids (no padding, no special tokens, so any
batch stacks), labelled 0/1:

* ``code_vs_prose``: a window of Python standard library source (1) or of King James verses (0);
  the whole window is the example (activations mean-pooled, as SAEBench pools its sequences).
* ``ot_vs_nt``: consecutive KJV verses from the New Testament (1) or the Old (0); pooled.
* ``python_string``: the last token of a stdlib window is inside a string literal (1) or in
  other code (0), from Python's own ``tokenize``; read at that token.
* ``python_keyword``: the last token is a Python keyword (1) or another name (0); at that token.

Token-level labels need the tokenizer's character offsets (a fast tokenizer); without them the
two token-level tasks are left out, and the result says so.
"""

from __future__ import annotations

import io
import keyword
import random
import tokenize
from dataclasses import dataclass
from typing import Any

import pyarrow.json as pajson

from mistudio.core.data.builtin_corpora import kjv_path, stdlib_files

NEW_TESTAMENT_FIRST = "Matthew"
"""The KJV's first New Testament book; every later book is New Testament."""


@dataclass
class ProbingTask:
    """One binary task: windows of token ids, labels, and how activations are read."""

    name: str
    ids: list[list[int]]
    """[n][window] token ids."""
    labels: list[int]
    """[n] 0/1."""
    pooled: bool
    """Mean over the window (sequence task) or the last token (token task)."""


def _windows(ids: list[int], window: int, n: int, rng: random.Random) -> list[list[int]]:
    if len(ids) < window:
        return []
    starts = rng.sample(range(len(ids) - window + 1), min(n, len(ids) - window + 1))
    return [ids[s : s + window] for s in starts]


def _pick(positions: list[int], n: int, window: int, rng: random.Random) -> list[int]:
    """Up to ``n`` positions with a full window before them."""
    ok = [p for p in positions if p >= window - 1]
    return rng.sample(ok, min(n, len(ok)))


def _encode(tokenizer: Any, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def _balanced(
    name: str,
    pos: list[list[int]],
    neg: list[list[int]],
    n: int,
    pooled: bool,
    rng: random.Random,
) -> ProbingTask | None:
    m = min(len(pos), len(neg), n)
    if m < 4:
        return None
    rows = [(w, 1) for w in pos[:m]] + [(w, 0) for w in neg[:m]]
    rng.shuffle(rows)
    return ProbingTask(name, [w for w, _ in rows], [y for _, y in rows], pooled)


def _code_tokens(
    tokenizer: Any, source: str
) -> tuple[list[int], list[int], list[int], list[int]] | None:
    """Token ids of ``source`` and the positions of tokens inside strings, of keywords and of
    other names (``None`` when the tokenizer gives no offsets or the file does not tokenize)."""
    try:
        enc = tokenizer(source, add_special_tokens=False, return_offsets_mapping=True)
        py = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (NotImplementedError, ValueError, tokenize.TokenError, SyntaxError, IndentationError):
        return None
    line_start = [0]
    for line in source.splitlines(keepends=True):
        line_start.append(line_start[-1] + len(line))
    kind = [0] * len(source)  # 1 string, 2 keyword, 3 other name
    for tok in py:
        if tok.type not in (tokenize.STRING, tokenize.NAME):
            continue
        a = line_start[tok.start[0] - 1] + tok.start[1]
        b = line_start[tok.end[0] - 1] + tok.end[1]
        k = 1 if tok.type == tokenize.STRING else 2 if keyword.iskeyword(tok.string) else 3
        kind[a:b] = [k] * (b - a)
    found: dict[int, list[int]] = {1: [], 2: [], 3: []}
    for i, (a, b) in enumerate(enc["offset_mapping"]):
        span = [kind[j] for j in range(a, b) if not source[j].isspace()]
        if span:
            k = max(set(span), key=span.count)
            if k in found:
                found[k].append(i)
    return list(enc["input_ids"]), found[1], found[2], found[3]


def build_tasks(
    tokenizer: Any, n_per_class: int = 64, window: int = 32, seed: int = 0, n_files: int = 60
) -> tuple[list[ProbingTask], list[str]]:
    """The tasks, and one line per task left out and why."""
    rng = random.Random(seed)
    files = stdlib_files()
    code_ids: list[list[int]] = []
    strings: list[list[int]] = []
    not_strings: list[list[int]] = []
    keywords: list[list[int]] = []
    names: list[list[int]] = []
    skipped: list[str] = []
    offsets_ok = True
    for path in rng.sample(files, min(n_files, len(files))):
        source = path.read_text(encoding="utf-8", errors="replace")[:6000]
        ids = _encode(tokenizer, source)
        code_ids.extend(_windows(ids, window, 3, rng))
        if not offsets_ok:
            continue
        found = _code_tokens(tokenizer, source)
        if found is None:
            offsets_ok = getattr(tokenizer, "is_fast", False)
            continue
        ids, in_str, kws, others = found
        in_set = set(in_str)
        for p in _pick(list(range(window - 1, len(ids))), 6, window, rng):
            (strings if p in in_set else not_strings).append(ids[p - window + 1 : p + 1])
        keywords.extend(ids[p - window + 1 : p + 1] for p in _pick(kws, 3, window, rng))
        names.extend(ids[p - window + 1 : p + 1] for p in _pick(others, 3, window, rng))
    verses = pajson.read_json(kjv_path()).select(["text", "book"]).to_pylist()
    nt_start = next(i for i, v in enumerate(verses) if v["book"] == NEW_TESTAMENT_FIRST)
    old: list[list[int]] = []
    new: list[list[int]] = []
    for _ in range(n_per_class):
        for target, lo, hi in ((old, 0, nt_start), (new, nt_start, len(verses))):
            i = rng.randrange(lo, hi - 6)
            text = " ".join(v["text"] for v in verses[i : i + 6])
            got = _encode(tokenizer, text)[:window]
            if len(got) == window:
                target.append(got)
    prose = old[: n_per_class // 2] + new[: n_per_class - n_per_class // 2]
    tasks = [
        _balanced("code_vs_prose", code_ids, prose, n_per_class, True, rng),
        _balanced("ot_vs_nt", new, old, n_per_class, True, rng),
        _balanced("python_string", strings, not_strings, n_per_class, False, rng),
        _balanced("python_keyword", keywords, names, n_per_class, False, rng),
    ]
    names_all = ["code_vs_prose", "ot_vs_nt", "python_string", "python_keyword"]
    for name, task in zip(names_all, tasks, strict=True):
        if task is None:
            why = (
                "the tokenizer gives no character offsets" if not offsets_ok else "too few examples"
            )
            skipped.append(f"{name}: {why}")
    return [t for t in tasks if t is not None], skipped
