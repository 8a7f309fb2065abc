"""The steering job: :func:`mistudio.core.steering.steer` with SAEs from the ``saes`` table.

The API builds and validates the whole :class:`~mistudio.core.steering.SteeringConfig` (SAEs are
named by their id, relative strengths already carry the feature's max activation from an
extraction) and stores it on the ``steering_runs`` row; the job loads the model and the SAEs,
runs every prompt's baseline and one steered continuation per strength (a sweep is one job), and
saves the run twice: as the row's ``result`` (what the studio shows) and as
``artifacts/steering/<id>/run.json`` (the export, readable by ``SteeringRun.load``).
"""

from __future__ import annotations

import json
from typing import Any

from mistudio.core.language_models import load_model
from mistudio.core.sae.saelens_format import load_sae
from mistudio.core.steering import SteeringConfig, steer
from mistudio.errors import NotFoundError
from mistudio.jobs.handlers import handler
from mistudio.jobs.runtime import JobContext, job_row
from mistudio.store import LanguageModel, SAERow, SteeringRun, artifact_dir
from mistudio.store.lineage import Lineage
from mistudio.store.model_load import model_load_config

EXPORT_FILE = "run.json"


@handler("steer", queue="gpu")
def steer_job(ctx: JobContext) -> dict[str, Any]:

    run_id = int(ctx.config["steering_run_id"])
    with job_row(SteeringRun, run_id, "steering run") as (session, row):
        model = session.get(LanguageModel, row.model_id) if row.model_id else None
        if model is None:
            raise NotFoundError("the model of this steering run is gone")
        load_config = model_load_config(model)
        config = SteeringConfig.model_validate(row.config)
        folders: dict[str, str] = {}
        for name in dict.fromkeys(iv.sae for iv in config.interventions):
            sae = session.get(SAERow, int(name))
            if sae is None or not sae.path:
                raise NotFoundError(f"SAE {name} of this steering run is gone")
            folders[name] = sae.path
    ctx.stage(0.0, 0.15, "loading model")
    loaded = load_model(load_config, ctx.progress)
    saes = {name: load_sae(path, device=loaded.device) for name, path in folders.items()}
    ctx.stage(0.15, 1.0, "generating")
    run = steer(loaded, config, saes, folders, progress=ctx.progress)
    dest = artifact_dir("steering", run_id)
    export = run.save(dest / EXPORT_FILE)
    # Through JSON text so NaN / inf strengths become strings a JSON column can hold.
    document = json.loads(run.to_json())
    with job_row(SteeringRun, run_id, "steering run", "generating") as (session, row):
        row.status = "ready"
        row.path = str(dest)
        row.result = document
        inputs = {"model_id": row.model_id, "sae_ids": [int(name) for name in folders]}
        row.lineage = Lineage(ctx.job_id, inputs).as_json()
    return {
        "steering_run_id": run_id,
        "n_prompts": len(run.prompts),
        "n_strengths": len(config.sweep()),
        "similarity_method": run.similarity_method,
        "seconds": round(run.seconds, 3),
        "export": str(export),
    }
