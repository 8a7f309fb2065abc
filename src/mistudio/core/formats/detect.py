"""Which format a folder, file or archive holds, and reading it.

A path may be the SAE folder, a file inside it (``.../params.npz``, ``ae.pt``: its folder is
read) or a ``.zip`` archive of the folder. Detection looks at file names only and asks the
registered readers in order; when none matches, the one-line error lists what the folder holds
and what each format would need, or, when the folder's subfolders hold SAEs (a sparsify run, a
Hub repo of many SAEs), names those so the user can pick one.

Archives are extracted to a temporary folder after every member name is checked to stay inside
it (no absolute path, no ``..``, no link), and the total size is bounded; the SAE is read into
memory and the folder removed. Hashes in :attr:`ImportedSAE.files` are of the extracted files.
"""

from __future__ import annotations

import stat
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from mistudio.core.formats.registry import (
    ImportedSAE,
    ReadRequest,
    format_reader,
    readers,
)
from mistudio.errors import InvalidInputError, NotFoundError

MAX_ARCHIVE_BYTES = 64 << 30
"""Largest total uncompressed size of an archive we extract (a 1M-latent Gemma Scope SAE on a
27B model is about 40 GB; beyond that an archive is more likely a zip bomb than an SAE)."""
LISTED_FILES = 12
"""How many file names an error message lists before '... and N more'."""


def _listing(folder: Path) -> str:
    names = sorted(
        str(p.relative_to(folder)) + ("/" if p.is_dir() else "")
        for p in folder.iterdir()
        if not p.name.startswith(".")
    )
    if not names:
        return "nothing"
    shown = ", ".join(names[:LISTED_FILES])
    extra = len(names) - LISTED_FILES
    return shown + (f", ... and {extra} more" if extra > 0 else "")


def _match(folder: Path) -> str | None:
    for reader in readers():
        if reader.matches(folder):
            return reader.name
    return None


def _folder_of(path: Path) -> Path:
    """The SAE folder of a path: itself, the folder of a file in it, or (Llama Scope's
    ``checkpoints/final.safetensors``) the folder above ``checkpoints``."""
    if not path.exists():
        raise NotFoundError(f"{path} does not exist")
    folder = path if path.is_dir() else path.parent
    if folder.name == "checkpoints" and _match(folder) is None and _match(folder.parent):
        return folder.parent
    return folder


def _unwrap(folder: Path) -> Path:
    """An extracted archive's single top folder, when it holds nothing else."""
    entries = [p for p in folder.iterdir() if not p.name.startswith(".")]
    if len(entries) == 1 and entries[0].is_dir() and _match(folder) is None:
        return _unwrap(entries[0])
    return folder


def _nested(folder: Path) -> list[str]:
    """Subfolders (two levels deep at most) that hold an SAE of a known format."""
    found = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if _match(sub):
            found.append(sub.name)
            continue
        found += [
            f"{sub.name}/{s.name}"
            for s in sorted(sub.iterdir())
            if s.is_dir() and not s.name.startswith(".") and _match(s)
        ]
    return found


def _detect_in(folder: Path) -> str:
    name = _match(folder)
    if name is not None:
        return name
    nested = _nested(folder)
    if nested:
        shown = ", ".join(nested[:LISTED_FILES])
        more = f" and {len(nested) - LISTED_FILES} more" if len(nested) > LISTED_FILES else ""
        raise InvalidInputError(
            f"{folder} holds {len(nested)} SAEs in subfolders ({shown}{more}); pick one"
        )
    wanted = "; ".join(f"{r.name}: {r.marker}" for r in readers())
    raise InvalidInputError(
        f"no known SAE format in {folder}: found {_listing(folder)}; expected one of {wanted}"
    )


def is_archive(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() == ".zip"


def extract_archive(path: Path, into: Path) -> Path:
    """Extract a .zip into ``into`` after checking its members; returns the SAE folder inside."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InvalidInputError(f"{path.name} is not a readable zip archive: {exc}") from None
    with archive:
        total = 0
        for info in archive.infolist():
            member = PurePosixPath(info.filename.replace("\\", "/"))
            if member.is_absolute() or ".." in member.parts or ":" in info.filename:
                raise InvalidInputError(
                    f"{path.name}: member {info.filename!r} would land outside the extraction "
                    "folder"
                )
            if stat.S_ISLNK(info.external_attr >> 16):
                raise InvalidInputError(f"{path.name}: member {info.filename!r} is a link")
            total += info.file_size
        if total > MAX_ARCHIVE_BYTES:
            raise InvalidInputError(
                f"{path.name} unpacks to {total / 2**30:.1f} GiB, more than the "
                f"{MAX_ARCHIVE_BYTES >> 30} GiB an SAE archive may hold"
            )
        archive.extractall(into)
    return _unwrap(into)


def detect_format(path: str | Path) -> str:
    """The format of the SAE at ``path`` (folder, file inside it, or .zip), or a one-line error
    naming what was found."""
    path = Path(path)
    if is_archive(path):
        with tempfile.TemporaryDirectory(prefix="mistudio-sae-") as tmp:
            return _detect_in(extract_archive(path, Path(tmp)))
    return _detect_in(_folder_of(path))


def read_sae(
    path: str | Path,
    format: str | None = None,
    device: str = "cpu",
    *,
    origin: str | None = None,
    norm_scaling_factor: float | None = None,
    config_overrides: dict[str, Any] | None = None,
) -> ImportedSAE:
    """Read the SAE at ``path`` (folder, file inside it, or .zip) as our SAE class.

    format: skip detection and use this reader; device: where the parameters go; origin: the Hub
    repo and path the folder came from, for formats that name hook and model only there;
    norm_scaling_factor: the dataset scale of an SAELens ``expected_average_only_in`` SAE;
    config_overrides: a SAELens release's config overrides (top-level cfg.json keys).
    """
    path = Path(path)
    request = ReadRequest(
        device=device,
        origin=origin,
        norm_scaling_factor=norm_scaling_factor,
        config_overrides=config_overrides,
    )
    if is_archive(path):
        with tempfile.TemporaryDirectory(prefix="mistudio-sae-") as tmp:
            return _read_in(extract_archive(path, Path(tmp)), format, request)
    return _read_in(_folder_of(path), format, request)


def _read_in(folder: Path, format: str | None, request: ReadRequest) -> ImportedSAE:
    name = format or _detect_in(folder)
    return format_reader(name).read(folder, request)
