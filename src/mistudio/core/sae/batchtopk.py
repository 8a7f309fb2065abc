"""BatchTopK SAE (Bussmann, Leask & Nanda 2024).

Training keeps the ``k * batch`` largest activations over the whole batch, so tokens share a
budget of ``k`` per token on average. Inference cannot depend on the batch, so a global
threshold is learned alongside: an exponential moving average of the smallest selected positive
activation of each batch (the paper's estimator; dictionary_learning uses beta 0.999). At
inference ``f = relu(pre) * (pre > threshold)``: a JumpReLU with one threshold, which is how it
is saved (architecture ``jumprelu``, ``threshold = ones(d_sae) * theta``, FORMATS §1).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from mistudio.core.sae.base import SAEConfig, TrainContext
from mistudio.core.sae.registry import register_sae
from mistudio.core.sae.sparse_ops import (
    SparseCodes,
    TopKSelection,
    Workspace,
    batch_topk_codes,
    topk_codes,
)
from mistudio.core.sae.topk import TopKSAE

if TYPE_CHECKING:
    from mistudio.core.training.distributed import RankGroup

THRESHOLD_BETA = 0.999
"""EMA decay of the inference threshold (dictionary_learning's default)."""


@register_sae("batchtopk")
class BatchTopKSAE(TopKSAE):
    """Top ``k * batch`` over the batch in training; a learned global threshold at inference."""

    saelens_names = ("jumprelu",)
    saelens_reader = False  # read back as a JumpReLU: the same function at inference

    threshold: Tensor

    @classmethod
    def selected_per_token(cls, cfg: SAEConfig) -> int:
        # The batch budget concentrates on some tokens; 4k per token bounds the peak in practice.
        return 4 * (cfg.k or 1)

    @classmethod
    def config_from_saelens(cls, cfg: dict[str, Any]) -> dict[str, Any] | None:
        return None

    def __init__(self, cfg: SAEConfig) -> None:
        super().__init__(cfg)
        # Scalar; < 0 means "not estimated yet" (inference then falls back to batch top-k).
        self.register_buffer(
            "threshold", torch.tensor(-1.0, dtype=torch.float32, device=self.W_enc.device)
        )

    def activate(self, pre: Tensor) -> Tensor:
        if float(self.threshold) < 0:
            flat = pre.relu().reshape(-1)
            vals, pos = flat.topk(self.k * pre.shape[0], sorted=False)
            return torch.zeros_like(flat).scatter_(0, pos, vals).view_as(pre)
        return torch.relu(pre) * (pre > self.threshold.to(pre.dtype))

    def select(
        self, x: Tensor, aux_cols: Tensor | None, aux_k: int, ctx: TrainContext | None = None
    ) -> TopKSelection:
        group = ctx.group if ctx is not None else None
        if group is not None and group.distributed:
            return global_batch_topk(
                x, self.input_bias(), self.W_enc, self.b_enc, self.workspace, self.k,
                aux_cols, aux_k, group,
            )  # fmt: skip
        return batch_topk_codes(
            x, self.input_bias(), self.W_enc, self.b_enc, self.workspace, self.k, aux_cols, aux_k
        )

    @torch.no_grad()
    def _after_selection(self, codes: SparseCodes, ctx: TrainContext) -> None:
        if not ctx.update_threshold:
            return
        positive = codes.values[codes.values > 0]
        group = ctx.group
        if group is not None and group.distributed:
            # The smallest selected activation of the whole batch, not of this shard.
            low = positive.min().float() if positive.numel() else codes.values.new_tensor(1e30)
            low = group.min_(low.float().reshape(1))[0]
            if float(low) >= 1e30:
                return
        elif positive.numel() == 0:
            return
        else:
            low = positive.min().float()
        if float(self.threshold) < 0:
            self.threshold.copy_(low)
        else:
            self.threshold.mul_(THRESHOLD_BETA).add_((1 - THRESHOLD_BETA) * low)

    def saelens_extra_cfg(self) -> dict[str, Any]:
        return {}

    def saelens_tensors(self) -> dict[str, Tensor]:
        out = self._base_tensors()
        theta = self.threshold.clamp_min(0).to(self.W_enc.dtype)
        out["threshold"] = (
            torch.ones(self.d_sae, dtype=self.W_enc.dtype, device=theta.device) * theta
        )
        return out


def _global_kth(values: Tensor, budget: int, group: RankGroup) -> float:
    """The ``budget``-th largest of ``values`` [n] over every rank: each rank sends only its own
    ``budget`` largest (no more can be among the global top)."""
    local = torch.topk(values, min(budget, values.numel()), sorted=False).values
    every = group.gather_rows(local.float(), fill=float("-inf"))
    return float(torch.topk(every, min(budget, every.numel()), sorted=False).values.min())


def _keep(values: Tensor, threshold: float) -> Tensor:
    """Selected entries for a global threshold; below a positive one nothing counts (a zero
    selected by a single process adds nothing to the output, L0 or any gradient)."""
    return values >= threshold if threshold > 0 else values > 0


def global_batch_topk(
    x: Tensor,
    b_pre: Tensor | None,
    W_enc: Tensor,
    b_enc: Tensor,
    workspace: Workspace,
    k: int,
    aux_cols: Tensor | None,
    aux_k: int,
    group: RankGroup,
) -> TopKSelection:
    """BatchTopK over a batch split across ranks: this rank's codes of the ``k * B`` largest
    activations of the *global* batch of ``B`` rows (what one process holding the whole batch
    selects, ties aside). Each rank proposes its top ``4k`` per token as in
    :func:`~mistudio.core.sae.sparse_ops.batch_topk_codes`; the global threshold is the
    ``k * B``-th largest candidate over ranks; when any rank has a token whose every candidate
    passes (it might own more), all ranks redo the selection over their full pre-activations."""
    n, d_sae = x.shape[0], W_enc.shape[1]
    rows = int(group.sum_(torch.tensor([n], device=x.device)).item())
    budget = k * rows
    m = min(d_sae, 4 * k)
    sel = topk_codes(x, b_pre, W_enc, b_enc, workspace, m, aux_cols, aux_k)
    cand = sel.codes.values.view(n, m)  # [n, m], ReLU'd
    cand_idx = sel.codes.indices.view(n, m)
    mask = _keep(cand, _global_kth(cand.reshape(-1), budget, group))
    if m < d_sae and group.any(bool(mask.all(dim=1).any())):
        pre = torch.addmm(b_enc, (x - b_pre if b_pre is not None else x).to(W_enc.dtype), W_enc)
        acts = pre.relu()  # [n, d_sae]
        keep = _keep(acts, _global_kth(acts.reshape(-1), budget, group))
        counts = keep.sum(1)
        cols = keep.nonzero()[:, 1]
        values = acts[keep]
    else:
        counts = mask.sum(1)
        values = cand[mask]
        cols = cand_idx[mask]
    offsets = torch.zeros(n + 1, dtype=torch.int64, device=x.device)
    offsets[1:] = counts.cumsum(0)
    return TopKSelection(SparseCodes(values, cols, offsets, d_sae), sel.aux)
