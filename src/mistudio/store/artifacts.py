"""Where artifact files live: ``MISTUDIO_HOME/artifacts/<kind>/<id>/``.

The database row is what the UI searches and sorts; the folder holds the bulk arrays a core
function wrote (a dataset's parquet, a tokenization's token array, activation shards, SAE folders
in SAELens layout, extraction arrays). Keying folders by database id (not name) means renaming an
artifact never moves files, and two artifacts with the same name never collide.

An artifact owns its id's folder whatever its row says: a job that failed never recorded a
``path``, yet may have written there. A dataset imported from an upload also owns the upload's
folder (``uploads/<uuid>/``). Deleting the artifact removes all of them
(:func:`owned_paths`); nothing outside ``MISTUDIO_HOME/artifacts`` and ``uploads`` is ever
removed.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

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
    (an imported SAE's path may point at the researcher's own folder, which we never delete)
    or is an upload's folder."""
    if not path:
        return
    folder = Path(path).resolve()
    root = get_settings().artifacts_dir.resolve()
    inside = folder.is_relative_to(root) and folder != root
    if (inside or _upload_folder(folder) == folder) and folder.exists():
        shutil.rmtree(folder, ignore_errors=True)


def _upload_folder(path: Path) -> Path | None:
    """``uploads/<uuid>`` if ``path`` lies in (or is) one upload's folder."""
    root = (get_settings().home / UPLOADS).resolve()
    path = path.resolve()
    if not path.is_relative_to(root) or path == root:
        return None
    return root / path.relative_to(root).parts[0]


def owned_paths(kind: str, row: Any, include_path: bool = True) -> list[Path]:
    """Every folder artifact ``row`` of ``kind`` owns: its id's folder, its ``path`` (when
    ``include_path``; removed only if under the artifacts folder), and for a dataset imported
    from an upload, the upload's folder."""
    paths = [artifact_dir(kind, row.id, create=False)]
    if include_path and getattr(row, "path", None):
        paths.append(Path(row.path))
    source = getattr(row, "source", None)
    if kind == "datasets" and isinstance(source, dict) and source.get("path"):
        upload = _upload_folder(Path(source["path"]))
        if upload is not None:
            paths.append(upload)
    return paths
