"""The ``linguistic_analysis`` job: a follow-up on a ready extraction (cpu queue).

It runs :func:`mistudio.core.linguistics.analyse_extraction` over the extraction folder (writing
``linguistics/`` beside the arrays), copies each latent's dominant category into its feature row
(:mod:`mistudio.store.feature_linguistics`), and records in the extraction's ``result`` under
``linguistics`` what ran and what it cost next to the extraction itself (``seconds`` and
``extraction_seconds``: issue 19 allows it 20% of the extraction's time; both exclude loading,
the spaCy import and pipeline here, ``load_seconds``, the model there). The request records the
job id there first, so the studio can follow the job from the extraction.

Why a follow-up job and not a step of extraction: the extraction job runs on the gpu queue and
holds the model's device lock, while the analysis needs only the stored examples and CPU; run
apart, it neither holds the device nor delays the features (and a re-analysis never re-extracts).
"""

from __future__ import annotations

from typing import Any

from mistudio.core.features import ExtractionResult
from mistudio.core.linguistics import (
    LinguisticConfig,
    Linguistics,
    LinguisticsInterrupted,
    analyse_extraction,
)
from mistudio.errors import NotFoundError
from mistudio.jobs.handlers import handler
from mistudio.jobs.runtime import JobCancelled, JobContext, job_row
from mistudio.store import Extraction
from mistudio.store.feature_linguistics import index_linguistics


@handler("linguistic_analysis", queue="cpu")
def linguistic_analysis_job(ctx: JobContext) -> dict[str, Any]:
    extraction_id = int(ctx.config["extraction_id"])
    config = LinguisticConfig.model_validate(ctx.config.get("linguistics") or {})
    with job_row(Extraction, extraction_id, "extraction") as (_, row):
        if row.path is None:
            raise NotFoundError(f"extraction {extraction_id} has no arrays")
        path = row.path
    result = ExtractionResult.open(path)
    ctx.stage(0.0, 0.95, "reading examples")
    try:
        meta = analyse_extraction(result, config, ctx.progress, ctx.stopped)
    except LinguisticsInterrupted as exc:
        raise JobCancelled(str(exc)) from exc
    ctx.log(
        f"{meta.n_windows} example windows ({meta.n_code_windows} code) read with "
        f"{meta.pipeline} in {meta.seconds:.1f} s after {meta.load_seconds:.1f} s loading it "
        f"(extraction: {result.meta.seconds:.1f} s after its model load)"
    )
    ctx.stage(0.95, 1.0, "indexing features")
    n = index_linguistics(extraction_id, Linguistics.open(path), ctx.progress)
    done = {
        "job_id": ctx.job_id,
        "ready": True,
        "pipeline": meta.pipeline,
        "seconds": meta.seconds,
        "load_seconds": meta.load_seconds,
        "extraction_seconds": result.meta.seconds,
        "n_windows": meta.n_windows,
        "n_code_windows": meta.n_code_windows,
    }
    with job_row(Extraction, extraction_id, "extraction", "analysing") as (_, row):
        row.result = {**(row.result or {}), "linguistics": done}
    return {"extraction_id": extraction_id, "n_features": n, **done}
