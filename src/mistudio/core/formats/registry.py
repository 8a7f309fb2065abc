"""The result every SAE reader returns (:class:`ImportedSAE`), and readers by format name.

Each format module registers one reader with ``@register_format(name, marker, matches)``: a
``matches(folder)`` predicate that looks at file names only (cheap, no tensor is read; by default,
every file the marker names is there) and a ``read(folder, request)`` function that builds our SAE
class with the exact forward of the source.
Detection (:mod:`mistudio.core.formats.detect`) asks the predicates in registration order, so a
format whose marker files are a superset of another's registers first.

The helpers below give every reader the same one-line errors: a missing file, a tensor that is
missing or has the wrong shape or dtype (named with the file it came from and both shapes), so a
bad folder never ends in a traceback. Readers convert the source's tensors to SAELens names
(:meth:`SAE.load_saelens_tensors`) after checking them under the source's own names, so the
message names what the user's file calls the tensor. Checks that several formats make alike are
here once: the encoder matrix whose shape gives ``d_in`` and ``d_sae`` (:func:`matrix_shape`,
checked before any tensor is compared with it) and the four tensors that Gemma Scope and
dictionary_learning store in SAELens' orientation (:func:`encoder_decoder`). The steps every
reader takes, from reading its files to the returned :class:`ImportedSAE`, are
:mod:`mistudio.core.formats.reading`.

Like ``core/sae``, this module imports no reader: the package ``__init__`` imports each format
module, which registers it; format modules import this module, never the package.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from safetensors.torch import load_file
from torch import Tensor

from mistudio.core.sae.base import SAE
from mistudio.errors import InvalidInputError, NotFoundError


@dataclass
class ImportedSAE:
    """An SAE read from another tool's files, with what the source says about where it reads."""

    sae: SAE
    """Our SAE class, computing the source's exact forward on raw activations."""
    format: str
    """Format name: ``saelens``, ``gemma_scope``, ``gemma_scope_2``, ``llama_scope``,
    ``sparsify`` or ``dictionary_learning``."""
    hook_name: str | None
    """TransformerLens-style input hook (``blocks.6.hook_resid_post``) when the source names it."""
    hook_name_out: str | None
    """TransformerLens-style output hook of a transcoder (None for a plain SAE or when unknown)."""
    hf_hook_name: str | None
    """HuggingFace module path of the input (``model.layers.6``; ``.input`` suffix for a module's
    input, as :class:`mistudio.core.hooks.HookPoint.hf_name`), when the source names it."""
    hf_hook_name_out: str | None
    """HuggingFace module path of a transcoder's output, when known."""
    model_name: str | None
    """The model as the source names it (``gemma-2-2b``, ``EleutherAI/pythia-70m-deduped``)."""
    reshape: str
    """``none``, or ``hook_z``: inputs are attention ``z`` ``[.., n_heads, d_head]`` flattened to
    ``d_in`` before the SAE (SAELens ``reshape_activations``)."""
    metadata: dict[str, Any] = field(default_factory=dict)
    """Everything else worth keeping: context_size, dataset, l0, neuronpedia id, ``source_config``
    (the source's own config, verbatim), what was folded into the weights."""
    files: dict[str, str] = field(default_factory=dict)
    """Files read, relative to the SAE folder -> sha256 (origin and lineage)."""


@dataclass(frozen=True)
class ReadRequest:
    """What a reader is told beyond the folder."""

    device: str = "cpu"
    """Device of the returned SAE's parameters."""
    origin: str | None = None
    """Where the folder came from (``google/gemma-scope-2b-pt-res/layer_12/width_16k/...``): some
    formats (Gemma Scope 1) name their hook and model only in the repo and folder names."""
    norm_scaling_factor: float | None = None
    """Dataset scale of an SAELens ``expected_average_only_in`` SAE (SAELens' release registry
    lists it per SAE), folded into the weights."""
    config_overrides: dict[str, Any] | None = None
    """A release's ``config_overrides`` (SAELens' registry): top-level keys that replace the
    folder's config before it is read, as SAELens' own loader applies them."""


Reader = Callable[[Path, ReadRequest], ImportedSAE]


@dataclass(frozen=True)
class FormatReader:
    """One registered format."""

    name: str
    marker: str
    """The files that identify it, for messages (``cfg.json + sae_weights.safetensors``)."""
    matches: Callable[[Path], bool]
    """Whether a folder holds this format (file names only)."""
    read: Reader


_READERS: dict[str, FormatReader] = {}


def register_format(
    name: str, marker: str, matches: Callable[[Path], bool] | None = None
) -> Callable[[Reader], Reader]:
    """Function decorator: register ``read`` as the reader of format ``name``. Without
    ``matches``, a folder holds the format when it holds every file the marker names (``a + b``),
    so detection looks for exactly the files its error message lists."""
    files = marker.split(" + ")

    def holds_marker(folder: Path) -> bool:
        return all((folder / file).is_file() for file in files)

    def deco(read: Reader) -> Reader:
        _READERS[name] = FormatReader(name, marker, matches or holds_marker, read)
        return read

    return deco


def registered_formats() -> list[str]:
    """Format names, in detection order."""
    return list(_READERS)


def format_reader(name: str) -> FormatReader:
    """The reader registered as ``name``."""
    if name not in _READERS:
        raise InvalidInputError(
            f"unknown SAE format {name!r}; known: {', '.join(registered_formats())}"
        )
    return _READERS[name]


def readers() -> list[FormatReader]:
    """Every reader, in detection order."""
    return list(_READERS.values())


# ---- helpers shared by the readers ---------------------------------------------------------


def sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_hashes(folder: Path, names: Iterable[str]) -> dict[str, str]:
    """``{relative name: sha256}`` of the files a reader read (those that exist)."""
    return {n: sha256(folder / n) for n in names if (folder / n).is_file()}


def need_file(folder: Path, name: str, fmt: str) -> Path:
    """``folder / name``, or a one-line error saying the format needs it."""
    path = folder / name
    if not path.is_file():
        raise NotFoundError(f"{fmt} SAE folder {folder} has no {name}")
    return path


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from ``path``, with a one-line error when it is not one."""
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"{path.name} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidInputError(f"{path.name} must hold a JSON object, found {type(data).__name__}")
    return data


def load_safetensors(path: Path) -> dict[str, Tensor]:
    """Every tensor of a .safetensors file, on CPU; one line when it is not one."""
    try:
        return load_file(str(path))
    except Exception as exc:  # noqa: BLE001 - safetensors raises several types for a bad file
        raise InvalidInputError(f"{path.name} is not a readable safetensors file: {exc}") from None


def tensor(tensors: dict[str, Tensor], name: str, shape: tuple[int, ...], file: str) -> Tensor:
    """``tensors[name]`` checked to be a floating tensor of ``shape``; one-line errors naming the
    file, the tensor and both shapes otherwise."""
    if name not in tensors:
        raise InvalidInputError(f"{file} has no tensor {name!r} (found: {found(tensors)})")
    value = tensors[name]
    if not value.is_floating_point():
        raise InvalidInputError(
            f"{file}: tensor {name!r} has dtype {str(value.dtype).removeprefix('torch.')}, "
            "expected a floating-point dtype"
        )
    if tuple(value.shape) != tuple(shape):
        raise InvalidInputError(
            f"{file}: tensor {name!r} has shape {tuple(value.shape)}, expected {tuple(shape)}"
        )
    return value


def found(tensors: dict[str, Tensor]) -> str:
    """The names a file holds, for an error message (``nothing`` when empty)."""
    return ", ".join(sorted(tensors)) or "nothing"


def matrix_shape(
    tensors: dict[str, Tensor], name: str, file: str, what: str = "2-d tensor"
) -> tuple[int, int]:
    """The shape of ``tensors[name]``, which must be a matrix: formats whose config gives no sizes
    (Gemma Scope, dictionary_learning) read ``d_in`` and ``d_sae`` from the encoder. ``what``
    names it in the error as the file calls its contents (``2-d array`` for an .npz)."""
    if name not in tensors or tensors[name].ndim != 2:
        raise InvalidInputError(f"{file} has no {what} {name!r} (found: {found(tensors)})")
    rows, cols = tensors[name].shape
    return rows, cols


def encoder_decoder(
    tensors: dict[str, Tensor], file: str, d_in: int, d_sae: int, d_out: int, w: str = "W"
) -> dict[str, Tensor]:
    """``W_enc[d_in, d_sae]``, ``W_dec[d_sae, d_out]``, ``b_enc[d_sae]``, ``b_dec[d_out]`` from a
    file that stores them in SAELens' orientation, checked in that order and keyed by SAELens
    names; ``w="w"`` where the file spells the matrices ``w_enc`` and ``w_dec`` (Gemma Scope 2)."""
    return {
        "W_enc": tensor(tensors, f"{w}_enc", (d_in, d_sae), file),
        "W_dec": tensor(tensors, f"{w}_dec", (d_sae, d_out), file),
        "b_enc": tensor(tensors, "b_enc", (d_sae,), file),
        "b_dec": tensor(tensors, "b_dec", (d_out,), file),
    }
