"""Token summaries of top examples and the interpretability proxy.

``interpretability_proxy`` is an honest, cheap stand-in for "could a simple label predict this
latent?", computed from measurable quantities only and checked on held-out examples:

1. split a latent's top examples (sorted by activation) into two interleaved halves, even ranks
   (*fit*) and odd ranks (*held out*), so both cover the same activation range;
2. on the fit half, take the ``m = 3`` token types carrying the most activation mass at the
   activating position;
3. the proxy is the fraction of the held-out half's activation mass that falls on those types.

1.0 means the top activations are predicted by a handful of token types learned on other
examples (a token-level feature, trivially labelled); values near 0 mean the latent depends on
context beyond the token itself. It is therefore a lower bound on explainability, not a label
score: a clean contextual feature scores low here and must be judged by LLM label scoring
(detection/fuzzing), which the stored samples and random contexts support. Latents with fewer
than 4 top examples get NaN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PROXY_TYPES = 3
"""Token types fitted on the first half (a label naming up to three tokens)."""


def interpretability_proxy(
    token_ids: np.ndarray, values: np.ndarray, m: int = PROXY_TYPES
) -> float:
    """Held-out token-type concentration (see module docstring); token_ids, values: [n] sorted
    by value, largest first, only real examples."""
    if len(values) < 4:
        return float("nan")
    fit_ids, fit_vals = token_ids[0::2], values[0::2]
    held_ids, held_vals = token_ids[1::2], values[1::2]
    types, inverse = np.unique(fit_ids, return_inverse=True)
    mass = np.bincount(inverse, weights=fit_vals, minlength=len(types))
    chosen = types[np.argsort(-mass, kind="stable")[:m]]
    total = float(held_vals.sum())
    if total <= 0:
        return float("nan")
    return float(held_vals[np.isin(held_ids, chosen)].sum() / total)


@dataclass
class TokenSummary:
    """Most frequent activating tokens among a latent's top examples."""

    token_ids: np.ndarray
    """int32 [n] token ids, most frequent first (-1 pads)."""
    counts: np.ndarray
    """int32 [n] how many top examples activate on that token."""
    mass: np.ndarray
    """float32 [n] fraction of the top examples' activation mass on that token."""


def token_summary(token_ids: np.ndarray, values: np.ndarray, n: int = 5) -> TokenSummary:
    """Summary of the activating tokens [k] with activations [k] (real examples only)."""
    out = TokenSummary(np.full(n, -1, np.int32), np.zeros(n, np.int32), np.zeros(n, np.float32))
    if len(token_ids) == 0:
        return out
    types, inverse, counts = np.unique(token_ids, return_inverse=True, return_counts=True)
    mass = np.bincount(inverse, weights=values, minlength=len(types))
    order = np.lexsort((-mass, -counts))[:n]  # by count, then mass
    total = float(values.sum()) or 1.0
    m = len(order)
    out.token_ids[:m] = types[order]
    out.counts[:m] = counts[order]
    out.mass[:m] = mass[order] / total
    return out
