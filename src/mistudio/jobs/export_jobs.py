"""The Neuronpedia export job: an extraction written as the studio archive and the bulk layout.

The API has checked the request (ready extraction, ids, latent bounds) and written a pending
``exports`` row; the job

1. reads its inputs in one short session: the extraction's folder, the SAE's folder, the labels
   of the extraction's ``features`` rows (a ``labelled`` row with a non-empty label; core never
   reads the database, it gets them as :class:`~mistudio.core.neuronpedia.LatentLabel` s) and,
   for a ``starred`` or ``labelled`` selection, those latents' indices;
2. calls :func:`~mistudio.core.neuronpedia.export.export_extraction` with the job's progress
   (latents written of latents selected, so the bar and its ETA move per latent), writing under
   ``artifacts/exports/<id>/`` (``export.zip`` and ``neuronpedia/<modelId>/<sourceId>/``);
3. marks the row ready with what was written.

A failure (a full disk: one line, nothing kept) fails the row through the job kit, which also
deletes the row's folder; a retry starts over.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from pathlib import Path
from typing import Any

from sqlalchemy import select

from mistudio.core.features import ExtractionResult
from mistudio.core.neuronpedia import LatentLabel, NeuronpediaExportConfig
from mistudio.core.neuronpedia.credentials import upload_target
from mistudio.core.neuronpedia.export import BULK_DIR, export_extraction
from mistudio.core.neuronpedia.upload import upload_bulk
from mistudio.errors import InvalidInputError, NotFoundError
from mistudio.jobs.handlers import handler
from mistudio.jobs.runtime import JobContext, job_row
from mistudio.store import ExportRow, Extraction, Feature, SAERow, artifact_dir, session_scope
from mistudio.store.job_secrets import drop_job_secret, get_job_secret
from mistudio.store.lineage import Lineage


def bulk_source(row: ExportRow) -> Path:
    """``<export>/neuronpedia/<modelId>/<sourceId>`` of an export (NotFoundError when absent)."""
    result = row.result or {}
    folder = (
        Path(row.path or "")
        / BULK_DIR
        / str(result.get("model_id", ""))
        / str(result.get("source_id", ""))
    )
    if not row.path or not result.get("model_id") or not folder.is_dir():
        raise NotFoundError(f"export {row.id} has no Neuronpedia folder")
    return folder


def labels_of(extraction_id: int) -> dict[int, LatentLabel]:
    """Every labelled latent of an extraction, as plain data for core."""
    with session_scope() as session:
        rows = session.scalars(
            select(Feature).where(
                Feature.extraction_id == extraction_id,
                Feature.label.is_not(None),
                Feature.label != "",
                (Feature.label_status == "labelled") | Feature.label_status.is_(None),
            )
        ).all()
        return {
            r.index: LatentLabel(
                index=r.index,
                label=r.label or "",
                description=r.description,
                category=r.category,
                method=r.label_method,
                model=r.label_model,
                confidence=r.label_confidence,
                detection=r.detection_score,
                fuzzing=r.fuzzing_score,
                labeled_at=r.labeled_at,
            )
            for r in rows
        }


def named_indices(extraction_id: int, selection: str) -> list[int] | None:
    """The latents of a ``starred`` selection (``labelled`` is the label dict's keys)."""
    if selection != "starred":
        return None
    with session_scope() as session:
        return list(
            session.scalars(
                select(Feature.index)
                .where(Feature.extraction_id == extraction_id, Feature.starred.is_(True))
                .order_by(Feature.index)
            )
        )


@handler("neuronpedia_export", queue="cpu")
def neuronpedia_export_job(ctx: JobContext) -> dict[str, Any]:
    """Write one export (see the module docstring)."""
    export_id = int(ctx.config["export_id"])
    with job_row(ExportRow, export_id, "export") as (session, row):
        config = NeuronpediaExportConfig.model_validate(row.config or {})
        extraction = session.get(Extraction, row.extraction_id)
        if extraction is None or not extraction.path:
            raise NotFoundError(f"the extraction of export {export_id} is gone")
        sae = session.get(SAERow, extraction.sae_id)
        extraction_id, extraction_path = extraction.id, extraction.path
        sae_id = sae.id if sae is not None else None
        sae_path = Path(sae.path) if sae is not None and sae.path else None
    if sae_path is not None and not sae_path.exists():
        sae_path = None
    ctx.stage(0.0, 0.05, "reading labels")
    labels = labels_of(extraction_id) if config.include_explanations else {}
    indices = named_indices(extraction_id, config.latents)
    if config.latents == "labelled":
        indices = sorted(labels or labels_of(extraction_id))
    if config.latents in ("starred", "labelled") and not indices:
        raise InvalidInputError(f"extraction {extraction_id} has no {config.latents} latents")
    result = ExtractionResult.open(extraction_path)
    dest = artifact_dir("exports", export_id)
    lineage = {"job_id": ctx.job_id, "extraction_id": extraction_id, "sae_id": sae_id}
    ctx.stage(0.05, 1.0, "writing")
    summary = export_extraction(
        result,
        config,
        dest,
        sae_folder=sae_path,
        labels=labels,
        indices=indices,
        lineage=lineage,
        progress=ctx.progress,
    )
    with job_row(ExportRow, export_id, "export", "exporting") as (session, row):
        row.status = "ready"
        row.path = str(dest)
        row.result = asdict(summary)
        row.error = None
        row.lineage = Lineage(
            ctx.job_id, {"extraction_id": extraction_id, "sae_id": sae_id}, config
        ).as_json()
    ctx.log(summary.line())
    return {"export_id": export_id, **asdict(summary)}


def upload_state_file(export_folder: Path, url: str) -> Path:
    """Where an upload of this export to ``url`` records the batches Neuronpedia accepted
    (one file per instance, so uploads to two instances resume independently)."""
    digest = hashlib.sha256(url.encode()).hexdigest()[:12]
    return export_folder / f"upload-state-{digest}.json"


def _record_upload(export_id: int, upload: dict[str, Any]) -> None:
    with job_row(ExportRow, export_id, "export", "uploading") as (_session, row):
        row.upload = {**(row.upload or {}), **upload}


@handler("neuronpedia_upload", queue="cpu", resumable=True)
def neuronpedia_upload_job(ctx: JobContext) -> dict[str, Any]:
    """Push an export's bulk folder to a Neuronpedia instance through its per-user API
    (:func:`~mistudio.core.neuronpedia.upload.upload_bulk`). The key was sealed by the API and
    is read here (or, without one, the server's own key for its configured instance); a retry
    resumes after the last batch the instance accepted."""
    export_id = int(ctx.config["export_id"])
    url = str(ctx.config["url"])
    with job_row(ExportRow, export_id, "export") as (_session, row):
        folder = Path(row.path or "")
        source = bulk_source(row)
    key = get_job_secret(ctx.job_id, "api_key")
    url, key = upload_target(url, key)
    _record_upload(export_id, {"status": "running", "error": None})
    ctx.stage(0.0, 1.0, "uploading")
    try:
        report = upload_bulk(
            source, url, key, state_file=upload_state_file(folder, url), progress=ctx.progress
        )
    except Exception as exc:
        _record_upload(export_id, {"status": "failed", "error": str(exc).splitlines()[0]})
        raise
    summary = {k: v for k, v in asdict(report).items() if isinstance(v, int | float | str | dict)}
    _record_upload(export_id, {"status": "completed", "error": None, "report": summary})
    for line in report.lines():
        ctx.log(line)
    drop_job_secret(ctx.job_id)
    return {"export_id": export_id, "url": url, **summary}
