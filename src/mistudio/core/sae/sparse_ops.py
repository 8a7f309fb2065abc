"""Sparse encode/decode kernels for SAEs whose latents are mostly zero.

After the one dense encoder GEMM (``x @ W_enc``), everything a TopK / BatchTopK / sparse ReLU SAE
needs touches only the active latents:

* decode is ``embedding_bag(indices, W_dec, per_sample_weights=values)``: ``nnz * d`` work instead
  of ``batch * d_sae * d``;
* the gradient of the active values is a sampled dense-dense product (SDDMM,
  ``torch.sparse.sampled_addmm``), ``nnz * d`` again;
* the weight gradients ``W_dec.grad[j] = sum_b f[b, j] * g[b]`` and
  ``W_enc.grad[:, j] = sum_b g_pre[b, j] * x[b]`` are embedding bags over the tokens in which
  latent ``j`` fired (the codes sorted by latent once and shared by both).

This is the trick EleutherAI's sparsify and OpenAI's TopK kernels use, written with stock PyTorch
ops so it runs on CPU and CUDA alike. The encoder GEMM is done in row chunks into one reused
workspace: on CPU a fresh ``[batch, d_sae]`` tensor costs page faults (tens of ms per step) and
the dense pre-activations are never needed for backward. ``tests/unit/test_sae_sparse_ops.py``
checks every gradient against plain dense autograd.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor


@dataclass
class SparseCodes:
    """Active latents of a batch in CSR order (row-major: token by token)."""

    values: Tensor
    """[nnz] activation values (may hold zeros, e.g. a TopK slot whose pre-activation was < 0)."""
    indices: Tensor
    """[nnz] latent index of each value (int64)."""
    offsets: Tensor
    """[batch + 1] start of each token's slice in ``values`` (CSR row pointers, int64)."""
    d_sae: int
    """Number of latents (columns of the dense equivalent)."""
    _rows: Tensor | None = None
    _by_latent: tuple[Tensor, Tensor] | None = None

    @property
    def batch(self) -> int:
        return self.offsets.numel() - 1

    @property
    def rows(self) -> Tensor:
        """[nnz] token (row) index of each value."""
        if self._rows is None:
            counts = self.offsets.diff()
            self._rows = torch.repeat_interleave(
                torch.arange(self.batch, device=self.offsets.device), counts
            )
        return self._rows

    @property
    def by_latent(self) -> tuple[Tensor, Tensor]:
        """(order [nnz], latent_offsets [d_sae]): the codes sorted by latent."""
        if self._by_latent is None:
            order = torch.argsort(self.indices)
            counts = torch.bincount(self.indices, minlength=self.d_sae)
            starts = torch.zeros_like(counts)
            starts[1:] = counts.cumsum(0)[:-1]
            self._by_latent = (order, starts)
        return self._by_latent

    def with_values(self, values: Tensor) -> SparseCodes:
        """The same pattern with other values (shares the cached row and latent orders)."""
        return SparseCodes(
            values, self.indices, self.offsets, self.d_sae, self._rows, self._by_latent
        )

    def to_dense(self) -> Tensor:
        """[batch, d_sae] dense latents."""
        out = self.values.new_zeros(self.batch, self.d_sae)
        out[self.rows, self.indices] = self.values
        return out

    def fired(self) -> Tensor:
        """[d_sae] number of tokens in which each latent was > 0 (int64)."""
        active = self.values > 0
        return torch.bincount(self.indices[active], minlength=self.d_sae)

    def l0(self) -> Tensor:
        """Scalar: mean number of latents > 0 per token."""
        return (self.values > 0).sum() / max(self.batch, 1)

    @staticmethod
    def from_fixed_k(values: Tensor, indices: Tensor, d_sae: int) -> SparseCodes:
        """From ``[batch, k]`` values and indices (TopK)."""
        batch, k = values.shape
        offsets = torch.arange(0, batch * k + 1, k, device=values.device)
        rows = torch.arange(batch, device=values.device).repeat_interleave(k)
        return SparseCodes(values.reshape(-1), indices.reshape(-1), offsets, d_sae, rows)


def _latent_bag(codes: SparseCodes, weights: Tensor, table: Tensor) -> Tensor:
    """[d_sae, table.shape[1]]: ``out[j] = sum over codes of latent j of weight * table[row]``."""
    order, starts = codes.by_latent
    return torch.nn.functional.embedding_bag(
        codes.rows[order], table, starts, mode="sum", per_sample_weights=weights[order]
    )


def _sddmm(codes: SparseCodes, left: Tensor, right_t: Tensor) -> Tensor:
    """[nnz]: ``dot(left[row], right_t[:, index])`` for each code (the sampled product)."""
    if left.is_cuda or left.dtype != torch.float32:
        # Gather in slices so the [nnz, d] temporary stays small.
        out = torch.empty_like(codes.values, dtype=left.dtype)
        rows, idx = codes.rows, codes.indices
        step = 1 << 16
        for s in range(0, rows.numel(), step):
            r, i = rows[s : s + step], idx[s : s + step]
            out[s : s + step] = (left[r] * right_t[:, i].T).sum(-1)
        return out
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        pattern = torch.sparse_csr_tensor(
            codes.offsets,
            codes.indices,
            torch.zeros_like(codes.values, dtype=left.dtype),
            (codes.batch, codes.d_sae),
            check_invariants=False,
        )
        return torch.sparse.sampled_addmm(pattern, left, right_t, beta=0.0).values()


class _SparseEncode(torch.autograd.Function):
    """values = act(pre[row, index]) with pre = (x - b_pre) @ W_enc + b_enc, given the forward."""

    @staticmethod
    def forward(
        ctx: Any,
        values: Tensor,
        x: Tensor,
        b_pre: Tensor | None,
        W_enc: Tensor,
        b_enc: Tensor,
        codes: SparseCodes,
    ) -> Tensor:
        ctx.codes = codes
        ctx.has_b_pre = b_pre is not None
        ctx.save_for_backward(x, b_pre if b_pre is not None else x.new_zeros(()), W_enc, values)
        return values.clone()

    @staticmethod
    def backward(ctx: Any, grad_values: Tensor) -> tuple[Tensor | None, ...]:
        x, b_pre, W_enc, values = ctx.saved_tensors
        codes: SparseCodes = ctx.codes
        g = grad_values * (values > 0)  # ReLU derivative; zero slots carry no gradient
        grad_b_enc = torch.zeros(codes.d_sae, dtype=g.dtype, device=g.device)
        grad_b_enc.index_add_(0, codes.indices, g)
        grad_w = None
        if ctx.needs_input_grad[3]:
            bag = _latent_bag(codes, g, x.to(g.dtype))  # [d_sae, d_in]
            if ctx.has_b_pre:
                bag.addr_(grad_b_enc, b_pre.to(g.dtype), alpha=-1.0)
            grad_w = bag.T
        grad_b_pre = None
        if ctx.has_b_pre and ctx.needs_input_grad[2]:
            grad_b_pre = -(W_enc.to(g.dtype) @ grad_b_enc)
        return None, None, grad_b_pre, grad_w, grad_b_enc, None


class _SparseDecode(torch.autograd.Function):
    """x_hat = codes @ W_dec (no bias), as an embedding bag."""

    @staticmethod
    def forward(ctx: Any, values: Tensor, W_dec: Tensor, codes: SparseCodes) -> Tensor:
        ctx.codes = codes
        ctx.save_for_backward(values, W_dec)
        return torch.nn.functional.embedding_bag(
            codes.indices, W_dec, codes.offsets[:-1], mode="sum", per_sample_weights=values
        )

    @staticmethod
    def backward(ctx: Any, grad_out: Tensor) -> tuple[Tensor | None, ...]:
        values, W_dec = ctx.saved_tensors
        codes: SparseCodes = ctx.codes
        grad_out = grad_out.contiguous()
        grad_values = _sddmm(codes, grad_out, W_dec.T) if ctx.needs_input_grad[0] else None
        grad_w = _latent_bag(codes, values, grad_out) if ctx.needs_input_grad[1] else None
        return grad_values, grad_w, None


def sparse_encode(
    codes: SparseCodes, x: Tensor, b_pre: Tensor | None, W_enc: Tensor, b_enc: Tensor
) -> Tensor:
    """Attach the encoder's gradient to ``codes.values`` (computed without grad).

    x: [batch, d_in] raw input; b_pre: [d_in] subtracted from x before the GEMM (or None);
    W_enc: [d_in, d_sae]; b_enc: [d_sae]. Returns [nnz] values that carry gradients to
    ``W_enc``, ``b_enc`` and ``b_pre`` through a ReLU at the selected positions.
    """
    out: Tensor = _SparseEncode.apply(codes.values, x, b_pre, W_enc, b_enc, codes)
    return out


def sparse_decode(values: Tensor, codes: SparseCodes, W_dec: Tensor) -> Tensor:
    """[batch, d_out] = sum over active latents of value * W_dec[latent] (no bias)."""
    out: Tensor = _SparseDecode.apply(values, W_dec, codes)
    return out


class Workspace:
    """A reused ``[chunk, d_sae]`` buffer for the chunked encoder GEMM (not saved, not a buffer)."""

    def __init__(self) -> None:
        self._buf: Tensor | None = None

    def get(self, rows: int, cols: int, like: Tensor) -> Tensor:
        buf = self._buf
        if (
            buf is None
            or buf.shape[1] != cols
            or buf.shape[0] < rows
            or buf.dtype != like.dtype
            or buf.device != like.device
        ):
            buf = torch.empty(rows, cols, dtype=like.dtype, device=like.device)
            self._buf = buf
        return buf[:rows]


def chunk_rows(x: Tensor) -> int:
    """Rows per encoder chunk: whole batch on GPU, ~1k on CPU (keeps the buffer under 32 MB)."""
    return x.shape[0] if x.is_cuda else 1024


@torch.no_grad()
def chunked_pre(
    x: Tensor,
    b_pre: Tensor | None,
    W_enc: Tensor,
    b_enc: Tensor,
    workspace: Workspace,
    visit: Callable[[int, int, Tensor], None],
) -> None:
    """Compute ``pre = (x - b_pre) @ W_enc + b_enc`` by chunks, calling visit(start, stop, pre)."""
    x_in = x - b_pre if b_pre is not None else x
    x_in = x_in.to(W_enc.dtype)
    n = x_in.shape[0]
    step = chunk_rows(x_in)
    for start in range(0, n, step):
        stop = min(n, start + step)
        buf = workspace.get(step, W_enc.shape[1], W_enc)[: stop - start]
        torch.addmm(b_enc, x_in[start:stop], W_enc, out=buf)
        visit(start, stop, buf)


def relu_codes(
    x: Tensor,
    b_pre: Tensor | None,
    W_enc: Tensor,
    b_enc: Tensor,
    workspace: Workspace,
    threshold: Tensor | None = None,
) -> SparseCodes:
    """SparseCodes of ``relu(pre)`` (or ``pre * (pre > threshold)``), built chunk by chunk."""
    vals: list[Tensor] = []
    idx: list[Tensor] = []
    counts: list[Tensor] = []

    def visit(start: int, stop: int, pre: Tensor) -> None:
        if threshold is not None:
            pre.masked_fill_(pre <= threshold, 0.0)
        pre.relu_()
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
            csr = pre.to_sparse_csr()
        vals.append(csr.values())
        idx.append(csr.col_indices())
        counts.append(csr.crow_indices().diff())

    chunked_pre(x, b_pre, W_enc, b_enc, workspace, visit)
    offsets = torch.zeros(x.shape[0] + 1, dtype=torch.int64, device=x.device)
    offsets[1:] = torch.cat(counts).cumsum(0)
    return SparseCodes(torch.cat(vals), torch.cat(idx).long(), offsets, W_enc.shape[1])


@dataclass
class TopKSelection:
    """Result of :func:`topk_codes`."""

    codes: SparseCodes
    """The k largest (ReLU'd) pre-activations per token."""
    aux: SparseCodes | None
    """AuxK: the top ``aux_k`` pre-activations among ``aux_cols`` per token (None without)."""


def topk_codes(
    x: Tensor,
    b_pre: Tensor | None,
    W_enc: Tensor,
    b_enc: Tensor,
    workspace: Workspace,
    k: int,
    aux_cols: Tensor | None = None,
    aux_k: int = 0,
) -> TopKSelection:
    """Top-k latents per token (and the AuxK pick among ``aux_cols``) without a dense result."""
    n, d_sae = x.shape[0], W_enc.shape[1]
    vals = torch.empty(n, k, dtype=W_enc.dtype, device=x.device)  # [batch, k]
    idx = torch.empty(n, k, dtype=torch.int64, device=x.device)
    use_aux = aux_cols is not None and aux_cols.numel() > 0 and aux_k > 0
    ka = min(aux_k, aux_cols.numel()) if (use_aux and aux_cols is not None) else 0
    aux_vals = torch.empty(n, ka, dtype=W_enc.dtype, device=x.device)  # [batch, k_aux]
    aux_pos = torch.empty(n, ka, dtype=torch.int64, device=x.device)

    def visit(start: int, stop: int, pre: Tensor) -> None:
        torch.topk(pre, k, dim=-1, sorted=False, out=(vals[start:stop], idx[start:stop]))
        if ka:
            assert aux_cols is not None
            sub = pre.index_select(1, aux_cols)  # [chunk, n_dead]
            torch.topk(
                sub, ka, dim=-1, sorted=False, out=(aux_vals[start:stop], aux_pos[start:stop])
            )

    chunked_pre(x, b_pre, W_enc, b_enc, workspace, visit)
    vals.relu_()
    codes = SparseCodes.from_fixed_k(vals, idx, d_sae)
    aux = None
    if ka:
        assert aux_cols is not None
        aux_vals.relu_()
        aux = SparseCodes.from_fixed_k(aux_vals, aux_cols[aux_pos], d_sae)
    return TopKSelection(codes, aux)


def batch_topk_codes(
    x: Tensor,
    b_pre: Tensor | None,
    W_enc: Tensor,
    b_enc: Tensor,
    workspace: Workspace,
    k: int,
    aux_cols: Tensor | None = None,
    aux_k: int = 0,
) -> TopKSelection:
    """BatchTopK (Bussmann et al. 2024): the ``k * batch`` largest ReLU'd pre-activations.

    Exact and cheap: every token contributes at most ``m = 4k`` candidates (its own top m); if a
    token had all m candidates selected it might own more, and we redo that batch densely.
    """
    n, d_sae = x.shape[0], W_enc.shape[1]
    m = min(d_sae, 4 * k)
    sel = topk_codes(x, b_pre, W_enc, b_enc, workspace, m, aux_cols, aux_k)
    cand_vals = sel.codes.values.view(n, m)
    cand_idx = sel.codes.indices.view(n, m)
    total = min(k * n, n * m)
    _, pos = torch.topk(cand_vals.reshape(-1), total, sorted=False)
    mask = torch.zeros(n * m, dtype=torch.bool, device=x.device)
    mask[pos] = True
    mask = mask.view(n, m)
    if m < d_sae and bool(mask.all(dim=1).any()):
        pre = torch.addmm(b_enc, (x - b_pre if b_pre is not None else x).to(W_enc.dtype), W_enc)
        flat_vals, flat_pos = torch.topk(pre.relu().reshape(-1), k * n, sorted=False)
        dense = torch.zeros(n * d_sae, dtype=pre.dtype, device=x.device)
        keep = torch.zeros(n * d_sae, dtype=torch.bool, device=x.device)
        dense[flat_pos] = flat_vals
        keep[flat_pos] = True
        keep2 = keep.view(n, d_sae)
        counts = keep2.sum(1)
        cols = keep2.nonzero()[:, 1]
        values = dense.view(n, d_sae)[keep2]
    else:
        counts = mask.sum(1)
        values = cand_vals[mask]  # row-major, so CSR order
        cols = cand_idx[mask]
    offsets = torch.zeros(n + 1, dtype=torch.int64, device=x.device)
    offsets[1:] = counts.cumsum(0)
    return TopKSelection(SparseCodes(values, cols, offsets, d_sae), sel.aux)
