"""Gated SAE (Rajamanoharan et al. 2024, "Improving Dictionary Learning with Gated Sparse
Autoencoders"), read from SAELens ``gated`` folders and dictionary_learning's
``GatedAutoEncoder``; inference only.

One encoder matrix serves two paths: a gate ``x' @ W_enc + b_gate > 0`` decides which latents
are active, and a magnitude ``relu(x' @ (W_enc * exp(r_mag)) + b_mag)`` says how much
(``x' = x - b_dec``). ``b_enc`` holds ``b_gate`` (so :meth:`pre_activation` is the gate's
pre-activation); the file names it ``b_gate``. The magnitude path multiplies ``W_enc`` by
``exp(r_mag)`` before the product, as SAELens' ``GatedSAE.encode`` does, so outputs match it to
the last bit rather than to rounding. Folding a dataset-wide input scale
(:meth:`SAE.fold_activation_scale`) scales ``W_enc``, which both paths read, so it needs nothing
of its own.

Not trainable here: the gated loss (an auxiliary reconstruction through the gate path with a
frozen decoder) has no caller yet, so the catalog does not offer it.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor, nn

from mistudio.core.sae.base import SAE, SAEConfig, SAEOutput, TrainContext
from mistudio.core.sae.registry import register_sae
from mistudio.errors import InvalidInputError


@register_sae("gated")
class GatedSAE(SAE):
    """Gated SAE: a gate picks the active latents, a rescaled path sets their size."""

    trainable: ClassVar[bool] = False

    def __init__(self, cfg: SAEConfig) -> None:
        super().__init__(cfg)
        dtype, device = self.W_enc.dtype, self.W_enc.device
        self.b_mag = nn.Parameter(torch.zeros(self.d_sae, dtype=dtype, device=device))  # [d_sae]
        self.r_mag = nn.Parameter(torch.zeros(self.d_sae, dtype=dtype, device=device))  # [d_sae]

    def activate(self, pre: Tensor) -> Tensor:
        raise InvalidInputError("a gated SAE's latents need the input: call encode(x)")

    def encode(self, x: Tensor) -> Tensor:
        """x [batch, d_in] -> latents [batch, d_sae]."""
        x = self.normalize_input(x)
        bias = self.input_bias()
        x_in = (x - bias if bias is not None else x).to(self.W_enc.dtype)  # [batch, d_in]
        gate = (x_in @ self.W_enc + self.b_enc) > 0  # [batch, d_sae]
        magnitude = torch.relu(x_in @ (self.W_enc * self.r_mag.exp()) + self.b_mag)
        return gate.to(magnitude.dtype) * magnitude

    def training_forward(self, x: Tensor, target: Tensor, ctx: TrainContext) -> SAEOutput:
        raise InvalidInputError(
            "gated SAEs are imported for inference only; they cannot be trained"
        )

    def saelens_tensors(self) -> dict[str, Tensor]:
        out = self._base_tensors()
        out["b_gate"] = out.pop("b_enc")
        out["b_mag"] = self.b_mag.detach()
        out["r_mag"] = self.r_mag.detach()
        return out

    def load_saelens_tensors(self, tensors: dict[str, Tensor]) -> None:
        missing = sorted({"b_gate", "b_mag", "r_mag"} - set(tensors))
        if missing:
            raise InvalidInputError(f"a gated sae_weights.safetensors lacks {', '.join(missing)}")
        for name in ("b_mag", "r_mag"):
            if tuple(tensors[name].shape) != (self.d_sae,):
                raise InvalidInputError(
                    f"tensor {name} has shape {tuple(tensors[name].shape)}, "
                    f"expected ({self.d_sae},)"
                )
        super().load_saelens_tensors({**tensors, "b_enc": tensors["b_gate"]})
        with torch.no_grad():
            self.b_mag.copy_(tensors["b_mag"].to(self.b_mag.dtype))
            self.r_mag.copy_(tensors["r_mag"].to(self.r_mag.dtype))
