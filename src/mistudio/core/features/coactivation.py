"""Co-activation of latents (Pearson and Jaccard), accumulated sparsely over a token sample.

A dense ``[d_sae, d_sae]`` Gram matrix costs ``d_sae^2`` memory and ``n * d_sae^2`` flops per
batch (16k latents: 1 GiB and far more time than the LM). Instead each token contributes only
its ``p`` largest active latents (``coactivation_latents_per_token``), giving ``p(p-1)/2`` pairs;
pair sums are kept as a sparse map (sorted int64 keys ``i * d_sae + j`` with ``i < j``) that is
coalesced whenever enough new pairs are pending, so memory follows the number of distinct
co-firing pairs, never ``d_sae^2``.

The statistics are exact for the truncated activations ``x'`` (``x`` restricted to each token's
top ``p`` latents; equal to ``x`` wherever a token has at most ``p`` active latents, e.g. a TopK
SAE with ``k <= p``): over the ``T`` sample tokens,
``pearson(i, j) = (S_ij / T - m_i m_j) / (s_i s_j)`` with ``S_ij = sum x'_i x'_j``, means ``m`` and
standard deviations ``s`` of ``x'``; ``jaccard(i, j) = c_ij / (c_i + c_j - c_ij)`` with firing
counts ``c``. Latents that never co-fire have ``pearson <= 0`` and ``jaccard = 0``, so the top
correlations always lie among the stored pairs; a latent with fewer co-firing partners than asked
lists fewer (index -1 pads the rest).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from mistudio.core.features.slots import group_rank


@dataclass
class TopPairs:
    """Per latent, its best partners by one score."""

    index: np.ndarray
    """int32 [d_sae, k] partner latents, best first; -1 pads."""
    value: np.ndarray
    """float32 [d_sae, k] the scores (NaN pads)."""


@dataclass
class Coactivation:
    """Top partners of every latent by Pearson correlation and by Jaccard similarity."""

    pearson: TopPairs
    jaccard: TopPairs
    n_tokens: int
    """Tokens in the sample."""
    n_pairs: int
    """Distinct co-firing pairs seen."""


class CoactivationAccumulator:
    """Sparse pair sums over the first ``max_tokens`` tokens offered."""

    def __init__(
        self,
        d_sae: int,
        max_tokens: int,
        latents_per_token: int,
        device: torch.device | str = "cpu",
        coalesce_every: int = 4_000_000,
    ) -> None:
        self.d_sae = d_sae
        self.max_tokens = max_tokens
        self.p = min(latents_per_token, d_sae)
        self.n_tokens = 0
        self.sum = torch.zeros(d_sae, dtype=torch.float64, device=device)  # [d_sae]
        self.sum_sq = torch.zeros(d_sae, dtype=torch.float64, device=device)
        self.count = torch.zeros(d_sae, dtype=torch.long, device=device)
        empty = torch.zeros(0, device=device)
        self.keys = empty.long()  # [pairs] sorted, unique
        self.pair_sum = empty.double()  # [pairs]
        self.pair_count = empty.long()  # [pairs]
        self._pending: list[tuple[Tensor, Tensor]] = []
        self._pending_n = 0
        self.coalesce_every = coalesce_every
        a, b = torch.triu_indices(self.p, self.p, offset=1, device=device)
        self._a, self._b = a, b  # [P] pair positions within a token's top-p

    @property
    def full(self) -> bool:
        return self.n_tokens >= self.max_tokens

    def add(self, latents: Tensor) -> None:
        """Add the first tokens of ``latents`` [n, d_sae] until the sample is full."""
        room = self.max_tokens - self.n_tokens
        if room <= 0:
            return
        x = latents[:room]
        self.n_tokens += x.shape[0]
        vals, idx = x.topk(self.p, dim=1)  # [n, p]
        vals = vals.clamp_min(0)
        on = vals > 0
        v = vals[on].double()
        i = idx[on]
        self.sum.index_add_(0, i, v)
        self.sum_sq.index_add_(0, i, v * v)
        self.count += torch.bincount(i, minlength=self.d_sae)
        if self.p < 2:
            return
        va, vb = vals[:, self._a], vals[:, self._b]  # [n, P]
        ia, ib = idx[:, self._a], idx[:, self._b]
        both = (va > 0) & (vb > 0)
        lo, hi = torch.minimum(ia, ib)[both], torch.maximum(ia, ib)[both]
        self._pending.append((lo * self.d_sae + hi, (va * vb)[both].double()))
        self._pending_n += int(lo.numel())
        if self._pending_n >= self.coalesce_every:
            self._coalesce()

    def _coalesce(self) -> None:
        if not self._pending:
            return
        keys = torch.cat([self.keys, *(k for k, _ in self._pending)])
        sums = torch.cat([self.pair_sum, *(s for _, s in self._pending)])
        counts = torch.cat([self.pair_count, *(torch.ones_like(k) for k, _ in self._pending)])
        self.keys, inverse = torch.unique(keys, sorted=True, return_inverse=True)
        self.pair_sum = torch.zeros(self.keys.numel(), dtype=torch.float64, device=keys.device)
        self.pair_sum.index_add_(0, inverse, sums)
        self.pair_count = torch.zeros(self.keys.numel(), dtype=torch.long, device=keys.device)
        self.pair_count.index_add_(0, inverse, counts)
        self._pending.clear()
        self._pending_n = 0

    def result(self, k: int) -> Coactivation:
        """Top-``k`` partners of every latent by Pearson and by Jaccard."""
        self._coalesce()
        t = max(self.n_tokens, 1)
        mean = self.sum / t
        std = (self.sum_sq / t - mean * mean).clamp_min(0).sqrt()
        i, j = self.keys // self.d_sae, self.keys % self.d_sae
        cov = self.pair_sum / t - mean[i] * mean[j]
        denom = std[i] * std[j]
        pearson = torch.where(denom > 0, cov / denom.clamp_min(1e-300), torch.zeros_like(cov))
        c = self.pair_count.double()
        jaccard = c / (self.count[i] + self.count[j] - self.pair_count).double().clamp_min(1)
        return Coactivation(
            pearson=top_partners(i, j, pearson, self.d_sae, k),
            jaccard=top_partners(i, j, jaccard, self.d_sae, k),
            n_tokens=self.n_tokens,
            n_pairs=int(self.keys.numel()),
        )


def top_partners(i: Tensor, j: Tensor, score: Tensor, d_sae: int, k: int) -> TopPairs:
    """Best ``k`` partners per latent from symmetric pair scores (i [m], j [m], score [m])."""
    rows = torch.cat([i, j])
    cols = torch.cat([j, i])
    vals = torch.cat([score, score]).float()
    order, rank = group_rank(rows, vals)
    keep = rank < k
    order, rank = order[keep], rank[keep]
    index = np.full((d_sae, k), -1, dtype=np.int32)
    value = np.full((d_sae, k), np.nan, dtype=np.float32)
    r = rows[order].cpu().numpy()
    index[r, rank.cpu().numpy()] = cols[order].cpu().numpy()
    value[r, rank.cpu().numpy()] = vals[order].cpu().numpy()
    return TopPairs(index, value)
