"""Where a dataset comes from (:class:`DatasetSource`) and :func:`import_dataset`.

One config object covers the three kinds of source so the CLI, the API and saved templates share
it: ``hub`` (``datasets.load_dataset``), ``local`` (files or a folder) and ``builtin``
(``python-stdlib``, ``kjv``). The Hub token is accepted but excluded from every dump, so it never
reaches ``dataset.json``, a log or a template. Each import writes the same folder layout
(see :mod:`mistudio.core.data.dataset`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
from pydantic import Field, model_validator

from mistudio.core.config import OperationConfig
from mistudio.core.data.builtin_corpora import BUILTIN_CORPORA, load_builtin
from mistudio.core.data.dataset import (
    DatasetInfo,
    choose_text_column,
    normalise_table,
    write_dataset_folder,
)
from mistudio.core.data.hub import read_hub
from mistudio.core.data.local_files import SUPPORTED_SUFFIXES, TxtMode, read_local
from mistudio.core.hub_ids import HUB_ID_FORMS, hub_id_problem, is_hub_id
from mistudio.core.progress import Progress
from mistudio.errors import InvalidInputError

SourceKind = Literal["hub", "local", "builtin"]


class DatasetSource(OperationConfig):
    """What to import. Build with :meth:`hub`, :meth:`local`, :meth:`builtin` or :meth:`parse`."""

    kind: SourceKind
    """``hub`` (HuggingFace dataset), ``local`` (file or folder) or ``builtin`` (shipped corpus)."""
    name: str | None = None
    """Display name of the dataset; defaults to the repo id, file name or corpus name."""
    repo_id: str | None = None
    """Hub dataset id, e.g. ``stanfordnlp/imdb`` (kind ``hub``)."""
    config: str | None = None
    """Hub dataset configuration (subset) name (kind ``hub``)."""
    split: str = "train"
    """Hub split to import (kind ``hub``)."""
    revision: str | None = None
    """Hub branch, tag or commit (kind ``hub``)."""
    token: str | None = Field(default=None, exclude=True, repr=False)
    """Hub access token for gated/private repos; never saved (else ``HF_TOKEN`` is used)."""
    streaming: bool = False
    """Stream rows instead of downloading the split; use with ``max_documents`` (kind ``hub``)."""
    path: Path | None = None
    """A txt/jsonl/json/parquet/csv file or a folder of them (kind ``local``)."""
    txt_mode: TxtMode = "file"
    """How a ``.txt`` file splits into documents: whole ``file``, each ``line``, ``paragraph``."""
    builtin: str | None = None
    """Built-in corpus name: ``python-stdlib`` or ``kjv`` (kind ``builtin``)."""
    include_tests: bool = False
    """For ``python-stdlib``: also import the stdlib's test folders."""
    text_column: str | None = None
    """Column holding the text; by default ``text``, ``content``, ``body``, ... or the first
    string column."""
    max_documents: int | None = Field(default=None, ge=1, le=1 << 40)
    """Import at most this many documents (the first ones in source order)."""

    @model_validator(mode="after")
    def _check_kind_fields(self) -> DatasetSource:
        if self.kind == "hub" and not self.repo_id:
            raise ValueError("a hub source needs repo_id")
        if self.kind == "hub" and self.repo_id and (problem := hub_id_problem(self.repo_id)):
            raise ValueError(problem)
        if self.kind == "local" and self.path is None:
            raise ValueError("a local source needs path")
        if self.kind == "builtin" and self.builtin not in BUILTIN_CORPORA:
            raise ValueError(
                f"unknown built-in corpus {self.builtin!r}; "
                f"available: {', '.join(sorted(BUILTIN_CORPORA))}"
            )
        return self

    @classmethod
    def hub(cls, repo_id: str, **fields: Any) -> DatasetSource:
        """A Hub dataset (``config``, ``split``, ``token``, ``streaming``, ... as keywords)."""
        return cls(kind="hub", repo_id=repo_id, **fields)

    @classmethod
    def local(cls, path: str | Path, **fields: Any) -> DatasetSource:
        """A local file or folder (``text_column``, ``txt_mode``, ... as keywords)."""
        return cls(kind="local", path=Path(path), **fields)

    @classmethod
    def builtin_corpus(cls, name: str, **fields: Any) -> DatasetSource:
        """A built-in corpus: ``python-stdlib`` or ``kjv``."""
        return cls(kind="builtin", builtin=name, **fields)

    @classmethod
    def parse(cls, spec: str, **fields: Any) -> DatasetSource:
        """``kjv`` / ``python-stdlib`` -> builtin; an existing path -> local;
        ``hub:owner/name``, ``owner/name`` or a canonical ``name`` (``wikitext``) -> hub. A
        missing file name (``notes.txt``) is not taken for a Hub id."""
        if spec in BUILTIN_CORPORA:
            return cls.builtin_corpus(spec, **fields)
        if spec.startswith("hub:"):
            return cls.hub(spec[4:], **fields)
        if Path(spec).expanduser().exists():
            return cls.local(Path(spec).expanduser(), **fields)
        if is_hub_id(spec) and Path(spec).suffix.lower() not in SUPPORTED_SUFFIXES:
            return cls.hub(spec, **fields)
        raise InvalidInputError(
            f"'{spec}' is not a built-in corpus ({', '.join(sorted(BUILTIN_CORPORA))}), "
            f"an existing file or folder, or a Hub dataset id ({HUB_ID_FORMS})"
        )

    def default_name(self) -> str:
        """The dataset name used when ``name`` is not set."""
        if self.name:
            return self.name
        if self.kind == "hub":
            parts = [self.repo_id or "", self.config or "", self.split]
            return ":".join(p for p in parts if p)
        if self.kind == "local":
            assert self.path is not None
            return self.path.name or str(self.path)
        return self.builtin or "builtin"

    def details(self) -> dict[str, Any]:
        """The settings worth recording for lineage (only fields of this kind; no token)."""
        keep = {"kind", "name", "text_column", "max_documents"}
        keep |= {
            "hub": {"repo_id", "config", "split", "revision", "streaming"},
            "local": {"path", "txt_mode"},
            "builtin": {"builtin", "include_tests"},
        }[self.kind]
        return self.model_dump(mode="json", include=keep, exclude_none=True)


def import_dataset(
    source: DatasetSource,
    dest_folder: str | Path,
    progress: Progress | None = None,
    allowed_roots: Sequence[Path] | None = None,
) -> DatasetInfo:
    """Import ``source`` into ``dest_folder`` (``data.parquet``, ``dataset.json``, ``stats.json``).

    ``allowed_roots`` confines a local source: only files that resolve under these folders are
    read (the service passes its import roots; the command line reads what its user names).

    Raises :class:`~mistudio.errors.InvalidInputError` (bad file type, missing text column,
    empty dataset, gated repo), :class:`~mistudio.errors.NotFoundError` (no such file, repo or
    corpus) or :class:`~mistudio.errors.HubUnreachableError`.
    """
    name = source.default_name()
    dropped = 0
    if source.kind == "local":
        assert source.path is not None
        table, text_column, dropped = read_local(
            source.path,
            text_column=source.text_column,
            txt_mode=source.txt_mode,
            max_documents=source.max_documents,
            progress=progress,
            allowed_roots=allowed_roots,
        )
    else:
        if source.kind == "hub":
            assert source.repo_id is not None
            raw = read_hub(
                source.repo_id,
                config=source.config,
                split=source.split,
                revision=source.revision,
                token=source.token,
                streaming=source.streaming,
                max_documents=source.max_documents,
                progress=progress,
            )
        else:
            assert source.builtin is not None
            raw = load_builtin(source.builtin, source.max_documents, source.include_tests, progress)
        if raw.num_rows == 0:
            raise InvalidInputError(f"dataset '{name}' is empty: the source has no rows")
        text_column = choose_text_column(raw.schema, source.text_column, f"dataset '{name}'")
        table, dropped = normalise_table(raw, text_column)
    table = _json_safe_metadata(table)
    return write_dataset_folder(
        Path(dest_folder),
        table,
        name=name,
        source_kind=source.kind,
        source=source.details(),
        text_column=text_column,
        n_dropped_empty=dropped,
    )


def _json_safe_metadata(table: pa.Table) -> pa.Table:
    """Drop Arrow null-typed metadata columns (parquet cannot hold them usefully)."""
    keep = [n for n in table.column_names if not pa.types.is_null(table.schema.field(n).type)]
    return table.select(keep)
