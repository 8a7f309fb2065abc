"""TopK SAE with a linear skip, or a TopK transcoder: EleutherAI sparsify's ``skip_connection``
and ``transcode`` variants; inference only.

sparsify encodes ``topk(relu((x - b_dec?) @ W_enc + b_enc))`` (``b_dec`` is not subtracted when
transcoding), decodes ``f @ W_dec + b_dec`` and adds ``x @ W_skip.T`` on the raw input when it has
a skip. That is our :class:`TopKSAE` with ``apply_b_dec_to_input`` from the config, an optional
``W_skip`` and a ``d_out`` of its own. SAELens (6.54) has no TopK transcoder: the plain form (no
skip, ``d_out == d_in``) is stored as a SAELens ``topk`` folder; the others are stored in the same
folder layout under our own architecture name ``topk_transcoder`` (cfg keys ``k``, ``d_out``,
``skip``; tensors as SAELens' skip transcoder, ``W_skip[d_out, d_in]``), which our loader reads
and which an export to SAELens refuses in one line (:data:`SAELENS_ARCHITECTURES`).
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
    saelens_names = ("topk", "topk_transcoder")
    saelens_reader = False  # a SAELens topk folder reads back as TopKSAE

    @classmethod
    def skip_in(cls, cfg: SAEConfig) -> bool:
        return cfg.skip

    @classmethod
    def config_from_saelens(cls, cfg: dict[str, Any]) -> dict[str, Any] | None:
        fields = {"architecture": cls.architecture, "k": int(cfg["k"])}
        if cfg["architecture"] == "topk_transcoder":
            fields |= {"d_out": int(cfg["d_out"]), "skip": bool(cfg.get("skip"))}
        return fields

    def saelens_architecture(self) -> str:
        return "topk_transcoder" if self.has_skip or self.d_out != self.d_in else "topk"

    def saelens_extra_cfg(self) -> dict[str, Any]:
        extra = super().saelens_extra_cfg()
        if self.saelens_architecture() == "topk_transcoder":
            extra |= {"d_out": self.d_out, "skip": self.has_skip}
        return extra

    def training_forward(self, x: Tensor, target: Tensor, ctx: TrainContext) -> SAEOutput:
        raise InvalidInputError(
            "TopK transcoders are imported for inference only; they cannot be trained"
        )
