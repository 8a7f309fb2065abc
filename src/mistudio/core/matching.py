"""Feature matching between two SAEs of the same activation width, by decoder cosine.

For every latent ``a`` of SAE A, its best match in SAE B is the B latent whose decoder direction
has the largest cosine with ``a``'s (``W_dec`` rows, unit-normalised). Nothing here needs the
SAEs to share a width, an architecture, a layer or a training run; only ``d_out`` must agree.

Memory is bounded: A's rows are read in blocks of ``block_a`` and B's in blocks of ``block_b``,
and only one ``[block_a, block_b]`` float32 product is alive at a time (plus the running top
``candidates`` per A row and B's running best over A). 16k x 65k latents at d 576 is one
pass of 1.07e9 dot products per 1,000 d, about 0.6 TFLOP: tens of seconds on a CPU
(``benchmarks/matching.py`` measures it).

**Splits** (the feature splitting of Bricken et al. 2023, "Towards Monosemanticity": one latent
of a narrow SAE becomes several of a wider one). Latent ``a`` *splits* in B when

1. at least two B latents have cosine >= ``split_threshold`` with ``a`` (taken among its
   ``candidates`` best matches) and a weight >= ``MIN_PART_WEIGHT`` in the fit below (its
   *parts*), and
2. a nonnegative combination of the parts' unit directions reconstructs ``a``'s unit direction
   as well as a match would, ``r2_parts >= threshold**2``, and better than the best single one,
   ``r2_parts - best_cosine**2 >= split_gain``, where
   ``r2_parts = 1 - min_{c >= 0} || a - sum_j c_j b_j ||^2`` (nonnegative least squares over the
   parts, solved by projected gradient) and ``best_cosine**2`` is what the best single B
   direction explains of ``a``.

The first part of 2 keeps chance out: in d dimensions a few random directions at cosine ~0.3
explain ~0.2 together, more than the best alone, but not ``threshold**2``. A latent matched at
``threshold`` can split as well (a near-copy rarely gains ``split_gain``).
"""

from __future__ import annotations

import math
import time
from typing import Any

import torch
from torch import Tensor

from mistudio.core.config import DocumentedModel, OperationConfig
from mistudio.core.progress import Progress, report
from mistudio.errors import InvalidInputError

MIN_PART_WEIGHT = 0.1
"""A split part must carry at least this weight (on unit directions, for a unit target): chance
directions above ``split_threshold`` get ~0 in the fit and are not listed."""


class MatchingConfig(OperationConfig):
    """How two SAEs' latents are matched."""

    threshold: float = 0.7
    """A latent of A counts as matched when its best decoder cosine in B is at least this."""
    split_threshold: float = 0.3
    """Cosine at which a B latent counts as a part of an A latent that may split into several."""
    split_gain: float = 0.1
    """A split must explain this much more of A's direction (squared-norm fraction) with its
    parts together than the best single B latent does."""
    candidates: int = 8
    """Best B latents kept per A latent (the split parts are found among them)."""
    block_a: int = 2048
    """A latents per block of the cosine product."""
    block_b: int = 8192
    """B latents per block of the cosine product; one [block_a, block_b] float32 block is alive
    at a time."""
    correlation_tokens: int = 4096
    """Tokens over which each pair's activations are correlated, when both SAEs have an
    extraction on the same tokenization (the LM runs once over them); 0 skips it."""

    def model_post_init(self, context: Any, /) -> None:
        if not -1 <= self.split_threshold <= 1 or not -1 <= self.threshold <= 1:
            raise InvalidInputError("threshold and split_threshold must lie in -1..1")
        if self.candidates < 2 or self.block_a < 1 or self.block_b < 1:
            raise InvalidInputError("candidates must be >= 2, block_a and block_b >= 1")
        if self.correlation_tokens < 0:
            raise InvalidInputError("correlation_tokens must be >= 0")


class Split(DocumentedModel):
    """One A latent explained by several B latents together."""

    a: int
    """The A latent."""
    parts: list[int]
    """B latents with cosine >= split_threshold and weight >= MIN_PART_WEIGHT, best first."""
    cosines: list[float]
    """Their cosines with ``a``."""
    weights: list[float]
    """Nonnegative least-squares weights of the parts' unit directions."""
    r2_parts: float
    """Fraction of ``a``'s unit direction the parts explain together."""
    r2_best: float
    """What the best single B latent explains (its cosine squared)."""


class MatchResult(DocumentedModel):
    """Best matches of every A latent in B, and B's best in A."""

    d_in: int
    """Shared decoder width."""
    n_a: int
    """Latents of A."""
    n_b: int
    """Latents of B."""
    config: MatchingConfig
    """The settings used."""
    best_b: list[int]
    """[n_a] best B latent of each A latent."""
    best_cosine: list[float]
    """[n_a] its decoder cosine."""
    best_a_cosine: list[float]
    """[n_b] each B latent's best decoder cosine in A (how much of B is covered by A)."""
    splits: list[Split]
    """A latents that split into several B latents (see the module docstring)."""
    seconds: float
    """Wall time of the match."""
    peak_block_bytes: int
    """Bytes of the largest cosine block held (the bounded part of the memory)."""

    @property
    def share_matched(self) -> float:
        """Share of A latents whose best cosine is >= the threshold."""
        t = self.config.threshold
        return sum(c >= t for c in self.best_cosine) / max(self.n_a, 1)

    @property
    def share_b_covered(self) -> float:
        """Share of B latents whose best cosine in A is >= the threshold."""
        t = self.config.threshold
        return sum(c >= t for c in self.best_a_cosine) / max(self.n_b, 1)

    def histogram(self, bins: int = 20) -> tuple[list[float], list[int]]:
        """Counts of the best cosines in ``bins`` equal bins over [-1, 1] (edges, counts)."""
        counts = torch.histc(torch.tensor(self.best_cosine), bins=bins, min=-1.0, max=1.0)
        edges = torch.linspace(-1.0, 1.0, bins + 1)
        return [round(float(e), 4) for e in edges], [int(c) for c in counts]


def unit_rows(W: Tensor) -> Tensor:
    """[n, d] float32 rows scaled to unit norm (a zero row stays zero)."""
    W = W.detach().to(torch.float32)
    return W / W.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def check_decoders(W_a: Tensor, W_b: Tensor) -> None:
    """Refuse (one line) decoders that cannot be matched: not matrices, or different widths."""
    if W_a.ndim != 2 or W_b.ndim != 2:
        raise InvalidInputError("decoders must be [n_latents, d] matrices")
    if W_a.shape[1] != W_b.shape[1]:
        raise InvalidInputError(
            f"the SAEs write different widths (d {W_a.shape[1]} vs {W_b.shape[1]}); "
            "only SAEs of the same activation width can be matched"
        )


def match_decoders(
    W_a: Tensor,
    W_b: Tensor,
    config: MatchingConfig | None = None,
    progress: Progress | None = None,
) -> MatchResult:
    """Match the decoder rows ``W_a[n_a, d]`` against ``W_b[n_b, d]`` (see the module docstring).

    Blocks of A are normalised as they are read, so ``W_a`` and ``W_b`` may be memory-mapped
    or half precision; only B is held normalised in float32 (``n_b * d * 4`` bytes).
    """
    cfg = config or MatchingConfig()
    check_decoders(W_a, W_b)
    start = time.perf_counter()
    n_a, d = W_a.shape
    n_b = W_b.shape[0]
    m = min(cfg.candidates, n_b)
    B = unit_rows(W_b)  # [n_b, d]
    best_a = torch.full((n_b,), -2.0)  # [n_b] B's best cosine over A, running
    top_val = torch.empty(n_a, m)  # [n_a, m] best cosines, best first
    top_idx = torch.empty(n_a, m, dtype=torch.int64)
    peak = 0
    blocks_a = math.ceil(n_a / cfg.block_a)
    for bi, a0 in enumerate(range(0, n_a, cfg.block_a)):
        A = unit_rows(W_a[a0 : a0 + cfg.block_a])  # [ba, d]
        run_val = torch.full((A.shape[0], m), -2.0)
        run_idx = torch.zeros(A.shape[0], m, dtype=torch.int64)
        for b0 in range(0, n_b, cfg.block_b):
            sims = A @ B[b0 : b0 + cfg.block_b].T  # [ba, bb]
            peak = max(peak, sims.numel() * sims.element_size())
            v, i = sims.topk(min(m, sims.shape[1]), dim=1)
            both_v = torch.cat([run_val, v], dim=1)
            both_i = torch.cat([run_idx, i + b0], dim=1)
            keep_v, pos = both_v.topk(m, dim=1)
            run_val, run_idx = keep_v, both_i.gather(1, pos)
            b1 = b0 + sims.shape[1]
            best_a[b0:b1] = torch.maximum(best_a[b0:b1], sims.max(dim=0).values)
            del sims
        top_val[a0 : a0 + A.shape[0]] = run_val
        top_idx[a0 : a0 + A.shape[0]] = run_idx
        report(progress, bi + 1, blocks_a, stage="cosines")
    splits = find_splits(W_a, B, top_val, top_idx, cfg)
    return MatchResult(
        d_in=d,
        n_a=n_a,
        n_b=n_b,
        config=cfg,
        best_b=top_idx[:, 0].tolist(),
        best_cosine=[round(float(v), 6) for v in top_val[:, 0]],
        best_a_cosine=[round(float(v), 6) for v in best_a],
        splits=splits,
        seconds=time.perf_counter() - start,
        peak_block_bytes=peak,
    )


def nnls_fit(a: Tensor, parts: Tensor, iters: int = 200) -> tuple[Tensor, Tensor]:
    """Batched nonnegative least squares ``min_{c >= 0} ||a - c @ parts||^2``.

    a [n, d] unit targets, parts [n, m, d] unit directions (zero rows where absent). Projected
    gradient with step ``1 / ||G||_F`` (an upper bound of G's largest eigenvalue), from the
    best single part's projection. Returns (weights [n, m], explained fraction [n])."""
    G = parts @ parts.transpose(1, 2)  # [n, m, m]
    h = (parts @ a.unsqueeze(-1)).squeeze(-1)  # [n, m]
    step = 1.0 / G.flatten(1).norm(dim=1).clamp_min(1e-12)  # [n]
    c = torch.zeros_like(h)
    c[:, 0] = h[:, 0].clamp_min(0)
    for _ in range(iters):
        grad = (G @ c.unsqueeze(-1)).squeeze(-1) - h  # [n, m]
        c = (c - step[:, None] * grad).clamp_min(0)
    recon = (c.unsqueeze(1) @ parts).squeeze(1)  # [n, d]
    r2 = 1 - (a - recon).pow(2).sum(-1)
    return c, r2


def find_splits(
    W_a: Tensor, B: Tensor, top_val: Tensor, top_idx: Tensor, cfg: MatchingConfig
) -> list[Split]:
    """The A latents that split in B (module docstring). ``B`` [n_b, d] is unit rows;
    ``top_val``/``top_idx`` [n_a, m] each A latent's best B cosines, best first."""
    is_part = top_val >= cfg.split_threshold  # [n_a, m]
    rows = (is_part.sum(1) >= 2).nonzero().squeeze(1)
    out: list[Split] = []
    for r0 in range(0, rows.numel(), 4096):
        chunk = rows[r0 : r0 + 4096]
        a = unit_rows(W_a[chunk])  # [c, d]
        mask = is_part[chunk]  # [c, m]
        parts = B[top_idx[chunk]] * mask.unsqueeze(-1)  # [c, m, d]
        weights, r2 = nnls_fit(a, parts)
        r2_best = top_val[chunk, 0].clamp_min(0).pow(2)
        used = mask & (weights >= MIN_PART_WEIGHT)  # [c, m]
        is_split = (r2 - r2_best >= cfg.split_gain) & (r2 >= cfg.threshold**2) & (used.sum(1) >= 2)
        for j in is_split.nonzero().squeeze(1).tolist():
            keep = used[j].nonzero().squeeze(1)
            out.append(
                Split(
                    a=int(chunk[j]),
                    parts=top_idx[chunk[j], keep].tolist(),
                    cosines=[round(float(v), 6) for v in top_val[chunk[j], keep]],
                    weights=[round(float(v), 6) for v in weights[j, keep]],
                    r2_parts=round(float(r2[j]), 6),
                    r2_best=round(float(r2_best[j]), 6),
                )
            )
    return out
