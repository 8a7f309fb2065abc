"""Stored evaluations of SAEs: one row per (SAE, eval version, config), results as JSON.

The lab's evaluation (:mod:`mistudio.core.lab`) is a job on any SAE, trained or imported. Its
result is keyed by the SAE, :data:`~mistudio.core.lab.EVAL_VERSION` and a hash of the config it
ran with (``config_key``, the canonical JSON of the config: the tokenization of the held-out
text, the metric groups, the bootstrap settings), unique together, so asking again for the same
evaluation finds the stored row instead of running (unless forced, which runs it again into the
same row). A new definition of a metric bumps the version and so never mixes with old results.

``metrics`` maps a metric name to ``{value, low, high}``; the compare view reads the newest
ready row of each SAE per metric. Rows go with their SAE (``ON DELETE CASCADE``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from mistudio.store.tables import Base, utcnow


class SAEEval(Base):
    """One evaluation of one SAE (see the module docstring)."""

    __tablename__ = "sae_evals"
    __table_args__ = (
        UniqueConstraint("sae_id", "eval_version", "config_key", name="uq_sae_evals_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sae_id: Mapped[int] = mapped_column(ForeignKey("saes.id", ondelete="CASCADE"), index=True)
    eval_version: Mapped[str] = mapped_column(String(16))
    """The metric definitions' version (``core.lab.EVAL_VERSION``) it ran with."""
    config_key: Mapped[str] = mapped_column(String(64))
    """sha256 of the canonical JSON of ``config``."""
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """The ``EvalConfig`` plus ``tokenization_id`` (the held-out text)."""
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    """``pending`` while its job runs, ``ready``, ``failed``."""
    job_id: Mapped[str | None] = mapped_column(String(36), default=None)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Metric name -> ``{value, low, high}``."""
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """What the values rest on, per group, and the seconds each took."""
    error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


def config_key(config: dict[str, Any]) -> str:
    """The key of an eval config: sha256 of its canonical JSON."""
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()


def find_eval(
    session: Session, sae_id: int, version: str, config: dict[str, Any]
) -> SAEEval | None:
    """The stored evaluation of ``sae_id`` with this version and config, if any."""
    return session.scalars(
        select(SAEEval).where(
            SAEEval.sae_id == sae_id,
            SAEEval.eval_version == version,
            SAEEval.config_key == config_key(config),
        )
    ).first()


def latest_metrics(rows: list[SAEEval]) -> dict[int, dict[str, Any]]:
    """Per SAE id, each metric from its newest ready evaluation (rows in any order)."""
    out: dict[int, dict[str, Any]] = {}
    for row in sorted(rows, key=lambda r: (r.updated_at, r.id), reverse=True):
        if row.status != "ready":
            continue
        have = out.setdefault(row.sae_id, {})
        for name, value in (row.metrics or {}).items():
            have.setdefault(name, {**value, "eval_id": row.id})
    return out
