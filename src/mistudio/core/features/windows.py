"""Cutting context windows out of the batch being processed, and the token filters.

Windows are cut while the batch's latents are still in memory, so no second LM pass is ever
needed: an example's window holds the token ids around the activating token and this latent's
activation at each of them. A window never crosses its sequence: positions outside the sequence
(or in its padding) hold token id ``-1`` and activation 0; positions the stream masked out (BOS,
separators) keep their token id and activation 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from mistudio.core.data import Tokenization

PAD = -1
"""Token id stored for window positions outside the sequence."""


@dataclass
class BatchIndex:
    """Where each of a batch's flat (unmasked) tokens sits."""

    input_ids: Tensor
    """int64 [b, s]."""
    attention: Tensor
    """bool [b, s]: real (non-padding) positions."""
    row: Tensor
    """int64 [n]: batch row of flat token t."""
    pos: Tensor
    """int64 [n]: position of flat token t in its sequence."""
    sequence: Tensor
    """int64 [n]: tokenization sequence index of flat token t."""
    flat_of: Tensor
    """int64 [b, s]: flat index of each position, -1 where masked out."""

    @classmethod
    def build(
        cls, input_ids: Tensor, attention: Tensor, mask: Tensor, sequence_index: Tensor
    ) -> BatchIndex:
        nz = mask.nonzero()  # [n, 2] row-major, the order of ActivationBatch.flat
        flat_of = torch.full(mask.shape, -1, dtype=torch.long, device=mask.device)
        flat_of[mask] = torch.arange(nz.shape[0], device=mask.device)
        return cls(
            input_ids=input_ids,
            attention=attention,
            row=nz[:, 0],
            pos=nz[:, 1],
            sequence=sequence_index[nz[:, 0]],
            flat_of=flat_of,
        )

    def window_positions(
        self, token: Tensor, before: int, after: int
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Row [m, 1], clamped position [m, ctx] and validity [m, ctx] of the windows around
        the flat tokens ``token`` [m]."""
        offsets = torch.arange(-before, after + 1, device=token.device)  # [ctx]
        rows = self.row[token][:, None]  # [m, 1]
        pos = self.pos[token][:, None] + offsets[None, :]  # [m, ctx]
        seq_len = self.input_ids.shape[1]
        inside = (pos >= 0) & (pos < seq_len)
        pos = pos.clamp(0, seq_len - 1)
        valid = inside & self.attention[rows, pos]
        return rows, pos, valid

    def window_tokens(self, token: Tensor, before: int, after: int) -> Tensor:
        """int32 [m, ctx]: token ids around each flat token (PAD outside the sequence)."""
        rows, pos, valid = self.window_positions(token, before, after)
        ids = self.input_ids[rows, pos]
        return torch.where(valid, ids, torch.full_like(ids, PAD)).to(torch.int32)

    def window_flat(self, token: Tensor, before: int, after: int) -> Tensor:
        """int64 [m, ctx]: flat index of each window position (-1 where no activation exists)."""
        rows, pos, valid = self.window_positions(token, before, after)
        flat = self.flat_of[rows, pos]
        return torch.where(valid, flat, torch.full_like(flat, -1))


def window_acts(latents: Tensor, flat: Tensor, latent: Tensor) -> Tensor:
    """float [m, ctx]: ``latents[flat, latent]`` with 0 where ``flat`` is -1.

    latents [n, d_sae]; flat [m, ctx]; latent [m].
    """
    values = latents[flat.clamp_min(0), latent[:, None]]  # [m, ctx]
    return torch.where(flat >= 0, values, torch.zeros_like(values))


class TokenFilter:
    """Extra positions to skip beyond the stream's special-token mask (per sequence)."""

    def __init__(self, tokenization: Tokenization, min_document_tokens: int, dedupe: bool) -> None:
        self.bos = int(tokenization.meta.prepend_bos)
        windows = tokenization.windows  # [n_seq, 2] (flat start, content length)
        starts, lengths = windows[:, 0], windows[:, 1]
        overlap = np.zeros(len(windows), dtype=np.int64)
        if dedupe and len(windows) > 1:
            # Windows of a long document overlap the previous one by (prev end - start).
            prev_end = starts[:-1] + lengths[:-1]
            overlap[1:] = np.clip(prev_end - starts[1:], 0, None)
        self.overlap = overlap  # [n_seq]
        self.starts = starts
        self.min_document_tokens = min_document_tokens
        self.tokenization = tokenization
        self.doc_lengths = tokenization.document_lengths() if min_document_tokens > 0 else None
        self.active = bool(overlap.any()) or min_document_tokens > 0

    def keep(self, sequence_index: np.ndarray, seq_len: int) -> np.ndarray:
        """bool [b, seq_len]: positions that pass the filters."""
        b = len(sequence_index)
        pos = np.arange(seq_len)[None, :] - self.bos  # content position, [1, s]
        keep = np.ones((b, seq_len), dtype=bool)
        keep &= pos >= self.overlap[sequence_index][:, None]
        if self.doc_lengths is not None:
            flat = self.starts[sequence_index][:, None] + np.clip(pos, 0, None)  # [b, s]
            doc = np.searchsorted(self.tokenization.doc_offsets, flat, side="right") - 1
            doc = np.clip(doc, 0, len(self.doc_lengths) - 1)
            keep &= self.doc_lengths[doc] >= self.min_document_tokens
        return keep
