"""Sparse autoencoder architectures behind one interface, and the SAELens folder format.

Adding an architecture is one new module with ``@register_sae("name")`` plus one import here:
importing the modules below is what registers the built-ins in :mod:`mistudio.core.sae.registry`
(Python runs this file before any module of the package, so a lookup always sees them). The
modules import the registry module, never this package, so the package has no import cycle.
"""

from mistudio.core.sae.base import (
    SAE,
    SAEConfig,
    SAEOutput,
    TrainContext,
    build_sae,
    geometric_median,
)
from mistudio.core.sae.batchtopk import BatchTopKSAE
from mistudio.core.sae.gated import GatedSAE
from mistudio.core.sae.jumprelu import JumpReLUSAE
from mistudio.core.sae.jumprelu_transcoder import JumpReLUTranscoderSAE
from mistudio.core.sae.matryoshka import MatryoshkaBatchTopKSAE
from mistudio.core.sae.registry import register_sae, registered_architectures, sae_class
from mistudio.core.sae.saelens_format import load_sae, save_sae
from mistudio.core.sae.sparse_ops import SparseCodes
from mistudio.core.sae.standard import StandardSAE
from mistudio.core.sae.topk import TopKSAE
from mistudio.core.sae.topk_transcoder import TopKTranscoderSAE
from mistudio.core.sae.transcoder import StandardSkipSAE, TranscoderSAE

__all__ = [
    "SAE",
    "BatchTopKSAE",
    "GatedSAE",
    "JumpReLUSAE",
    "JumpReLUTranscoderSAE",
    "MatryoshkaBatchTopKSAE",
    "SAEConfig",
    "SAEOutput",
    "SparseCodes",
    "StandardSAE",
    "StandardSkipSAE",
    "TopKSAE",
    "TopKTranscoderSAE",
    "TrainContext",
    "TranscoderSAE",
    "build_sae",
    "geometric_median",
    "load_sae",
    "register_sae",
    "registered_architectures",
    "sae_class",
    "save_sae",
]
