"""The short example window a feature list shows beside each latent.

A page of the feature browser shows, for each latent, its first top example cut to a few tokens
around the activating one. The page's rows are read from the memory-mapped arrays with one
fancy-indexed read per array, and each distinct token id is decoded once for the whole page, so
a page of 50 latents costs the same few reads whatever the SAE's width. Each window also carries
its words (about 0.05 ms a window: the bytes of each id are kept per tokenizer).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from mistudio.core.data import decode_each
from mistudio.core.data.words import Word, token_words
from mistudio.core.features.result import ExtractionResult
from mistudio.errors import MiStudioError

EXAMPLE_TOKENS = 16
"""Tokens in a list row's example window (10 before the centre, 5 after, when there are)."""


@dataclass(frozen=True)
class ExampleWindow:
    """A latent's first top example, cut around its activating token."""

    tokens: list[str]
    """Decoded tokens of the window."""
    acts: list[float]
    """The latent's activation at each of them."""
    center: int
    """Index of the activating token in ``tokens``."""
    value: float
    """The example's activation (what ranked it first)."""
    words: list[Word]
    """The tokens grouped into words (:func:`~mistudio.core.data.words.token_words`)."""


def first_example_windows(
    result: ExtractionResult, indices: Iterable[int], width: int = EXAMPLE_TOKENS
) -> dict[int, ExampleWindow]:
    """Latent index -> its first top example's window, for the latents of ``indices`` that
    have one (none for an incomplete or older extraction folder)."""
    try:
        wanted = np.asarray(sorted({i for i in indices if 0 <= i < result.d_sae}), dtype=np.int64)
        if not wanted.size:
            return {}
        wanted = wanted[np.asarray(result.array("stats/n_top")[wanted]) > 0]
        if not wanted.size:
            return {}
        tokens = np.asarray(result.array("top_tokens")[wanted, 0])  # [n, C]
        acts = np.asarray(result.array("top_acts")[wanted, 0], dtype=np.float32)  # [n, C]
        values = np.asarray(result.array("top_values")[wanted, 0], dtype=np.float32)  # [n]
        tokenizer = result.tokenizer()
    except MiStudioError:  # an incomplete or older folder: rows without examples
        return {}
    before = result.meta.config.context_before
    cuts = []
    for r in range(wanted.size):
        keep = tokens[r] >= 0
        ids = tokens[r][keep]
        centre = int(keep[:before].sum())
        lo = max(0, centre - (width - 6))
        hi = min(ids.size, lo + width)
        lo = max(0, hi - width)
        cuts.append((ids[lo:hi].tolist(), acts[r][keep][lo:hi].tolist(), centre - lo))
    distinct = sorted({i for ids, _, _ in cuts for i in ids})
    text = dict(zip(distinct, decode_each(tokenizer, distinct), strict=True))
    return {
        int(latent): ExampleWindow(
            [text[i] for i in ids], a, c, float(values[r]), token_words(tokenizer, ids)
        )
        for r, (latent, (ids, a, c)) in enumerate(zip(wanted.tolist(), cuts, strict=True))
    }
