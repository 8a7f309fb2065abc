"""What produced an artifact: the one place a row's ``lineage`` JSON is built.

Every artifact row records the job that wrote it and the ids of the artifacts it was made from,
under the same keys the job configs use (``model_id``, ``tokenization_id``, ...), plus the
validated config of the operation. The API records the inputs when it queues the job (so a
pending artifact already says what it is made from); the job records the whole lineage again,
with its config, when it finishes. Building the JSON here keeps the keys the same everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from mistudio.store.tables import ARTIFACT_ID_KEYS, ARTIFACT_TABLES, ArtifactMixin

_KIND_OF_TABLE = {table: kind for kind, table in ARTIFACT_TABLES.items()}


def artifact_kind(row: ArtifactMixin) -> str:
    """The artifact kind (``models``, ``tokenizations``, ...) of a row."""
    return _KIND_OF_TABLE[type(row)]


def input_key(row: ArtifactMixin) -> str:
    """The key a row's id goes under in lineage and job configs (``tokenization_id``, ...)."""
    return ARTIFACT_ID_KEYS[artifact_kind(row)]


@dataclass(frozen=True)
class Lineage:
    """The job, the input artifacts and the config that produced one artifact."""

    job_id: str | None
    inputs: Mapping[str, Any] = field(default_factory=dict)
    """Input ids by key (``model_id``: 3); see :func:`input_ids`."""
    config: BaseModel | Mapping[str, Any] | None = None
    """The operation's validated config (stored as JSON)."""
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Anything else worth keeping (an import's ``source``, a steering run's ``sae_ids``)."""

    @classmethod
    def of(
        cls,
        job_id: str | None,
        rows: Iterable[ArtifactMixin],
        config: BaseModel | Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> Lineage:
        """Lineage from the input rows themselves."""
        return cls(job_id, input_ids(rows), config, extra)

    def as_json(self) -> dict[str, Any]:
        """The flat JSON stored in the ``lineage`` column."""
        record: dict[str, Any] = {"job_id": self.job_id, **self.inputs}
        if self.config is not None:
            record["config"] = (
                self.config.model_dump(mode="json")
                if isinstance(self.config, BaseModel)
                else dict(self.config)
            )
        record.update(self.extra)
        return record


def input_ids(rows: Iterable[ArtifactMixin]) -> dict[str, int | list[int]]:
    """``{"model_id": 3, "tokenization_id": 7, ...}`` for these input rows; several inputs of
    one kind go in a sorted list under the plural key (``"sae_ids": [2, 5]``)."""
    grouped: dict[str, list[int]] = {}
    for row in rows:
        grouped.setdefault(input_key(row), []).append(row.id)
    return {
        key if len(ids) == 1 else f"{key}s": ids[0] if len(ids) == 1 else sorted(ids)
        for key, ids in grouped.items()
    }
