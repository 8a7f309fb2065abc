"""The HuggingFace Hub side of SAE import: list a repo, read its small config files, search SAE
repos, download one SAE's files.

Everything goes through ``huggingface_hub`` (``HfApi``, ``hf_hub_download``,
``snapshot_download``), so ``HF_ENDPOINT``, ``HF_HUB_OFFLINE``, ``HF_TOKEN`` and the saved login
are honoured as everywhere else. Its exceptions become one line each (:func:`hub_errors`): a
repo that does not exist (or is private), a gated repo without a token or with a token that has
no access, a missing revision or folder, a refused token, an unreachable Hub.

Downloads land in the Hub cache under ``MISTUDIO_HOME/cache/hub`` (pinned to the commit the
listing saw), so a download that was killed resumes from its ``.incomplete`` files on retry and a
second import of the same SAE downloads nothing. Progress is reported in bytes against the total
the listing gave, as model downloads are.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ConfigDict

from mistudio.core.config import DocumentedModel
from mistudio.core.hub_connection import first_line, is_connection_error
from mistudio.core.progress import Progress
from mistudio.errors import HubUnreachableError, InvalidInputError, MiStudioError, NotFoundError

SAE_LIBRARY_TAG = "saelens"
"""The library tag SAELens-format repos carry on the Hub."""
CONFIG_MAX_BYTES = 256 * 1024
"""Largest config file read while browsing (SAE configs are a few KB)."""


def map_hub_error(
    error: BaseException,
    repo_id: str,
    token: str | None = None,
    revision: str | None = None,
    path: str | None = None,
) -> MiStudioError:
    """A huggingface_hub exception as a one-line miStudio error (class names, so every
    huggingface_hub version maps alike)."""
    if isinstance(error, MiStudioError):
        return error
    names = {cls.__name__ for cls in type(error).__mro__}
    if "GatedRepoError" in names:  # a subclass of RepositoryNotFoundError: first
        why = "the token given has no access" if token else "no token was given"
        return InvalidInputError(
            f"{repo_id} is gated: accept its conditions on huggingface.co and pass a token "
            f"with access ({why})"
        )
    if "RepositoryNotFoundError" in names:
        return NotFoundError(
            f"Hub repo {repo_id!r} not found (check the name; a private repo needs a token)"
        )
    if "RevisionNotFoundError" in names:
        return NotFoundError(f"revision {revision!r} not found in {repo_id}")
    if "LocalEntryNotFoundError" in names or "OfflineModeIsEnabled" in names:
        return HubUnreachableError(
            f"cannot reach the HuggingFace Hub for {repo_id} and the files are not in the "
            "local cache (offline, or HF_HUB_OFFLINE is set)"
        )
    if "EntryNotFoundError" in names:
        where = f"{path!r}" if path else "that file"
        return NotFoundError(f"{repo_id} has no {where} at revision {revision or 'main'}")
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None)
    if status in (401, 403):
        used = "the token given" if token else "HF_TOKEN or the saved login"
        message = response.headers.get("X-Error-Message") if response is not None else None
        return InvalidInputError(
            f"the HuggingFace Hub refused {used} for {repo_id} "
            f"({message or 'invalid or expired token'})"
        )
    if is_connection_error(error):
        return HubUnreachableError(
            f"cannot reach the HuggingFace Hub for {repo_id} (no network, firewall or HF_ENDPOINT)"
        )
    if "HfHubHTTPError" in names:
        return HubUnreachableError(
            f"the HuggingFace Hub failed to serve {repo_id}: {first_line(error)}"
        )
    return InvalidInputError(f"Hub repo {repo_id}: {first_line(error)}")


@contextmanager
def hub_errors(
    repo_id: str, token: str | None = None, revision: str | None = None, path: str | None = None
) -> Iterator[None]:
    """Turn any Hub exception inside the block into one line (see :func:`map_hub_error`)."""
    try:
        yield
    except MiStudioError:
        raise
    except Exception as error:
        raise map_hub_error(error, repo_id, token, revision, path) from None


# ---- listing --------------------------------------------------------------------------------


@dataclass
class RepoListing:
    """A repo's files at one commit."""

    repo_id: str
    sha: str
    """The commit the listing is of (downloads are pinned to it)."""
    gated: bool
    private: bool
    files: dict[str, int] = field(default_factory=dict)
    """Path -> size in bytes (LFS files: the real size, not the pointer's)."""

    def under(self, folder: str) -> dict[str, int]:
        """Files inside ``folder`` (``""``: all)."""
        if not folder:
            return dict(self.files)
        prefix = folder.rstrip("/") + "/"
        return {p: s for p, s in self.files.items() if p.startswith(prefix)}


def list_repo(
    repo_id: str, revision: str | None = None, token: str | None = None, folder: str = ""
) -> RepoListing:
    """The repo's files (under ``folder`` only, when given) at ``revision``, with sizes.

    Two requests and no file download: the repo's info (commit, gated, private), then its tree,
    recursive and paged by huggingface_hub (the Hub's 1000 entries a page)."""
    # deferred: a heavy library, needed only when this runs
    from huggingface_hub import HfApi
    from huggingface_hub.hf_api import RepoFile

    api = HfApi()
    with hub_errors(repo_id, token, revision):
        info = api.model_info(repo_id, revision=revision, token=token)
    sha = str(info.sha or revision or "main")
    files: dict[str, int] = {}
    with hub_errors(repo_id, token, revision, folder or None):
        for entry in api.list_repo_tree(
            repo_id, path_in_repo=folder or None, recursive=True, revision=sha, token=token
        ):
            if isinstance(entry, RepoFile):  # folders are implied by the files' paths
                lfs_size = entry.lfs.size if entry.lfs is not None else None
                files[entry.path] = int(lfs_size or entry.size or 0)
    return RepoListing(repo_id, sha, bool(getattr(info, "gated", False)), bool(info.private), files)


def matching(files: Iterable[str], patterns: Sequence[str] | None) -> list[str]:
    """Files matched by any of ``patterns`` (fnmatch, as ``snapshot_download`` filters: a
    pattern ending in ``/`` means everything under it); every file when None."""
    if patterns is None:
        return sorted(files)
    norm = [p + "*" if p.endswith("/") else p for p in patterns]
    return sorted(f for f in files if any(fnmatch.fnmatch(f, p) for p in norm))


def read_small_file(
    repo_id: str, path: str, revision: str, token: str | None, cache_dir: Path | None
) -> bytes:
    """One small file of a repo (a config), through the Hub cache."""
    from huggingface_hub import hf_hub_download  # deferred: a heavy library

    with hub_errors(repo_id, token, revision, path):
        local = hf_hub_download(
            repo_id,
            path,
            revision=revision,
            token=token,
            cache_dir=str(cache_dir) if cache_dir else None,
        )
    return Path(local).read_bytes()


def check_access(repo_id: str, path: str, revision: str, token: str | None, gated: bool) -> None:
    """For a gated repo, one HEAD request for ``path``: refuses in one line when no token is
    available or the token has no access (the listing is public on gated repos, so only a file
    request tells)."""
    if not gated:
        return
    # deferred: a heavy library, needed only when this runs
    from huggingface_hub import get_hf_file_metadata, get_token, hf_hub_url

    if token is None and get_token() is None:
        raise InvalidInputError(
            f"{repo_id} is gated: accept its conditions on huggingface.co and pass a token "
            "with access (no token was given)"
        )
    with hub_errors(repo_id, token, revision, path):
        get_hf_file_metadata(hf_hub_url(repo_id, path, revision=revision), token=token)


# ---- search ---------------------------------------------------------------------------------


class HubRepo(DocumentedModel):
    """One search result."""

    model_config = ConfigDict(frozen=True)

    repo_id: str
    """``org/name``."""
    downloads: int
    """Downloads in the last month, as the Hub counts them."""
    likes: int
    """Likes on the Hub."""
    gated: bool
    """Whether a token with access is needed for its files."""
    tags: list[str]
    """Its tags (the library is one of them)."""
    last_modified: str | None
    """When it last changed (ISO 8601), when the Hub says."""


def search_repos(
    query: str = "",
    library: str | None = SAE_LIBRARY_TAG,
    limit: int = 20,
    token: str | None = None,
) -> list[HubRepo]:
    """Model repos tagged with ``library`` (the ``saelens`` library tag by default; None: any)
    whose name contains ``query``, most downloaded first."""
    from huggingface_hub import HfApi  # deferred: a heavy library

    out = []
    with hub_errors(f"search {query!r}", token):
        for info in HfApi().list_models(
            filter=library or None,
            search=query.strip() or None,
            sort="downloads",
            limit=limit,
            token=token,
        ):
            modified = getattr(info, "last_modified", None)
            out.append(
                HubRepo(
                    repo_id=str(info.id),
                    downloads=int(getattr(info, "downloads", 0) or 0),
                    likes=int(getattr(info, "likes", 0) or 0),
                    gated=bool(getattr(info, "gated", False)),
                    tags=[str(t) for t in (getattr(info, "tags", None) or [])],
                    last_modified=modified.isoformat() if modified is not None else None,
                )
            )
    return out


# ---- download -------------------------------------------------------------------------------


def _bytes_tqdm(progress: Progress, total_bytes: int) -> type:
    """A tqdm class that reports the bytes of every byte bar ``snapshot_download`` opens
    against the total the listing gave (its own totals grow as files start)."""
    from tqdm.auto import tqdm  # deferred: probes for notebook widgets

    class BytesTqdm(tqdm):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["disable"] = False
            super().__init__(*args, **kwargs)
            self._bytes = self.unit == "B"
            self._best = 0.0

        def update(self, n: float | None = 1) -> bool | None:
            result = super().update(n)
            if self._bytes and self.n > self._best:
                self._best = float(self.n)
                progress(min(self._best, total_bytes), total_bytes, stage="downloading")
            return result

        def display(self, *args: Any, **kwargs: Any) -> None:  # nothing on the worker's stderr
            return None

    return BytesTqdm


def download_files(
    repo_id: str,
    revision: str,
    allow_patterns: Sequence[str] | None,
    token: str | None,
    cache_dir: Path,
    total_bytes: int = 0,
    progress: Progress | None = None,
) -> Path:
    """Download the matched files of ``repo_id`` at ``revision`` into the Hub cache; returns the
    snapshot folder (the repo's root)."""
    from huggingface_hub import snapshot_download  # deferred: a heavy library

    tqdm_class = _bytes_tqdm(progress, total_bytes) if progress is not None else None
    with hub_errors(repo_id, token, revision):
        local = snapshot_download(
            repo_id,
            revision=revision,
            allow_patterns=list(allow_patterns) if allow_patterns else None,
            token=token,
            cache_dir=str(cache_dir),
            tqdm_class=tqdm_class,
        )
    if progress is not None:
        progress(total_bytes, total_bytes, stage="downloaded")
    return Path(local)
