"""``/saes``: SAEs trained here or imported from a SAELens-layout folder, with their lineage."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from mistudio.api.deps import (
    DbId,
    Page,
    PagingDep,
    SessionDep,
    check_import_path,
    delete_artifact,
    get_or_404,
    page_response,
)
from mistudio.api.validation import check_hooks, check_width
from mistudio.errors import InvalidInputError
from mistudio.store import LanguageModel, SAERow
from mistudio.store.like import contains

router = APIRouter(prefix="/saes", tags=["saes"])


class SAEOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    status: str
    origin: str
    training_id: int | None
    model_id: int | None
    architecture: str | None
    hook_name: str | None
    d_in: int | None
    d_sae: int | None
    model_name: str | None
    cfg: dict[str, Any]
    metrics: dict[str, Any]
    path: str | None
    job_id: str | None
    lineage: dict[str, Any]
    created_at: dt.datetime


class SAEImport(BaseModel):
    path: str
    """A SAELens folder (``cfg.json`` + ``sae_weights.safetensors``) under an import root."""
    name: str | None = None
    model_id: DbId | None = None
    """The model it reads from; its hook point and width are checked against the SAE."""


@router.get("", operation_id="list_saes", response_model=Page[SAEOut])
def list_saes(
    session: SessionDep,
    paging: PagingDep,
    q: str | None = Query(None, description="Name or hook contains"),
    origin: Literal["trained", "imported"] | None = None,
    training_id: DbId | None = None,
    model_id: DbId | None = None,
    sort: str = "created_at",
    order: Literal["asc", "desc"] = "desc",
) -> Page[SAEOut]:
    stmt = select(SAERow)
    if q:
        stmt = stmt.where(contains(SAERow.name, q) | contains(SAERow.hook_name, q))
    if origin:
        stmt = stmt.where(SAERow.origin == origin)
    if training_id is not None:
        stmt = stmt.where(SAERow.training_id == training_id)
    if model_id is not None:
        stmt = stmt.where(SAERow.model_id == model_id)
    return page_response(
        SAEOut,
        session,
        stmt,
        SAERow,
        paging,
        sort,
        order,
        ("created_at", "name", "d_sae", "hook_name"),
    )


@router.post("/import", operation_id="import_sae", response_model=SAEOut, status_code=201)
def import_sae(body: SAEImport, session: SessionDep) -> SAEOut:
    """Register an SAE folder in SAELens layout (read in place, never moved or deleted)."""
    from mistudio.core.sae.saelens_format import read_cfg

    folder = check_import_path(body.path)
    if not (folder / "cfg.json").exists():
        raise InvalidInputError(f"{folder} is not a SAELens folder (no cfg.json)")
    cfg = read_cfg(folder)
    metadata = cfg.get("metadata", {}) or {}
    hook = metadata.get("hook_name") or cfg.get("hook_name")
    d_in = cfg.get("d_in")
    model = None
    if body.model_id is not None:
        model = get_or_404(session, LanguageModel, body.model_id, "model")
        if hook:
            check_hooks(model, [hook])
            if d_in is not None:
                check_width(model, hook, int(d_in), f"SAE {folder.name}")
    row = SAERow(
        name=body.name or folder.name,
        status="ready",
        origin="imported",
        model_id=model.id if model else None,
        architecture=cfg.get("architecture"),
        hook_name=hook,
        d_in=d_in,
        d_sae=cfg.get("d_sae"),
        model_name=metadata.get("model_name") or cfg.get("model_name"),
        path=str(folder),
        cfg=cfg,
        metrics={},
        lineage={"origin": "imported", "path": str(folder)},
    )
    session.add(row)
    session.commit()
    return SAEOut.model_validate(row)


@router.get("/{sae_id}", operation_id="get_sae", response_model=SAEOut)
def get_sae(sae_id: DbId, session: SessionDep) -> SAEOut:
    return SAEOut.model_validate(get_or_404(session, SAERow, sae_id, "SAE"))


@router.delete("/{sae_id}", operation_id="delete_sae", status_code=204)
def delete_sae(sae_id: DbId, session: SessionDep) -> None:
    """Forget an SAE; files are deleted only for SAEs trained here (inside MISTUDIO_HOME)."""
    row = get_or_404(session, SAERow, sae_id, "SAE")
    delete_artifact(session, row, "saes", "SAE", remove_files=row.origin == "trained")
