"""The studio's persistent state: SQLAlchemy models, sessions, migrations and artifact folders.

Imports point one way (``api -> jobs -> store -> core``); nothing here imports the API or Celery.
"""

from mistudio.store.artifacts import artifact_dir, remove_artifact_files, uploads_dir
from mistudio.store.db import (
    as_utc,
    dispose_all,
    get_engine,
    init_db,
    session_factory,
    session_scope,
)
from mistudio.store.tables import (
    ARTIFACT_TABLES,
    ActivationCacheRow,
    Base,
    Checkpoint,
    Dataset,
    ExportRow,
    Extraction,
    Feature,
    Job,
    JobEvent,
    LabelingJob,
    LabelVersion,
    LanguageModel,
    SAERow,
    SteeringRun,
    Template,
    TokenizationRow,
    Training,
    TrainingMetric,
    utcnow,
)

__all__ = [
    "ARTIFACT_TABLES",
    "ActivationCacheRow",
    "Base",
    "Checkpoint",
    "Dataset",
    "ExportRow",
    "Extraction",
    "Feature",
    "Job",
    "JobEvent",
    "LabelingJob",
    "LabelVersion",
    "LanguageModel",
    "SAERow",
    "SteeringRun",
    "Template",
    "TokenizationRow",
    "Training",
    "TrainingMetric",
    "artifact_dir",
    "as_utc",
    "dispose_all",
    "get_engine",
    "init_db",
    "remove_artifact_files",
    "session_factory",
    "session_scope",
    "uploads_dir",
    "utcnow",
]
