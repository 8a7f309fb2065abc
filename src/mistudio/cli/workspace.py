"""Where the CLI keeps what it makes: named folders under ``MISTUDIO_HOME/artifacts``.

The studio service tracks artifacts by database id; the CLI, used headless, addresses them by
name (``artifacts/datasets/kjv``, ``artifacts/tokenizations/kjv-smollm2-135m-512``), or by an
explicit path wherever a name is accepted.
"""

from __future__ import annotations

import re
from pathlib import Path

from mistudio.errors import NotFoundError
from mistudio.settings import get_settings

KINDS = ("datasets", "tokenizations", "activations", "saes", "trainings", "extractions")


def kind_dir(kind: str) -> Path:
    folder = get_settings().artifacts_dir / kind
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def slug(text: str) -> str:
    """A folder-safe name: ``roneneldan/TinyStories:train`` -> ``roneneldan-TinyStories-train``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "unnamed"


def new_folder(kind: str, name: str) -> Path:
    return kind_dir(kind) / slug(name)


def existing(kind: str, name_or_path: str, marker: str) -> Path:
    """An artifact folder by path or name; ``marker`` is a file every complete one holds."""
    path = Path(name_or_path).expanduser()
    if (path / marker).exists():
        return path
    named = kind_dir(kind) / slug(name_or_path)
    if (named / marker).exists():
        return named
    have = sorted(p.name for p in kind_dir(kind).iterdir() if (p / marker).exists())
    raise NotFoundError(
        f"no {kind[:-1]} named {name_or_path!r}; "
        + (f"have: {', '.join(have)}" if have else f"none yet in {kind_dir(kind)}")
    )
