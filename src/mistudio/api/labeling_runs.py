"""What the ``/labeling`` and ``/features`` routers share about starting a labelling run: the
run's response model, the checks on a labelling config (method, endpoint, prompt template), the
ready-extraction check and the submit itself.

It lives beside the routers, not in one of them, so that no router imports another: ``/labeling``
starts a run over many latents, ``/features/{id}/relabel`` over one, through the same code.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import Field
from sqlalchemy.orm import Session

from mistudio.api.artifact_jobs import ArtifactOut, ready_input, start_artifact_job
from mistudio.api.deps import DbId, get_or_404
from mistudio.api.errors import ApiError
from mistudio.core.config import DocumentedModel
from mistudio.core.labeling import METHODS, LabelingConfig, PromptTemplate
from mistudio.core.labeling.config import LabelingSelection
from mistudio.jobs.labeling_jobs import queue_for_method
from mistudio.store import Extraction, LabelingJob, Template


class LabelingJobOut(ArtifactOut):
    extraction_id: int
    """The extraction whose latents are labelled."""
    config: dict[str, Any]
    """``{"labeling": LabelingConfig without its key, "selection": ..., "api_key_given": bool}``."""
    n_labeled: int
    """Latents labelled so far."""
    result: dict[str, Any]
    """The run's summary (labelled, unclear, failed, scores, tokens, cost) once it is done."""
    updated_at: dt.datetime
    """When the row last changed."""


class RelabelRequest(DocumentedModel):
    """How to label one feature again: the new label is added to its history and becomes current
    (unless the current label was edited by hand and ``config.overwrite_manual`` is off)."""

    config: LabelingConfig = Field(default_factory=LabelingConfig)
    """Method, backend, prompt and scoring for this one feature."""
    template_id: DbId | None = None
    """A ``labeling_prompt`` template whose config replaces ``config.prompt``."""


def _prompt_from_template(session: Session, template_id: int, count_use: bool) -> PromptTemplate:
    template = get_or_404(session, Template, template_id, "template")
    if template.kind != "labeling_prompt":
        raise ApiError(422, f"template {template_id} is a {template.kind} template, not a prompt")
    if count_use:
        template.usage_count = (template.usage_count or 0) + 1
    return PromptTemplate.model_validate(template.config or {})


def checked_config(
    session: Session, config: LabelingConfig, template_id: int | None, count_use: bool = True
) -> LabelingConfig:
    """Refuse unknown methods, endpoints the server may not reach or may not send its key to
    (422), and apply a prompt template."""
    if config.method not in METHODS:
        raise ApiError(
            422, f"unknown labelling method {config.method!r}; have: {', '.join(sorted(METHODS))}"
        )
    if config.method in ("ollama", "openai") and not config.model:
        raise ApiError(422, f"the {config.method} method needs a model name")
    config.check_endpoint()
    if template_id is not None:
        prompt = _prompt_from_template(session, template_id, count_use)
        config = config.model_copy(update={"prompt": prompt})
    return config


def ready_extraction(session: Session, extraction_id: int) -> Extraction:
    extraction = ready_input(session, Extraction, extraction_id, "extraction", ", not ready")
    if not extraction.path:
        raise ApiError(409, f"extraction {extraction_id} has no arrays")
    return extraction


def start_labeling(
    session: Session,
    extraction: Extraction,
    config: LabelingConfig,
    selection: LabelingSelection,
    name: str | None = None,
) -> LabelingJob:
    """Queue a labelling run; the key (if any) is sealed for the worker, never stored."""
    key = config.api_key.get_secret_value() if config.api_key is not None else ""
    stored = {
        "labeling": config.model_dump(mode="json"),  # api_key is excluded from dumps
        "selection": selection.model_dump(mode="json"),
        "api_key_given": bool(key),
    }
    row = LabelingJob(
        name=name or f"{config.method} labels of {extraction.name}",
        status="pending",
        extraction_id=extraction.id,
        config=stored,
        n_labeled=0,
        result={},
        lineage={},
    )
    start_artifact_job(
        session,
        row,
        "label",
        [extraction],
        {"extraction_id": extraction.id, "method": config.method},
        queue=queue_for_method(config.method),
        secrets={"api_key": key},
    )
    return row
