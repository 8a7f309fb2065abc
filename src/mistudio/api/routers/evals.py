"""Evaluations of SAEs and the lab's compare table (issue 21).

``POST /saes/{id}/evals`` asks for an evaluation (:class:`mistudio.core.lab.EvalConfig` plus the
held-out tokenization): the stored result of the same SAE, eval version and config answers at
once (200, ``reused``), unless ``force``; otherwise an ``eval`` job is queued (202). A trained
SAE is scored on its training's tokenization (its held-out tail), an imported one on the newest
ready tokenization of its model unless the request names one. ``GET /saes/{id}/evals`` lists an
SAE's evaluations, ``GET /evals/{id}/download`` exports one as CSV or JSON.

``GET /lab/compare`` is every SAE of a model and hook (any origin) with each metric from its
newest ready evaluation, the compare view's points; ``GET /lab/compare/download`` the same table
as CSV or JSON.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import Field
from sqlalchemy import select

from mistudio.api.deps import DbId, SessionDep, get_or_404
from mistudio.api.errors import ApiError
from mistudio.api.submit import submit_job
from mistudio.core.config import DocumentedModel
from mistudio.core.lab import EVAL_VERSION, EvalConfig
from mistudio.jobs.lifecycle import new_job
from mistudio.store import LanguageModel, SAERow, TokenizationRow, Training
from mistudio.store.sae_evals import SAEEval, config_key, find_eval, latest_metrics

router = APIRouter(tags=["evals"])


class EvalRequest(EvalConfig):
    """An evaluation to run (or find stored) on one SAE."""

    tokenization_id: int | None = None
    """Tokenization whose last ``n_sequences`` sequences are the held-out text (core metrics);
    None: the SAE's training's, else the newest ready one of its model."""
    force: bool = False
    """Run again even when the same evaluation is stored."""


class MetricValue(DocumentedModel):
    """A metric's value and bootstrap interval."""

    value: float | None
    """Over every held-out unit (sequences, words, examples, latents)."""
    low: float | None = None
    """Lower end of the 95% bootstrap interval."""
    high: float | None = None
    """Upper end."""


class EvalOut(DocumentedModel):
    """One stored evaluation of one SAE."""

    id: int
    sae_id: int
    eval_version: str
    """The metric definitions' version."""
    config: dict[str, Any]
    """The config it ran with (``tokenization_id`` included)."""
    status: str
    """``pending`` (its job is queued or running), ``ready`` or ``failed``."""
    job_id: str | None
    metrics: dict[str, MetricValue]
    """Metric name -> value and interval."""
    details: dict[str, Any]
    """Per group what the values rest on; ``seconds`` per group."""
    error: str | None
    reused: bool = False
    """This answer is a stored evaluation (nothing was queued)."""


class ComparePoint(DocumentedModel):
    """One SAE on the compare chart."""

    id: int
    name: str
    origin: str
    """``trained`` or ``imported``."""
    architecture: str | None
    d_sae: int | None
    model_id: int | None
    hook_name: str | None
    metrics: dict[str, MetricValue]
    """Each metric from the SAE's newest ready evaluation that has it."""
    eval_status: Literal["none", "pending", "ready", "failed"]
    """State of its newest evaluation."""


class CompareGroup(DocumentedModel):
    """A model and hook that has SAEs."""

    model_id: int | None
    model_name: str | None
    hook_name: str | None
    n_saes: int


class CompareOut(DocumentedModel):
    """The compare view's data: the SAEs of one model and hook, and every group to pick from."""

    points: list[ComparePoint]
    groups: list[CompareGroup]
    eval_version: str = EVAL_VERSION


def _out(row: SAEEval, reused: bool = False) -> EvalOut:
    return EvalOut(
        id=row.id,
        sae_id=row.sae_id,
        eval_version=row.eval_version,
        config=row.config or {},
        status=row.status,
        job_id=row.job_id,
        metrics={k: MetricValue(**v) for k, v in (row.metrics or {}).items()},
        details=row.details or {},
        error=row.error,
        reused=reused,
    )


def _held_out(session: SessionDep, sae: SAERow, asked: int | None) -> int | None:
    """The tokenization of the held-out text, checked against the SAE's model."""
    if asked is not None:
        tok = get_or_404(session, TokenizationRow, asked, "tokenization")
        if tok.status != "ready":
            raise ApiError(409, f"tokenization {asked} is {tok.status}; wait for it to finish")
        if tok.model_id is not None and sae.model_id is not None and tok.model_id != sae.model_id:
            raise ApiError(
                422, f"tokenization {asked} is of model {tok.model_id}, not the SAE's model"
            )
        return tok.id
    if sae.training_id is not None:
        training = session.get(Training, sae.training_id)
        if training is not None and training.tokenization_id is not None:
            return training.tokenization_id
    return session.scalars(
        select(TokenizationRow.id)
        .where(TokenizationRow.model_id == sae.model_id, TokenizationRow.status == "ready")
        .order_by(TokenizationRow.id.desc())
    ).first()


def _plan(session: SessionDep, sae_id: int, body: EvalRequest) -> tuple[SAEEval, bool]:
    """The evaluation row of ``sae_id`` for ``body`` and whether it must run (False: a stored
    ready or pending one answers)."""
    sae = get_or_404(session, SAERow, sae_id, "SAE")
    if sae.status != "ready" or sae.path is None:
        raise ApiError(409, f"SAE {sae_id} is {sae.status}; wait for it to be ready")
    if sae.model_id is None:
        raise ApiError(422, f"SAE {sae_id} has no model linked: link its model on the SAEs panel")
    if sae.d_in is not None and (sae.cfg or {}).get("d_out", sae.d_in) != sae.d_in:
        raise ApiError(422, "the lab evaluates SAEs on one hook point, not transcoders yet")
    config = body.model_dump(mode="json", exclude={"tokenization_id", "force", "sae_ids"})
    tok_id = _held_out(session, sae, body.tokenization_id) if "core" in body.metrics else None
    if "core" in body.metrics and tok_id is None:
        raise ApiError(
            422,
            f"core metrics need held-out text: tokenize a dataset with SAE {sae_id}'s model "
            "(or leave 'core' out of metrics)",
        )
    config["tokenization_id"] = tok_id
    row = find_eval(session, sae_id, EVAL_VERSION, config)
    if row is not None and not body.force and row.status in ("ready", "pending"):
        return row, False
    if row is None:
        row = SAEEval(
            sae_id=sae_id, eval_version=EVAL_VERSION, config_key=config_key(config), config=config
        )
        session.add(row)
        session.flush()
    row.status, row.error, row.metrics, row.details = "pending", None, {}, {}
    return row, True


def _queue(session: SessionDep, rows: list[SAEEval]) -> str:
    """One ``eval`` job for ``rows`` (it loads each model once)."""
    resources = [("saes", r.sae_id) for r in rows]
    resources += sorted(
        {("tokenizations", t) for r in rows if (t := r.config.get("tokenization_id"))}
    )
    job = new_job(
        session,
        "eval",
        {"eval_ids": [r.id for r in rows]},
        resources=list(dict.fromkeys(resources)),
    )
    for row in rows:
        row.job_id = job.id
    submit_job(session, job)
    return job.id


@router.post(
    "/saes/{sae_id}/evals",
    operation_id="evaluate_sae",
    response_model=EvalOut,
    responses={202: {"model": EvalOut, "description": "Queued"}},
)
def evaluate_sae(
    sae_id: DbId, body: EvalRequest, session: SessionDep, response: Response
) -> EvalOut:
    """Evaluate an SAE (core metrics, absorption, sparse probing, label summary) with bootstrap
    intervals; a stored evaluation of the same version and config answers at once."""
    row, run = _plan(session, sae_id, body)
    if not run:
        return _out(row, reused=True)
    _queue(session, [row])
    response.status_code = 202
    return _out(row)


class EvalManyRequest(EvalRequest):
    """The same evaluation of several SAEs, in one job."""

    sae_ids: list[int] = Field(min_length=1, max_length=200)
    """The SAEs to evaluate."""


class EvalManyOut(DocumentedModel):
    """What each SAE got, and the job that runs those not stored."""

    evals: list[EvalOut]
    """One per SAE, in request order (``reused`` where stored)."""
    job_id: str | None
    """The ``eval`` job (None: every evaluation was stored)."""


@router.post(
    "/lab/evals",
    operation_id="evaluate_saes",
    response_model=EvalManyOut,
    responses={202: {"model": EvalManyOut, "description": "Queued"}},
)
def evaluate_saes(body: EvalManyRequest, session: SessionDep, response: Response) -> EvalManyOut:
    """Evaluate several SAEs alike in one job (each model loaded once); stored results answer."""
    planned = [_plan(session, sae_id, body) for sae_id in dict.fromkeys(body.sae_ids)]
    to_run = [row for row, run in planned if run]
    job_id = _queue(session, to_run) if to_run else None
    if job_id:
        response.status_code = 202
    return EvalManyOut(evals=[_out(row, reused=not run) for row, run in planned], job_id=job_id)


@router.get("/saes/{sae_id}/evals", operation_id="list_sae_evals", response_model=list[EvalOut])
def list_sae_evals(sae_id: DbId, session: SessionDep) -> list[EvalOut]:
    """An SAE's evaluations, newest first."""
    get_or_404(session, SAERow, sae_id, "SAE")
    rows = session.scalars(
        select(SAEEval).where(SAEEval.sae_id == sae_id).order_by(SAEEval.id.desc())
    ).all()
    return [_out(r) for r in rows]


@router.get("/evals/{eval_id}", operation_id="get_eval", response_model=EvalOut)
def get_eval(eval_id: DbId, session: SessionDep) -> EvalOut:
    """One evaluation."""
    return _out(get_or_404(session, SAEEval, eval_id, "evaluation"))


def _download(rows: list[dict[str, Any]], whole: Any, form: str, stem: str) -> Response:
    if form == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["metric"])
        writer.writeheader()
        writer.writerows(rows)
        body, media = buf.getvalue(), "text/csv"
    else:
        body, media = json.dumps(whole), "application/json"
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{stem}.{form}"'},
    )


FORM = Query("csv", description="csv: one row per metric (or SAE); json: everything")


@router.get(
    "/evals/{eval_id}/download",
    operation_id="download_eval",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, "application/json": {}}}},
)
def download_eval(
    eval_id: DbId, session: SessionDep, form: Literal["csv", "json"] = FORM
) -> Response:
    """One evaluation as CSV (``metric, value, low, high``) or JSON."""
    out = _out(get_or_404(session, SAEEval, eval_id, "evaluation"))
    rows = [
        {"sae_id": out.sae_id, "metric": k, "value": m.value, "low": m.low, "high": m.high}
        for k, m in out.metrics.items()
    ]
    return _download(rows, out.model_dump(mode="json"), form, f"sae-{out.sae_id}-eval-{eval_id}")


def _compare(session: SessionDep, model_id: int | None, hook_name: str | None) -> CompareOut:
    saes = session.scalars(select(SAERow).where(SAERow.status == "ready")).all()
    names = {m.id: m.name for m in session.scalars(select(LanguageModel)).all()}
    groups: dict[tuple[int | None, str | None], int] = {}
    for s in saes:
        groups[(s.model_id, s.hook_name)] = groups.get((s.model_id, s.hook_name), 0) + 1
    if (model_id, hook_name) == (None, None) and groups:
        model_id, hook_name = max(groups, key=lambda g: (g[0] is not None, groups[g]))
    chosen = [s for s in saes if s.model_id == model_id and s.hook_name == hook_name]
    rows = session.scalars(select(SAEEval).where(SAEEval.sae_id.in_([s.id for s in chosen]))).all()
    metrics = latest_metrics(list(rows))
    newest: dict[int, str] = {}
    for r in sorted(rows, key=lambda r: r.id):
        newest[r.sae_id] = r.status
    points = [
        ComparePoint(
            id=s.id,
            name=s.name,
            origin=s.origin,
            architecture=s.architecture,
            d_sae=s.d_sae,
            model_id=s.model_id,
            hook_name=s.hook_name,
            metrics={k: MetricValue(**v) for k, v in metrics.get(s.id, {}).items()},
            eval_status=newest.get(s.id, "none"),  # type: ignore[arg-type]
        )
        for s in sorted(chosen, key=lambda s: s.id)
    ]
    return CompareOut(
        points=points,
        groups=[
            CompareGroup(model_id=m, model_name=names.get(m) if m else None, hook_name=h, n_saes=n)
            for (m, h), n in sorted(groups.items(), key=lambda g: (str(g[0][0]), str(g[0][1])))
        ],
    )


@router.get("/lab/compare", operation_id="compare_saes", response_model=CompareOut)
def compare_saes(
    session: SessionDep,
    model_id: DbId | None = Query(None, description="The model (default: the largest group)"),
    hook_name: str | None = Query(None, description="The hook point"),
) -> CompareOut:
    """Every SAE of one model and hook with its newest evaluated metrics."""
    return _compare(session, model_id, hook_name)


@router.get(
    "/lab/compare/download",
    operation_id="download_compare",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, "application/json": {}}}},
)
def download_compare(
    session: SessionDep,
    model_id: DbId | None = Query(None, description="The model (default: the largest group)"),
    hook_name: str | None = Query(None, description="The hook point"),
    form: Literal["csv", "json"] = FORM,
) -> Response:
    """The compare table: one row per SAE and metric (CSV) or the whole table (JSON)."""
    out = _compare(session, model_id, hook_name)
    rows = [
        {
            "sae_id": p.id,
            "name": p.name,
            "architecture": p.architecture,
            "d_sae": p.d_sae,
            "metric": k,
            "value": m.value,
            "low": m.low,
            "high": m.high,
        }
        for p in out.points
        for k, m in p.metrics.items()
    ]
    return _download(rows, out.model_dump(mode="json"), form, "sae-compare")
