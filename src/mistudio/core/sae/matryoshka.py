"""Matryoshka BatchTopK SAE (Bussmann, Nabeshima, Karvonen & Nanda 2025, "Learning
Multi-Level Features with Matryoshka Sparse Autoencoders").

The dictionary is read as nested prefixes ``W_dec[:m_1] ⊂ W_dec[:m_2] ⊂ ... ⊂ W_dec[:d_sae]``
(``SAEConfig.matryoshka_widths``). Latents are chosen once per batch by BatchTopK; every prefix
then reconstructs the input from its own latents only, and the loss is the sum of the prefixes'
squared errors (the full width's is the ordinary MSE, plus AuxK on dead latents). The early
latents must reconstruct without the later ones, so general features settle there instead of
being absorbed into specific ones. This is SAELens' ``MatryoshkaBatchTopKTrainingSAE`` (inner
losses of weight 1 added to the base BatchTopK loss, AuxK over the whole SAE, its default) and
dictionary_learning's ``MatryoshkaBatchTopKSAE`` with equal prefix weights.

At inference it is a BatchTopK SAE: one learned global threshold, saved as SAELens ``jumprelu``
with ``threshold = ones(d_sae) * theta`` and read back as a JumpReLU (the same function). The
prefix widths are a training fact; they are recorded in ``training.json`` with the config.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor

from mistudio.core.sae.base import SAE, SAEConfig, SAEOutput, TrainContext, mse_loss
from mistudio.core.sae.batchtopk import BatchTopKSAE
from mistudio.core.sae.registry import register_sae
from mistudio.core.sae.sparse_ops import sparse_decode, sparse_encode
from mistudio.errors import InvalidInputError


def prefix_widths(cfg: SAEConfig) -> list[int]:
    """The nested widths of ``cfg``, strictly increasing and ending at ``d_sae``."""
    widths = (
        list(cfg.matryoshka_widths)
        if cfg.matryoshka_widths
        else [w for w in (cfg.d_sae // 16, cfg.d_sae // 4) if w > 0]
    )
    if not widths or widths[-1] != cfg.d_sae:
        widths.append(cfg.d_sae)
    return sorted(set(widths))


@register_sae("matryoshka_batchtopk")
class MatryoshkaBatchTopKSAE(BatchTopKSAE):
    """BatchTopK with nested dictionary prefixes, each with its own reconstruction loss."""

    parameters_used: ClassVar[tuple[str, ...]] = ("k", "matryoshka_widths")

    @classmethod
    def check_config(cls, cfg: SAEConfig) -> None:
        super().check_config(cfg)
        given = cfg.matryoshka_widths
        if given is None:
            return
        if not given:
            raise InvalidInputError("matryoshka_widths must not be empty (or null for defaults)")
        if any(w <= 0 for w in given) or given[-1] > cfg.d_sae:
            raise InvalidInputError(
                f"matryoshka_widths must lie in 1..d_sae ({cfg.d_sae}), got {given}"
            )
        if any(b <= a for a, b in zip(given, given[1:], strict=False)):
            raise InvalidInputError(f"matryoshka_widths must be strictly increasing, got {given}")

    @property
    def widths(self) -> list[int]:
        return prefix_widths(self.cfg)

    def training_forward(self, x: Tensor, target: Tensor, ctx: TrainContext) -> SAEOutput:
        out = super().training_forward(x, target, ctx)
        codes = out.codes
        assert codes is not None  # the BatchTopK forward is sparse
        # The values with the encoder's gradient attached, as the base forward built them (an
        # nnz x d_in product, small beside the encoder GEMM), so each prefix's loss reaches it.
        vals = sparse_encode(codes, x, self.input_bias(), self.W_enc, self.b_enc)  # [nnz]
        losses = dict(out.losses)
        loss = out.loss
        for width in self.widths[:-1]:  # the full width's loss is the base mse
            inner = vals * (codes.indices < width).to(vals.dtype)  # [nnz], later latents zeroed
            x_hat = self._add_skip(sparse_decode(inner, codes, self.W_dec) + self.b_dec, x)
            prefix = mse_loss(x_hat, target)
            losses[f"mse_{width}"] = prefix.detach()
            loss = loss + prefix
        return out._replace(loss=loss, losses=losses)


def prefix_fvu(sae: SAE, x: Tensor, widths: list[int]) -> list[float]:
    """FVU of each prefix's reconstruction of ``x[n, d_in]`` (the latents of the full SAE at
    inference, those at or past the width zeroed): the curve a Matryoshka SAE is trained to make
    fall as prefixes grow. Works on any SAE, loaded Matryoshka ones included (as JumpReLU)."""
    with torch.no_grad():
        latents = sae.encode(x)  # [n, d_sae]
        total = (x - x.mean(0)).double().pow(2).sum()
        out = []
        for width in widths:
            kept = latents.clone()
            kept[:, width:] = 0
            err = (sae.decode(kept, x) - x).double().pow(2).sum()
            out.append(float(err / total))
    return out
