"""Per-latent activation histograms on shared, fixed, log-spaced bin edges.

Edges are fixed before counting so that batches add up exactly and latents compare directly:
``hist_bins_per_decade`` bins per decade over ``hist_decades`` decades below a top edge, plus an
underflow bin ``(0, edges[0])`` and an overflow bin ``[edges[-1], inf)``, so the counts of a
latent always sum to its firing count. The top edge is given, or calibrated from the first batch
as the next power of ten above 10x its largest activation (one decade of headroom for latents
that peak later; anything beyond still lands in the overflow bin).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor


def log_edges(top: float, decades: int, bins_per_decade: int) -> np.ndarray:
    """float64 [decades * bins_per_decade + 1] edges from ``top / 10**decades`` to ``top``."""
    hi = math.log10(top)
    return np.logspace(hi - decades, hi, decades * bins_per_decade + 1)


def calibrated_top(max_activation: float) -> float:
    """Next power of ten above 10x ``max_activation`` (1.0 for a batch with no activation)."""
    if not max_activation > 0:
        return 1.0
    return float(10 ** math.ceil(math.log10(max_activation * 10)))


class HistogramAccumulator:
    """Counts [d_sae, n_edges + 1]: underflow, the log bins, overflow."""

    def __init__(self, d_sae: int, edges: np.ndarray, device: torch.device | str = "cpu"):
        self.edges_np = edges
        self.edges = torch.tensor(edges, dtype=torch.float32, device=device)
        self.n_bins = len(edges) + 1
        self.counts = torch.zeros(d_sae * self.n_bins, dtype=torch.long, device=device)
        self.d_sae = d_sae

    def add(self, latent: Tensor, value: Tensor) -> None:
        """Count active entries: latent [nnz] int64, value [nnz] > 0."""
        bucket = torch.bucketize(value.float(), self.edges, right=True)  # 0..n_edges
        self.counts += torch.bincount(
            latent * self.n_bins + bucket, minlength=self.d_sae * self.n_bins
        )

    def result(self) -> np.ndarray:
        """int64 [d_sae, n_bins]."""
        return self.counts.view(self.d_sae, self.n_bins).cpu().numpy()
