"""``/models``: register language models (built-in, Hub id, local folder, GGUF) and load them.

Adding a model queues a ``model_load`` job that downloads or dequantizes it once and records its
architecture, hook points with widths, and tokenizer fingerprint; later requests are validated
against those without loading the model again.

A Hub token for a gated or private repo (``token``) is write-only: it is sealed for the load job
(:mod:`mistudio.store.job_secrets`) and never stored in a row, the job config, an event, a log
or a response. ``POST /models/estimate`` (memory before download) takes one the same way and
only hands it to the Hub requests it makes.

8-bit / 4-bit quantization is refused in one line (422) where bitsandbytes does not support this
machine's device (``GET /models/quantization`` says which are available and why not); the check
runs where the API runs, which is the worker's machine in the default single-machine set-up; a
worker elsewhere checks again when it loads and fails the job with the same line.
"""

from __future__ import annotations

from typing import Annotated, Any, get_args

from fastapi import APIRouter, Query
from pydantic import ConfigDict, SecretStr

from mistudio.api.artifact_jobs import ArtifactOut, start_artifact_job
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
from mistudio.api.hub_search import LIMIT, QUERY, HubSearchResults, hub_search
from mistudio.core.config import DocumentedModel
from mistudio.core.language_models import (
    ModelSource,
    Quantization,
    quantization_problem,
    resolve_source,
)
from mistudio.core.model_estimate import EstimateRequest, ModelEstimate, estimate_model
from mistudio.settings import get_settings
from mistudio.store import LanguageModel
from mistudio.store.like import contains

router = APIRouter(prefix="/models", tags=["models"])


class ModelOut(ArtifactOut):
    source: str
    """Built-in name, Hub repo id, local folder or ``.gguf`` file."""
    source_kind: str
    """``builtin``, ``hub``, ``folder`` or ``gguf``."""
    builtin: bool
    """Shipped with miStudio."""
    family: str | None
    """Model family (``llama``, ``gpt2``, ...), once loaded."""
    n_params: int | None
    """Parameter count, once loaded."""
    tokenizer_fingerprint: str | None
    """Hash of the tokenizer's vocabulary (tokenizations must match it)."""
    architecture: dict[str, Any]
    """Layers, widths, heads and hook-point layout, once loaded."""
    hook_dims: dict[str, Any]
    """Hook name (TransformerLens-style and HF path) -> width, once loaded."""
    config: dict[str, Any]
    """Load options (dtype, quantization, revision, trust_remote_code); never the token."""


class ModelCreate(ModelSource):
    """The core :class:`ModelSource` (source, dtype, revision, trust_remote_code) plus how the
    studio names it and whether to load it now."""

    # As every request body: keys added by a newer client are ignored, not refused.
    model_config = ConfigDict(extra="ignore")

    name: str | None = None
    """Display name (default: the source)."""
    load: bool = True
    """Queue the load (download / dequantize / inspect) job now."""
    token: SecretStr | None = None
    """Hub token for a gated or private repo; write-only, used by the load job, never stored."""


class ModelLoadRequest(DocumentedModel):
    """Options of loading a registered model again."""

    token: SecretStr | None = None
    """Hub token for a gated or private repo; write-only, used by the load job, never stored."""


class ModelEstimateRequest(EstimateRequest):
    """The core :class:`EstimateRequest` (source, revision, dtype, quantization, batch) plus a
    token for a gated repo."""

    model_config = ConfigDict(extra="ignore")

    token: SecretStr | None = None
    """Hub token for a gated or private repo; write-only, used for the estimate's requests."""


class QuantizationOption(DocumentedModel):
    name: str
    """``none``, ``8bit`` or ``4bit``."""
    available: bool
    """Whether a model can load with it on this machine's device."""
    reason: str | None
    """Why not, in one line, when it cannot."""


def _queue_load(
    session: SessionDep, row: LanguageModel, token: SecretStr | None = None
) -> LanguageModel:
    row.status = "pending"
    secret = token.get_secret_value() if token is not None else None
    start_artifact_job(session, row, "model_load", secrets={"hub_token": secret})
    return row


@router.get("", operation_id="list_models", response_model=Page[ModelOut])
def list_models(
    listing: Annotated[
        Listing, listing_of(ModelOut, LanguageModel, "created_at name n_params", order="asc")
    ],
    q: str | None = Query(None, description="Name contains"),
    status: str | None = None,
) -> Page[ModelOut]:
    """List registered language models, filtered by name or status."""
    return listing.page(contains(LanguageModel.name, q) if q else None, status=status)


@router.get("/hub/search", operation_id="search_hub_models", response_model=HubSearchResults)
def search_hub_models(q: str = QUERY, limit: int = LIMIT) -> HubSearchResults:
    """Model repos on the Hub whose id contains ``q``, most downloaded first (suggestions while
    typing a model id; 503 in one line when the Hub cannot be reached)."""
    return hub_search("model", q, limit)


@router.get(
    "/quantization", operation_id="list_quantization", response_model=list[QuantizationOption]
)
def list_quantization() -> list[QuantizationOption]:
    """Which weight quantizations load on this machine (bitsandbytes and its devices)."""
    out = []
    for name in get_args(Quantization):
        problem = quantization_problem(name)
        out.append(QuantizationOption(name=name, available=problem is None, reason=problem))
    return out


@router.post("/estimate", operation_id="estimate_model", response_model=ModelEstimate)
def estimate_model_memory(body: ModelEstimateRequest) -> ModelEstimate:
    """Parameters, download size and device memory (weights in the dtype or quantization,
    activations and logits for a batch) of a Hub id or folder, before it is downloaded: from the
    repo's listing, config.json and safetensors headers (a few KB)."""
    if body.source.startswith(("/", "~", ".")):
        check_import_path(body.source)
    token = body.token.get_secret_value() if body.token is not None else None
    request = EstimateRequest.model_validate(body.model_dump(exclude={"token"}))
    return estimate_model(request, token, get_settings().cache_dir / "hub")


@router.post("", operation_id="create_model", response_model=ModelOut, status_code=202)
def create_model(body: ModelCreate, session: SessionDep) -> ModelOut:
    """Register a model (built-in, Hub id, folder or GGUF) and, by default, queue its load job."""
    if body.source.startswith(("/", "~", ".")):
        # Confinement first: a path outside the import roots gets one 403 whether it exists,
        # is a folder or a file (resolve_source would tell them apart).
        check_import_path(body.source)
    kind, where = resolve_source(body.source)
    source = body.source
    if kind in ("folder", "gguf"):
        source = str(check_import_path(str(where)))
    config: dict[str, Any] = {"dtype": body.dtype}
    if body.quantization != "none":
        problem = quantization_problem(body.quantization)
        if problem is not None:
            raise ApiError(422, problem)
        config["quantization"] = body.quantization
    if body.revision:
        config["revision"] = body.revision
    if body.trust_remote_code:
        config["trust_remote_code"] = True
    row = LanguageModel(
        name=body.name or body.source,
        source=source,
        source_kind=kind,
        builtin=kind == "builtin",
        status="available",
        config=config,
        architecture={},
        hook_dims={},
        lineage={},
    )
    session.add(row)
    session.flush()
    if body.load:
        _queue_load(session, row, body.token)
    return ModelOut.model_validate(row)


@router.get("/{model_id}", operation_id="get_model", response_model=ModelOut)
def get_model(model_id: DbId, session: SessionDep) -> ModelOut:
    """One model, with its architecture and hook points once loaded."""
    return ModelOut.model_validate(get_or_404(session, LanguageModel, model_id, "model"))


@router.post(
    "/{model_id}/load", operation_id="load_model", response_model=ModelOut, status_code=202
)
def load_model(
    model_id: DbId, session: SessionDep, body: ModelLoadRequest | None = None
) -> ModelOut:
    """Download / dequantize and inspect a registered model (e.g. the built-in one)."""
    row = get_or_404(session, LanguageModel, model_id, "model")
    if row.status == "pending":
        raise ApiError(409, f"model {model_id} is already loading (job {row.job_id})")
    token = body.token if body is not None else None
    return ModelOut.model_validate(_queue_load(session, row, token))


@router.delete("/{model_id}", operation_id="delete_model", status_code=204)
def delete_model(model_id: DbId, session: SessionDep) -> None:
    """Forget a model (its downloaded files stay in the cache)."""
    row = get_or_404(session, LanguageModel, model_id, "model")
    delete_artifact(session, row, "models", "model", remove_files=False)
