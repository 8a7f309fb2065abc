"""The ``eval`` job: the lab's evaluations of one SAE (:mod:`mistudio.core.lab`), any origin.

The request made one ``sae_evals`` row per SAE (:mod:`mistudio.store.sae_evals`) keyed by SAE,
eval version and config; one job takes them all (``eval_ids``: "evaluate these SAEs" loads each
model once, not once per SAE). For each it loads the SAE (gpu queue: it runs the LM), the
held-out tokenization when core metrics are asked for, and for the label summary the labels of
the SAE's newest extraction that has any; then it writes the metrics into the row. A failure
marks that row ``failed`` with the one-line error (the compare view says why an SAE has no
point) and the job goes on with the others.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from mistudio.core.data import Tokenization
from mistudio.core.lab import EvalConfig, run_evals
from mistudio.core.lab.evals_run import LabelScores
from mistudio.core.language_models import LoadedModel, load_model
from mistudio.core.sae.saelens_format import load_sae
from mistudio.errors import InvalidInputError, NotFoundError
from mistudio.jobs.handlers import handler
from mistudio.jobs.runtime import JobCancelled, JobContext, job_row
from mistudio.store import Extraction, Feature, LanguageModel, SAERow, TokenizationRow
from mistudio.store.db import session_scope
from mistudio.store.model_load import model_load_config
from mistudio.store.sae_evals import SAEEval


def _labels(sae_id: int) -> LabelScores | None:
    """Per-latent label facts of the SAE's newest extraction that has labels."""
    with session_scope() as session:
        extraction_ids = session.scalars(
            select(Extraction.id)
            .where(Extraction.sae_id == sae_id, Extraction.status == "ready")
            .order_by(Extraction.id.desc())
        ).all()
        for extraction_id in extraction_ids:
            rows = session.execute(
                select(Feature.label_status, Feature.detection_score, Feature.fuzzing_score)
                .where(Feature.extraction_id == extraction_id)
                .order_by(Feature.index)
            ).all()
            if any(r.label_status is not None for r in rows):
                return LabelScores(
                    labelled=[r.label_status == "labelled" for r in rows],
                    detection=[r.detection_score for r in rows],
                    fuzzing=[r.fuzzing_score for r in rows],
                )
    return None


@handler("eval", queue="gpu")
def eval_job(ctx: JobContext) -> dict[str, Any]:
    """One job evaluates one or several SAEs (``eval_ids``), loading each model once."""
    eval_ids = [int(i) for i in ctx.config.get("eval_ids") or [ctx.config["eval_id"]]]
    models: dict[str, LoadedModel] = {}
    done, failed = [], []
    for n, eval_id in enumerate(eval_ids):
        ctx.stage(n / len(eval_ids), (n + 1) / len(eval_ids), f"SAE {n + 1} of {len(eval_ids)}")
        try:
            done.append(_run(ctx, eval_id, models))
        except JobCancelled:
            _mark_failed(eval_id, "cancelled")
            raise
        except Exception as exc:
            message = (str(exc).splitlines() or [repr(exc)])[0]
            _mark_failed(eval_id, message)
            if len(eval_ids) == 1:
                raise
            ctx.log(f"evaluation {eval_id} failed: {message}")
            failed.append(eval_id)
    if failed and not done:
        raise InvalidInputError(f"every evaluation failed ({len(failed)}); see the job log")
    return {"eval_ids": eval_ids, "failed": failed, "results": done}


def _mark_failed(eval_id: int, message: str) -> None:
    with session_scope() as session:
        row = session.get(SAEEval, eval_id)
        if row is not None:
            row.status, row.error = "failed", message


def _run(ctx: JobContext, eval_id: int, models: dict[str, LoadedModel]) -> dict[str, Any]:
    with job_row(SAEEval, eval_id, "evaluation") as (session, ev):
        stored = dict(ev.config or {})
        sae = session.get(SAERow, ev.sae_id)
        if sae is None or sae.path is None or sae.hook_name is None:
            raise NotFoundError(f"SAE {ev.sae_id} is gone or has no hook point")
        model = session.get(LanguageModel, sae.model_id) if sae.model_id else None
        if model is None:
            raise InvalidInputError(f"SAE {sae.id} has no model linked: link one to evaluate it")
        tok_id = stored.get("tokenization_id")
        tok = session.get(TokenizationRow, tok_id) if tok_id else None
        sae_path, hook, sae_id = sae.path, sae.hook_name, sae.id
        load_config, tok_path = model_load_config(model), tok.path if tok else None
        ev.status, ev.job_id, ev.error = "pending", ctx.job_id, None
    config = EvalConfig.model_validate({k: v for k, v in stored.items() if k != "tokenization_id"})
    if "core" in config.metrics and tok_path is None:
        raise InvalidInputError("core metrics need a ready tokenization of the SAE's model")
    key = load_config.model_dump_json()
    if key not in models:
        ctx.log(f"loading {load_config.source}")
        models[key] = load_model(load_config)
    loaded = models[key]
    sae_model = load_sae(sae_path, device=loaded.device)
    labels = _labels(sae_id) if "labels" in config.metrics else None
    report = run_evals(
        loaded,
        sae_model,
        hook,
        config,
        Tokenization.open(tok_path) if tok_path else None,
        labels,
        ctx.progress,
    )
    ctx.log(
        f"SAE {sae_id}: "
        + ", ".join(f"{group} {seconds:.1f} s" for group, seconds in report.seconds.items())
    )
    with job_row(SAEEval, eval_id, "evaluation", "evaluating") as (_, ev):
        ev.metrics = {name: m.model_dump() for name, m in report.metrics.items()}
        ev.details = {**report.details, "seconds": report.seconds}
        ev.status = "ready"
    return {"eval_id": eval_id, "sae_id": sae_id, "metrics": sorted(report.metrics)}
