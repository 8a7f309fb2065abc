"""Where artifact files live: ``MISTUDIO_HOME/artifacts/<kind>/<id>/``.

The database row is what the UI searches and sorts; the folder holds the bulk arrays a core
function wrote (a dataset's parquet, a tokenization's token array, activation shards, SAE folders
in SAELens layout, extraction arrays). Keying folders by database id (not name) means renaming an
artifact never moves files, and two artifacts with the same name never collide.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from mistudio.settings import get_settings

UPLOADS = "uploads"


def artifact_dir(kind: str, artifact_id: int, create: bool = True) -> Path:
    """The folder of artifact ``artifact_id`` of ``kind`` (``datasets``, ``saes``, ...)."""
    folder = get_settings().artifacts_dir / kind / str(artifact_id)
    if create:
        folder.mkdir(parents=True, exist_ok=True)
    return folder


def uploads_dir() -> Path:
    """Where uploaded files wait to be imported."""
    folder = get_settings().home / UPLOADS
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def remove_artifact_files(path: str | Path | None) -> None:
    """Delete an artifact's folder, but only when it lies under ``MISTUDIO_HOME/artifacts``
    (an imported SAE's path may point at the researcher's own folder, which we never delete)."""
    if not path:
        return
    folder = Path(path).resolve()
    root = get_settings().artifacts_dir.resolve()
    if folder.is_relative_to(root) and folder != root and folder.exists():
        shutil.rmtree(folder, ignore_errors=True)
