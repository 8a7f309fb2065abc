"""Dataset import and tokenization jobs."""

from __future__ import annotations

from typing import Any

from mistudio.core.data import DatasetSource, TokenizeConfig, import_dataset, tokenize_dataset
from mistudio.core.language_models import load_tokenizer
from mistudio.errors import NotFoundError
from mistudio.jobs.handlers import handler
from mistudio.jobs.runtime import JobContext, job_row
from mistudio.settings import get_settings
from mistudio.store import Dataset, LanguageModel, TokenizationRow, artifact_dir
from mistudio.store.artifact_rows import record_dataset, record_tokenization
from mistudio.store.job_secrets import drop_job_secret, get_job_secret
from mistudio.store.lineage import Lineage
from mistudio.store.model_load import model_load_config


@handler("dataset_import")
def import_dataset_job(ctx: JobContext) -> dict[str, Any]:

    dataset_id = int(ctx.config["dataset_id"])
    source = DatasetSource.model_validate(ctx.config["source"])
    token = get_job_secret(ctx.job_id, "hub_token")  # sealed by the API, never in the config
    if token:
        source = source.model_copy(update={"token": token})
    dest = artifact_dir("datasets", dataset_id)
    ctx.stage(0.0, 1.0, "importing")
    # Read only under the import roots the API checked (symlinks inside a folder included).
    roots = get_settings().import_root_paths
    info = import_dataset(source, dest, ctx.progress, allowed_roots=roots)
    with job_row(Dataset, dataset_id, "dataset", "importing") as (session, row):
        record_dataset(row, info, dest)
        row.lineage = Lineage(ctx.job_id, extra={"source": source.details()}).as_json()
    drop_job_secret(ctx.job_id)
    return {"dataset_id": dataset_id, "n_documents": info.n_documents, "n_bytes": info.n_bytes}


@handler("tokenize")
def tokenize_job(ctx: JobContext) -> dict[str, Any]:

    tok_id = int(ctx.config["tokenization_id"])
    with job_row(TokenizationRow, tok_id, "tokenization") as (session, row):
        dataset = session.get(Dataset, row.dataset_id)
        model = session.get(LanguageModel, row.model_id) if row.model_id else None
        if dataset is None or dataset.path is None or model is None:
            raise NotFoundError("the dataset or model of this tokenization is gone")
        dataset_path, load_config, model_id = dataset.path, model_load_config(model), model.id
        dataset_id = dataset.id
    config = TokenizeConfig.model_validate(ctx.config["tokenize"])
    ctx.stage(0.0, 0.05, "loading tokenizer")
    tokenizer = load_tokenizer(load_config, ctx.progress)
    dest = artifact_dir("tokenizations", tok_id)
    ctx.stage(0.05, 1.0, "tokenizing")
    tok = tokenize_dataset(dataset_path, tokenizer, config, dest, ctx.progress)
    meta = tok.meta
    with job_row(TokenizationRow, tok_id, "tokenization", "tokenizing") as (session, row):
        record_tokenization(row, meta, dest)
        inputs = {"dataset_id": dataset_id, "model_id": model_id}
        row.lineage = Lineage(ctx.job_id, inputs, config).as_json()
        # The model's fingerprint is known now even if it was never loaded in full.
        model_row = session.get(LanguageModel, model_id)
        if model_row is not None and model_row.tokenizer_fingerprint is None:
            model_row.tokenizer_fingerprint = meta.tokenizer_fingerprint
    return {"tokenization_id": tok_id, "n_sequences": meta.n_sequences, "n_tokens": meta.n_tokens}
