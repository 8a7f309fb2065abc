"""Bootstrap intervals for metrics that are functions of sums over independent units.

Every lab metric is a function of per-unit sums (a held-out sequence's squared error and token
count, a word's absorption fraction, a latent's detection score), so a bootstrap resample is a
vector of multinomial counts ``w[B, n_units]`` and the resampled sums are one matmul
``w @ sums[n_units, m]``; the statistic is then computed row-wise on ``[B, m]``. Resampling whole
sequences (not tokens) keeps the tokens of one sequence together, as they are correlated.

Intervals are percentile intervals (2.5% and 97.5% for the nominal 95%), seeded, so a rerun of
the same evaluation gives the same interval.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from pydantic import BaseModel
from torch import Tensor


class Interval(BaseModel):
    """A metric's value over all units and its bootstrap interval."""

    value: float
    """The statistic on every unit."""
    low: float | None = None
    """Lower end of the percentile interval (None: fewer than two units)."""
    high: float | None = None
    """Upper end of the percentile interval."""


def bootstrap_weights(n_units: int, n_resamples: int, seed: int) -> Tensor:
    """``[n_resamples, n_units]`` float64 counts: how often each unit is drawn in each resample."""
    gen = torch.Generator().manual_seed(seed)
    draws = torch.randint(0, n_units, (n_resamples, n_units), generator=gen)  # [B, n]
    counts = torch.zeros(n_resamples, n_units, dtype=torch.float64)
    counts.scatter_add_(1, draws, torch.ones_like(draws, dtype=torch.float64))
    return counts


def interval(
    stat: Callable[[Tensor], Tensor],
    sums: Tensor,
    weights: Tensor | None,
    level: float = 0.95,
) -> Interval:
    """``stat`` maps weighted sums ``[R, ...]`` to ``[R]`` values; ``sums``: ``[n_units, ...]``
    per-unit sums; ``weights``: ``[B, n_units]`` resample counts (None: no interval)."""
    s = sums.double()
    flat = s.reshape(s.shape[0], -1)  # [n, m]
    value = float(stat(flat.sum(0, keepdim=True).reshape(1, *s.shape[1:]))[0])
    if weights is None or s.shape[0] < 2:
        return Interval(value=value)
    resampled = (weights @ flat).reshape(weights.shape[0], *s.shape[1:])  # [B, ...]
    values = stat(resampled)
    values = values[torch.isfinite(values)]
    if values.numel() == 0:
        return Interval(value=value)
    tail = (1.0 - level) / 2
    q = torch.quantile(values, torch.tensor([tail, 1.0 - tail], dtype=values.dtype))
    return Interval(value=value, low=float(q[0]), high=float(q[1]))


def mean_interval(values: Tensor, weights: Tensor | None, level: float = 0.95) -> Interval:
    """Interval of the mean of per-unit ``values[n]`` (weights: ``[B, n]`` or None)."""
    sums = torch.stack([values.double(), torch.ones_like(values, dtype=torch.float64)], 1)
    return interval(lambda s: s[:, 0] / s[:, 1], sums, weights, level)


def group_mean_interval(
    values: Tensor, groups: Tensor, n_groups: int, weights: Tensor | None, level: float = 0.95
) -> Interval:
    """Interval of the mean over groups of each group's mean of ``values[n]`` (``groups[n]`` in
    ``0..n_groups-1``); a resample where a group has no unit leaves that group out."""
    sums = torch.zeros(len(values), 2 * n_groups, dtype=torch.float64)
    rows = torch.arange(len(values))
    sums[rows, groups] = values.double()
    sums[rows, n_groups + groups] = 1.0

    def stat(s: Tensor) -> Tensor:
        count = s[:, n_groups:]
        present = (count > 0).double()
        return ((s[:, :n_groups] / count.clamp_min(1)) * present).sum(1) / present.sum(1)

    return interval(stat, sums, weights, level)
