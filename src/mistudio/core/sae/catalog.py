"""What the registry tells a client about each trainable SAE architecture (served at
``/saes/architectures``).

Everything here is read off the registered classes and the :class:`SAEConfig` field docs, so the
studio's form (which fields to show, whether L0 is a ``k`` or a target for a penalty, whether an
output hook is needed) follows a new architecture without a frontend change.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from mistudio.core.sae.base import SAEConfig, SparsityControl
from mistudio.core.sae.registry import sae_class, trainable_architectures


class ArchitectureParameter(BaseModel):
    """One SAEConfig field an architecture reads beyond the shape."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    name: str
    """Field name in ``SAEConfig``."""
    default: Any
    """Its default (None: required or chosen by the form, e.g. ``k``)."""
    doc: str
    """The field's documentation."""
    is_list: bool = False
    """Whether it takes a list of numbers (``matryoshka_widths``) rather than one value."""


class ArchitectureInfo(BaseModel):
    """The facts of one registered SAE architecture."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    name: str
    """Registry name (``SAEConfig.architecture``)."""
    description: str
    """One line on what it is."""
    sparsity_control: SparsityControl
    """``penalty``: set ``sparsity_coefficient`` or ``target_l0``; ``k``: set ``sae.k``;
    ``threshold``: neither."""
    sparsity_penalty: str | None
    """What the coefficient weighs (``l1``, ``l0``), None when sparsity is structural."""
    parameters: list[ArchitectureParameter]
    """SAEConfig fields it reads beyond the shape."""
    reconstructs_other_hook: bool
    """Reads one hook point and reconstructs another (needs ``hook_name_out``)."""
    supports_resampling: bool
    """Dead latents may be re-initialised at ``resample_steps``."""
    uses_aux_loss: bool
    """Dead latents are revived by an auxiliary loss (AuxK) rather than resampling."""
    saelens_names: list[str]
    """SAELens ``cfg.json`` architectures it is saved as."""


def architecture_info(name: str) -> ArchitectureInfo:
    """The facts of the architecture registered as ``name``."""
    cls = sae_class(name)
    fields = SAEConfig.model_fields
    params = [
        ArchitectureParameter(
            name=p,
            default=fields[p].default,
            doc=" ".join((fields[p].description or "").split()),
            is_list="list[" in str(fields[p].annotation),
        )
        for p in cls.parameters_used
    ]
    return ArchitectureInfo(
        name=name,
        description=cls.description(),
        sparsity_control=cls.sparsity_control,
        sparsity_penalty=cls.sparsity_penalty,
        parameters=params,
        reconstructs_other_hook=cls.reconstructs_other_hook,
        supports_resampling=cls.supports_resampling,
        uses_aux_loss=cls.uses_dead_mask,
        saelens_names=list(cls.saelens_names or (name,)),
    )


def architecture_catalog() -> list[ArchitectureInfo]:
    """Every architecture the trainer can train, by name (the studio's training form offers
    these; inference-only classes such as ``gated``, read from other tools' files, are left
    out)."""
    return [architecture_info(name) for name in trainable_architectures()]
