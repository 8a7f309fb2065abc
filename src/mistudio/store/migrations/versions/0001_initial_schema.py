"""Initial schema: artifacts, jobs and their events, templates, and feature text search.

Feature search is dialect-specific (see ``_create_feature_search``); everything else is plain
Alembic so the same revision runs on SQLite and PostgreSQL.

Revision ID: 0001
Revises:
Create Date: 2026-11-22 04:18:48.004287
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("source_kind", sa.String(length=16), nullable=False),
        sa.Column("source", sa.JSON(), nullable=False),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        sa.Column("n_documents", sa.BigInteger(), nullable=True),
        sa.Column("n_bytes", sa.BigInteger(), nullable=True),
        sa.Column("info", sa.JSON(), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("job_id", sa.String(length=36), nullable=True),
        sa.Column("lineage", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_datasets_name"), ["name"], unique=False)
        batch_op.create_index(batch_op.f("ix_datasets_status"), ["status"], unique=False)

    op.create_table(
        "jobs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("queue", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("eta_seconds", sa.Float(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("log", sa.Text(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("resumable", sa.Boolean(), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("worker", sa.String(length=200), nullable=True),
        sa.Column("artifact_kind", sa.String(length=32), nullable=True),
        sa.Column("artifact_id", sa.Integer(), nullable=True),
        sa.Column("resources", sa.JSON(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_jobs_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_jobs_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_jobs_status"), ["status"], unique=False)

    op.create_table(
        "models",
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("source_kind", sa.String(length=16), nullable=False),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        sa.Column("family", sa.String(length=64), nullable=True),
        sa.Column("n_params", sa.BigInteger(), nullable=True),
        sa.Column("tokenizer_fingerprint", sa.String(length=128), nullable=True),
        sa.Column("architecture", sa.JSON(), nullable=False),
        sa.Column("hook_dims", sa.JSON(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("job_id", sa.String(length=36), nullable=True),
        sa.Column("lineage", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("models", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_models_name"), ["name"], unique=False)
        batch_op.create_index(batch_op.f("ix_models_status"), ["status"], unique=False)

    op.create_table(
        "templates",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("favourite", sa.Boolean(), nullable=False),
        sa.Column("usage_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "name", name="uq_templates_kind_name"),
    )
    with op.batch_alter_table("templates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_templates_kind"), ["kind"], unique=False)

    op.create_table(
        "job_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("job_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("job_id", "seq", name="uq_job_events_job_seq"),
    )
    op.create_table(
        "tokenizations",
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=True),
        sa.Column("tokenizer_fingerprint", sa.String(length=128), nullable=True),
        sa.Column("max_length", sa.Integer(), nullable=False),
        sa.Column("n_sequences", sa.BigInteger(), nullable=True),
        sa.Column("n_tokens", sa.BigInteger(), nullable=True),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("job_id", sa.String(length=36), nullable=True),
        sa.Column("lineage", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
        ),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["models.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("tokenizations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tokenizations_dataset_id"), ["dataset_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_tokenizations_name"), ["name"], unique=False)
        batch_op.create_index(batch_op.f("ix_tokenizations_status"), ["status"], unique=False)

    op.create_table(
        "activation_caches",
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("tokenization_id", sa.Integer(), nullable=False),
        sa.Column("hook_points", sa.JSON(), nullable=False),
        sa.Column("n_tokens", sa.BigInteger(), nullable=True),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("manifest", sa.JSON(), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("job_id", sa.String(length=36), nullable=True),
        sa.Column("lineage", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["models.id"],
        ),
        sa.ForeignKeyConstraint(
            ["tokenization_id"],
            ["tokenizations.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("activation_caches", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_activation_caches_model_id"), ["model_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_activation_caches_name"), ["name"], unique=False)
        batch_op.create_index(batch_op.f("ix_activation_caches_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_activation_caches_tokenization_id"), ["tokenization_id"], unique=False
        )

    op.create_table(
        "trainings",
        sa.Column("model_id", sa.Integer(), nullable=True),
        sa.Column("tokenization_id", sa.Integer(), nullable=True),
        sa.Column("activation_cache_id", sa.Integer(), nullable=True),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("total_steps", sa.Integer(), nullable=True),
        sa.Column("tokens_seen", sa.BigInteger(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("job_id", sa.String(length=36), nullable=True),
        sa.Column("lineage", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["activation_cache_id"],
            ["activation_caches.id"],
        ),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["models.id"],
        ),
        sa.ForeignKeyConstraint(
            ["tokenization_id"],
            ["tokenizations.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("trainings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trainings_name"), ["name"], unique=False)
        batch_op.create_index(batch_op.f("ix_trainings_status"), ["status"], unique=False)

    op.create_table(
        "checkpoints",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("training_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["training_id"], ["trainings.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("checkpoints", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_checkpoints_training_id"), ["training_id"], unique=False
        )

    op.create_table(
        "saes",
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("training_id", sa.Integer(), nullable=True),
        sa.Column("model_id", sa.Integer(), nullable=True),
        sa.Column("architecture", sa.String(length=32), nullable=True),
        sa.Column("hook_name", sa.String(length=200), nullable=True),
        sa.Column("d_in", sa.Integer(), nullable=True),
        sa.Column("d_sae", sa.Integer(), nullable=True),
        sa.Column("model_name", sa.String(length=200), nullable=True),
        sa.Column("cfg", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("job_id", sa.String(length=36), nullable=True),
        sa.Column("lineage", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["models.id"],
        ),
        sa.ForeignKeyConstraint(
            ["training_id"],
            ["trainings.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("saes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_saes_name"), ["name"], unique=False)
        batch_op.create_index(batch_op.f("ix_saes_status"), ["status"], unique=False)

    op.create_table(
        "training_metrics",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("training_id", sa.Integer(), nullable=False),
        sa.Column("sae", sa.String(length=200), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["training_id"], ["trainings.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("training_metrics", schema=None) as batch_op:
        batch_op.create_index(
            "ix_training_metrics_series", ["training_id", "sae", "name", "step"], unique=False
        )

    op.create_table(
        "extractions",
        sa.Column("sae_id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=True),
        sa.Column("tokenization_id", sa.Integer(), nullable=True),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("n_features", sa.Integer(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("job_id", sa.String(length=36), nullable=True),
        sa.Column("lineage", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["models.id"],
        ),
        sa.ForeignKeyConstraint(
            ["sae_id"],
            ["saes.id"],
        ),
        sa.ForeignKeyConstraint(
            ["tokenization_id"],
            ["tokenizations.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("extractions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_extractions_name"), ["name"], unique=False)
        batch_op.create_index(batch_op.f("ix_extractions_sae_id"), ["sae_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_extractions_status"), ["status"], unique=False)

    op.create_table(
        "steering_runs",
        sa.Column("sae_id", sa.Integer(), nullable=True),
        sa.Column("model_id", sa.Integer(), nullable=True),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("job_id", sa.String(length=36), nullable=True),
        sa.Column("lineage", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["models.id"],
        ),
        sa.ForeignKeyConstraint(
            ["sae_id"],
            ["saes.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("steering_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_steering_runs_name"), ["name"], unique=False)
        batch_op.create_index(batch_op.f("ix_steering_runs_status"), ["status"], unique=False)

    op.create_table(
        "features",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("extraction_id", sa.Integer(), nullable=False),
        sa.Column("sae_id", sa.Integer(), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("frequency", sa.Float(), nullable=True),
        sa.Column("max_activation", sa.Float(), nullable=True),
        sa.Column("mean_activation", sa.Float(), nullable=True),
        sa.Column("interpretability", sa.Float(), nullable=True),
        sa.Column("label", sa.Text(), nullable=True),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("starred", sa.Boolean(), nullable=False),
        sa.Column("top_tokens", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["extraction_id"], ["extractions.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["sae_id"], ["saes.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("extraction_id", "index", name="uq_features_extraction_index"),
    )
    with op.batch_alter_table("features", schema=None) as batch_op:
        batch_op.create_index("ix_features_frequency", ["extraction_id", "frequency"], unique=False)
        batch_op.create_index(
            "ix_features_interpretability", ["extraction_id", "interpretability"], unique=False
        )
        batch_op.create_index(
            "ix_features_max_activation", ["extraction_id", "max_activation"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_features_sae_id"), ["sae_id"], unique=False)
        batch_op.create_index("ix_features_starred", ["extraction_id", "starred"], unique=False)

    op.create_table(
        "labeling_jobs",
        sa.Column("extraction_id", sa.Integer(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("n_labeled", sa.Integer(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("job_id", sa.String(length=36), nullable=True),
        sa.Column("lineage", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["extraction_id"],
            ["extractions.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("labeling_jobs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_labeling_jobs_extraction_id"), ["extraction_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_labeling_jobs_name"), ["name"], unique=False)
        batch_op.create_index(batch_op.f("ix_labeling_jobs_status"), ["status"], unique=False)

    _create_feature_search()


def downgrade() -> None:
    _drop_feature_search()
    with op.batch_alter_table("labeling_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_labeling_jobs_status"))
        batch_op.drop_index(batch_op.f("ix_labeling_jobs_name"))
        batch_op.drop_index(batch_op.f("ix_labeling_jobs_extraction_id"))

    op.drop_table("labeling_jobs")
    with op.batch_alter_table("features", schema=None) as batch_op:
        batch_op.drop_index("ix_features_starred")
        batch_op.drop_index(batch_op.f("ix_features_sae_id"))
        batch_op.drop_index("ix_features_max_activation")
        batch_op.drop_index("ix_features_interpretability")
        batch_op.drop_index("ix_features_frequency")

    op.drop_table("features")
    with op.batch_alter_table("steering_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_steering_runs_status"))
        batch_op.drop_index(batch_op.f("ix_steering_runs_name"))

    op.drop_table("steering_runs")
    with op.batch_alter_table("extractions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_extractions_status"))
        batch_op.drop_index(batch_op.f("ix_extractions_sae_id"))
        batch_op.drop_index(batch_op.f("ix_extractions_name"))

    op.drop_table("extractions")
    with op.batch_alter_table("training_metrics", schema=None) as batch_op:
        batch_op.drop_index("ix_training_metrics_series")

    op.drop_table("training_metrics")
    with op.batch_alter_table("saes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_saes_status"))
        batch_op.drop_index(batch_op.f("ix_saes_name"))

    op.drop_table("saes")
    with op.batch_alter_table("checkpoints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checkpoints_training_id"))

    op.drop_table("checkpoints")
    with op.batch_alter_table("trainings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trainings_status"))
        batch_op.drop_index(batch_op.f("ix_trainings_name"))

    op.drop_table("trainings")
    with op.batch_alter_table("activation_caches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_activation_caches_tokenization_id"))
        batch_op.drop_index(batch_op.f("ix_activation_caches_status"))
        batch_op.drop_index(batch_op.f("ix_activation_caches_name"))
        batch_op.drop_index(batch_op.f("ix_activation_caches_model_id"))

    op.drop_table("activation_caches")
    with op.batch_alter_table("tokenizations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tokenizations_status"))
        batch_op.drop_index(batch_op.f("ix_tokenizations_name"))
        batch_op.drop_index(batch_op.f("ix_tokenizations_dataset_id"))

    op.drop_table("tokenizations")
    op.drop_table("job_events")
    with op.batch_alter_table("templates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_templates_kind"))

    op.drop_table("templates")
    with op.batch_alter_table("models", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_models_status"))
        batch_op.drop_index(batch_op.f("ix_models_name"))

    op.drop_table("models")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jobs_status"))
        batch_op.drop_index(batch_op.f("ix_jobs_kind"))
        batch_op.drop_index(batch_op.f("ix_jobs_created_at"))

    op.drop_table("jobs")
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_datasets_status"))
        batch_op.drop_index(batch_op.f("ix_datasets_name"))

    op.drop_table("datasets")


# SQLite: an external-content FTS5 table over the features table, kept in sync by triggers, so a
# search is an index lookup instead of a LIKE scan over every latent.
_SQLITE_FTS = [
    "CREATE VIRTUAL TABLE features_fts USING fts5("
    "label, description, top_tokens, content='features', content_rowid='id')",
    "CREATE TRIGGER features_fts_ai AFTER INSERT ON features BEGIN "
    "INSERT INTO features_fts(rowid, label, description, top_tokens) "
    "VALUES (new.id, new.label, new.description, new.top_tokens); END",
    "CREATE TRIGGER features_fts_ad AFTER DELETE ON features BEGIN "
    "INSERT INTO features_fts(features_fts, rowid, label, description, top_tokens) "
    "VALUES ('delete', old.id, old.label, old.description, old.top_tokens); END",
    # Only text changes touch the index: starring a feature must not rewrite its FTS entry.
    "CREATE TRIGGER features_fts_au AFTER UPDATE OF label, description, top_tokens ON features "
    "BEGIN "
    "INSERT INTO features_fts(features_fts, rowid, label, description, top_tokens) "
    "VALUES ('delete', old.id, old.label, old.description, old.top_tokens); "
    "INSERT INTO features_fts(rowid, label, description, top_tokens) "
    "VALUES (new.id, new.label, new.description, new.top_tokens); END",
]

# PostgreSQL: a GIN index over the same tsvector expression the search query uses
# (mistudio.store.features.FEATURE_TSVECTOR); 'simple' config so tokens are not stemmed.
_PG_TSV = (
    "CREATE INDEX ix_features_search ON features USING gin (to_tsvector('simple', "
    "coalesce(label, '') || ' ' || coalesce(description, '') || ' ' || coalesce(top_tokens, '')))"
)


def _create_feature_search() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in _SQLITE_FTS:
            op.execute(statement)
    elif dialect == "postgresql":
        op.execute(_PG_TSV)


def _drop_feature_search() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for trigger in ("features_fts_ai", "features_fts_ad", "features_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS features_fts")
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_features_search")
