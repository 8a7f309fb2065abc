"""Synthetic activations from a known sparse dictionary, for SAE and trainer tests.

Each token is a sum of ``n_active`` atoms (unit vectors in R^d) with positive coefficients, plus
a little noise. A good SAE recovers the atoms as decoder rows; :func:`recovery` measures that as
the mean over atoms of the best cosine with any decoder row.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import Tensor


class PlantedDictionary:
    def __init__(
        self, d: int = 32, n_atoms: int = 128, n_active: int = 3, noise: float = 0.01, seed: int = 0
    ) -> None:
        g = torch.Generator().manual_seed(seed)
        atoms = torch.randn(n_atoms, d, generator=g)
        self.atoms = atoms / atoms.norm(dim=-1, keepdim=True)  # [n_atoms, d]
        self.d, self.n_atoms, self.n_active, self.noise, self.seed = (
            d,
            n_atoms,
            n_active,
            noise,
            seed,
        )
        self.offset = torch.randn(d, generator=g) * 0.5  # a mean for b_dec to find

    def sample(self, n: int, index: int) -> Tensor:
        """[n, d] tokens; batch ``index`` is always the same tensor."""
        g = torch.Generator().manual_seed(self.seed * 100_003 + index + 1)
        idx = torch.randint(0, self.n_atoms, (n, self.n_active), generator=g)
        coef = torch.rand(n, self.n_active, generator=g) + 0.5
        x = torch.einsum("nk,nkd->nd", coef, self.atoms[idx])
        return x + self.offset + self.noise * torch.randn(n, self.d, generator=g)

    def batches(self, hook: str, batch: int, start: int = 0) -> Iterator[dict[str, Tensor]]:
        i = start
        while True:
            yield {hook: self.sample(batch, i)}
            i += 1

    def factory(self, hook: str, batch: int):  # type: ignore[no-untyped-def]
        return lambda position: self.batches(hook, batch, position)


def recovery(atoms: Tensor, W_dec: Tensor) -> float:
    """Mean over atoms of the best |cosine| with a decoder row."""
    a = atoms / atoms.norm(dim=-1, keepdim=True)
    w = W_dec / W_dec.norm(dim=-1, keepdim=True).clamp_min(1e-8)
    return float((a @ w.T).max(dim=-1).values.mean())


@contextmanager
def one_thread() -> Iterator[None]:
    """Run tiny-matrix training on one thread: OpenMP barriers dominate on a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
