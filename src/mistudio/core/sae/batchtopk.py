"""BatchTopK SAE (Bussmann, Leask & Nanda 2024).

Training keeps the ``k * batch`` largest activations over the whole batch, so tokens share a
budget of ``k`` per token on average. Inference cannot depend on the batch, so a global
threshold is learned alongside: an exponential moving average of the smallest selected positive
activation of each batch (the paper's estimator; dictionary_learning uses beta 0.999). At
inference ``f = relu(pre) * (pre > threshold)``: a JumpReLU with one threshold, which is how it
is saved (architecture ``jumprelu``, ``threshold = ones(d_sae) * theta``, FORMATS §1).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from mistudio.core.sae.base import SAEConfig, TrainContext
from mistudio.core.sae.registry import register_sae
from mistudio.core.sae.sparse_ops import SparseCodes, TopKSelection, batch_topk_codes
from mistudio.core.sae.topk import TopKSAE

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

    def select(self, x: Tensor, aux_cols: Tensor | None, aux_k: int) -> TopKSelection:
        return batch_topk_codes(
            x, self.input_bias(), self.W_enc, self.b_enc, self.workspace, self.k, aux_cols, aux_k
        )

    @torch.no_grad()
    def _after_selection(self, codes: SparseCodes, ctx: TrainContext) -> None:
        if not ctx.update_threshold:
            return
        positive = codes.values[codes.values > 0]
        if positive.numel() == 0:
            return
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
