"""Import a dataset from the HuggingFace Hub with ``datasets.load_dataset``.

Before loading, one metadata request (``HfApi.dataset_info``) tells apart the failures a person can
fix: the Hub cannot be reached, the repo does not exist (or is private), the repo is gated and no
token is available. That request fails in about a second where ``load_dataset`` would retry for half
a minute. Its answer also names the id the repo lives under now: a canonical id such as ``wikitext``
is loaded as the ``Salesforce/wikitext`` the Hub redirects it to. ``HF_HUB_OFFLINE`` is honoured
even when set after ``huggingface_hub`` was imported (the libraries read it once at import): in
offline mode only the local cache is used.

With ``streaming=True`` rows are pulled one by one up to ``max_documents`` (nothing else is
downloaded); otherwise the split is downloaded and prepared by ``datasets`` in its cache.

Progress while downloading is read from the disk, not from ``datasets``' bars: ``load_dataset``
fetches each data file with ``HfApi.hf_hub_download`` into huggingface_hub's cache, which offers
no progress callback, so a watcher thread sums the bytes under the repo's ``blobs/`` folder there
(partial ``.incomplete`` files included) every :data:`WATCH_SECONDS` and reports them against the
size of the data files the import is expected to fetch. That size comes from the one metadata
request made anyway (``dataset_info`` with file sizes): the repo's data files, narrowed to those
under a folder named as the config when any are (``push_to_hub``'s layout). Every split of the
config counts: ``load_dataset`` downloads and prepares them all, whichever split is asked for.
It is an estimate, said as ``bytes_total``; the bar reaches its end when the rows are ready.
huggingface_hub writes a download in 10 MB chunks, so the count moves every 10 MB. Streamed
rows are reported as they arrive.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa

from mistudio.core.hub_connection import first_line, is_connection_error
from mistudio.core.progress import Progress, report
from mistudio.errors import HubUnreachableError, InvalidInputError, MiStudioError, NotFoundError

WATCH_SECONDS = 0.5
"""How often the download watcher reads the cache folder's size."""
STREAM_REPORT_ROWS = 100
"""Streamed rows between progress reports (the job writes at most five a second anyway)."""
_NOT_DATA = (".md", ".gitattributes", ".py", ".gitignore")
"""Repo files ``load_dataset`` does not download as data."""

_OFFLINE_CACHE_MISS = ("LocalEntryNotFoundError",)
"""Offline with the dataset not cached: to dataset import, the Hub is unreachable too."""


def hub_offline() -> bool:
    """Whether ``HF_HUB_OFFLINE`` is set now (or was when huggingface_hub was imported)."""
    value = os.environ.get("HF_HUB_OFFLINE", "").strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    try:
        # deferred: a heavy library (seconds to import), needed only when this runs
        from huggingface_hub import constants

        return bool(constants.HF_HUB_OFFLINE)
    except ImportError:  # pragma: no cover - huggingface_hub is a dependency
        return False


def _unreachable(repo_id: str) -> HubUnreachableError:
    if hub_offline():
        return HubUnreachableError(
            f"the HuggingFace Hub cannot be reached: offline mode (HF_HUB_OFFLINE) is on and "
            f"dataset '{repo_id}' is not in the local cache"
        )
    return HubUnreachableError(
        f"the HuggingFace Hub cannot be reached to fetch dataset '{repo_id}' "
        "(no network, firewall or HF_ENDPOINT); import local files or a built-in corpus instead"
    )


def map_hub_error(error: BaseException, repo_id: str) -> MiStudioError:
    """Translate a huggingface_hub / datasets exception into a one-line miStudio error."""
    names = {cls.__name__ for cls in type(error).__mro__}
    # ``datasets`` reports a gated repo as DatasetNotFoundError("... is a gated dataset ...").
    gated_message = "DatasetNotFoundError" in names and "gated" in str(error).lower()
    if "GatedRepoError" in names or gated_message:
        return InvalidInputError(
            f"dataset '{repo_id}' is gated: accept its conditions on huggingface.co and pass a "
            "token (or set HF_TOKEN)"
        )
    if names & {"RepositoryNotFoundError", "DatasetNotFoundError", "RevisionNotFoundError"}:
        return NotFoundError(
            f"dataset '{repo_id}' not found on the Hub (check the name; a private repo needs "
            "a token)"
        )
    if is_connection_error(error, also=_OFFLINE_CACHE_MISS):
        return _unreachable(repo_id)
    if isinstance(error, FileNotFoundError):
        return NotFoundError(f"dataset '{repo_id}': {first_line(error)}")
    if isinstance(error, ValueError | KeyError):
        return InvalidInputError(f"dataset '{repo_id}': {first_line(error)}")
    return InvalidInputError(f"cannot load dataset '{repo_id}': {first_line(error)}")


@contextmanager
def _offline_flags(offline: bool) -> Iterator[None]:
    """Make huggingface_hub and datasets honour an ``HF_HUB_OFFLINE`` set after import."""
    if not offline:
        yield
        return
    # deferred: a heavy library (seconds to import), needed only when this runs
    import datasets.config
    from huggingface_hub import constants

    saved = (constants.HF_HUB_OFFLINE, datasets.config.HF_HUB_OFFLINE)
    constants.HF_HUB_OFFLINE = True
    datasets.config.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE, datasets.config.HF_HUB_OFFLINE = saved


def _expected_bytes(files: dict[str, int], config: str | None) -> int:
    """Size of the data files an import of ``config`` is expected to fetch (module docstring)."""
    data = {p: n for p, n in files.items() if not p.endswith(_NOT_DATA)}
    if config:
        under = {p: n for p, n in data.items() if config in p.split("/")[:-1]}
        data = under or data
    return sum(data.values())


def _check_repo(
    repo_id: str, token: str | None, revision: str | None
) -> tuple[str, dict[str, int]]:
    """One metadata request: fail fast and clearly before ``load_dataset`` retries. Returns the
    id the repo lives under now (the Hub redirects a canonical ``wikitext`` to
    ``Salesforce/wikitext``), which is what ``datasets`` needs: it reads ``namespace/name`` only;
    and its files' sizes."""
    # deferred: a heavy library (seconds to import), needed only when this runs
    from huggingface_hub import HfApi, get_token

    try:
        info = HfApi().dataset_info(
            repo_id, revision=revision, token=token, timeout=15, files_metadata=True
        )
    except Exception as error:
        raise map_hub_error(error, repo_id) from None
    if getattr(info, "gated", False) and token is None and get_token() is None:
        raise InvalidInputError(
            f"dataset '{repo_id}' is gated: accept its conditions on huggingface.co and pass a "
            "token (or set HF_TOKEN)"
        )
    current = getattr(info, "id", None) or repo_id
    if "/" not in current:
        raise InvalidInputError(
            f"dataset '{repo_id}': the Hub serves it without a namespace, and the datasets "
            "library reads namespace/name ids only; give its namespace/name id"
        )
    files = {s.rfilename: int(s.size or 0) for s in getattr(info, "siblings", None) or []}
    return current, files


def _blob_bytes(folder: Path) -> int:
    total = 0
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                try:
                    total += entry.stat(follow_symlinks=False).st_size
                except OSError:  # renamed from .incomplete between listing and stat
                    continue
    except OSError:
        return 0
    return total


@contextmanager
def _download_watch(repo_id: str, expected: int, progress: Progress | None) -> Iterator[None]:
    """Report the bytes arriving in huggingface_hub's cache for ``repo_id`` while the block runs.

    The watcher runs on its own thread; a cancel raised by the job's progress callback there is
    re-raised here when the block ends (the download itself cannot be interrupted)."""
    if progress is None:
        yield
        return
    # deferred: a heavy library (seconds to import), needed only when this runs
    from huggingface_hub import constants
    from huggingface_hub.file_download import repo_folder_name

    blobs = (
        Path(constants.HF_HUB_CACHE) / repo_folder_name(repo_id=repo_id, repo_type="dataset")
    ) / "blobs"
    base = _blob_bytes(blobs)
    stop = threading.Event()
    failed: list[BaseException] = []

    def watch() -> None:
        last = -1
        while not stop.wait(WATCH_SECONDS):
            got = max(_blob_bytes(blobs) - base, 0)
            if got == last:
                continue
            last = got
            total = max(expected, got) or None
            try:
                progress(got, total, stage="downloading", bytes=got, bytes_total=expected or got)
            except BaseException as error:  # the job's cancel: stop watching, raise it later
                failed.append(error)
                return

    thread = threading.Thread(target=watch, name=f"download-watch {repo_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
    if failed:
        raise failed[0]


def read_hub(
    repo_id: str,
    *,
    config: str | None = None,
    split: str = "train",
    revision: str | None = None,
    token: str | None = None,
    streaming: bool = False,
    max_documents: int | None = None,
    progress: Progress | None = None,
) -> pa.Table:
    """Load one split of a Hub dataset as an Arrow table (all its columns)."""
    # deferred: a heavy library (seconds to import), needed only when this runs
    import datasets

    offline = hub_offline()
    load_id, files = (repo_id, {}) if offline else _check_repo(repo_id, token, revision)
    expected = 0 if streaming else _expected_bytes(files, config)
    if expected:
        report(progress, 0, expected, stage="downloading", bytes=0, bytes_total=expected)
    else:
        report(progress, 0, max_documents)
    try:
        with _offline_flags(offline):
            with _download_watch(load_id, expected, None if streaming else progress):
                loaded = datasets.load_dataset(
                    load_id,
                    name=config,
                    split=split,
                    revision=revision,
                    token=token,
                    streaming=streaming,
                )
            if isinstance(loaded, datasets.IterableDataset):
                stream = loaded.take(max_documents) if max_documents is not None else loaded
                rows: list[dict[str, Any]] = []
                for row in stream:
                    rows.append(row)
                    if len(rows) % STREAM_REPORT_ROWS == 0:
                        report(
                            progress, len(rows), max_documents, stage="streaming", rows=len(rows)
                        )
                table = pa.Table.from_pylist(rows)
            elif isinstance(loaded, datasets.Dataset):
                if max_documents is not None and max_documents < len(loaded):
                    loaded = loaded.select(range(max_documents))
                table = loaded.with_format("arrow")[:]
            else:
                raise InvalidInputError(f"dataset '{repo_id}': name one split (got several)")
    except MiStudioError:
        raise
    except Exception as error:
        raise map_hub_error(error, repo_id) from None
    report(
        progress,
        table.num_rows,
        table.num_rows,
        stage="rows read",
        rows=table.num_rows,
        documents=table.num_rows,
    )
    return table
