"""Standard ReLU SAE with the decoder-norm-weighted L1 penalty (Anthropic, April 2024 update).

``f = relu((x - b_dec) @ W_enc + b_enc)``,
loss ``||x - x_hat||^2 + lambda * sum_i f_i ||W_dec_i||``.
Decoder rows are not constrained to unit norm (the penalty makes the scale honest instead) and
start at norm 0.1 with ``W_enc = W_dec.T``, as in the update. Once training has made the codes
sparse (measured density below :data:`SPARSE_DENSITY`), the CPU training forward switches to the
sparse kernels of :mod:`~mistudio.core.sae.sparse_ops`; the math is the same.
"""

from __future__ import annotations

import torch
from torch import Tensor

from mistudio.core.sae.base import (
    SAE,
    SAEConfig,
    SAEOutput,
    TrainContext,
    mse_loss,
    register_sae,
)
from mistudio.core.sae.sparse_ops import relu_codes, sparse_decode, sparse_encode

SPARSE_DENSITY = 0.05
"""Below this fraction of active latents the sparse path beats dense GEMMs on CPU (measured)."""


@register_sae("standard")
class StandardSAE(SAE):
    """ReLU SAE, L1 penalty weighted by decoder row norms."""

    unit_norm_decoder = False
    sparsity_penalty = "l1"
    default_init_decoder_norm = 0.1

    def __init__(self, cfg: SAEConfig) -> None:
        super().__init__(cfg)
        self.last_density = 1.0

    def activate(self, pre: Tensor) -> Tensor:
        return torch.relu(pre)

    def use_sparse_path(self, x: Tensor) -> bool:
        return (not x.is_cuda) and self.last_density < SPARSE_DENSITY

    def training_forward(self, x: Tensor, target: Tensor, ctx: TrainContext) -> SAEOutput:
        batch = x.shape[0]
        norms = self.W_dec.norm(dim=-1)  # [d_sae]
        latents: Tensor | None = None
        codes = None
        if self.use_sparse_path(x):
            codes = relu_codes(x, self.input_bias(), self.W_enc, self.b_enc, self.workspace)
            vals = sparse_encode(codes, x, self.input_bias(), self.W_enc, self.b_enc)  # [nnz]
            x_hat = self._add_skip(sparse_decode(vals, codes, self.W_dec) + self.b_dec, x)
            l1 = (vals * norms[codes.indices]).sum() / batch
            l0 = codes.l0()
            fired = codes.fired()
        else:
            # In-place ReLU (addmm's backward does not need its output) and the L1 as a
            # [d_sae] dot product: no extra [batch, d_sae] temporaries on the dense path.
            latents = torch.relu_(self.pre_activation(x))  # [batch, d_sae]
            x_hat = self.decode(latents, x)
            l1 = (latents.sum(0) * norms).sum() / batch
            active = latents > 0
            l0 = active.sum(-1).float().mean()
            fired = active.sum(0)
        mse = mse_loss(x_hat, target)
        sparsity = ctx.sparsity_coefficient * l1
        self.last_density = float(l0) / self.d_sae
        return SAEOutput(
            x_hat=x_hat,
            latents=latents,
            loss=mse + sparsity,
            losses={"mse": mse, "sparsity": sparsity, "l1": l1.detach()},
            l0=l0,
            fired=fired,
            codes=codes,
        )
