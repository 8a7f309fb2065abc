"""The feature-extraction job: one SAE over a tokenization, then one ``features`` row per latent.

:func:`mistudio.core.features.extract_features` writes the arrays (statistics, histograms, top
examples, logit lens, co-activation) under ``artifacts/extractions/<id>/``; the job copies each
latent's statistics row into the ``features`` table, the part the UI sorts, filters and searches.
Extraction is all-or-nothing in core (not resumable; a retry starts over). A request that chose
a labelling method has its run queued when the extraction is ready
(:mod:`mistudio.jobs.extraction_labeling`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mistudio.core import features as core_features
from mistudio.core.data import Tokenization
from mistudio.core.features import (
    ExtractionConfig,
    ExtractionInterrupted,
    ExtractionTarget,
    extract_features,
)
from mistudio.core.language_models import load_model
from mistudio.core.sae.saelens_format import load_sae
from mistudio.errors import NotFoundError
from mistudio.jobs.extraction_labeling import queue_follow_up_labeling
from mistudio.jobs.handlers import handler
from mistudio.jobs.runtime import JobCancelled, JobContext, job_row
from mistudio.store import (
    Extraction,
    LanguageModel,
    SAERow,
    TokenizationRow,
    artifact_dir,
)
from mistudio.store.artifact_rows import index_features
from mistudio.store.lineage import Lineage
from mistudio.store.model_load import model_load_config


def extraction_available() -> bool:
    """Whether core exposes the extraction entry point (it is optional at import time)."""
    return hasattr(core_features, "extract_features")


@handler("extract", queue="gpu")
def extract_job(ctx: JobContext) -> dict[str, Any]:

    extraction_id = int(ctx.config["extraction_id"])
    with job_row(Extraction, extraction_id, "extraction") as (session, row):
        sae = session.get(SAERow, row.sae_id)
        model = session.get(LanguageModel, row.model_id) if row.model_id else None
        tok = session.get(TokenizationRow, row.tokenization_id) if row.tokenization_id else None
        if sae is None or sae.path is None or model is None or tok is None or tok.path is None:
            raise NotFoundError("the SAE, model or tokenization of this extraction is gone")
        sae_path, sae_id, tok_path = sae.path, sae.id, tok.path
        load_config, hook = model_load_config(model), sae.hook_name
        config = ExtractionConfig.model_validate(row.config or {})
    ctx.stage(0.0, 0.1, "loading model")
    loaded = load_model(load_config, ctx.progress)
    target = ExtractionTarget(load_sae(sae_path, device=loaded.device), hook, Path(sae_path))
    dest = artifact_dir("extractions", extraction_id, create=False)
    dest.parent.mkdir(parents=True, exist_ok=True)
    ctx.stage(0.1, 0.9, "extracting")
    try:
        (result,) = extract_features(
            loaded,
            Tokenization.open(tok_path),
            [target],
            config,
            [dest],
            progress=ctx.progress,
            should_stop=ctx.stopped,
            overwrite=True,
        )
    except ExtractionInterrupted as exc:
        if ctx.stopped():
            raise JobCancelled(str(exc)) from exc
        raise
    ctx.stage(0.9, 1.0, "indexing features")
    n = index_features(extraction_id, sae_id, result, loaded.tokenizer, ctx.progress)
    with job_row(Extraction, extraction_id, "extraction", "extracting") as (session, row):
        row.status = "ready"
        row.path = str(dest)
        row.n_features = n
        row.result = {
            **(row.result or {}),  # keeps the planned follow-up labelling ("labeling")
            "n_tokens": result.meta.n_tokens,
            "n_sequences": result.meta.n_sequences,
        }
        inputs = {
            "sae_id": sae_id,
            "model_id": row.model_id,
            "tokenization_id": row.tokenization_id,
        }
        row.lineage = Lineage(ctx.job_id, inputs, config).as_json()
    out: dict[str, Any] = {
        "extraction_id": extraction_id,
        "n_features": n,
        "n_tokens": result.meta.n_tokens,
    }
    plan = ctx.config.get("then_label")
    if plan:
        ctx.log(f"queuing the follow-up {plan['labeling'].get('method')} labelling run")
        out["labeling_id"] = queue_follow_up_labeling(extraction_id, plan, ctx.job_id)
    return out
