"""JumpReLU transcoders, with or without a linear skip: SAELens ``jumprelu_transcoder`` and
``jumprelu_skip_transcoder``, which is what Gemma Scope 2's transcoders are (their affine skip
connection is ``W_skip``); inference only.

The encoder is a JumpReLU (``relu(pre) * (pre > threshold)``) reading one hook point, the decoder
writes ``d_out`` features of another, ``b_dec`` lives in output space and is never subtracted
from the input, and the skip variant adds ``x @ W_skip.T``. SAELens' transcoders do not undo an
input normalisation on their output (``Transcoder.decode``), so neither does this class.

Training would go through :class:`JumpReLUSAE`'s forward unchanged, but no test walks it through
the trainer yet, so the catalog does not offer it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from torch import Tensor

from mistudio.core.sae.base import SAEConfig, SAEOutput, TrainContext
from mistudio.core.sae.jumprelu import JumpReLUSAE
from mistudio.core.sae.registry import register_sae
from mistudio.errors import InvalidInputError


@register_sae("jumprelu_transcoder")
class JumpReLUTranscoderSAE(JumpReLUSAE):
    """JumpReLU transcoder ``d_in -> d_sae -> d_out`` with an optional linear skip."""

    trainable: ClassVar[bool] = False
    default_apply_b_dec_to_input = False
    reconstructs_other_hook = True
    denormalizes_output = False
    supports_resampling = False
    parameters_used = ("skip",)
    saelens_names: ClassVar[tuple[str, ...]] = ("jumprelu_transcoder", "jumprelu_skip_transcoder")

    @classmethod
    def skip_in(cls, cfg: SAEConfig) -> bool:
        return cfg.skip

    @classmethod
    def config_from_saelens(cls, cfg: dict[str, Any]) -> dict[str, Any] | None:
        skip = cfg["architecture"] == "jumprelu_skip_transcoder"
        d_out = int(cfg.get("d_out") or cfg["d_in"])
        return {"architecture": cls.architecture, "d_out": d_out, "skip": skip}

    def training_forward(self, x: Tensor, target: Tensor, ctx: TrainContext) -> SAEOutput:
        raise InvalidInputError(
            "JumpReLU transcoders are imported for inference only; they cannot be trained"
        )

    def saelens_architecture(self) -> str:
        return "jumprelu_skip_transcoder" if self.has_skip else "jumprelu_transcoder"

    def saelens_extra_cfg(self) -> dict[str, Any]:
        return {"d_out": self.d_out}
