"""The steps every SAE reader takes, written once: read the source's files, build our SAE from
the checked tensors, return the :class:`ImportedSAE`.

A reader keeps what is particular to its format: which files, which tensors in which orientation,
what it folds into them, which architecture computes the source's forward, and which hook, model
and reshape the source names. The rest is here:

- :func:`read_source` reads a JSON config and the safetensors file beside it, the config first,
  so a folder missing both names the config; each missing or unreadable file is one line.
- :func:`config_value` reads one key of a config as the JSON type the reader needs (a string, a
  number, true/false, an object; ``metadata.hook_name`` reaches into an object), and
  :func:`dims` a positive integer size. A value of another type is one line naming the file, the
  key, what was expected and what was found, never a TypeError from deep in a reader. A missing
  or null value is None (unknown to the source), which a reader replaces with its default.
- :class:`Site` holds the names. The same object fills the :class:`ImportedSAE` fields and the
  lineage metadata of our SAE's own config (``SAEConfig.metadata``, written to cfg.json when the
  SAE is saved): names the source leaves unknown are left out, and ``reshape_activations``
  appears only when inputs are reshaped.
- :func:`built_sae` sizes the SAE from the tensors the reader has checked (``W_enc`` gives
  ``d_in`` and ``d_sae``; a transcoder's ``d_out`` is ``W_dec``'s width, an SAE's stays None;
  a ``W_skip`` makes a skip path), so the config cannot disagree with the weights, then loads
  them under SAELens names. :meth:`SAE.load_saelens_tensors` compares every shape once more,
  after the reader has named any mismatch in the source's own terms.
- :func:`imported_sae` puts the SAE in inference mode on the requested device and returns it
  with the names, the metadata and the sha256 of each file read. It drops nothing from the
  metadata: readers say which of their values may be unknown (:func:`known`).

Readers whose SAE keeps the source's precision (sparsify, Llama Scope) name the stored dtype with
:func:`dtype_name`; the others build float32, the default.
"""

from __future__ import annotations

import math
import reprlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar, NamedTuple, TypeVar

import torch
from torch import Tensor

from mistudio.core.formats.registry import (
    ImportedSAE,
    ReadRequest,
    file_hashes,
    load_safetensors,
    need_file,
    read_json,
)
from mistudio.core.sae.base import DTYPES, SAE, SAEConfig, build_sae
from mistudio.core.sae.registry import sae_class
from mistudio.errors import InvalidInputError

T = TypeVar("T", str, int, float, bool, dict[str, Any])


class SourceFiles(NamedTuple):
    """A format's JSON config and the tensors beside it, as the source names them."""

    config: dict[str, Any]
    """The config file's JSON object, verbatim."""
    tensors: dict[str, Tensor]
    """Every tensor of the weights file, on CPU, under the file's own names."""


def read_source(folder: Path, fmt: str, config_file: str, weights_file: str) -> SourceFiles:
    """The JSON config and the safetensors weights of a ``fmt`` folder."""
    config = read_json(need_file(folder, config_file, fmt))
    return SourceFiles(config, load_safetensors(need_file(folder, weights_file, fmt)))


_EXPECTED: dict[type, str] = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
    dict: "an object",
}
"""What a config value of each kind is called in an error (``must be a string``)."""
_FOUND: dict[type, str] = {str: "the string", list: "an array", dict: "an object"}
"""What a JSON string, array or object is called where it was found instead."""


def _found(value: Any) -> str:
    """A config value as an error message names it: its JSON type, and the value when short."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return f"the number {value}"
    return f"{_FOUND.get(type(value), 'a value')} {reprlib.repr(value)}"


def _is(value: Any, kind: type) -> bool:
    """Whether a JSON value is a ``kind``: an int where a float is wanted, an integral number
    where an int is (``4.0``); never a boolean, NaN or an infinity (Python's JSON reads those)
    for a number."""
    if kind not in (int, float):
        return isinstance(value, kind)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return False
    return kind is float or isinstance(value, int) or value.is_integer()


def config_value(
    config: dict[str, Any], key: str, kind: type[T], file: str, expected: str | None = None
) -> T | None:
    """``config[key]`` as a ``kind`` (str, int, float, bool or dict), None when missing or null
    (readers write their default as ``or default``); a dotted key (``metadata.hook_name``) reads
    through objects, each checked to be one. Otherwise one line naming ``file``, the key, what
    was ``expected`` (by default the JSON type) and what was found."""
    parts = key.split(".")
    node: Any = config
    for depth, part in enumerate(parts, start=1):
        last = depth == len(parts)
        want: type = kind if last else dict
        value = node.get(part)
        if value is None:
            return None
        if not _is(value, want):
            what = (expected if last else None) or _EXPECTED[want]
            name = ".".join(parts[:depth])
            raise InvalidInputError(f"{file}: {name} must be {what}, found {_found(value)}")
        node = value
    return kind(node)


def dims(config: dict[str, Any], key: str, file: str, default: int | None = None) -> int:
    """A positive integer size (``d_in``, ``d_sae``, ``k``, ...) of a config, ``default`` when
    missing or null; one line naming the file and the key otherwise."""
    expected = "a positive integer"
    value = config_value(config, key, int, file, expected)
    if value is None:
        value = default
    if value is None or value <= 0:
        raise InvalidInputError(f"{file}: {key} must be {expected}, found {_found(value)}")
    return value


def known(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` without the entries that are None (unknown to the source)."""
    return {k: v for k, v in values.items() if v is not None}


def dtype_name(dtype: torch.dtype) -> str:
    """Our config's name for a stored dtype (``float32`` for one we do not train in)."""
    return next((name for name, d in DTYPES.items() if d == dtype), "float32")


@dataclass(frozen=True)
class Site:
    """Where the SAE reads and writes, and on which model, as the source names it: the fields
    of :class:`ImportedSAE` of the same names."""

    hook_name: str | None = None
    """TransformerLens-style input hook."""
    hook_name_out: str | None = None
    """TransformerLens-style output hook of a transcoder."""
    model_name: str | None = None
    """The model as the source names it."""
    hf_hook_name: str | None = None
    """HuggingFace module path of the input."""
    hf_hook_name_out: str | None = None
    """HuggingFace module path of a transcoder's output."""
    reshape: str = "none"
    """``none``, or ``hook_z`` (attention ``z`` flattened to ``d_in`` before the SAE)."""

    NAMES: ClassVar[tuple[str, ...]] = (
        "hook_name",
        "hook_name_out",
        "model_name",
        "hf_hook_name",
        "hf_hook_name_out",
    )
    """The fields that are names, each a string or None."""

    @classmethod
    def from_metadata(cls, config: dict[str, Any], file: str, reshape: str) -> Site:
        """The names a SAELens-style config holds under ``metadata``, each checked to be a
        string."""
        names = {key: config_value(config, f"metadata.{key}", str, file) for key in cls.NAMES}
        return cls(**names, reshape=reshape)

    def sae_metadata(self) -> dict[str, Any]:
        """Lineage for ``SAEConfig.metadata``: the known names, then ``reshape_activations`` when
        inputs are reshaped."""
        meta = known({k: v for k, v in asdict(self).items() if k != "reshape"})
        if self.reshape != "none":
            meta["reshape_activations"] = self.reshape
        return meta


def built_sae(architecture: str, weights: dict[str, Tensor], site: Site, **fields: Any) -> SAE:
    """Our ``architecture`` SAE holding ``weights`` (SAELens names and orientation), sized from
    them, with ``site``'s lineage; ``fields``: the rest of its :class:`SAEConfig` (``k``,
    ``apply_b_dec_to_input``, ``dtype``)."""
    d_in, d_sae = weights["W_enc"].shape  # [d_in, d_sae]
    transcoder = sae_class(architecture).reconstructs_other_hook
    config = SAEConfig(
        architecture=architecture,
        d_in=d_in,
        d_sae=d_sae,
        d_out=weights["W_dec"].shape[1] if transcoder else None,
        skip="W_skip" in weights,
        metadata=site.sae_metadata(),
        **fields,
    )
    sae = build_sae(config)
    sae.load_saelens_tensors(weights)
    return sae


def imported_sae(
    fmt: str,
    folder: Path,
    request: ReadRequest,
    files: Iterable[str],
    sae: SAE,
    site: Site,
    metadata: dict[str, Any],
) -> ImportedSAE:
    """The reader's result: ``sae`` in inference mode on the requested device, with the source's
    names, everything else worth keeping and the sha256 of ``files`` (relative to ``folder``;
    those that exist)."""
    sae.eval()
    on_device = sae.to(torch.device(request.device))
    hashes = file_hashes(folder, files)
    # Site's fields are ImportedSAE's fields of the same names.
    return ImportedSAE(sae=on_device, format=fmt, metadata=metadata, files=hashes, **asdict(site))
