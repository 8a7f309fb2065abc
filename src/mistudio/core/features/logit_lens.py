"""Logit lens of decoder directions, and nearest latents by decoder cosine.

The logit effect of latent ``i`` is ``W_U N(W_dec[i])`` where ``N(v) = norm(v) - norm(0)`` is the
model's final norm applied to the direction alone, with any bias removed (``norm(0)`` is the bias:
LayerNorm's ``beta``, zero for RMSNorm). This is what a residual stream holding only the latent's
direction would produce as logits, the same quantity SAEDashboard/Neuronpedia show as
``pos_str``/``neg_str`` (they fold the norm's scale into ``W_U``); using the model's own norm module
keeps Gemma's ``(1 + w)`` scaling and LayerNorm's centring right without per-family code. Norms
are scale-invariant, so the values compare tokens within a latent, not latents with each other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from mistudio.core.language_models import LoadedModel


def unembedding(loaded: LoadedModel) -> Tensor:
    """[vocab, d_model] output embedding of the model."""
    head = loaded.model.get_output_embeddings()  # type: ignore[operator]
    assert isinstance(head, nn.Module)
    weight = head.weight
    assert isinstance(weight, Tensor)
    return weight


def final_norm(loaded: LoadedModel) -> nn.Module:
    """The norm applied before the unembedding."""
    return loaded.model.get_submodule(loaded.layout.final_norm)


@torch.no_grad()
def logit_effects(loaded: LoadedModel, directions: Tensor) -> Tensor:
    """[m, vocab] logit effect of each direction [m, d_model] (float32)."""
    norm = final_norm(loaded)
    w_u = unembedding(loaded)
    x = directions.to(device=w_u.device, dtype=w_u.dtype)[:, None, :]  # [m, 1, d] like a batch
    normed = norm(x) - norm(torch.zeros_like(x[:1]))  # [m, 1, d]
    return (normed[:, 0, :] @ w_u.T).float()  # [m, vocab]


@dataclass
class LogitLensTables:
    """Per latent: top/bottom tokens by logit effect and a histogram of all effects."""

    pos_ids: np.ndarray
    """int32 [d_sae, n] tokens most promoted, largest first."""
    pos_values: np.ndarray
    """float32 [d_sae, n]."""
    neg_ids: np.ndarray
    """int32 [d_sae, n] tokens most suppressed, most negative first."""
    neg_values: np.ndarray
    """float32 [d_sae, n]."""
    hist_counts: np.ndarray
    """int64 [d_sae, bins] counts of effects over the whole vocabulary."""
    hist_range: np.ndarray
    """float32 [d_sae, 2] (min, max): the bins split this range evenly."""


@torch.no_grad()
def logit_lens_tables(
    loaded: LoadedModel, w_dec: Tensor, n: int = 20, bins: int = 40, chunk: int = 256
) -> LogitLensTables:
    """Logit-lens summary of every decoder row ``w_dec`` [d_sae, d_model], in chunks of rows."""
    d_sae = w_dec.shape[0]
    vocab = unembedding(loaded).shape[0]
    n = min(n, vocab)
    out = LogitLensTables(
        pos_ids=np.zeros((d_sae, n), np.int32),
        pos_values=np.zeros((d_sae, n), np.float32),
        neg_ids=np.zeros((d_sae, n), np.int32),
        neg_values=np.zeros((d_sae, n), np.float32),
        hist_counts=np.zeros((d_sae, bins), np.int64),
        hist_range=np.zeros((d_sae, 2), np.float32),
    )
    for start in range(0, d_sae, chunk):
        stop = min(start + chunk, d_sae)
        effects = logit_effects(loaded, w_dec[start:stop])  # [c, vocab]
        top = effects.topk(n, dim=1)
        bottom = effects.topk(n, dim=1, largest=False)
        out.pos_ids[start:stop] = top.indices.cpu().numpy()
        out.pos_values[start:stop] = top.values.cpu().numpy()
        out.neg_ids[start:stop] = bottom.indices.cpu().numpy()
        out.neg_values[start:stop] = bottom.values.cpu().numpy()
        lo, hi = effects.min(1).values, effects.max(1).values  # [c]
        width = (hi - lo).clamp_min(1e-12)
        b = ((effects - lo[:, None]) / width[:, None] * bins).long().clamp(0, bins - 1)
        rows = torch.arange(stop - start, device=b.device)[:, None] * bins
        counts = torch.bincount((rows + b).flatten(), minlength=(stop - start) * bins)
        out.hist_counts[start:stop] = counts.view(-1, bins).cpu().numpy()
        out.hist_range[start:stop, 0] = lo.cpu().numpy()
        out.hist_range[start:stop, 1] = hi.cpu().numpy()
    return out


@torch.no_grad()
def decoder_neighbours(
    w_dec: Tensor, k: int = 10, chunk: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest other latents by cosine of decoder rows: (int32 [d_sae, k], float32 [d_sae, k])."""
    d_sae = w_dec.shape[0]
    k = min(k, d_sae - 1)
    unit = w_dec.float() / w_dec.float().norm(dim=1, keepdim=True).clamp_min(1e-12)
    index = np.zeros((d_sae, k), np.int32)
    value = np.zeros((d_sae, k), np.float32)
    for start in range(0, d_sae, chunk):
        stop = min(start + chunk, d_sae)
        cos = unit[start:stop] @ unit.T  # [c, d_sae]
        cos[torch.arange(stop - start), torch.arange(start, stop)] = float("-inf")
        top = cos.topk(k, dim=1)
        index[start:stop] = top.indices.cpu().numpy()
        value[start:stop] = top.values.cpu().numpy()
    return index, value
