"""``/saes``: SAEs trained here or imported (Hub, SAELens release, local folder), with their
lineage; linking to a model and export as a SAELens zip.

``POST /saes`` imports any SAE the format registry reads. Everything a person can get wrong is
refused before the job is queued, with one 4xx line and no row written: the source is parsed
(Hub path, release name, local path under an import root), the repo listed and the
``allow_patterns`` applied, the format detected from the file names, access to a gated repo
checked, and ``d_in`` and the hook (from the SAE's small config, when its format has one)
checked against the model picked. The ``sae_import`` job (``jobs/sae_import_jobs.py``) then
downloads, reads, links and writes a SAELens folder; its row stays ``pending`` until then and a
failure marks it ``failed`` with the reason (retry resumes the download).

An imported SAE's ``lineage`` holds ``origin`` (``hub``, ``release`` or ``local``), ``format``,
``repo``, ``revision`` (the commit), ``path`` (the folder in the repo), ``release``, ``files``
(sha256 of every file read) and ``model_link`` (how its model was chosen).

A Hub token (``token``) is write-only, sealed for the job as the models router does.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import (
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
)
from starlette.background import BackgroundTask

from mistudio.api.artifact_jobs import ArtifactOut, ready_input, start_artifact_job
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
from mistudio.api.errors import ApiError
from mistudio.api.validation import check_hooks, check_width
from mistudio.core.config import DocumentedModel
from mistudio.core.sae.catalog import ArchitectureInfo, architecture_catalog
from mistudio.core.sae_export import (
    export_members,
    is_native,
    iter_zip,
    write_saelens_folder,
)
from mistudio.core.sae_import import SAEImportConfig, SAEImportPlan, plan_for
from mistudio.errors import InvalidInputError
from mistudio.settings import get_settings
from mistudio.store import LanguageModel, SAERow
from mistudio.store.artifact_rows import read_sae_cfg, sae_cfg_columns
from mistudio.store.like import contains
from mistudio.store.sae_links import check_link, model_points

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


class SAEAdd(SAEImportConfig):
    """The core :class:`SAEImportConfig` (source, revision, allow_patterns, format) plus how the
    studio names it, the model it reads and a token for gated repos."""

    # As every request body: keys added by a newer client are ignored, not refused.
    model_config = ConfigDict(extra="ignore")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    """Display name (default: the release name, or the repo and folder)."""
    model_id: DbId | None = None
    """The model it reads; default: the registered model its config names (matched by name),
    else none until you pick one."""
    token: SecretStr | None = None
    """Hub token for a gated or private repo; write-only, used by the import job, never
    stored."""


class SAEUpdate(DocumentedModel):
    """Changes to an SAE: name, linked model (null unlinks), hook."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    """New display name."""
    model_id: DbId | None = None
    """The model it reads; null unlinks it. Its hook and width are checked against the model."""
    hook_name: str | None = Field(default=None, min_length=1, max_length=200)
    """The hook it reads, TransformerLens-style or as a HuggingFace module path (for an SAE whose
    source names none); checked against the linked model."""


MAX_LOCAL_FILES = 10_000
"""Most files a local SAE folder may hold (each is checked to stay under the import roots)."""


def _local_path(text: str) -> Path:
    """A local source under the import roots; a folder's files too, so that a link inside it
    cannot lead the import job out of the roots."""
    path = check_import_path(text)
    if path.is_dir():
        for n, inside in enumerate(path.rglob("*")):
            if n >= MAX_LOCAL_FILES:
                raise InvalidInputError(f"{text} holds more than {MAX_LOCAL_FILES} files")
            if inside.is_symlink():
                check_import_path(inside)
    return path


def _plan(body: SAEAdd, token: str | None) -> SAEImportPlan:
    cache = get_settings().cache_dir / "hub"
    return plan_for(body, token, cache, _local_path)


def _default_name(plan: SAEImportPlan) -> str:
    if plan.release:
        return plan.release[:200]
    if plan.kind == "local":
        return Path(plan.folder).name[:200] or plan.folder[-200:]
    return plan.origin[-200:]


@router.post("", operation_id="add_sae", response_model=SAEOut, status_code=202)
def add_sae(body: SAEAdd, session: SessionDep) -> SAEOut:
    """Import an SAE from the Hub (``org/name[/folder]``), a SAELens release
    (``release/sae_id``) or a local folder, file or .zip under an import root (queues a job).

    Refused before any job runs, with one line: a repo, revision or folder that does not exist,
    ``allow_patterns`` matching nothing, files of no known format, a gated repo without a token
    with access, a path outside the import roots, and (when its config tells them) a hook or
    ``d_in`` that does not fit the model picked."""
    token = body.token.get_secret_value() if body.token is not None else None
    plan = _plan(body, token)
    name = body.name or _default_name(plan)
    model = None
    if body.model_id is not None:
        model = get_or_404(session, LanguageModel, body.model_id, "model")
        check_link(
            model,
            plan.facts.get("hook_name"),
            None,
            plan.facts.get("d_in"),
            f"SAE {name}",
        )
    row = SAERow(
        name=name,
        status="pending",
        origin="imported",
        model_id=model.id if model is not None else None,
        d_in=plan.facts.get("d_in") if isinstance(plan.facts.get("d_in"), int) else None,
        d_sae=plan.facts.get("d_sae") if isinstance(plan.facts.get("d_sae"), int) else None,
        hook_name=str(plan.facts["hook_name"])[:200] if plan.facts.get("hook_name") else None,
        cfg={},
        metrics={},
        lineage={
            "origin": plan.kind,
            "source": plan.source,
            "format": plan.format,
            "repo": plan.repo_id,
            "revision": plan.revision,
            "path": plan.folder if plan.kind != "local" else None,
            "release": plan.release,
        },
    )
    config = {"plan": plan.model_dump(mode="json")}
    start_artifact_job(session, row, "sae_import", config=config, secrets={"hub_token": token})
    return SAEOut.model_validate(row)


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


@router.patch("/{sae_id}", operation_id="update_sae", response_model=SAEOut)
def update_sae(sae_id: DbId, body: SAEUpdate, session: SessionDep) -> SAEOut:
    """Rename an SAE, link it to a model (its hook and width are checked; the hook is kept as
    that model names it), change the link, or unlink it (``model_id: null``)."""
    row = get_or_404(session, SAERow, sae_id, "SAE")
    if row.status == "pending":
        raise ApiError(409, f"SAE {sae_id} is still being imported (job {row.job_id})")
    fields = body.model_fields_set
    if "name" in fields and body.name is not None:
        row.name = body.name
    hook = body.hook_name if "hook_name" in fields and body.hook_name else row.hook_name
    model_id = body.model_id if "model_id" in fields else row.model_id
    if model_id is None:
        row.model_id = None
        row.hook_name = hook
    else:
        model = get_or_404(session, LanguageModel, model_id, "model")
        meta = (row.cfg or {}).get("metadata") or {}
        hf_hook = meta.get("hf_hook_name") if hook == row.hook_name else None
        link = check_link(model, hook, hf_hook, row.d_in, f"SAE {row.name}")
        row.model_id = model.id
        row.hook_name = link.hook.name if link.hook.name else hook
    session.commit()
    return SAEOut.model_validate(row)


def _export_name(row: SAERow) -> str:
    cleaned = "".join(c if c.isalnum() or c in "._-" else "-" for c in row.name).strip("-.")
    return (cleaned or f"sae-{row.id}")[:100]


@router.get(
    "/{sae_id}/export.zip",
    operation_id="export_sae",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/zip": {}}, "description": "A SAELens folder"}},
)
def export_sae(sae_id: DbId, session: SessionDep) -> StreamingResponse:
    """The SAE as a SAELens folder in a zip (``cfg.json``, ``sae_weights.safetensors``,
    ``sparsity.safetensors`` when known), streamed; SAELens' ``SAE.load_from_disk`` reads the
    unpacked folder with the same outputs. The hook names on the row (after any relink) go into
    cfg.json's metadata."""
    row = ready_input(session, SAERow, sae_id, "SAE")
    if not row.path or not Path(row.path).exists():
        raise ApiError(409, f"SAE {sae_id} has no files at {row.path}")
    folder = Path(row.path)
    metadata: dict[str, Any] = {}
    if row.hook_name:
        metadata["hook_name"] = row.hook_name
        if row.model_id is not None:
            model = session.get(LanguageModel, row.model_id)
            if model is not None:
                tl, hf = model_points(model)
                by_tl = dict(zip(tl, hf, strict=False)) if len(tl) == len(hf) else {}
                if row.hook_name in by_tl:
                    metadata["hf_hook_name"] = by_tl[row.hook_name]
    name = _export_name(row)
    headers = {"Content-Disposition": f'attachment; filename="{name}.zip"'}
    if is_native(folder):  # stream the weights from where they are
        members = export_members(folder, f"{name}/", metadata)
        return StreamingResponse(iter_zip(members), media_type="application/zip", headers=headers)
    # Another SAELens version registered in place: convert to the 6.x layout first.
    tmp = Path(tempfile.mkdtemp(prefix="mistudio-export-"))
    try:
        out = write_saelens_folder(folder, tmp / name, metadata)
    except Exception:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return StreamingResponse(
        iter_zip(export_members(out, f"{name}/")),
        media_type="application/zip",
        headers=headers,
        background=BackgroundTask(shutil.rmtree, tmp, ignore_errors=True),
    )


@router.delete("/{sae_id}", operation_id="delete_sae", status_code=204)
def delete_sae(sae_id: DbId, session: SessionDep) -> None:
    """Forget an SAE; its files are deleted when the studio wrote them (trained here, or written
    by an import job under ``artifacts/saes/<id>``), never a folder registered in place."""
    row = get_or_404(session, SAERow, sae_id, "SAE")
    delete_artifact(session, row, "saes", "SAE", remove_files=row.origin == "trained")
