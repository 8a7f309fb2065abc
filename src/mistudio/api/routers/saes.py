"""``/saes``: SAEs trained here or imported from a SAELens-layout folder, with their lineage."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import (
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
)

from mistudio.api.artifact_jobs import ArtifactOut
from mistudio.api.deps import (
    DbId,
    Listing,
    Page,
    SessionDep,
    check_import_path,
    delete_artifact,
    get_or_404,
    listing_of,
)
from mistudio.api.validation import check_hooks, check_width
from mistudio.core.config import DocumentedModel
from mistudio.core.sae.catalog import ArchitectureInfo, architecture_catalog
from mistudio.errors import InvalidInputError
from mistudio.store import LanguageModel, SAERow
from mistudio.store.artifact_rows import read_sae_cfg, sae_cfg_columns
from mistudio.store.like import contains

router = APIRouter(prefix="/saes", tags=["saes"])


class SAEOut(ArtifactOut):
    origin: str
    """``trained`` (by a training here) or ``imported`` (a folder in a supported format)."""
    training_id: int | None
    """The training that produced it (trained SAEs)."""
    model_id: int | None
    """The model whose activations it reads."""
    architecture: str | None
    """Architecture name (a key of the SAE registry)."""
    hook_name: str | None
    """Hook point it reads."""
    d_in: int | None
    """Width of its input activation."""
    d_sae: int | None
    """Number of latents."""
    model_name: str | None
    """Model name recorded in its cfg.json."""
    cfg: dict[str, Any]
    """Its SAELens ``cfg.json``."""
    metrics: dict[str, Any]
    """Final evaluation metrics (FVU, L0, dead fraction, CE loss recovered, ...)."""

    # Columns copied from an imported cfg.json: a row an older version stored with a value of
    # the wrong type reads as null here rather than failing the whole list.
    @field_validator("architecture", "hook_name", "d_in", "d_sae", "model_name", mode="wrap")
    @classmethod
    def _null_if_invalid(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(value)
        except ValidationError:
            return None

    @field_validator("cfg", "metrics", "lineage", mode="wrap")
    @classmethod
    def _empty_if_invalid(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(value)
        except ValidationError:
            return {}


class SAEImport(DocumentedModel):
    path: str = Field(min_length=1, max_length=4096)
    """A SAELens folder (``cfg.json`` + ``sae_weights.safetensors``) under an import root."""
    name: str | None = Field(default=None, min_length=1, max_length=200)
    """Display name (default: derived from the inputs)."""
    model_id: DbId | None = None
    """The model it reads from; its hook point and width are checked against the SAE."""


@router.get("", operation_id="list_saes", response_model=Page[SAEOut])
def list_saes(
    listing: Annotated[Listing, listing_of(SAEOut, SAERow, "created_at name d_sae hook_name")],
    q: str | None = Query(None, description="Name or hook contains"),
    origin: Literal["trained", "imported"] | None = None,
    training_id: DbId | None = None,
    model_id: DbId | None = None,
) -> Page[SAEOut]:
    """List SAEs (trained here or imported), filtered by name or hook, origin, training or model."""
    return listing.page(
        contains(SAERow.name, q) | contains(SAERow.hook_name, q) if q else None,
        origin=origin,
        training_id=training_id,
        model_id=model_id,
    )


@router.post("/import", operation_id="import_sae", response_model=SAEOut, status_code=201)
def import_sae(body: SAEImport, session: SessionDep) -> SAEOut:
    """Register an SAE folder in SAELens layout (read in place, never moved or deleted).

    Everything is checked before the row is written: the folder and its files lie under an
    import root (symlinks resolved), cfg.json is JSON with the fields the row keeps, of the right
    types, and (with ``model_id``) its hook point and width fit the model."""
    folder = check_import_path(body.path)
    if not (folder / "cfg.json").exists():
        raise InvalidInputError(f"{folder} is not a SAELens folder (no cfg.json)")
    for name in ("cfg.json", "sae_weights.safetensors"):
        if (folder / name).exists() or (folder / name).is_symlink():
            check_import_path(folder / name)  # a symlink must not lead out of the roots
    cfg = read_sae_cfg(folder)
    columns = sae_cfg_columns(cfg, f"SAE folder {folder.name}")
    model = None
    if body.model_id is not None:
        model = get_or_404(session, LanguageModel, body.model_id, "model")
        if columns.hook_name:
            check_hooks(model, [columns.hook_name])
            check_width(model, columns.hook_name, columns.d_in, f"SAE {folder.name}")
    row = SAERow(
        name=body.name or folder.name,
        status="ready",
        origin="imported",
        model_id=model.id if model else None,
        **columns.model_dump(),
        path=str(folder),
        cfg=cfg,
        metrics={},
        lineage={"origin": "imported", "path": str(folder)},
    )
    session.add(row)
    session.commit()
    return SAEOut.model_validate(row)


@router.get(
    "/architectures", operation_id="list_sae_architectures", response_model=list[ArchitectureInfo]
)
def list_architectures() -> list[ArchitectureInfo]:
    """Every registered SAE architecture with its facts (how L0 is set, the config fields it
    reads, whether it needs an output hook, its SAELens names), read off the registry so the
    training form follows a new architecture without a change of its own."""
    return architecture_catalog()


@router.get("/{sae_id}", operation_id="get_sae", response_model=SAEOut)
def get_sae(sae_id: DbId, session: SessionDep) -> SAEOut:
    """One SAE: shape, architecture, cfg.json and final metrics."""
    return SAEOut.model_validate(get_or_404(session, SAERow, sae_id, "SAE"))


@router.delete("/{sae_id}", operation_id="delete_sae", status_code=204)
def delete_sae(sae_id: DbId, session: SessionDep) -> None:
    """Forget an SAE; files are deleted only for SAEs trained here (inside MISTUDIO_HOME)."""
    row = get_or_404(session, SAERow, sae_id, "SAE")
    delete_artifact(session, row, "saes", "SAE", remove_files=row.origin == "trained")
