"""TopK SAE (Gao et al. 2024, "Scaling and evaluating sparse autoencoders").

Exactly ``k`` latents per token: ``f = relu(topk(pre))``. No sparsity penalty; dead latents are
revived by the AuxK loss: the ``aux_k`` largest pre-activations among latents that have not fired
over the dead window reconstruct the residual ``e = x - x_hat`` (without ``b_dec``), weighted by
``1/32`` and normalised by the residual's variance as in EleutherAI's sparsify. Decoder rows are
kept at unit norm. Training is sparse after the encoder GEMM (see ``sparse_ops``), which is what
makes TopK faster than a dense step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch import Tensor

from mistudio.core.sae.base import SAE, SAEConfig, SAEOutput, TrainContext, mse_loss
from mistudio.core.sae.registry import register_sae
from mistudio.core.sae.sparse_ops import (
    SparseCodes,
    TopKSelection,
    sparse_decode,
    sparse_encode,
    topk_codes,
)
from mistudio.errors import InvalidInputError

if TYPE_CHECKING:
    from mistudio.core.training.distributed import RankGroup


def global_variances(group: RankGroup, *parts: Tensor) -> list[Tensor]:
    """Total variance ``mean_b ||p_b - mean(p)||^2`` of each ``[rows, d]`` tensor over the rows
    of every rank (float64 sums, one all-reduce for all of them)."""
    n = float(parts[0].shape[0])
    stats = [torch.tensor([n], dtype=torch.float64, device=parts[0].device)]
    for p in parts:
        p64 = p.double()
        stats += [p64.sum(0), p64.pow(2).sum().reshape(1)]
    flat = group.sum_(torch.cat(stats))
    total = flat[0]
    out, offset = [], 1
    for p in parts:
        d = p.shape[1]
        mean = flat[offset : offset + d] / total
        sq = flat[offset + d] / total
        out.append((sq - mean.pow(2).sum()).clamp_min(0).to(p.dtype))
        offset += d + 1
    return out


@register_sae("topk")
class TopKSAE(SAE):
    """k active latents per token, AuxK for dead latents."""

    sparsity_control = "k"
    uses_dead_mask = True
    parameters_used: ClassVar[tuple[str, ...]] = ("k",)

    @classmethod
    def check_config(cls, cfg: SAEConfig) -> None:
        if cfg.k is None:
            raise InvalidInputError(f"{cls.architecture} needs k (active latents per token)")
        if not 0 < cfg.k < cfg.d_sae:
            raise InvalidInputError(f"k must be in 1..d_sae-1 ({cfg.d_sae - 1}), got {cfg.k}")

    @classmethod
    def selected_per_token(cls, cfg: SAEConfig) -> int:
        """Codes a training step keeps per token (BatchTopK's per-token count varies)."""
        return cfg.k or 1

    @classmethod
    def step_bytes(cls, cfg: SAEConfig, batch_tokens: int, aux_k: int) -> int:
        # One encoder chunk of [<=1024, d_sae] plus [batch, k + aux_k] codes (value + 3 indices).
        chunk = min(batch_tokens, 1024)
        per_token = cls.selected_per_token(cfg) + aux_k
        return chunk * cfg.d_sae * 4 + batch_tokens * per_token * (4 + 3 * 8)

    @classmethod
    def config_from_saelens(cls, cfg: dict[str, Any]) -> dict[str, Any] | None:
        return {"architecture": cls.architecture, "k": int(cfg["k"])}

    @property
    def k(self) -> int:
        assert self.cfg.k is not None
        return self.cfg.k

    def activate(self, pre: Tensor) -> Tensor:
        vals, idx = pre.topk(self.k, dim=-1, sorted=False)
        return torch.zeros_like(pre).scatter_(-1, idx, vals.relu())

    def select(
        self, x: Tensor, aux_cols: Tensor | None, aux_k: int, ctx: TrainContext | None = None
    ) -> TopKSelection:
        """Sparse codes for a training batch (overridden by BatchTopK; per token, so a shard of
        a batch selects what the whole batch would)."""
        return topk_codes(
            x, self.input_bias(), self.W_enc, self.b_enc, self.workspace, self.k, aux_cols, aux_k
        )

    def training_forward(self, x: Tensor, target: Tensor, ctx: TrainContext) -> SAEOutput:
        aux_cols = None
        n_dead = 0
        if ctx.dead_mask is not None:
            aux_cols = ctx.dead_mask.nonzero().squeeze(1)
            n_dead = aux_cols.numel()
        sel = self.select(x, aux_cols if n_dead else None, ctx.aux_k, ctx)
        codes = sel.codes
        bias = self.input_bias()
        vals = sparse_encode(codes, x, bias, self.W_enc, self.b_enc)  # [nnz]
        x_hat = self._add_skip(sparse_decode(vals, codes, self.W_dec) + self.b_dec, x)
        mse = mse_loss(x_hat, target)
        losses: dict[str, Tensor] = {"mse": mse}
        loss = mse
        if sel.aux is not None:
            aux = self._aux_loss(sel.aux, x, target, x_hat, n_dead, ctx)
            losses["aux"] = aux
            loss = loss + aux
        else:
            losses["aux"] = mse.new_zeros(())
        self._after_selection(codes, ctx)
        return SAEOutput(
            x_hat=x_hat,
            latents=None,
            loss=loss,
            losses=losses,
            l0=codes.l0(),
            fired=codes.fired(),
            codes=codes,
        )

    def _aux_loss(
        self,
        aux: SparseCodes,
        x: Tensor,
        target: Tensor,
        x_hat: Tensor,
        n_dead: int,
        ctx: TrainContext,
    ) -> Tensor:
        # Residual the dead latents should explain; its variance normalises the loss, rescaled to
        # the units of the main mse by the batch variance (so Adam sees sparsify's ratio).
        e = (target.float() - x_hat.float()).detach()  # [batch, d_out]
        aux_vals = sparse_encode(aux, x, self.input_bias(), self.W_enc, self.b_enc)
        e_hat = sparse_decode(aux_vals, aux, self.W_dec)
        tgt = target.float()
        if ctx.group is not None and ctx.group.distributed:
            # Both variances are of the whole batch, not of this rank's shard.
            var_e, var_x = global_variances(ctx.group, e, tgt.detach())
            var_e = var_e.clamp_min(1e-12)
        else:
            var_e = (e - e.mean(0)).pow(2).sum(-1).mean().clamp_min(1e-12)
            var_x = (tgt - tgt.mean(0)).pow(2).sum(-1).mean()
        scale = min(n_dead / max(ctx.aux_k, 1), 1.0)
        ratio = mse_loss(e_hat, e) / var_e
        out: Tensor = ctx.aux_coefficient * scale * ratio * var_x
        return out

    def _after_selection(self, codes: SparseCodes, ctx: TrainContext) -> None:
        """Hook for subclasses (BatchTopK updates its threshold)."""

    def saelens_extra_cfg(self) -> dict[str, Any]:
        return {"k": self.k, "rescale_acts_by_decoder_norm": False}
