"""The architecture registry: SAE classes by name.

Each architecture module registers its class with ``@register_sae("name")``; config validation,
the trainer, the memory estimate, the SAELens reader and the catalog the API serves look classes
up here, so no module outside ``core/sae/`` names an architecture.

This module imports no architecture (the classes are only named for typing), so every module of
the package can import it without a cycle. The built-ins are registered by the package's
``__init__``, which imports each architecture module; since Python runs a package's ``__init__``
before any of its modules, importing this module (or any ``mistudio.core.sae.*``) means every
built-in is registered by the time a lookup runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from mistudio.errors import InvalidInputError

if TYPE_CHECKING:
    from mistudio.core.sae.base import SAE

SAEType = TypeVar("SAEType", bound="type[SAE]")
_REGISTRY: dict[str, type[SAE]] = {}


def register_sae(name: str) -> Callable[[SAEType], SAEType]:
    """Class decorator: make an architecture buildable by name."""

    def deco(cls: SAEType) -> SAEType:
        cls.architecture = name
        _REGISTRY[name] = cls
        return cls

    return deco


def sae_class(name: str) -> type[SAE]:
    """The class registered under ``name``."""
    if name not in _REGISTRY:
        raise InvalidInputError(
            f"unknown SAE architecture {name!r}; known: {', '.join(sorted(_REGISTRY))}"
        )
    return _REGISTRY[name]


def registered_architectures() -> list[str]:
    """The registered names, sorted (trainable or not)."""
    return sorted(_REGISTRY)


def trainable_architectures() -> list[str]:
    """The names the trainer can train, sorted (inference-only imports such as ``gated`` left
    out)."""
    return sorted(name for name, cls in _REGISTRY.items() if cls.trainable)


def saelens_reader(
    saelens_arch: str, ours: str | None, cfg: dict[str, Any]
) -> tuple[type[SAE], dict[str, Any]]:
    """The class that rebuilds a SAELens cfg.json of architecture ``saelens_arch``, and its fields.

    ``ours`` is ``metadata.mistudio_architecture``: the class that wrote the file is asked first,
    then the default reader of that SAELens name.
    """
    first = [_REGISTRY[ours]] if ours in _REGISTRY else []
    for cls in first + [c for c in _REGISTRY.values() if c.saelens_reader]:
        if saelens_arch not in (cls.saelens_names or (cls.architecture,)):
            continue
        fields = cls.config_from_saelens(cfg)
        if fields is not None:
            return cls, fields
    raise InvalidInputError(f"SAELens architecture {saelens_arch!r} is not supported yet")
