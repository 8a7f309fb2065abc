"""The database schema: one table per artifact kind, plus jobs, their events and templates.

Decisions:

* Columns the UI sorts or filters on are real (indexed) columns; everything else a core function
  returns is kept whole in a JSON column (``info``/``config``/``result``) so the schema does not
  chase every new statistic.
* Artifacts have integer ids and a ``status`` (``available`` for built-ins not yet fetched,
  ``pending`` while the producing job runs, ``ready``, ``failed``); their files live under
  ``MISTUDIO_HOME/artifacts/<kind>/<id>/`` (see :mod:`mistudio.store.artifacts`).
* Jobs have string ids (the Celery task id), so a job row exists before its task is sent and the
  API can answer for it at once. ``resources`` lists the artifacts a job reads or writes, which is
  how deletes of artifacts in use are refused.
* ``features`` holds ONE ROW PER LATENT, so a 65k-latent SAE pages, sorts and searches in SQL.
  Text search is an FTS5 table on SQLite and a GIN ``tsvector`` index on PostgreSQL, both created
  by the migration (they are not expressible as portable SQLAlchemy metadata).
* ``job_events`` is the durable event log: ``(job_id, seq)`` is unique and ``seq`` increases by
  one per event of a job, so a reconnecting client catches up with ``seq > last_seen``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit id for big tables.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> dt.datetime:
    """Timezone-aware now, the only clock the store uses."""
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class ArtifactMixin:
    """Columns every artifact row has."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    path: Mapped[str | None] = mapped_column(Text, default=None)
    job_id: Mapped[str | None] = mapped_column(String(36), default=None)
    lineage: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class Dataset(ArtifactMixin, Base):
    __tablename__ = "datasets"

    source_kind: Mapped[str] = mapped_column(String(16))
    source: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    n_documents: Mapped[int | None] = mapped_column(BigInteger, default=None)
    n_bytes: Mapped[int | None] = mapped_column(BigInteger, default=None)
    info: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class LanguageModel(ArtifactMixin, Base):
    __tablename__ = "models"

    source: Mapped[str] = mapped_column(Text)
    source_kind: Mapped[str] = mapped_column(String(16))
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    family: Mapped[str | None] = mapped_column(String(64), default=None)
    n_params: Mapped[int | None] = mapped_column(BigInteger, default=None)
    tokenizer_fingerprint: Mapped[str | None] = mapped_column(String(128), default=None)
    architecture: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    hook_dims: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Hook name (TransformerLens-style and HF path) -> width, filled when the model is loaded."""
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class TokenizationRow(ArtifactMixin, Base):
    __tablename__ = "tokenizations"

    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"), index=True)
    model_id: Mapped[int | None] = mapped_column(ForeignKey("models.id"), default=None)
    tokenizer_fingerprint: Mapped[str | None] = mapped_column(String(128), default=None)
    max_length: Mapped[int] = mapped_column(Integer)
    n_sequences: Mapped[int | None] = mapped_column(BigInteger, default=None)
    n_tokens: Mapped[int | None] = mapped_column(BigInteger, default=None)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ActivationCacheRow(ArtifactMixin, Base):
    __tablename__ = "activation_caches"

    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"), index=True)
    tokenization_id: Mapped[int] = mapped_column(ForeignKey("tokenizations.id"), index=True)
    hook_points: Mapped[list[Any]] = mapped_column(JSON, default=list)
    n_tokens: Mapped[int | None] = mapped_column(BigInteger, default=None)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    manifest: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Training(ArtifactMixin, Base):
    __tablename__ = "trainings"

    model_id: Mapped[int | None] = mapped_column(ForeignKey("models.id"), default=None)
    tokenization_id: Mapped[int | None] = mapped_column(
        ForeignKey("tokenizations.id"), default=None
    )
    activation_cache_id: Mapped[int | None] = mapped_column(
        ForeignKey("activation_caches.id"), default=None
    )
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    step: Mapped[int] = mapped_column(Integer, default=0)
    total_steps: Mapped[int | None] = mapped_column(Integer, default=None)
    tokens_seen: Mapped[int] = mapped_column(BigInteger, default=0)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class TrainingMetric(Base):
    """One scalar of one SAE at one step (one row per name, so any metric charts the same way)."""

    __tablename__ = "training_metrics"
    __table_args__ = (Index("ix_training_metrics_series", "training_id", "sae", "name", "step"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    training_id: Mapped[int] = mapped_column(ForeignKey("trainings.id", ondelete="CASCADE"))
    sae: Mapped[str] = mapped_column(String(200))
    step: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(64))
    value: Mapped[float | None] = mapped_column(Float)


class Checkpoint(Base):
    __tablename__ = "checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    training_id: Mapped[int] = mapped_column(
        ForeignKey("trainings.id", ondelete="CASCADE"), index=True
    )
    step: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(Text)
    score: Mapped[float | None] = mapped_column(Float, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SAERow(ArtifactMixin, Base):
    __tablename__ = "saes"

    origin: Mapped[str] = mapped_column(String(16))
    """``trained`` (by a training here) or ``imported`` (a folder in a supported format)."""
    training_id: Mapped[int | None] = mapped_column(ForeignKey("trainings.id"), default=None)
    model_id: Mapped[int | None] = mapped_column(ForeignKey("models.id"), default=None)
    architecture: Mapped[str | None] = mapped_column(String(32), default=None)
    hook_name: Mapped[str | None] = mapped_column(String(200), default=None)
    d_in: Mapped[int | None] = mapped_column(Integer, default=None)
    d_sae: Mapped[int | None] = mapped_column(Integer, default=None)
    model_name: Mapped[str | None] = mapped_column(String(200), default=None)
    cfg: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Extraction(ArtifactMixin, Base):
    __tablename__ = "extractions"

    sae_id: Mapped[int] = mapped_column(ForeignKey("saes.id"), index=True)
    model_id: Mapped[int | None] = mapped_column(ForeignKey("models.id"), default=None)
    tokenization_id: Mapped[int | None] = mapped_column(
        ForeignKey("tokenizations.id"), default=None
    )
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    n_features: Mapped[int | None] = mapped_column(Integer, default=None)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Feature(Base):
    """One latent of one extraction."""

    __tablename__ = "features"
    __table_args__ = (
        UniqueConstraint("extraction_id", "index", name="uq_features_extraction_index"),
        Index("ix_features_frequency", "extraction_id", "frequency"),
        Index("ix_features_max_activation", "extraction_id", "max_activation"),
        Index("ix_features_interpretability", "extraction_id", "interpretability"),
        Index("ix_features_starred", "extraction_id", "starred"),
        Index("ix_features_linguistics", "extraction_id", "ling_category", "ling_share"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    extraction_id: Mapped[int] = mapped_column(ForeignKey("extractions.id", ondelete="CASCADE"))
    sae_id: Mapped[int] = mapped_column(ForeignKey("saes.id", ondelete="CASCADE"), index=True)
    index: Mapped[int] = mapped_column(Integer)
    frequency: Mapped[float | None] = mapped_column(Float, default=None)
    max_activation: Mapped[float | None] = mapped_column(Float, default=None)
    mean_activation: Mapped[float | None] = mapped_column(Float, default=None)
    interpretability: Mapped[float | None] = mapped_column(Float, default=None)
    """What the browser sorts by: the label's score (mean of detection and fuzzing balanced
    accuracy) once a labelling run scored it, else the extraction's ``interpretability_proxy``."""
    interpretability_proxy: Mapped[float | None] = mapped_column(Float, default=None)
    """The extraction's label-free estimate (kept when a score replaces it in the column above)."""
    label: Mapped[str | None] = mapped_column(Text, default=None)
    category: Mapped[str | None] = mapped_column(String(64), default=None)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    label_status: Mapped[str | None] = mapped_column(String(16), default=None)
    """``labelled`` or ``unclear`` (the method found no pattern); None: never labelled."""
    label_confidence: Mapped[float | None] = mapped_column(Float, default=None)
    """0..1 as stated by the method (rules: share of activation mass explained)."""
    label_method: Mapped[str | None] = mapped_column(String(32), default=None)
    """``rules``, ``local``, ``ollama``, ``openai`` or ``manual`` (edited by hand)."""
    label_model: Mapped[str | None] = mapped_column(String(200), default=None)
    """Model that wrote the label (None for rules and manual edits)."""
    detection_score: Mapped[float | None] = mapped_column(Float, default=None)
    """Detection balanced accuracy of the label, when scored."""
    fuzzing_score: Mapped[float | None] = mapped_column(Float, default=None)
    """Fuzzing balanced accuracy of the label, when scored."""
    labeled_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    """When label, category or description last changed (semantic index freshness)."""
    starred: Mapped[bool] = mapped_column(Boolean, default=False)
    top_tokens: Mapped[str | None] = mapped_column(Text, default=None)
    """The latent's top tokens joined by spaces (searchable text)."""
    ling_category: Mapped[str | None] = mapped_column(String(32), default=None)
    """Dominant linguistic category of its top examples (part of speech such as ``VERB``, or
    ``code:<class>``); None until a linguistic analysis ran (:mod:`mistudio.core.linguistics`)."""
    ling_share: Mapped[float | None] = mapped_column(Float, default=None)
    """Share of the analysed examples in ``ling_category``."""
    ling_code_share: Mapped[float | None] = mapped_column(Float, default=None)
    """Share of the analysed examples whose window reads as code."""
    ling_summary: Mapped[str | None] = mapped_column(Text, default=None)
    """The analysis' one-line summary (``82% verbs; lemmas: say/tell/ask``)."""


class LabelVersion(Base):
    """One label a latent has had (see :mod:`mistudio.store.label_versions`): the feature row's
    label columns are a copy of its current version."""

    __tablename__ = "label_versions"
    __table_args__ = (
        Index("ix_label_versions_feature", "feature_id", "created_at"),
        Index("ix_label_versions_best", "extraction_id", "feature_id", "score"),
        # At most one current version per latent, on both databases.
        Index(
            "uq_label_versions_current",
            "feature_id",
            unique=True,
            sqlite_where=text("is_current"),
            postgresql_where=text("is_current"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    feature_id: Mapped[int] = mapped_column(BigId, ForeignKey("features.id", ondelete="CASCADE"))
    extraction_id: Mapped[int] = mapped_column(Integer)
    """The feature's extraction (copied, so an extraction's best-scored view reads one index)."""
    label: Mapped[str | None] = mapped_column(Text, default=None)
    category: Mapped[str | None] = mapped_column(String(64), default=None)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    status: Mapped[str | None] = mapped_column(String(16), default=None)
    """``labelled`` or ``unclear``; None for a hand edit that cleared the label."""
    confidence: Mapped[float | None] = mapped_column(Float, default=None)
    method: Mapped[str | None] = mapped_column(String(32), default=None)
    """``rules``, ``local``, ``ollama``, ``openai``, ``manual``."""
    model: Mapped[str | None] = mapped_column(String(200), default=None)
    template: Mapped[str | None] = mapped_column(String(200), default=None)
    """Name of the prompt template an LLM method used (None for rules and hand edits)."""
    template_hash: Mapped[str | None] = mapped_column(String(16), default=None)
    """First 12 hex digits of the SHA-256 of that template's full text (names are editable)."""
    detection_score: Mapped[float | None] = mapped_column(Float, default=None)
    fuzzing_score: Mapped[float | None] = mapped_column(Float, default=None)
    score: Mapped[float | None] = mapped_column(Float, default=None)
    """Mean of the scores present (what best-scored ranks by); None when never scored."""
    source: Mapped[str] = mapped_column(String(16), default="labeling")
    """Who set it: ``labeling`` (a run, see ``labeling_id``), ``manual`` (a hand edit) or
    ``backfill`` (a label that existed before the history did)."""
    labeling_id: Mapped[int | None] = mapped_column(
        ForeignKey("labeling_jobs.id", ondelete="SET NULL"), default=None
    )
    is_current: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LabelingJob(ArtifactMixin, Base):
    __tablename__ = "labeling_jobs"

    extraction_id: Mapped[int] = mapped_column(ForeignKey("extractions.id"), index=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    n_labeled: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ExportRow(ArtifactMixin, Base):
    """An export of an extraction (studio archive + Neuronpedia bulk layout) and its uploads."""

    __tablename__ = "exports"

    extraction_id: Mapped[int] = mapped_column(ForeignKey("extractions.id"), index=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """The ``NeuronpediaExportConfig`` it was written with."""
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """What was written (latents, activations, explanations, ids, sizes)."""
    upload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """The last upload to a Neuronpedia instance (URL, job, batches accepted, error)."""


class MatchingRow(ArtifactMixin, Base):
    """A feature matching of SAE A against SAE B (``core/matching``); pairs and splits in
    ``artifacts/matchings/<id>/``."""

    __tablename__ = "matchings"

    sae_a_id: Mapped[int] = mapped_column(ForeignKey("saes.id"), index=True)
    sae_b_id: Mapped[int] = mapped_column(ForeignKey("saes.id"), index=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """The ``MatchingConfig`` it ran with."""
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Summary: latents, share matched, histogram of best cosines, splits, seconds."""


class SteeringRun(ArtifactMixin, Base):
    __tablename__ = "steering_runs"

    sae_id: Mapped[int | None] = mapped_column(ForeignKey("saes.id"), default=None)
    model_id: Mapped[int | None] = mapped_column(ForeignKey("models.id"), default=None)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Template(Base):
    __tablename__ = "templates"
    __table_args__ = (UniqueConstraint("kind", "name", name="uq_templates_kind_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text, default=None)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    favourite: Mapped[bool] = mapped_column(Boolean, default=False)
    usage_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    queue: Mapped[str] = mapped_column(String(16), default="cpu")
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    eta_seconds: Mapped[float | None] = mapped_column(Float, default=None)
    message: Mapped[str | None] = mapped_column(Text, default=None)
    log: Mapped[str] = mapped_column(Text, default="")
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    resumable: Mapped[bool] = mapped_column(Boolean, default=False)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    worker: Mapped[str | None] = mapped_column(String(200), default=None)
    artifact_kind: Mapped[str | None] = mapped_column(String(32), default=None)
    artifact_id: Mapped[int | None] = mapped_column(Integer, default=None)
    resources: Mapped[list[Any]] = mapped_column(JSON, default=list)
    """``[{"kind": "datasets", "id": 3}, ...]``: artifacts this job reads or writes."""
    devices: Mapped[list[str] | None] = mapped_column(JSON, default=list)
    """The devices the job holds (one per rank: ``["cuda:0", "cuda:1"]``), set when it takes
    their locks; empty for a job that names no device."""
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    queued_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    """When the row last became ``queued`` (created, or retried)."""
    dispatched_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    """When the broker accepted the message for the current attempt. Older than ``queued_at``
    (or unset) means no message is on its way: the job can never start, and the reaper fails it
    (a job that was sent may wait in the queue as long as it must)."""


class JobEvent(Base):
    __tablename__ = "job_events"
    __table_args__ = (UniqueConstraint("job_id", "seq", name="uq_job_events_job_seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


ARTIFACT_TABLES: dict[str, type[ArtifactMixin]] = {
    "datasets": Dataset,
    "models": LanguageModel,
    "tokenizations": TokenizationRow,
    "activations": ActivationCacheRow,
    "trainings": Training,
    "saes": SAERow,
    "extractions": Extraction,
    "labeling": LabelingJob,
    "steering": SteeringRun,
    "exports": ExportRow,
    "matchings": MatchingRow,
}
"""Artifact kind (as used in folder names, job resources and URLs) -> table."""

ARTIFACT_ID_KEYS: dict[str, str] = {
    "datasets": "dataset_id",
    "models": "model_id",
    "tokenizations": "tokenization_id",
    "activations": "activation_cache_id",
    "trainings": "training_id",
    "saes": "sae_id",
    "extractions": "extraction_id",
    "labeling": "labeling_id",
    "steering": "steering_run_id",
    "exports": "export_id",
    "matchings": "matching_id",
}
"""Artifact kind -> the key its id goes under in job configs, lineage and foreign keys."""
