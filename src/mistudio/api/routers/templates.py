"""``/templates``: saved configs (training, extraction, labelling and steering prompts, steering
presets).

Templates are plain JSON configs with a kind and a name; favourites and a usage count order them
in the UI, and export/import moves them between studios as one JSON document. Every list page
carries whole configs, so one config is capped (:data:`MAX_CONFIG_BYTES`): a huge one would make
every page of the list huge too.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import ConfigDict, Field, ValidationInfo, field_validator
from sqlalchemy import select

from mistudio.api.deps import DbId, Listing, Page, SessionDep, get_or_404, listing_of
from mistudio.api.errors import ApiError
from mistudio.core.config import DocumentedModel
from mistudio.store import Template
from mistudio.store.like import contains

router = APIRouter(prefix="/templates", tags=["templates"])
TemplateKind = Literal["training", "extraction", "labeling_prompt", "steering_prompt", "steering"]
"""``steering`` is a preset of the whole steering form (features, modes, strengths, prompts,
sampling): a template like the others, so presets get unique names, favourites, use counts and
export/import between studios without a table of their own."""
EXPORT_VERSION = 1
MAX_CONFIG_BYTES = 256 * 1024
"""Largest template config (as JSON); real training or prompt configs are a few kB."""


def _bounded_config(config: dict[str, Any] | None) -> dict[str, Any] | None:
    if config is not None:
        size = len(json.dumps(config, separators=(",", ":")).encode())
        if size > MAX_CONFIG_BYTES:
            raise ValueError(
                f"template config is {size:,} bytes; the limit is {MAX_CONFIG_BYTES:,} bytes"
            )
    return config


class TemplateOut(DocumentedModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    """The template's id."""
    kind: str
    """What the template configures (training, extraction, labelling prompt, steering...)."""
    name: str
    """Display name (unique within its kind)."""
    description: str | None
    """What the template is for."""
    config: dict[str, Any]
    """The saved operation config."""
    favourite: bool
    """Pinned to the top of its list."""
    usage_count: int
    """Times it has been applied."""
    created_at: dt.datetime
    """When it was created."""
    updated_at: dt.datetime
    """When it last changed."""


class TemplateCreate(DocumentedModel):
    kind: TemplateKind
    """What the template configures."""
    name: str = Field(min_length=1, max_length=200)
    """Display name (unique within its kind)."""
    description: str | None = Field(default=None, max_length=5000)
    """What the template is for."""
    config: dict[str, Any] = Field(default_factory=dict)
    """At most :data:`MAX_CONFIG_BYTES` as JSON."""
    favourite: bool = False
    """Pin it to the top of its list."""

    _config_size = field_validator("config")(_bounded_config)


class TemplateUpdate(DocumentedModel):
    """Fields to change; omitted ones are left as they are (``name``, ``config`` and
    ``favourite`` cannot be set to null)."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    """New name."""
    description: str | None = Field(default=None, max_length=5000)
    """New description."""
    config: dict[str, Any] | None = None
    """New config."""
    favourite: bool | None = None
    """Pin or unpin."""

    _config_size = field_validator("config")(_bounded_config)

    @field_validator("name", "config", "favourite")
    @classmethod
    def _not_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            raise ValueError(f"{info.field_name} cannot be null; omit it to keep it")
        return value


class TemplateExport(DocumentedModel):
    """The portable form: what export writes and import reads."""

    version: int = EXPORT_VERSION
    """Version of the export format."""
    templates: list[TemplateCreate]
    """The exported templates."""


class ImportResult(DocumentedModel):
    created: int
    """Templates added."""
    skipped: int
    """Templates already present (same kind, name and config)."""
    renamed: int
    """Templates added under a new name because the name was taken."""
    templates: list[TemplateOut]
    """The templates now stored for the imported entries."""


def _name_taken(session: SessionDep, kind: str, name: str, exclude: int | None = None) -> bool:
    stmt = select(Template.id).where(Template.kind == kind, Template.name == name)
    if exclude is not None:
        stmt = stmt.where(Template.id != exclude)
    return session.scalar(stmt) is not None


@router.get("", operation_id="list_templates", response_model=Page[TemplateOut])
def list_templates(
    listing: Annotated[
        Listing,
        listing_of(TemplateOut, Template, "usage_count name created_at updated_at favourite"),
    ],
    kind: TemplateKind | None = None,
    favourite: bool | None = None,
    q: str | None = Query(None, description="Name contains"),
) -> Page[TemplateOut]:
    """List saved templates, filtered by kind, favourite flag or name."""
    return listing.page(contains(Template.name, q) if q else None, kind=kind, favourite=favourite)


@router.post("", operation_id="create_template", response_model=TemplateOut, status_code=201)
def create_template(body: TemplateCreate, session: SessionDep) -> TemplateOut:
    """Save an operation config as a named template."""
    if _name_taken(session, body.kind, body.name):
        raise ApiError(409, f"a {body.kind} template named {body.name!r} exists")
    row = Template(**body.model_dump(), usage_count=0)
    session.add(row)
    session.commit()
    return TemplateOut.model_validate(row)


@router.get("/export", operation_id="export_templates", response_model=TemplateExport)
def export_templates(session: SessionDep, kind: TemplateKind | None = None) -> TemplateExport:
    """All templates (or one kind) in the portable export form."""
    stmt = select(Template).order_by(Template.kind, Template.name)
    if kind:
        stmt = stmt.where(Template.kind == kind)
    rows = session.scalars(stmt).all()
    return TemplateExport(
        templates=[
            TemplateCreate(
                kind=r.kind,  # type: ignore[arg-type]
                name=r.name,
                description=r.description,
                config=r.config,
                favourite=r.favourite,
            )
            for r in rows
        ]
    )


@router.post("/import", operation_id="import_templates", response_model=ImportResult)
def import_templates(
    body: TemplateExport,
    session: SessionDep,
    on_conflict: Literal["rename", "skip", "overwrite"] = "rename",
) -> ImportResult:
    """Add exported templates; a name already taken is renamed, skipped or overwritten."""
    if body.version > EXPORT_VERSION:
        raise ApiError(422, f"template export version {body.version} is newer than this studio")
    created = skipped = renamed = 0
    out: list[Template] = []
    for item in body.templates:
        existing = session.scalar(
            select(Template).where(Template.kind == item.kind, Template.name == item.name)
        )
        if existing is not None:
            if on_conflict == "skip":
                skipped += 1
                continue
            if on_conflict == "overwrite":
                existing.description = item.description
                existing.config = item.config
                existing.favourite = item.favourite
                out.append(existing)
                continue
            n = 2
            while _name_taken(session, item.kind, f"{item.name} ({n})"):
                n += 1
            item = item.model_copy(update={"name": f"{item.name} ({n})"})
            renamed += 1
        row = Template(**item.model_dump(), usage_count=0)
        session.add(row)
        session.flush()
        out.append(row)
        created += 1
    session.commit()
    return ImportResult(
        created=created,
        skipped=skipped,
        renamed=renamed,
        templates=[TemplateOut.model_validate(r) for r in out],
    )


@router.get("/{template_id}", operation_id="get_template", response_model=TemplateOut)
def get_template(template_id: DbId, session: SessionDep) -> TemplateOut:
    """One template."""
    return TemplateOut.model_validate(get_or_404(session, Template, template_id, "template"))


@router.patch("/{template_id}", operation_id="update_template", response_model=TemplateOut)
def update_template(template_id: DbId, body: TemplateUpdate, session: SessionDep) -> TemplateOut:
    """Change a template's name, description, config or favourite flag."""
    row = get_or_404(session, Template, template_id, "template")
    changes = body.model_dump(exclude_unset=True)
    if "name" in changes and _name_taken(session, row.kind, changes["name"], exclude=row.id):
        raise ApiError(409, f"a {row.kind} template named {changes['name']!r} exists")
    for field, value in changes.items():
        setattr(row, field, value)
    session.commit()
    return TemplateOut.model_validate(row)


@router.post(
    "/{template_id}/favourite", operation_id="toggle_template_favourite", response_model=TemplateOut
)
def toggle_favourite(template_id: DbId, session: SessionDep) -> TemplateOut:
    """Flip a template's favourite flag."""
    row = get_or_404(session, Template, template_id, "template")
    row.favourite = not row.favourite
    session.commit()
    return TemplateOut.model_validate(row)


@router.post("/{template_id}/use", operation_id="use_template", response_model=TemplateOut)
def use_template(template_id: DbId, session: SessionDep) -> TemplateOut:
    """Count one use (the UI calls this when a template fills a form)."""
    row = get_or_404(session, Template, template_id, "template")
    row.usage_count = (row.usage_count or 0) + 1
    session.commit()
    return TemplateOut.model_validate(row)


@router.delete("/{template_id}", operation_id="delete_template", status_code=204)
def delete_template(template_id: DbId, session: SessionDep) -> None:
    """Delete a template."""
    session.delete(get_or_404(session, Template, template_id, "template"))
