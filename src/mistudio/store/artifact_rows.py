"""Rows for finished artifacts: what the jobs record, and what ``mistudio demo`` registers.

The service's jobs and the command line make the same artifacts (folders under
``MISTUDIO_HOME/artifacts``). The functions here turn a finished artifact into its database row,
so one made by ``mistudio demo`` opens in the studio exactly like one the studio made: the model
with its hook widths, datasets and tokenizations with their statistics, the training with its
metric curves and checkpoints, every SAE with its evals, and each extraction with one indexed
row per feature (searchable, sortable, labellable, steerable).

:func:`register_cli_pipeline` is idempotent: an artifact whose folder already has a row updates
that row (features are re-indexed), so running the demo twice leaves one set of rows.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from mistudio.core.activations import ActivationCache
from mistudio.core.data import decode_each, tokenizer_fingerprint
from mistudio.core.language_models import resolve_source
from mistudio.core.progress import Progress, report
from mistudio.core.sae.saelens_format import read_cfg
from mistudio.core.training import list_checkpoints
from mistudio.errors import InvalidInputError
from mistudio.store.db import session_scope
from mistudio.store.features import analyze_features
from mistudio.store.tables import (
    ActivationCacheRow,
    Checkpoint,
    Dataset,
    Extraction,
    Feature,
    LanguageModel,
    SAERow,
    TokenizationRow,
    Training,
    TrainingMetric,
)

INSERT_BATCH = 5000
"""Feature rows per insert transaction (short ones: SQLite writers block each other)."""
TOP_TOKENS_IN_ROW = 10
"""Top tokens per latent kept in the searchable ``top_tokens`` text."""

Row = TypeVar(
    "Row", Dataset, LanguageModel, TokenizationRow, ActivationCacheRow, Training, SAERow, Extraction
)


def jsonable(value: Any) -> Any:
    """``value`` for a JSON column: NaN/inf floats become None, paths strings, numpy scalars
    Python numbers."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and callable(value.item):
        return jsonable(value.item())
    return value


# ---- one artifact each: shared by the jobs and the registration below ----------------------
def record_model(row: LanguageModel, loaded: Any) -> None:
    """Fill a model row from the loaded model: architecture, hook widths, tokenizer."""

    summary = loaded.architecture()
    row.status = "ready"
    row.path = str(loaded.local_path)
    row.family = summary.family
    row.n_params = summary.n_params
    row.architecture = summary.model_dump(mode="json")
    row.hook_dims = {point.name: int(point.d) for point in loaded.hook_points()}
    row.tokenizer_fingerprint = tokenizer_fingerprint(loaded.tokenizer)


def record_dataset(row: Dataset, info: Any, folder: Path) -> None:
    """Fill a dataset row from its imported folder's ``DatasetInfo``."""
    row.status = "ready"
    row.path = str(folder)
    row.n_documents = info.n_documents
    row.n_bytes = info.n_bytes
    row.info = info.model_dump(mode="json")


def record_tokenization(row: TokenizationRow, meta: Any, folder: Path) -> None:
    """Fill a tokenization row from its folder's ``TokenizationMeta``."""
    row.status = "ready"
    row.path = str(folder)
    row.tokenizer_fingerprint = meta.tokenizer_fingerprint
    row.n_sequences = meta.n_sequences
    row.n_tokens = meta.n_tokens
    row.meta = meta.model_dump(mode="json")


class SAECfgColumns(BaseModel):
    """The ``cfg.json`` values an SAE row keeps in its own columns, checked before any row is
    written: a value of the wrong type (``d_sae: "lots"``, ``hook_name: 123``) would otherwise be
    stored and break every later read of the row (or fail the insert on PostgreSQL)."""

    model_config = ConfigDict(extra="forbid")

    architecture: str | None = Field(default=None, max_length=32)
    """``standard``, ``topk``, ``jumprelu``, ..."""
    hook_name: str | None = Field(default=None, max_length=200)
    """The hook point it reads (``metadata.hook_name``, or top-level ``hook_name``)."""
    d_in: int = Field(ge=1, le=2**31 - 1)
    """Width of the activations it reads."""
    d_sae: int = Field(ge=1, le=2**31 - 1)
    """Number of latents."""
    model_name: str | None = Field(default=None, max_length=200)
    """The model it was trained on (``metadata.model_name``, or top-level ``model_name``)."""


def read_sae_cfg(folder: Path) -> dict[str, Any]:
    """``cfg.json`` of an SAE folder as a dict (InvalidInputError when it is not a JSON object;
    the message never quotes the file)."""

    try:
        cfg = read_cfg(folder)
    except (ValueError, UnicodeDecodeError):  # json.JSONDecodeError is a ValueError
        raise InvalidInputError(f"cfg.json in {folder} is not valid JSON") from None
    if not isinstance(cfg, dict):
        raise InvalidInputError(f"cfg.json in {folder} is not a JSON object")
    return cfg


def sae_cfg_columns(cfg: dict[str, Any], where: str) -> SAECfgColumns:
    """The checked column values of an SAE's ``cfg``; InvalidInputError names each bad field
    (never its value)."""
    metadata = cfg.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise InvalidInputError(f"{where}: cfg.json metadata must be an object")
    fields = {
        "architecture": cfg.get("architecture"),
        "hook_name": metadata.get("hook_name") or cfg.get("hook_name"),
        "d_in": cfg.get("d_in"),
        "d_sae": cfg.get("d_sae"),
        "model_name": metadata.get("model_name") or cfg.get("model_name"),
    }
    try:
        return SAECfgColumns.model_validate(fields)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise InvalidInputError(
            f"{where}: cfg.json is not a usable SAE config ({problems})"
        ) from None


def trained_sae_row(name: str, sae: Any, model_id: int | None, lineage: dict[str, Any]) -> SAERow:
    """A ready SAE row for one trained SAE (a ``SAEResult``) of a training."""
    cfg = read_sae_cfg(Path(sae.folder))
    columns = sae_cfg_columns(cfg, f"SAE {name}")
    final = sae.final.__dict__ if sae.final is not None else {}
    return SAERow(
        name=name,
        status="ready",
        origin="trained",
        training_id=lineage.get("training_id"),
        model_id=model_id,
        **columns.model_dump(),
        path=str(sae.folder),
        cfg=cfg,
        metrics=jsonable(
            {
                "final": final,
                "evals": sae.evals,
                "reached_l0": sae.reached_l0,
                "warnings": sae.warnings,
            }
        ),
        job_id=lineage.get("job_id"),
        lineage=lineage,
    )


def metric_rows(
    training_id: int, sae: str, step: int, metrics: dict[str, Any], skip: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """``training_metrics`` rows for one logged point: every numeric value except ``skip``
    (booleans and None are not curves; NaN is stored as NULL)."""
    return [
        {
            "training_id": training_id,
            "sae": sae,
            "step": step,
            "name": name,
            "value": float(value) if value == value else None,
        }
        for name, value in metrics.items()
        if name not in skip and not isinstance(value, bool) and isinstance(value, int | float)
    ]


def record_checkpoints(session: Session, training_id: int, run_dir: Path) -> None:
    """Replace a training's checkpoint rows with the checkpoints in its run folder."""

    session.execute(delete(Checkpoint).where(Checkpoint.training_id == training_id))
    for info in list_checkpoints(run_dir):
        session.add(
            Checkpoint(
                training_id=training_id, step=info.step, path=str(info.path), score=info.score
            )
        )


def top_token_text(table: dict[str, np.ndarray], tokenizer: Any) -> list[str]:
    """Each latent's top tokens decoded and joined by spaces (each distinct id decoded once)."""

    ids = np.asarray(table["top_token_ids"])[:, :TOP_TOKENS_IN_ROW]
    distinct = sorted({int(i) for i in np.unique(ids) if i >= 0})
    text = dict(zip(distinct, decode_each(tokenizer, distinct), strict=True))
    return [" ".join(text[int(i)].strip() for i in row if i >= 0) for row in ids]


def index_features(
    extraction_id: int,
    sae_id: int,
    result: Any,
    tokenizer: Any,
    progress: Progress | None = None,
) -> int:
    """Replace the extraction's feature rows with one per latent of ``result``.

    Short transactions with progress between them: on SQLite a long write transaction would
    block a job's own progress and heartbeat writes. Returns the number of features.
    """
    table = result.table()
    top_text = top_token_text(table, tokenizer)
    n = int(result.d_sae)
    with session_scope() as session:
        session.query(Feature).filter(Feature.extraction_id == extraction_id).delete()
    for start in range(0, n, INSERT_BATCH):
        stop = min(n, start + INSERT_BATCH)
        with session_scope() as session:
            session.bulk_insert_mappings(
                Feature.__mapper__,
                [
                    {
                        "extraction_id": extraction_id,
                        "sae_id": sae_id,
                        "index": i,
                        "frequency": float(table["frequency"][i]),
                        "max_activation": float(table["max_act"][i]),
                        "mean_activation": float(table["mean_act"][i]),
                        "interpretability": float(table["interpretability_proxy"][i]),
                        "interpretability_proxy": float(table["interpretability_proxy"][i]),
                        "top_tokens": top_text[i],
                        "starred": False,
                    }
                    for i in range(start, stop)
                ],
            )
        report(progress, stop, n)
    with session_scope() as session:
        analyze_features(session)
    return n


# ---- a command-line pipeline, registered as a whole -----------------------------------------
@dataclass
class CorpusArtifacts:
    """A dataset the command line imported and its tokenization."""

    name: str
    """Dataset name (a built-in corpus name matches the studio's built-in row)."""
    builtin: str | None
    """The built-in corpus it came from, if any."""
    info: Any
    """Its ``DatasetInfo``."""
    folder: Path
    """Dataset folder."""
    tokenization: Any
    """Its ``Tokenization``."""


@dataclass
class ExtractionArtifacts:
    """One SAE's extraction."""

    sae: str
    """The SAE's name in the training run."""
    result: Any
    """Its ``ExtractionResult``."""
    config: Any
    """The ``ExtractionConfig`` it ran with."""


@dataclass
class Registered:
    """Row ids of what :func:`register_cli_pipeline` wrote."""

    model_id: int
    dataset_ids: list[int]
    tokenization_ids: list[int]
    training_id: int
    sae_ids: dict[str, int]
    extraction_ids: dict[str, int]


def _by_path(session: Session, table: type[Row], path: Path) -> Row | None:
    return session.scalar(select(table).where(table.path == str(path)).limit(1))


def _model_row(session: Session, loaded: Any, source: str) -> LanguageModel:

    row = session.scalar(
        select(LanguageModel).where(LanguageModel.source == source).order_by(LanguageModel.id)
    )
    if row is None:
        kind, _ = resolve_source(source)
        row = LanguageModel(
            name=source,
            source=source,
            source_kind=kind,
            builtin=kind == "builtin",
            config={},
            lineage={},
        )
        session.add(row)
    record_model(row, loaded)
    row.lineage = {**(row.lineage or {}), "source": source, "registered_by": "mistudio demo"}
    return row


def _dataset_row(session: Session, corpus: CorpusArtifacts) -> Dataset:
    row = _by_path(session, Dataset, corpus.folder)
    if row is None and corpus.builtin:
        # The studio lists built-in corpora before anything imports them: fill that row.
        row = session.scalar(
            select(Dataset).where(
                Dataset.builtin.is_(True), Dataset.name == corpus.builtin, Dataset.path.is_(None)
            )
        )
    if row is None:
        source = {"kind": "builtin", "builtin": corpus.builtin} if corpus.builtin else {}
        row = Dataset(
            name=corpus.name,
            source_kind="builtin" if corpus.builtin else "local",
            source=source,
            builtin=False,
            lineage={},
        )
        session.add(row)
    record_dataset(row, corpus.info, corpus.folder)
    row.lineage = {"origin": "mistudio demo", "folder": str(corpus.folder)}
    return row


def _cache_row(session: Session, run_config: Any, model_id: int, tok_id: int) -> int | None:
    """The activation cache a command-line training read (the first run's), as a ready row
    (the Activations panel lists it; the training row points at it); None when it ran live."""
    folder = getattr(run_config, "activation_cache", None)
    if not folder:
        return None
    cache = ActivationCache.open(folder)
    row = _by_path(session, ActivationCacheRow, cache.folder)
    if row is None:
        row = ActivationCacheRow(
            name=cache.folder.name,
            model_id=model_id,
            tokenization_id=tok_id,
            config={},
            lineage={"origin": "mistudio demo", "model_id": model_id, "tokenization_id": tok_id},
        )
        session.add(row)
    row.status = "ready"
    row.path = str(cache.folder)
    row.hook_points = list(cache.manifest.hook_points)
    row.n_tokens = cache.n_tokens
    row.manifest = cache.manifest.model_dump(mode="json", exclude={"shards"})
    session.flush()
    return row.id


def register_cli_pipeline(
    loaded: Any,
    model_source: str,
    corpora: Sequence[CorpusArtifacts],
    training_corpus: str,
    run_config: Any,
    run_result: Any,
    extractions: Sequence[ExtractionArtifacts],
    progress: Progress | None = None,
) -> Registered:
    """Register a command-line pipeline (model, corpora, one training, its extractions).

    ``training_corpus`` names the corpus in ``corpora`` the training and extractions read;
    ``run_config`` is the ``TrainingRunConfig`` and ``run_result`` the ``TrainResult``.
    """
    with session_scope() as session:
        model = _model_row(session, loaded, model_source)
        session.flush()
        dataset_ids, tok_ids = [], []
        tok_by_corpus: dict[str, int] = {}
        for corpus in corpora:
            dataset = _dataset_row(session, corpus)
            session.flush()
            tok = corpus.tokenization
            tok_row = _by_path(session, TokenizationRow, tok.folder)
            if tok_row is None:
                tok_row = TokenizationRow(
                    name=tok.folder.name,
                    dataset_id=dataset.id,
                    model_id=model.id,
                    max_length=tok.meta.max_length,
                    config=tok.meta.config.model_dump(mode="json"),
                    lineage={},
                )
                session.add(tok_row)
            record_tokenization(tok_row, tok.meta, tok.folder)
            tok_row.lineage = {
                "origin": "mistudio demo",
                "dataset_id": dataset.id,
                "model_id": model.id,
            }
            session.flush()
            dataset_ids.append(dataset.id)
            tok_ids.append(tok_row.id)
            tok_by_corpus[corpus.name] = tok_row.id

        cache_id = _cache_row(session, run_config, model.id, tok_by_corpus[training_corpus])
        run_dir = Path(run_result.run_dir)
        training = _by_path(session, Training, run_dir)
        if training is None:
            training = Training(name=run_dir.name, config={}, result={}, lineage={})
            session.add(training)
        training.status = "ready"
        training.path = str(run_dir)
        training.model_id = model.id
        training.tokenization_id = tok_by_corpus[training_corpus]
        training.activation_cache_id = cache_id
        training.config = run_config.settings().model_dump(mode="json")
        training.step = run_result.steps
        training.total_steps = run_result.total_steps
        training.tokens_seen = run_result.tokens_seen
        training.lineage = {"origin": "mistudio demo", "run_dir": str(run_dir)}
        session.flush()
        _record_training_files(session, training.id, run_result)

        sae_ids: dict[str, int] = {}
        lineage = {
            "origin": "mistudio demo",
            "training_id": training.id,
            "model_id": model.id,
            "tokenization_id": training.tokenization_id,
        }
        for name, sae in run_result.saes.items():
            fresh = trained_sae_row(f"{training.name}/{name}", sae, model.id, lineage)
            sae_row = _by_path(session, SAERow, Path(sae.folder))
            if sae_row is None:
                sae_row = fresh
                session.add(sae_row)
            else:
                for column in ("status", "architecture", "hook_name", "d_in", "d_sae", "cfg"):
                    setattr(sae_row, column, getattr(fresh, column))
                sae_row.metrics, sae_row.lineage = fresh.metrics, lineage
                sae_row.training_id = training.id
            session.flush()
            sae_ids[name] = sae_row.id
        training.result = jsonable(
            {
                "steps": run_result.steps,
                "total_steps": run_result.total_steps,
                "tokens_seen": run_result.tokens_seen,
                "stopped": run_result.stopped,
                "data_exhausted": run_result.data_exhausted,
                "sae_ids": list(sae_ids.values()),
            }
        )

        extraction_rows: dict[str, Extraction] = {}
        for ex in extractions:
            folder = Path(ex.result.folder)
            ex_row = _by_path(session, Extraction, folder)
            if ex_row is None:
                ex_row = Extraction(name=f"{run_dir.name}/{ex.sae}")
                session.add(ex_row)
            ex_row.status = "ready"
            ex_row.path = str(folder)
            ex_row.sae_id = sae_ids[ex.sae]
            ex_row.model_id = model.id
            ex_row.tokenization_id = training.tokenization_id
            ex_row.config = ex.config.model_dump(mode="json")
            ex_row.n_features = int(ex.result.d_sae)
            ex_row.result = {
                "n_tokens": ex.result.meta.n_tokens,
                "n_sequences": ex.result.meta.n_sequences,
            }
            ex_row.lineage = {**lineage, "sae_id": sae_ids[ex.sae]}
            session.flush()
            extraction_rows[ex.sae] = ex_row
        extraction_ids = {name: row.id for name, row in extraction_rows.items()}
        registered = Registered(
            model_id=model.id,
            dataset_ids=dataset_ids,
            tokenization_ids=tok_ids,
            training_id=training.id,
            sae_ids=sae_ids,
            extraction_ids=extraction_ids,
        )
    total = sum(int(ex.result.d_sae) for ex in extractions)
    offset = 0
    for ex in extractions:
        shifted = _shifted(progress, offset, total)
        index_features(
            extraction_ids[ex.sae], sae_ids[ex.sae], ex.result, loaded.tokenizer, shifted
        )
        offset += int(ex.result.d_sae)
    return registered


def _shifted(progress: Progress | None, offset: int, total: int) -> Progress | None:
    """``progress`` for one part of a larger count: steps start at ``offset`` of ``total``."""
    if progress is None:
        return None
    report_to = progress

    def shifted(step: float, _total: float | None, /, **metrics: Any) -> None:
        report_to(offset + step, total, **metrics)

    return shifted


def _record_training_files(session: Session, training_id: int, run_result: Any) -> None:
    """The run's checkpoints and each SAE's logged metrics (from its ``training.json``), so the
    studio's charts show the curves of a run it did not watch."""

    record_checkpoints(session, training_id, Path(run_result.run_dir))
    session.execute(delete(TrainingMetric).where(TrainingMetric.training_id == training_id))
    rows = []
    for name, sae in run_result.saes.items():
        record = Path(sae.folder) / "training.json"
        if record.exists():
            for point in json.loads(record.read_text()).get("metrics", []):
                rows += metric_rows(training_id, name, int(point["step"]), point, skip=("step",))
    if rows:
        session.bulk_insert_mappings(TrainingMetric.__mapper__, rows)
