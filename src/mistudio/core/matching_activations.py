"""Activation correlation of matched latents on shared tokens.

Decoder cosine says two latents write the same direction; whether they *fire* together is a
second, independent check. An extraction keeps each latent's top examples and statistics, not
its activation on every token, so two extractions cannot be correlated token by token; this
module recomputes both SAEs' activations on a bounded token sample instead: one LM pass reads
both hook points (they may differ: SAEs of two layers), each batch is encoded by both SAEs and
only the chosen pairs' sums are kept (float64 ``n, sum a, sum b, sum a^2, sum b^2, sum ab`` per
pair), so memory is one batch of latents plus ``6 * n_pairs`` numbers.

The Pearson correlation of a pair where either latent never fires on the sample is undefined
(None).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from mistudio.core.activations import ActivationStreamConfig, stream_activations
from mistudio.core.data import Tokenization
from mistudio.core.hooks import resolve_hook_points
from mistudio.core.language_models import LoadedModel
from mistudio.core.progress import Progress
from mistudio.core.sae.base import SAE
from mistudio.errors import InvalidInputError


def activation_correlation(
    loaded: LoadedModel,
    tokenization: Tokenization,
    sae_a: SAE,
    hook_a: str,
    sae_b: SAE,
    hook_b: str,
    pairs: Tensor,
    n_tokens: int = 4096,
    batch_size: int = 8,
    progress: Progress | None = None,
) -> list[float | None]:
    """Pearson correlation over the first ``n_tokens`` tokens (special tokens skipped) of
    latent ``pairs[i, 0]`` of A at ``hook_a`` and latent ``pairs[i, 1]`` of B at ``hook_b``.

    pairs: [n_pairs, 2] int64. Returns one value per pair (None where one side is constant)."""
    if pairs.ndim != 2 or pairs.shape[1] != 2:
        raise InvalidInputError("pairs must be [n_pairs, 2] latent indices (A, B)")
    if n_tokens <= 0:
        raise InvalidInputError("n_tokens must be > 0")
    names = [p.name for p in resolve_hook_points(loaded.model, [hook_a, hook_b], loaded.layout)]
    config = ActivationStreamConfig(
        hook_points=sorted(set(names)), batch_size=batch_size, max_tokens=n_tokens
    )
    ia, ib = pairs[:, 0].to(loaded.device), pairs[:, 1].to(loaded.device)
    sums = torch.zeros(6, pairs.shape[0], dtype=torch.float64)  # n, a, b, aa, bb, ab
    with torch.no_grad():
        for batch in stream_activations(loaded, tokenization, config, progress):
            fa = sae_a.encode(batch.flat(names[0]).to(sae_a.W_enc.dtype))[:, ia].double()
            fb = sae_b.encode(batch.flat(names[1]).to(sae_b.W_enc.dtype))[:, ib].double()
            # fa, fb: [tokens, n_pairs]
            sums[0] += fa.shape[0]
            sums[1] += fa.sum(0).cpu()
            sums[2] += fb.sum(0).cpu()
            sums[3] += fa.pow(2).sum(0).cpu()
            sums[4] += fb.pow(2).sum(0).cpu()
            sums[5] += (fa * fb).sum(0).cpu()
    n, sa, sb, saa, sbb, sab = sums
    cov = n * sab - sa * sb
    var = (n * saa - sa * sa) * (n * sbb - sb * sb)
    out: list[float | None] = []
    for c, v in zip(cov.tolist(), var.tolist(), strict=True):
        out.append(round(c / math.sqrt(v), 6) if v > 1e-18 else None)
    return out
