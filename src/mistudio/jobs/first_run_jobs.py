"""The ``first_run`` job: the studio's "Try it on the built-in model" (issue 22).

The same stages as ``mistudio demo`` (:mod:`mistudio.core.first_run`), in one job so the studio
shows one progress bar whose message names the stage, with each finished stage's seconds in the
job's ``result["stages"]`` while it runs. What it makes is registered exactly as the demo
registers its work (:func:`~mistudio.store.artifact_rows.register_cli_pipeline`: model, corpus,
tokenization, training with curves, SAE, extraction with indexed features), and its two labelling
passes are ordinary labelling runs whose labels reach the feature rows as they arrive
(:mod:`mistudio.jobs.first_run_labels`). The result names the extraction the studio opens.

Why one job rather than a chain of the existing jobs: the chain would load the model four times
(a cold load dequantizes the GGUF, about a minute on two cores) and hand a newcomer four jobs to
follow; here the model is loaded once and the stages share it. The artifacts go to the same
named folders as the demo's (``FirstRunFolders``), so a retry reuses the finished stages.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from mistudio.core.first_run import (
    FirstRunConfig,
    FirstRunFolders,
    StageClock,
    cache_first_activations,
    extract_first_features,
    import_corpus,
    label_first_features,
    tokenize_for_first_run,
    train_first_sae,
)
from mistudio.core.labeling import LabelingConfig
from mistudio.core.language_models import load_model
from mistudio.jobs.first_run_labels import LabelPassRecorder
from mistudio.jobs.handlers import handler
from mistudio.jobs.runtime import JobCancelled, JobContext
from mistudio.settings import get_settings
from mistudio.store import Job, init_db, session_scope
from mistudio.store.artifact_rows import (
    CorpusArtifacts,
    ExtractionArtifacts,
    jsonable,
    register_cli_pipeline,
)

KIND = "first_run"


class _StageRecord:
    """Writes ``{"stages": [{name, seconds}], "current": name}`` into the job row's result as
    each stage starts, so the studio lists finished stages with their seconds while it runs."""

    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx
        self.clock = StageClock(on_start=self.started)

    def started(self, name: str, start: float, end: float) -> None:
        self._write(current=name)
        self.ctx.log(f"stage {name}")
        self.ctx.stage(start, end, name)

    def _write(self, current: str | None) -> None:
        stages = [{"name": n, "seconds": round(s, 1)} for n, s in self.clock.seconds.items()]
        with session_scope() as session:
            session.execute(
                update(Job)
                .where(Job.id == self.ctx.job_id)
                .values(result={"stages": stages, "current": current})
            )

    def done(self) -> list[dict[str, Any]]:
        self._write(current=None)
        return [
            {"name": n, "seconds": round(s, 1), "share": round(share, 3)}
            for n, s, share in self.clock.rows()
        ]


@handler(KIND, queue="gpu")
def first_run_job(ctx: JobContext) -> dict[str, Any]:
    config = FirstRunConfig.model_validate(ctx.config.get("first_run") or {})
    record = _StageRecord(ctx)
    stage = record.clock.stage
    init_db()
    with stage("model"):
        loaded = load_model(config.model, ctx.progress)
    name = loaded.architecture().name
    folders = FirstRunFolders.under(get_settings().artifacts_dir, config, name)
    with stage("dataset"):
        info = import_corpus(config, folders.dataset, ctx.progress)
    with stage("tokenize"):
        tok = tokenize_for_first_run(
            config, folders.dataset, loaded.tokenizer, folders.tokenization, ctx.progress
        )
    with stage("activations"):
        cache = cache_first_activations(config, loaded, tok, folders.activations, ctx.progress)
    with stage("train"):
        ctx.raise_on_cancel = False  # training stops cleanly at a step (and can resume)
        run_config, trained = train_first_sae(
            config, loaded, tok, folders.training, ctx.progress, stop=ctx.stopped, cache=cache
        )
        ctx.raise_on_cancel = True
        if trained.stopped:
            raise JobCancelled("cancelled during training; retry to resume it")
    with stage("extract"):
        ex_config, extractions = extract_first_features(
            config, loaded, tok, trained, folders.extraction, ctx.progress, ctx.stopped, cache
        )
    with stage("index"):
        corpus = CorpusArtifacts(config.corpus, config.corpus, info, folders.dataset, tok)
        registered = register_cli_pipeline(
            loaded,
            config.model,
            [corpus],
            config.corpus,
            run_config,
            trained,
            [ExtractionArtifacts(n, ex, ex_config) for n, ex in extractions.items()],
            ctx.progress,
        )
    extraction_id = registered.extraction_ids[config.sae_name]
    main = extractions[config.sae_name]
    with stage("label"):
        out = main.folder / "labels"
        rules = LabelPassRecorder(
            extraction_id, LabelingConfig(method="rules", score=config.score), str(out / "rules")
        )
        local = (
            LabelPassRecorder(
                extraction_id,
                LabelingConfig(method="local", score=config.score),
                str(out / "local"),
            )
            if config.local_labels
            else None
        )
        try:
            passes = label_first_features(
                config,
                main,
                loaded.tokenizer,
                out,
                ctx.progress,
                on_rules=rules.add,
                on_local=local.add if local is not None else None,
                should_stop=ctx.stopped,
            )
        except BaseException as exc:
            # A retry labels again into new runs: these two keep what they wrote and say why
            # they stopped, instead of staying "labelling" for ever.
            why = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            for recorder in (rules, local):
                if recorder is not None:
                    recorder.stop(why, isinstance(exc, JobCancelled))
            raise
        rules.finish(passes.rules)
        if local is not None and passes.local is not None:
            local.finish(passes.local)
    labelled = len(passes.labelled())
    sae = trained.saes[config.sae_name]
    ctx.log(f"{labelled} of {main.d_sae} latents labelled; extraction {extraction_id}")
    return {
        "extraction_id": extraction_id,
        "sae_id": registered.sae_ids[config.sae_name],
        "training_id": registered.training_id,
        "model_id": registered.model_id,
        "labeling_ids": [r.labeling_id for r in (rules, local) if r is not None],
        "d_sae": main.d_sae,
        "labelled": labelled,
        "evals": jsonable(sae.evals),
        "stages": record.done(),
    }
