"""TopK SAE with a linear skip, or a TopK transcoder: EleutherAI sparsify's ``skip_connection``
and ``transcode`` variants; inference only.

sparsify encodes ``topk(relu((x - b_dec?) @ W_enc + b_enc))`` (``b_dec`` is not subtracted when
transcoding), decodes ``f @ W_dec + b_dec`` and adds ``x @ W_skip.T`` on the raw input when it has
a skip. That is our :class:`TopKSAE` with ``apply_b_dec_to_input`` from the config, an optional
``W_skip`` and a ``d_out`` of its own. SAELens has no TopK transcoder, so only the plain form
(no skip, ``d_out == d_in``) can be written as a SAELens folder (``topk``); the others refuse to
be exported in one line.
"""

from __future__ import annotations

from typing import Any, ClassVar

from torch import Tensor

from mistudio.core.sae.base import SAEConfig, SAEOutput, TrainContext
from mistudio.core.sae.registry import register_sae
from mistudio.core.sae.topk import TopKSAE
from mistudio.errors import InvalidInputError


@register_sae("topk_transcoder")
class TopKTranscoderSAE(TopKSAE):
    """TopK SAE or transcoder with an optional linear skip (sparsify's variants)."""

    trainable: ClassVar[bool] = False
    reconstructs_other_hook = True
    denormalizes_output = False
    parameters_used = ("k", "skip")
    saelens_names = ("topk",)
    saelens_reader = False  # a SAELens topk folder reads back as TopKSAE

    @classmethod
    def skip_in(cls, cfg: SAEConfig) -> bool:
        return cfg.skip

    @classmethod
    def config_from_saelens(cls, cfg: dict[str, Any]) -> dict[str, Any] | None:
        return {"architecture": cls.architecture, "k": int(cfg["k"])}

    def training_forward(self, x: Tensor, target: Tensor, ctx: TrainContext) -> SAEOutput:
        raise InvalidInputError(
            "TopK transcoders are imported for inference only; they cannot be trained"
        )

    def saelens_tensors(self) -> dict[str, Tensor]:
        if self.has_skip or self.d_out != self.d_in:
            raise InvalidInputError(
                "a TopK SAE with a skip connection or another output width has no SAELens "
                "architecture; it cannot be written as a SAELens folder"
            )
        return super().saelens_tensors()
