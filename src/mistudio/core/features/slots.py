"""A running top-K per row kept in fixed slots, so bulky per-slot payloads never move.

Extraction keeps, per latent, the K best (value, token) pairs seen so far together with each
pair's context window (``K x ctx`` token ids and activations). Re-sorting the windows after every
batch would copy ``rows x K x ctx`` numbers per batch; instead each entry owns a *slot* and a
newcomer overwrites the slot of the entry it evicts, so a batch costs work proportional to the
number of accepted newcomers. Sorting happens once, at the end (:meth:`TopSlots.order`).

A candidate is only offered when it beats the row's current threshold (its K-th best value, or
``-inf`` while the row is not full), which after warm-up rejects almost everything with one
elementwise comparison. The same structure with random priorities instead of activations gives
a uniform sample without replacement ("bottom-k" / priority sampling), which is how the
activation samples and the random contexts are drawn.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass
class Accepted:
    """Newcomers that took a slot in :meth:`TopSlots.offer`."""

    row: Tensor
    """int64 [m] row (latent) of each newcomer."""
    slot: Tensor
    """int64 [m] slot it overwrote."""
    candidate: Tensor
    """int64 [m] index into the offered candidate arrays."""


def group_rank(rows: Tensor, values: Tensor) -> tuple[Tensor, Tensor]:
    """Order candidates by (row, value descending); return (order, rank within its row).

    rows, values: [n]. ``rank[i]`` belongs to ``order[i]``.
    """
    by_value = torch.argsort(values, descending=True, stable=True)  # [n]
    by_row = torch.argsort(rows[by_value], stable=True)  # [n]
    order = by_value[by_row]  # [n]
    sorted_rows = rows[order]
    n = sorted_rows.numel()
    if n == 0:
        return order, torch.zeros(0, dtype=torch.long, device=rows.device)
    first = torch.ones(n, dtype=torch.bool, device=rows.device)
    first[1:] = sorted_rows[1:] != sorted_rows[:-1]
    start = torch.arange(n, device=rows.device)
    start = torch.where(first, start, torch.zeros_like(start))
    start = torch.cummax(start, 0).values  # index of each group's first element
    return order, torch.arange(n, device=rows.device) - start


class TopSlots:
    """Per row, the ``k`` largest values offered so far (ties: the earlier one stays)."""

    def __init__(self, rows: int, k: int, device: torch.device | str = "cpu") -> None:
        self.k = k
        self.values = torch.full((rows, k), float("-inf"), device=device)  # [rows, k]
        self.threshold = torch.full((rows,), float("-inf"), device=device)  # [rows]

    def offer(self, row: Tensor, value: Tensor) -> Accepted:
        """Offer candidates (row [n] int64, value [n] float); return those that took a slot."""
        keep = value > self.threshold[row]
        cand = keep.nonzero().squeeze(1)  # [n'] indices into the offered arrays
        empty = torch.zeros(0, dtype=torch.long, device=row.device)
        if cand.numel() == 0:
            return Accepted(empty, empty, empty)
        order, rank = group_rank(row[cand], value[cand].float())
        head = rank < self.k
        order, rank = order[head], rank[head]
        cand = cand[order]  # grouped by row, value descending
        r = row[cand]
        rows_u, inverse = torch.unique_consecutive(r, return_inverse=True)  # [u], [m]
        k = self.k
        new_vals = torch.full((rows_u.numel(), k), float("-inf"), device=row.device)  # [u, k]
        new_vals[inverse, rank] = value[cand].float()
        old = self.values[rows_u]  # [u, k]
        old_sorted, old_order = torch.sort(old, dim=1)  # ascending
        # A newcomer of rank j is accepted iff fewer than k - j old entries are >= it, i.e. iff
        # more than j old entries are strictly smaller (ties keep the old entry).
        smaller = torch.searchsorted(old_sorted.contiguous(), new_vals.contiguous(), side="left")
        ranks = torch.arange(k, device=row.device)
        accepted = (smaller > ranks[None, :]) & (new_vals > float("-inf"))  # [u, k], a prefix
        n_new = accepted.sum(1)  # [u]
        sel = accepted[inverse, rank]  # [m]
        u_idx, j = inverse[sel], rank[sel]
        slot = old_order[u_idx, j]  # the j-th smallest old entry makes room for newcomer j
        out_row = rows_u[u_idx]
        self.values[out_row, slot] = value[cand[sel]].float()
        touched = rows_u[n_new > 0]
        self.threshold[touched] = self.values[touched].min(1).values
        return Accepted(out_row, slot, cand[sel])

    def order(self, tiebreak: Tensor | None = None) -> Tensor:
        """int64 [rows, k]: slots by value, largest first (empty slots last); equal values in
        ascending order of ``tiebreak`` [rows, k] (e.g. token location) when given."""
        if tiebreak is None:
            return torch.argsort(self.values, dim=1, descending=True, stable=True)
        first = torch.argsort(tiebreak, dim=1, stable=True)  # [rows, k]
        by_value = torch.argsort(
            torch.gather(self.values, 1, first), dim=1, descending=True, stable=True
        )
        return torch.gather(first, 1, by_value)
