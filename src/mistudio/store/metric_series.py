"""Training metric series for charts: the whole run within a point budget, or raw pages.

A long run writes a row per SAE, metric and logged step: 33k steps are ~500k rows. Shipping them
all (or the first N) to a chart either moves megabytes or cuts the run short. Instead each
(SAE, metric) series is cut into equal step buckets over its own first..last step, and each
bucket keeps the rows holding its minimum and its maximum value (the "min/max" decimation used
by plotting libraries such as Plotly-Resampler's MinMaxAggregator), plus the series' first and
last rows, so spikes and the run's ends always survive. The bucketing runs in SQL (window
functions, SQLite >= 3.25 and PostgreSQL), so no request loads the raw rows into Python.

Raw rows are paged by step (``after_step``), and a page never ends inside a step, so the next
page starting after the last step returned continues exactly where this one stopped.
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import BigInteger, ColumnElement, and_, cast, func, or_, select
from sqlalchemy.orm import Session

from mistudio.store.tables import TrainingMetric


class MetricRow(NamedTuple):
    sae: str
    step: int
    name: str
    value: float | None


def _filters(training_id: int, sae: str | None, name: str | None) -> list[ColumnElement[bool]]:
    m = TrainingMetric
    where: list[ColumnElement[bool]] = [m.training_id == training_id]
    if sae is not None:
        where.append(m.sae == sae)
    if name is not None:
        where.append(m.name == name)
    return where


def downsampled_metrics(
    session: Session,
    training_id: int,
    points: int,
    sae: str | None = None,
    name: str | None = None,
) -> list[MetricRow]:
    """At most ``points`` rows per (SAE, metric) spanning each series' first to last step,
    ordered by step: per step bucket the min and max row, plus the first and last rows."""
    m = TrainingMetric
    n_buckets = max(1, (points - 2) // 2)
    # Each series' first and last step as window aggregates over the same scan: a join with a
    # GROUP BY subquery lets PostgreSQL (without fresh statistics after a bulk insert) re-run
    # the aggregate once per row.
    series = [m.sae, m.name]
    rows = (
        select(
            m.sae,
            m.step,
            m.name,
            m.value,
            m.id,
            func.min(m.step).over(partition_by=series).label("lo"),
            func.max(m.step).over(partition_by=series).label("hi"),
        )
        .where(*_filters(training_id, sae, name))
        .subquery()
    )
    c = rows.c
    # Floor division (SQLAlchemy's ``//``; ``/`` is true division): bucket in [0, n_buckets).
    bucket = (cast(c.step - c.lo, BigInteger) * n_buckets) // (cast(c.hi - c.lo, BigInteger) + 1)
    partition = [c.sae, c.name, bucket]
    ranked = select(
        c.sae,
        c.step,
        c.name,
        c.value,
        c.id,
        c.lo,
        c.hi,
        func.row_number()
        .over(partition_by=partition, order_by=[c.value.is_(None), c.value.asc(), c.step])
        .label("rank_min"),
        func.row_number()
        .over(partition_by=partition, order_by=[c.value.is_(None), c.value.desc(), c.step])
        .label("rank_max"),
        # A resumed run may log a step twice: the first and last step keep one row each.
        func.row_number()
        .over(partition_by=[c.sae, c.name, c.step], order_by=c.id)
        .label("rank_in_step"),
    ).subquery()
    r = ranked.c
    ends = and_(or_(r.step == r.lo, r.step == r.hi), r.rank_in_step == 1)
    stmt = (
        select(r.sae, r.step, r.name, r.value)
        .where(or_(r.rank_min == 1, r.rank_max == 1, ends))
        .order_by(r.step, r.sae, r.name, r.id)
    )
    return [MetricRow(*row) for row in session.execute(stmt)]


def raw_metrics(
    session: Session,
    training_id: int,
    after_step: int,
    limit: int,
    sae: str | None = None,
    name: str | None = None,
) -> list[MetricRow]:
    """Raw rows with ``step > after_step`` in step order, about ``limit`` of them; a page ends
    at a step boundary (it may exceed ``limit`` only when one step alone has more rows)."""
    m = TrainingMetric
    where = [*_filters(training_id, sae, name), m.step > after_step]
    base = select(m.sae, m.step, m.name, m.value).where(*where)
    rows = [
        MetricRow(*row) for row in session.execute(base.order_by(m.step, m.id).limit(limit + 1))
    ]
    if len(rows) <= limit:
        return rows
    last = rows[limit - 1].step
    if rows[limit].step != last:
        return rows[:limit]
    whole = [row for row in rows[:limit] if row.step != last]
    if whole:
        return whole
    # One step has more rows than the page: return that step whole.
    return [MetricRow(*row) for row in session.execute(base.where(m.step == last).order_by(m.id))]
