"""``/exports``: an extraction written for Neuronpedia: the studio archive (``export.zip``) and
Neuronpedia's bulk import layout, made by the ``neuronpedia_export`` job, downloaded streamed.

``POST /exports`` takes the extraction id in its body, as ``POST /labeling`` and
``POST /extractions`` take theirs. Everything a person can get wrong is refused before any row
is written, with one line: an extraction that is not ready (409: still running, failed), ids
Neuronpedia would refuse, a latent list that is malformed or out of range, a ``starred`` or
``labelled`` selection that holds no latent, a hook that names no layer without ``layer``
(422).

``POST /exports/{id}/upload`` pushes the bulk folder to a Neuronpedia instance (a
``neuronpedia_upload`` job, resumable: a retry continues after the last accepted batch). The
URL defaults to ``MISTUDIO_NEURONPEDIA_URL``; ``api_key`` is write-only, sealed for the job and
never stored or answered; without one the server's ``MISTUDIO_NEURONPEDIA_API_KEY`` is used,
only for its configured instance (another URL without a key is a 422), as with the labelling
keys.

Downloads are streamed (``StreamingResponse``), never read into memory: ``form=archive`` sends
``export.zip`` in chunks; ``form=neuronpedia`` zips the ``<modelId>/<sourceId>/`` folder as it
is sent (stored members: the batch files are gzip already).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import Field, SecretStr
from sqlalchemy import func, select

from mistudio.api.artifact_jobs import ArtifactOut, ready_input, start_artifact_job
from mistudio.api.deps import (
    DbId,
    Listing,
    Page,
    SessionDep,
    delete_artifact,
    get_or_404,
    listing_of,
)
from mistudio.api.errors import ApiError
from mistudio.api.submit import submit_job
from mistudio.core.config import DocumentedModel
from mistudio.core.features import ExtractionResult
from mistudio.core.neuronpedia import NeuronpediaExportConfig, parse_ranges
from mistudio.core.neuronpedia.credentials import upload_target
from mistudio.core.neuronpedia.export import ARCHIVE, BULK_DIR
from mistudio.core.neuronpedia.selection import NAMED
from mistudio.core.sae_export import iter_zip
from mistudio.jobs.lifecycle import active_jobs_using, new_job
from mistudio.store import ExportRow, Extraction, Feature

router = APIRouter(prefix="/exports", tags=["exports"])
CHUNK = 1 << 20


class ExportOut(ArtifactOut):
    extraction_id: int
    """The extraction exported."""
    config: dict[str, Any]
    """The :class:`NeuronpediaExportConfig` it was written with (ids resolved)."""
    result: dict[str, Any]
    """What was written: ``latents``, ``activations``, ``explanations``, ``batches``,
    ``model_id``, ``source_id``, ``source_set``, ``archive_bytes``, ``bulk_bytes``,
    ``seconds``."""
    upload: dict[str, Any]
    """The last upload to Neuronpedia: ``url``, ``job_id``, ``status``, batches accepted, the
    error when it stopped."""


class ExportCreate(DocumentedModel):
    extraction_id: DbId
    """The extraction to export (ready)."""
    config: NeuronpediaExportConfig = Field(default_factory=NeuronpediaExportConfig)
    """Which latents, what to include, and the Neuronpedia ids."""
    name: str | None = Field(default=None, min_length=1, max_length=200)
    """Display name (default: the extraction's name and the Neuronpedia source id)."""


def _checked(session: SessionDep, extraction: Extraction, config: NeuronpediaExportConfig) -> Any:
    """The config with its ids resolved against the extraction; 422 on what does not fit."""
    assert extraction.path is not None
    meta = ExtractionResult.open(extraction.path).meta
    resolved = config.resolved(meta.hook_name, meta.d_sae)
    if config.latents not in NAMED:
        parse_ranges(config.latents, meta.d_sae)
    elif config.latents in ("starred", "labelled"):
        where = Feature.starred.is_(True) if config.latents == "starred" else Feature.label != ""
        count = session.scalar(
            select(func.count())
            .select_from(Feature)
            .where(Feature.extraction_id == extraction.id, where)
        )
        if not count:
            raise ApiError(422, f"extraction {extraction.id} has no {config.latents} latents")
    return resolved


@router.post("", operation_id="create_export", response_model=ExportOut, status_code=202)
def create_export(body: ExportCreate, session: SessionDep) -> ExportOut:
    """Export an extraction for Neuronpedia (queues a ``neuronpedia_export`` job): the studio
    archive and Neuronpedia's bulk import layout, downloadable when the job is done."""
    extraction = ready_input(session, Extraction, body.extraction_id, "extraction", ", not ready")
    if not extraction.path:
        raise ApiError(409, f"extraction {extraction.id} has no arrays")
    resolved = _checked(session, extraction, body.config)
    row = ExportRow(
        name=body.name or f"{extraction.name} -> {resolved.model_id}/{resolved.source_id}"[:200],
        status="pending",
        extraction_id=extraction.id,
        config=resolved.model_dump(mode="json"),
        result={},
        upload={},
        lineage={},
    )
    start_artifact_job(session, row, "neuronpedia_export", [extraction])
    return ExportOut.model_validate(row)


@router.get("", operation_id="list_exports", response_model=Page[ExportOut])
def list_exports(
    listing: Annotated[Listing, listing_of(ExportOut, ExportRow, "created_at name")],
    extraction_id: DbId | None = None,
    status: str | None = None,
) -> Page[ExportOut]:
    """List exports, filtered by extraction or status."""
    return listing.page(extraction_id=extraction_id, status=status)


@router.get("/{export_id}", operation_id="get_export", response_model=ExportOut)
def get_export(export_id: DbId, session: SessionDep) -> ExportOut:
    """One export: its settings, what it wrote and its last upload."""
    return ExportOut.model_validate(get_or_404(session, ExportRow, export_id, "export"))


@router.delete("/{export_id}", operation_id="delete_export", status_code=204)
def delete_export(export_id: DbId, session: SessionDep) -> None:
    """Delete an export and its files (refused while its job or an upload of it runs)."""
    row = get_or_404(session, ExportRow, export_id, "export")
    delete_artifact(session, row, "exports", "export")


def _stream(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while block := handle.read(CHUNK):
            yield block


def bulk_folder(row: ExportRow) -> Path:
    """``<export>/neuronpedia/<modelId>/<sourceId>`` of a ready export (409 when missing)."""
    result = row.result or {}
    folder = (
        Path(row.path or "") / BULK_DIR / str(result.get("model_id")) / str(result.get("source_id"))
    )
    if not row.path or not folder.is_dir():
        raise ApiError(409, f"export {row.id} has no Neuronpedia folder")
    return folder


@router.get(
    "/{export_id}/download",
    operation_id="download_export",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/zip": {}}, "description": "A zip"}},
)
def download_export(
    export_id: DbId,
    session: SessionDep,
    form: Literal["archive", "neuronpedia"] = Query(
        "archive",
        description="archive: the studio's export.zip; neuronpedia: the bulk import folder "
        "<modelId>/<sourceId>/ as a zip",
    ),
) -> StreamingResponse:
    """Download an export, streamed."""
    row = ready_input(session, ExportRow, export_id, "export")
    result = row.result or {}
    stem = f"{result.get('model_id', 'export')}-{result.get('source_id', export_id)}"
    if form == "archive":
        path = Path(row.path or "") / ARCHIVE
        if not row.path or not path.is_file():
            raise ApiError(409, f"export {export_id} has no archive")
        return StreamingResponse(
            _stream(path),
            media_type="application/zip",
            headers={
                "Content-Disposition": f'attachment; filename="{stem}.zip"',
                "Content-Length": str(path.stat().st_size),
            },
        )
    folder = bulk_folder(row)
    base = folder.parent.parent
    members: list[tuple[str, Path | bytes]] = [
        (str(p.relative_to(base)), p) for p in sorted(folder.rglob("*")) if p.is_file()
    ]
    return StreamingResponse(
        iter_zip(members),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{stem}-neuronpedia.zip"'},
    )


class UploadCreate(DocumentedModel):
    """Where to upload an export, and with which key."""

    url: str | None = Field(default=None, max_length=2000)
    """The Neuronpedia instance (default: ``MISTUDIO_NEURONPEDIA_URL``)."""
    api_key: SecretStr | None = Field(default=None, max_length=500)
    """Your Neuronpedia API key (Settings on the instance); write-only, used by the upload job
    and never stored. Without it the server's key is used, for its configured instance only."""


@router.post(
    "/{export_id}/upload", operation_id="upload_export", response_model=ExportOut, status_code=202
)
def upload_export(export_id: DbId, body: UploadCreate, session: SessionDep) -> ExportOut:
    """Upload an export to a Neuronpedia instance through its per-user API (queues a
    ``neuronpedia_upload`` job; ``upload`` on the export follows it). The source set must exist
    there and belong to the key's user."""
    row = ready_input(session, ExportRow, export_id, "export")
    bulk_folder(row)
    running = [
        j
        for j in active_jobs_using(session, "exports", export_id)
        if j.kind == "neuronpedia_upload"
    ]
    if running:
        raise ApiError(409, f"export {export_id} is being uploaded by job {running[0].id}")
    key = body.api_key.get_secret_value() if body.api_key is not None else None
    url, _ = upload_target(body.url, key)
    job = new_job(
        session,
        "neuronpedia_upload",
        {"export_id": export_id, "url": url, "api_key_given": bool(key)},
        resources=[("exports", export_id)],
    )
    row.upload = {"url": url, "job_id": job.id, "status": "queued", "error": None}
    submit_job(session, job, {"api_key": key})
    return ExportOut.model_validate(row)
