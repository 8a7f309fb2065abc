"""Transcoder: reads one hook point and reconstructs another (Dunefsky et al. 2024).

A ReLU SAE whose decoder writes ``d_out`` features of a different activation (typically reading
the MLP input and predicting the MLP output), with the same decoder-norm-weighted L1 as
:class:`~mistudio.core.sae.standard.StandardSAE`, and optionally a learned linear skip
``x @ W_skip.T`` (skip transcoders, Paulo et al. 2025) that carries the linear part of the map so
latents spend their capacity on the rest. ``b_dec`` lives in output space, so it is not
subtracted from the input (SAELens ``apply_b_dec_to_input: false``). Saved as SAELens
``transcoder`` or ``skip_transcoder``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from mistudio.core.sae.base import SAEConfig
from mistudio.core.sae.registry import register_sae
from mistudio.core.sae.standard import StandardSAE


@register_sae("transcoder")
class TranscoderSAE(StandardSAE):
    """ReLU transcoder ``d_in -> d_sae -> d_out`` with an optional skip path."""

    default_apply_b_dec_to_input = False
    reconstructs_other_hook = True
    denormalizes_output = False  # as SAELens' Transcoder.decode
    supports_resampling = False
    parameters_used: ClassVar[tuple[str, ...]] = ("skip",)
    saelens_names: ClassVar[tuple[str, ...]] = ("transcoder", "skip_transcoder")

    @classmethod
    def skip_in(cls, cfg: SAEConfig) -> bool:
        return cfg.skip

    @classmethod
    def config_from_saelens(cls, cfg: dict[str, Any]) -> dict[str, Any] | None:
        skip = cfg["architecture"] == "skip_transcoder"
        return {"architecture": cls.architecture, "d_out": int(cfg["d_out"]), "skip": skip}

    def saelens_architecture(self) -> str:
        return "skip_transcoder" if self.has_skip else "transcoder"

    def saelens_extra_cfg(self) -> dict[str, Any]:
        return {"d_out": self.d_out}


@register_sae("standard_skip")
class StandardSkipSAE(TranscoderSAE):
    """A standard ReLU SAE plus a learned linear skip ``W_skip[d_in, d_in]``.

    Stored as a ``skip_transcoder`` whose output hook is its input hook (the form SAELens knows).
    """

    reconstructs_other_hook = False
    parameters_used = ()
    saelens_names = ("skip_transcoder",)
    saelens_reader = False  # only a file we wrote (metadata names us) loads back as this class

    @classmethod
    def skip_in(cls, cfg: SAEConfig) -> bool:
        return True

    @classmethod
    def config_from_saelens(cls, cfg: dict[str, Any]) -> dict[str, Any] | None:
        if int(cfg.get("d_out", cfg["d_in"])) != int(cfg["d_in"]):
            return None
        return {"architecture": cls.architecture}
