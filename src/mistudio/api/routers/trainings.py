"""``/trainings``: train SAEs (many hook points / sweeps in one pass), follow metrics, resume."""

from __future__ import annotations

import datetime as dt
import json
import threading
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import ConfigDict, Field
from sqlalchemy import select

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
from mistudio.api.loaded_models import language_model
from mistudio.api.validation import check_hooks, check_tokenizer, check_width
from mistudio.core.config import DocumentedModel
from mistudio.core.pipeline import TrainingRunOptions, TrainingSettings
from mistudio.core.training import TrainConfig, TrainingMemoryEstimate, estimate_training_memory
from mistudio.core.training.plan import (
    DeviceMemory,
    ForwardTiming,
    SparsityPlan,
    StepTiming,
    benchmark_lm_forward,
    benchmark_steps,
    device_memory,
    sparsity_plans,
)
from mistudio.store import (
    ActivationCacheRow,
    Checkpoint,
    LanguageModel,
    TokenizationRow,
    Training,
)
from mistudio.store.metric_series import downsampled_metrics, raw_metrics
from mistudio.store.model_load import model_load_config
from mistudio.store.tables import ArtifactMixin

router = APIRouter(prefix="/trainings", tags=["trainings"])


class TrainingOut(ArtifactOut):
    model_id: int | None
    """The model the activations come from."""
    tokenization_id: int | None
    """The training tokens."""
    activation_cache_id: int | None
    """The activation cache read instead of running the model, if any."""
    config: dict[str, Any]
    """The :class:`TrainingSettings` the job runs (``{"train": ..., "run": ...}``)."""
    step: int
    """Steps done."""
    total_steps: int | None
    """Steps the run will take."""
    tokens_seen: int
    """Training tokens consumed."""
    result: dict[str, Any]
    """Final metrics per SAE once the run is done."""


class TrainingCreate(TrainingSettings):
    """The core :class:`TrainingSettings` (``train`` and ``run``) plus the inputs' ids."""

    # As every request body: keys added by a newer client are ignored, not refused.
    model_config = ConfigDict(extra="ignore")

    model_id: DbId
    """The model whose activations train the SAEs."""
    tokenization_id: DbId
    """The tokenization the activations are computed over."""
    activation_cache_id: DbId | None = None
    """Read activations from this cache instead of running the model live."""
    name: str | None = None
    """Display name (default: derived from the inputs)."""


class MetricPoint(DocumentedModel):
    sae: str
    """The SAE's name within the run."""
    step: int
    """Training step."""
    name: str
    """Metric name (loss, l0, fvu, ...)."""
    value: float | None
    """Its value (None when not finite)."""


class CheckpointOut(DocumentedModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    """The checkpoint's id."""
    step: int
    """Step it was written at."""
    path: str
    """Its folder."""
    score: float | None
    """Validation score used to keep the best one."""
    created_at: dt.datetime
    """When it was written."""


@router.get("", operation_id="list_trainings", response_model=Page[TrainingOut])
def list_trainings(
    listing: Annotated[Listing, listing_of(TrainingOut, Training, "created_at name status step")],
    status: str | None = None,
    model_id: DbId | None = None,
) -> Page[TrainingOut]:
    """List training runs, filtered by status or model."""
    return listing.page(status=status, model_id=model_id)


def check_held_out(tok: TokenizationRow, eval_sequences: int) -> None:
    """The worker holds out the last ``eval_sequences`` sequences for the final evaluation and
    trains on the rest (core/pipeline.py), so a tokenization needs more than that: refused here in
    one line instead of a job that fails at its first step."""
    n = tok.n_sequences
    if n is not None and n <= eval_sequences:
        raise ApiError(
            422,
            f"tokenization {tok.name!r} has {n:,} sequences ({tok.n_tokens or 0:,} tokens); the "
            f"run holds out {eval_sequences:,} for evaluation and needs at least "
            f"{eval_sequences + 1:,}: choose a larger tokenization or lower run.eval_sequences",
        )


@router.post("", operation_id="create_training", response_model=TrainingOut, status_code=202)
def create_training(body: TrainingCreate, session: SessionDep) -> TrainingOut:
    """Train one or more SAEs on a model's activations over a tokenization, live or from a cache
    (queues a job)."""
    model = get_or_404(session, LanguageModel, body.model_id, "model")
    tok = ready_input(session, TokenizationRow, body.tokenization_id, "tokenization")
    check_tokenizer(model, tok)
    check_held_out(tok, body.run.eval_sequences)
    if body.train.batch_tokens % body.run.nproc:
        raise ApiError(
            422,
            f"batch_tokens ({body.train.batch_tokens}) must split evenly over "
            f"{body.run.nproc} ranks",
        )
    hooks = [s.hook_name for s in body.train.saes]
    hooks += [s.hook_name_out for s in body.train.saes if s.hook_name_out]
    check_hooks(model, hooks)
    for spec in body.train.saes:
        check_width(model, spec.hook_name, spec.sae.d_in, f"SAE {spec.resolved_name}")
    inputs: list[ArtifactMixin] = [model, tok]
    if body.activation_cache_id is not None:
        cache = ready_input(
            session, ActivationCacheRow, body.activation_cache_id, "activation cache"
        )
        missing = [h for h in hooks if h not in cache.hook_points]
        if missing:
            raise ApiError(422, f"activation cache {cache.id} has no hook point {missing[0]!r}")
        inputs.append(cache)
    row = Training(
        name=body.name or f"{model.name}-{len(body.train.saes)}sae",
        status="pending",
        model_id=model.id,
        tokenization_id=tok.id,
        activation_cache_id=body.activation_cache_id,
        config=TrainingSettings(train=body.train, run=body.run).model_dump(mode="json"),
        step=0,
        total_steps=body.train.total_steps,
        tokens_seen=0,
        result={},
        lineage={},
    )
    # The job config names the devices (one per rank) so the runner takes their locks
    # (jobs/device_lock) and records them on the job row.
    settings = TrainingSettings(train=body.train, run=body.run)
    devices = {"device": body.train.device, "devices": settings.rank_devices()}
    start_artifact_job(session, row, "train", inputs, devices)
    return TrainingOut.model_validate(row)


class TrainingEstimateRequest(DocumentedModel):
    train: TrainConfig
    """The training config to estimate (as in ``TrainingCreate.train``)."""
    lm_bytes: int = Field(0, ge=0, le=2**50)
    """Bytes of the language model when it runs alongside (activations streamed live); 0 when
    training reads an activation cache."""


class TrainingEstimate(TrainingMemoryEstimate):
    """Memory of a training config, with each SAE's sparsity plan and the device's free memory."""

    sparsity: dict[str, SparsityPlan]
    """Each SAE's sparsity plan by name: the coefficient it starts at and how it adapts."""
    device_memory: DeviceMemory | None
    """Free and total memory of the config's device as the API's process sees it (None: a
    device it has not got; in cluster mode the worker's device may differ)."""


@router.post("/estimate", operation_id="estimate_training", response_model=TrainingEstimate)
def estimate_training(body: TrainingEstimateRequest) -> TrainingEstimate:
    """Memory a training config needs (per SAE, per hook point, in total) against the device's
    free memory, and each SAE's sparsity plan, before it starts.

    Each architecture's class answers its own part (parameters, per-step temporaries), and the
    plan comes from the auto-sparsity controller's own start, so the form shows the numbers the
    worker will use."""
    memory = estimate_training_memory(body.train, body.lm_bytes)
    return TrainingEstimate(
        **memory.model_dump(),
        sparsity=sparsity_plans(body.train),
        device_memory=device_memory(body.train.device),
    )


class TrainingBenchmarkRequest(DocumentedModel):
    train: TrainConfig
    """The training config to time (as in ``TrainingCreate.train``)."""
    run: TrainingRunOptions = Field(default_factory=TrainingRunOptions)
    """How activations are produced (``lm_batch_size`` sets the timed forward's batch)."""
    model_id: DbId | None = None
    """The model whose forward feeds a live stream; None when the run reads a cache."""
    tokenization_id: DbId | None = None
    """The tokenization (its sequence length sets the timed forward's); None: 128 tokens."""


class TrainingTimeEstimate(DocumentedModel):
    """How long a training config will take on this device, from measured steps."""

    steps: StepTiming
    """The measured SAE steps (every SAE of the run, one batch)."""
    forward: ForwardTiming | None
    """The measured LM forward, when activations stream live."""
    total_steps: int
    """Steps of the run."""
    total_tokens: int
    """Tokens of the run."""
    seconds: float
    """Estimated training time: steps x step time + tokens / forward rate (initialisation,
    shuffle-buffer fill and the final evaluation come on top)."""
    cached: bool
    """The measurement was reused from an earlier request for the same config."""
    method: str
    """How the estimate was made, in one line."""


_TIMINGS: dict[str, tuple[StepTiming, ForwardTiming | None]] = {}
"""Measurements by config (minus the run's length, which only scales them); a few hundred bytes
each, the newest :data:`MAX_TIMINGS` kept for the process's life."""
MAX_TIMINGS = 256
"""Configs whose measurements are kept (a client sending endless variants cannot grow it)."""
_BENCH_LOCK = threading.Lock()
"""One measurement at a time: two at once would each time the other's load."""


@router.post("/benchmark", operation_id="benchmark_training", response_model=TrainingTimeEstimate)
def benchmark_training(body: TrainingBenchmarkRequest, session: SessionDep) -> TrainingTimeEstimate:
    """Estimate a training config's time on this device from a micro-benchmark: a few real
    steps of its SAEs on random activations of the right widths, and the model's forward up to
    the deepest hook point when activations stream live (cached by config)."""
    train = body.train
    seq_len = 128
    if body.tokenization_id is not None:
        tok = get_or_404(session, TokenizationRow, body.tokenization_id, "tokenization")
        seq_len = tok.max_length or seq_len
    load_config = None
    hooks = sorted({s.hook_name for s in train.saes} | {s.target_hook for s in train.saes})
    if body.model_id is not None:
        model = get_or_404(session, LanguageModel, body.model_id, "model")
        check_hooks(model, hooks)
        load_config = model_load_config(model)
    session.close()  # the measurement can take seconds: hold no database connection meanwhile
    need = estimate_training_memory(train).total
    free = device_memory(train.device)
    if free is None:
        raise ApiError(422, f"device {train.device} is not available to the server")
    if need > free.free:
        raise ApiError(
            422,
            f"the run needs about {need / 2**30:.1f} GiB and {train.device} has "
            f"{free.free / 2**30:.1f} GiB free: lower the batch or the width",
        )
    shape = train.model_dump(mode="json", exclude={"total_tokens", "log_every"})
    key = json.dumps(
        [
            shape,
            load_config.model_dump_json() if load_config else None,
            body.run.lm_batch_size,
            seq_len,
        ],
        sort_keys=True,
    )
    cached = key in _TIMINGS
    if not cached:
        with _BENCH_LOCK:
            # A request for the same config that waited on the lock reuses the one just made.
            if key not in _TIMINGS:
                steps = benchmark_steps(train)
                forward = None
                if load_config is not None:
                    with language_model(load_config) as loaded:
                        forward = benchmark_lm_forward(
                            loaded, hooks, body.run.lm_batch_size, seq_len
                        )
                if len(_TIMINGS) >= MAX_TIMINGS:
                    _TIMINGS.pop(next(iter(_TIMINGS)))  # the oldest measurement goes
                _TIMINGS[key] = (steps, forward)
    steps, forward = _TIMINGS[key]
    seconds = train.total_steps * steps.seconds_per_step
    method = (
        f"{steps.steps_timed} timed step(s) of every SAE on random activations on {steps.device}"
    )
    if forward is not None:
        seconds += train.total_tokens / forward.tokens_per_second
        method += (
            f", plus {forward.forwards_timed} forward(s) of the model over "
            f"{forward.batch_size}x{forward.seq_len} tokens"
        )
    return TrainingTimeEstimate(
        steps=steps,
        forward=forward,
        total_steps=train.total_steps,
        total_tokens=train.total_tokens,
        seconds=seconds,
        cached=cached,
        method=method,
    )


@router.get("/{training_id}", operation_id="get_training", response_model=TrainingOut)
def get_training(training_id: DbId, session: SessionDep) -> TrainingOut:
    """One training run: progress and, when done, final metrics."""
    return TrainingOut.model_validate(get_or_404(session, Training, training_id, "training"))


@router.get(
    "/{training_id}/metrics", operation_id="list_training_metrics", response_model=list[MetricPoint]
)
def list_metrics(
    training_id: int,
    session: SessionDep,
    sae: str | None = None,
    name: str | None = Query(None, description="Metric name (loss, l0, fvu, ...)"),
    points: int = Query(
        1000,
        ge=4,
        le=20_000,
        description="Point budget per SAE and metric for the whole run (min and max per step "
        "bucket, first and last step always kept); ignored when after_step is given",
    ),
    after_step: int | None = Query(
        None,
        ge=-1,
        le=2**31 - 1,
        description="Raw rows instead: only steps greater than this, in step order (live "
        "charts, paging: pass the last step of the previous page)",
    ),
    limit: int = Query(5000, ge=1, le=50_000, description="Raw rows per page (with after_step)"),
) -> list[MetricPoint]:
    """A training's metric series: by default the whole run downsampled to ``points`` per SAE
    and metric (:mod:`mistudio.store.metric_series`); with ``after_step``, raw rows, a page
    of about ``limit`` that never ends inside a step."""
    get_or_404(session, Training, training_id, "training")
    if after_step is None:
        rows = downsampled_metrics(session, training_id, points, sae, name)
    else:
        rows = raw_metrics(session, training_id, after_step, limit, sae, name)
    return [MetricPoint(sae=r.sae, step=r.step, name=r.name, value=r.value) for r in rows]


@router.get(
    "/{training_id}/checkpoints",
    operation_id="list_training_checkpoints",
    response_model=list[CheckpointOut],
)
def list_checkpoints(training_id: DbId, session: SessionDep) -> list[CheckpointOut]:
    """A training run's checkpoints (to resume from or inspect)."""
    get_or_404(session, Training, training_id, "training")
    rows = session.scalars(
        select(Checkpoint).where(Checkpoint.training_id == training_id).order_by(Checkpoint.step)
    )
    return [CheckpointOut.model_validate(r) for r in rows]


@router.delete("/{training_id}", operation_id="delete_training", status_code=204)
def delete_training(training_id: DbId, session: SessionDep) -> None:
    """Delete a training run, its metrics and checkpoints (its SAEs stay)."""
    row = get_or_404(session, Training, training_id, "training")
    delete_artifact(session, row, "trainings", "training")
