"""``/datasets``: import text (Hub, local files, uploads, built-in corpora), browse, delete."""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from pydantic import Field
from sqlalchemy import select

from mistudio.api.artifact_jobs import ArtifactOut, start_artifact_job
from mistudio.api.deps import (
    MAX_DB_INT,
    DbId,
    Listing,
    Page,
    SessionDep,
    check_import_path,
    delete_artifact,
    get_or_404,
    listing_of,
)
from mistudio.api.errors import ApiError
from mistudio.api.hub_search import LIMIT, QUERY, HubSearchResults, hub_search
from mistudio.core.config import DocumentedModel
from mistudio.core.data import BUILTIN_CORPORA, DatasetSource, dataset_samples
from mistudio.errors import InvalidInputError
from mistudio.settings import get_settings
from mistudio.store import Dataset, uploads_dir
from mistudio.store.like import contains

router = APIRouter(prefix="/datasets", tags=["datasets"])


class DatasetOut(ArtifactOut):
    source_kind: str
    """``hub``, ``local`` or ``builtin``."""
    source: dict[str, Any]
    """The import config (no token)."""
    builtin: bool
    """A corpus shipped with miStudio."""
    n_documents: int | None
    """Documents imported."""
    n_bytes: int | None
    """Size of the imported text in bytes."""
    info: dict[str, Any]
    """What the import recorded (columns, statistics)."""
    updated_at: dt.datetime
    """When the row last changed."""


class DatasetCreate(DocumentedModel):
    source: DatasetSource
    """What to import (``hub``, ``local`` or ``builtin``); the same config the CLI builds."""
    name: str | None = Field(default=None, max_length=200)
    """Display name (default: from the source)."""


class BuiltinSource(DocumentedModel):
    name: str
    """Built-in corpus name (``python-stdlib``, ``kjv``)."""
    description: str
    """What the corpus holds."""


class Sample(DocumentedModel):
    index: int
    """Document index in the dataset."""
    text: str
    """The document's text (cut when long)."""
    n_chars: int
    """Length of the full text in characters."""
    truncated: bool
    """Whether ``text`` was cut."""
    metadata: dict[str, Any]
    """The document's other columns."""


@router.get("", operation_id="list_datasets", response_model=Page[DatasetOut])
def list_datasets(
    listing: Annotated[
        Listing, listing_of(DatasetOut, Dataset, "created_at name n_documents n_bytes status")
    ],
    q: str | None = Query(None, description="Name contains (case-insensitive)"),
    status: str | None = None,
    source_kind: Literal["hub", "local", "builtin"] | None = None,
) -> Page[DatasetOut]:
    """List imported datasets, filtered by name, status or source kind."""
    return listing.page(
        contains(Dataset.name, q) if q else None, status=status, source_kind=source_kind
    )


@router.get("/sources", operation_id="list_dataset_sources", response_model=list[BuiltinSource])
def list_sources() -> list[BuiltinSource]:
    """Built-in corpora that can be imported offline."""
    return [BuiltinSource(name=n, description=c.description) for n, c in BUILTIN_CORPORA.items()]


def _start_import(session: SessionDep, source: DatasetSource, name: str | None) -> Dataset:
    row: Dataset | None = None
    if source.kind == "builtin":
        # The built-in row registered at start-up is filled by its first import.
        row = session.scalar(
            select(Dataset).where(
                Dataset.builtin.is_(True),
                Dataset.name == source.builtin,
                Dataset.status == "available",
            )
        )
    if source.kind == "local":
        assert source.path is not None
        source = source.model_copy(update={"path": check_import_path(source.path)})
    if row is None:
        row = Dataset(
            name=name or source.default_name(),
            source_kind=source.kind,
            source=source.details(),
            builtin=False,
            status="pending",
            info={},
            lineage={},
        )
    else:
        row.status = "pending"
        row.source = source.details()
        if name:
            row.name = name
    # The Hub token is excluded from the dump; it travels sealed (see mistudio.store.job_secrets).
    config = {"source": source.model_dump(mode="json")}
    start_artifact_job(
        session, row, "dataset_import", config=config, secrets={"hub_token": source.token}
    )
    return row


@router.get("/hub/search", operation_id="search_hub_datasets", response_model=HubSearchResults)
def search_hub_datasets(q: str = QUERY, limit: int = LIMIT) -> HubSearchResults:
    """Dataset repos on the Hub whose id contains ``q``, most downloaded first (suggestions while
    typing a dataset id; 503 in one line when the Hub cannot be reached)."""
    return hub_search("dataset", q, limit)


@router.post("", operation_id="create_dataset", response_model=DatasetOut, status_code=202)
def create_dataset(body: DatasetCreate, session: SessionDep) -> DatasetOut:
    """Import a dataset; the import runs as a job (``job_id``)."""
    return DatasetOut.model_validate(_start_import(session, body.source, body.name))


def upload_name(filename: str | None) -> str:
    """The uploaded file's own name, safe to create inside the upload's folder: its last path
    part (``/`` or ``\\``), refused (422) when that is empty, ``.``/``..``, hidden or too long."""
    name = (filename or "upload.txt").replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not name or name.startswith(".") or "\x00" in name or len(name.encode()) > 200:
        raise InvalidInputError(
            "the uploaded file needs a name with a type suffix, e.g. corpus.jsonl"
        )
    return name


@router.post("/upload", operation_id="upload_dataset", response_model=DatasetOut, status_code=202)
async def upload_dataset(
    request: Request,
    session: SessionDep,
    file: UploadFile = File(..., description="A txt/jsonl/json/parquet/csv file"),
    name: str | None = Form(None),
    text_column: str | None = Form(None),
) -> DatasetOut:
    """Upload one file and import it (413 above ``MISTUDIO_UPLOAD_MAX_BYTES``)."""
    limit = get_settings().upload_max_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + 64 * 1024:
        raise ApiError(413, f"upload is larger than the limit of {limit:,} bytes")
    filename = upload_name(file.filename)
    folder = uploads_dir() / uuid.uuid4().hex
    folder.mkdir(parents=True)
    dest = folder / filename
    written = 0
    with dest.open("wb") as out:
        while chunk := await file.read(1 << 20):
            written += len(chunk)
            if written > limit:
                out.close()
                shutil.rmtree(folder, ignore_errors=True)
                raise ApiError(413, f"upload is larger than the limit of {limit:,} bytes")
            out.write(chunk)
    try:
        source = DatasetSource.local(
            dest, name=name or Path(filename).stem, text_column=text_column
        )
    except ValueError as exc:
        raise InvalidInputError(str(exc)) from exc
    return DatasetOut.model_validate(_start_import(session, source, name))


@router.get("/{dataset_id}", operation_id="get_dataset", response_model=DatasetOut)
def get_dataset(dataset_id: DbId, session: SessionDep) -> DatasetOut:
    """One dataset."""
    return DatasetOut.model_validate(get_or_404(session, Dataset, dataset_id, "dataset"))


@router.get(
    "/{dataset_id}/samples", operation_id="list_dataset_samples", response_model=list[Sample]
)
def list_samples(
    dataset_id: DbId,
    session: SessionDep,
    offset: int = Query(0, ge=0, le=MAX_DB_INT),
    limit: int = Query(20, ge=1, le=200),
) -> list[Sample]:
    """Documents of an imported dataset (text is returned as text; render it as text)."""

    row = get_or_404(session, Dataset, dataset_id, "dataset")
    if row.status != "ready" or not row.path:
        raise ApiError(409, f"dataset {dataset_id} is {row.status}, not imported yet")
    return [Sample.model_validate(s) for s in dataset_samples(row.path, offset, limit)]


@router.delete("/{dataset_id}", operation_id="delete_dataset", status_code=204)
def delete_dataset(dataset_id: DbId, session: SessionDep) -> None:
    """Delete a dataset and its files (409 while a job uses it)."""
    row = get_or_404(session, Dataset, dataset_id, "dataset")
    delete_artifact(session, row, "datasets", "dataset")
