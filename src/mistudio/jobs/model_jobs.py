"""Model load/download and activation-caching jobs."""

from __future__ import annotations

from typing import Any

from mistudio.core.activations import ActivationCacheConfig, cache_activations
from mistudio.core.data import Tokenization, check_compatible
from mistudio.core.language_models import load_model
from mistudio.errors import NotFoundError
from mistudio.jobs.handlers import handler
from mistudio.jobs.runtime import JobContext, job_row
from mistudio.store import (
    ActivationCacheRow,
    LanguageModel,
    TokenizationRow,
    artifact_dir,
)
from mistudio.store.artifact_rows import record_model
from mistudio.store.job_secrets import drop_job_secret, get_job_secret
from mistudio.store.lineage import Lineage
from mistudio.store.model_load import model_load_config


@handler("model_load", queue="gpu")
def model_load_job(ctx: JobContext) -> dict[str, Any]:
    """Download (Hub) or dequantize (GGUF) a model, load it once and record its architecture,
    hook points with their widths, and tokenizer fingerprint, so later requests are validated
    without loading it again."""

    model_id = int(ctx.config["model_id"])
    with job_row(LanguageModel, model_id, "model") as (session, row):
        load_config = model_load_config(row)
    token = get_job_secret(ctx.job_id, "hub_token")  # sealed by the API, never in the config
    if token:
        load_config = load_config.model_copy(update={"token": token})
    ctx.stage(0.0, 0.9, "loading")
    loaded = load_model(load_config, ctx.progress)
    ctx.stage(0.9, 1.0, "inspecting")
    summary = loaded.architecture()
    with job_row(LanguageModel, model_id, "model", "loading") as (session, row):
        record_model(row, loaded)
        row.lineage = Lineage(ctx.job_id, extra={"source": row.source}).as_json()
    drop_job_secret(ctx.job_id)
    return {"model_id": model_id, "n_params": summary.n_params, "n_layers": summary.n_layers}


@handler("cache_activations", queue="gpu")
def cache_activations_job(ctx: JobContext) -> dict[str, Any]:

    cache_id = int(ctx.config["activation_cache_id"])
    with job_row(ActivationCacheRow, cache_id, "activation cache") as (session, row):
        model = session.get(LanguageModel, row.model_id)
        tok_row = session.get(TokenizationRow, row.tokenization_id)
        if model is None or tok_row is None or tok_row.path is None:
            raise NotFoundError("the model or tokenization of this cache is gone")
        load_config, tok_path = model_load_config(model), tok_row.path
    # The stored job config is the core config plus the row's id (added by the kit).
    cache = ActivationCacheConfig.model_validate(
        {k: v for k, v in ctx.config.items() if k != "activation_cache_id"}
    )
    ctx.stage(0.0, 0.1, "loading model")
    loaded = load_model(load_config, ctx.progress)
    tok = Tokenization.open(tok_path)
    check_compatible(tok.meta, loaded.tokenizer, loaded.name)
    dest = artifact_dir("activations", cache_id)
    ctx.stage(0.1, 1.0, "caching activations")
    manifest = cache_activations(loaded, tok, cache.stream, dest, cache.shard_tokens, ctx.progress)
    with job_row(ActivationCacheRow, cache_id, "activation cache", "caching") as (session, row):
        row.status = "ready"
        row.path = str(dest)
        row.n_tokens = manifest.n_tokens
        row.hook_points = list(manifest.hook_points)
        row.manifest = manifest.model_dump(mode="json")
        inputs = {"model_id": row.model_id, "tokenization_id": row.tokenization_id}
        row.lineage = Lineage(ctx.job_id, inputs, cache).as_json()
    return {"activation_cache_id": cache_id, "n_tokens": manifest.n_tokens}
