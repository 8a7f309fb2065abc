"""Every SAE out again as a SAELens folder: written to disk, or streamed as a zip.

A SAELens folder is ``cfg.json`` + ``sae_weights.safetensors`` (+ ``sparsity.safetensors``),
FORMATS §1. SAEs trained here and SAEs imported by the studio's import job are stored in exactly
that layout by :func:`mistudio.core.sae.save_sae` (cfg.json with ``sae_lens_version`` 6.0.0 and
``metadata.mistudio_version``), which SAELens loads with equal outputs (``benchmarks/
saelens_compat.py``): those files are exported as they are, streamed from disk, never read into
memory. Any other folder (one registered in place from another SAELens version, say) is read with
:func:`mistudio.core.formats.read_sae` and written afresh with ``save_sae``, so what leaves is
always the 6.x layout SAELens reads without conversions. Our ``training.json`` stays behind.

A few imported SAEs have no SAELens architecture (sparsify's TopK SAEs with a skip connection or
another output width): they are stored in the same layout under our own architecture name, and
an export of one refuses in one line (:func:`not_saelens`) instead of writing a folder SAELens
cannot load.

The zip is written as it is sent (:func:`iter_zip`): members are stored, not deflated (safetensors
of floats barely compress and deflating a 1 GB SAE would cost a CPU minute), with zip64 so SAEs
over 4 GB work, and the writer never seeks, so nothing is buffered beyond one chunk.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mistudio.core.formats import read_sae
from mistudio.core.sae import save_sae
from mistudio.core.sae.saelens_format import (
    CFG_FILE,
    SPARSITY_FILE,
    WEIGHTS_FILE,
    load_firing_fraction,
    read_cfg,
)
from mistudio.errors import InvalidInputError, NotFoundError

EXPORT_FILES = (CFG_FILE, WEIGHTS_FILE, SPARSITY_FILE)
"""What a SAELens folder holds (sparsity only when the SAE has it)."""
CHUNK = 1 << 20
SAELENS_ARCHITECTURES = frozenset(
    {
        "standard",
        "jumprelu",
        "topk",
        "gated",
        "transcoder",
        "skip_transcoder",
        "jumprelu_transcoder",
        "jumprelu_skip_transcoder",
    }
)
"""The cfg.json architectures of FORMATS §1, which SAELens' ``SAE.load_from_disk`` reads."""


def is_native(folder: Path) -> bool:
    """Whether ``folder`` was written by our ``save_sae`` (6.x cfg, our version recorded)."""
    try:
        cfg = read_cfg(folder)
    except (NotFoundError, ValueError, OSError):
        return False
    meta = cfg.get("metadata") if isinstance(cfg, dict) else None
    return (
        isinstance(meta, dict)
        and bool(meta.get("mistudio_version"))
        and (folder / WEIGHTS_FILE).is_file()
    )


def not_saelens(architecture: str) -> str | None:
    """Why an SAE stored under ``architecture`` cannot be exported as a SAELens folder, or
    None when it can."""
    if architecture in SAELENS_ARCHITECTURES:
        return None
    return (
        f"this SAE's architecture ({architecture}: sparsify's TopK with a skip connection or "
        "another output width) has no SAELens counterpart, so it cannot be exported as a SAELens "
        "folder"
    )


def _refuse(architecture: str) -> None:
    reason = not_saelens(architecture)
    if reason is not None:
        raise InvalidInputError(reason)


def saelens_files(folder: Path) -> list[Path]:
    """The files of a native SAELens folder that an export carries."""
    return [folder / name for name in EXPORT_FILES if (folder / name).is_file()]


def write_saelens_folder(folder: Path, dest: Path, metadata: dict[str, Any] | None = None) -> Path:
    """Write the SAE stored in ``folder`` (any readable format) as a SAELens folder at
    ``dest``; ``metadata`` (hook names, model name) is merged into cfg.json's metadata."""
    if is_native(folder):
        _refuse(str(read_cfg(folder).get("architecture")))
        dest.mkdir(parents=True, exist_ok=True)
        for path in saelens_files(folder):
            shutil.copyfile(path, dest / path.name)
        if metadata:
            cfg = read_cfg(folder)
            cfg["metadata"] = {**(cfg.get("metadata") or {}), **metadata}
            (dest / CFG_FILE).write_text(json.dumps(cfg, indent=2))
        return dest
    imported = read_sae(folder)
    _refuse(imported.sae.saelens_architecture())
    dest.mkdir(parents=True, exist_ok=True)
    meta = {
        "hook_name": imported.hook_name,
        "hf_hook_name": imported.hf_hook_name,
        "hook_name_out": imported.hook_name_out,
        "hf_hook_name_out": imported.hf_hook_name_out,
        "model_name": imported.model_name,
    }
    meta = {k: v for k, v in meta.items() if v is not None} | (metadata or {})
    save_sae(imported.sae, dest, meta, firing_fraction=load_firing_fraction(folder))
    return dest


class _Sink:
    """A write-only, never-seeking file for :class:`zipfile.ZipFile` whose bytes are taken
    out as they come."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.position = 0

    def write(self, data: bytes, /) -> int:
        self.parts.append(bytes(data))
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


Member = tuple[str, Path | bytes]
"""A zip member: its name in the archive and a file to stream, or bytes made in memory."""


def export_members(
    folder: Path, prefix: str, metadata: dict[str, Any] | None = None
) -> list[Member]:
    """The members of a native SAELens folder's export: cfg.json (with ``metadata`` merged into
    its metadata) made in memory, the weights streamed from where they are."""
    cfg = read_cfg(folder)
    _refuse(str(cfg.get("architecture")))
    cfg["metadata"] = {**(cfg.get("metadata") or {}), **(metadata or {})}
    members: list[Member] = [(f"{prefix}{CFG_FILE}", json.dumps(cfg, indent=2).encode())]
    members += [(f"{prefix}{p.name}", p) for p in saelens_files(folder) if p.name != CFG_FILE]
    return members


def iter_zip(files: list[Member], chunk: int = CHUNK) -> Iterator[bytes]:
    """A zip of ``(name in archive, file or bytes)`` pairs, yielded piece by piece as it is
    written."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, item in files:
            if isinstance(item, bytes):
                archive.writestr(name, item)
                if sink.parts:
                    yield sink.take()
                continue
            info = zipfile.ZipInfo.from_file(item, arcname=name)
            info.compress_type = zipfile.ZIP_STORED
            with item.open("rb") as src, archive.open(info, "w", force_zip64=True) as dst:
                while block := src.read(chunk):
                    dst.write(block)
                    if sink.parts:
                        yield sink.take()
            if sink.parts:
                yield sink.take()
    if sink.parts:  # the central directory, written on close
        yield sink.take()


def write_zip(files: list[Member], dest: Path) -> Path:
    """The same archive as :func:`iter_zip`, written to ``dest``."""
    tmp = dest.with_name(dest.name + ".partial")
    with tmp.open("wb") as out:
        for piece in iter_zip(files):
            out.write(piece)
    tmp.replace(dest)
    return dest
