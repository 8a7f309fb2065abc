"""Migration 0005 on an old-schema database: features labelled before the label history existed
get one current version each (a run's label, a hand edit, an ``unclear`` verdict), unlabelled
ones none, and the API's history and make-current work on the backfilled rows.

Run on SQLite and PostgreSQL (the backfill's ``TRUE``/``CURRENT_TIMESTAMP`` and the partial
unique index are the parts that differ between them). Foreign keys are off while the old rows go
in, so the test needs no SAE, extraction or model behind them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mistudio.store.db import alembic_config
from mistudio.store.label_versions import make_current, versions_of
from mistudio.store.tables import Feature, LabelVersion
from tests.service.conftest import PG_ADMIN, _reachable

pytestmark = pytest.mark.service

OLD_ROWS = [
    # index, label, label_status, label_method, label_model, detection, fuzzing, labeled_at
    (0, None, None, None, None, None, None, None),
    (1, "commas", "labelled", "rules", None, 0.9, 0.7, "2026-12-01 10:00:00.000000"),
    (2, "my own words", "labelled", "manual", None, None, None, "2026-12-02 11:00:00.000000"),
    (3, None, "unclear", "local", "smollm2-135m", None, None, "2026-12-03 12:00:00.000000"),
    (4, "only detection", "labelled", "openai", "gpt-x", 0.8, None, None),
]


def _upgrade(engine: Engine, revision: str) -> None:
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


@pytest.fixture(params=["sqlite", "postgresql"])
def old_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on a fresh database migrated to 0004 (the schema before label history)."""
    if request.param == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")  # no pragmas: FKs off
        yield engine
        engine.dispose()
        return
    if not _reachable("127.0.0.1", 5432):
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    name = f"mistudio_migr_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN.replace("postgresql://", "postgresql+psycopg://"))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}")
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_backfill_gives_each_labelled_latent_one_current_version(old_db: Engine) -> None:
    _upgrade(old_db, "0004")
    with old_db.begin() as conn:
        if old_db.dialect.name == "postgresql":
            conn.execute(text("SET session_replication_role = replica"))  # FKs off
        for index, label, status, method, model, det, fuzz, at in OLD_ROWS:
            conn.execute(
                text(
                    'INSERT INTO features (extraction_id, sae_id, "index", label, category, '
                    "label_status, label_method, label_model, detection_score, fuzzing_score, "
                    "labeled_at, interpretability, interpretability_proxy, starred) VALUES "
                    "(7, 3, :index, :label, :category, :status, :method, :model, :det, :fuzz, "
                    ":at, 0.5, 0.25, FALSE)"
                ).bindparams(
                    index=index,
                    label=label,
                    category="Syntax" if label else None,
                    status=status,
                    method=method,
                    model=model,
                    det=det,
                    fuzz=fuzz,
                    at=_stored_time(old_db, at),
                )
            )
    before = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    _upgrade(old_db, "head")

    with Session(old_db) as session:
        features = {f.index: f for f in session.scalars(select(Feature))}
        versions = session.scalars(select(LabelVersion).order_by(LabelVersion.id)).all()
        by_index = {features_index(features, v.feature_id): v for v in versions}
        assert sorted(by_index) == [1, 2, 3, 4], "one version per labelled or unclear latent"
        assert len(versions) == 4
        for index, label, status, method, model, det, fuzz, at in OLD_ROWS[1:]:
            v = by_index[index]
            assert v.is_current and v.extraction_id == 7
            assert (v.label, v.status, v.method, v.model) == (label, status, method, model)
            assert (v.detection_score, v.fuzzing_score) == (det, fuzz)
            assert v.category == ("Syntax" if label else None)
            assert v.source == ("manual" if method == "manual" else "backfill")
            assert v.labeling_id is None and v.template is None
            created = v.created_at.replace(tzinfo=v.created_at.tzinfo or dt.UTC)
            if at:
                assert created == dt.datetime.fromisoformat(at).replace(tzinfo=dt.UTC)
            else:  # no labeled_at: the migration's time
                assert created >= before
        assert by_index[1].score == pytest.approx(0.8)
        assert by_index[4].score == pytest.approx(0.8)  # detection alone
        assert by_index[2].score is None and by_index[3].score is None

        # the partial unique index: a second current version of a latent is refused
        session.add(
            LabelVersion(
                feature_id=by_index[1].feature_id,
                extraction_id=7,
                label="another",
                source="manual",
                is_current=True,
                created_at=dt.datetime.now(dt.UTC),
            )
        )
        with pytest.raises(IntegrityError):
            session.flush()
        session.rollback()

        # a backfilled history works like any other: add a version, then go back to the old one
        feature = session.get(Feature, by_index[1].feature_id)
        assert feature is not None
        session.add(
            LabelVersion(
                feature_id=feature.id,
                extraction_id=7,
                label="newer",
                status="labelled",
                method="local",
                source="labeling",
                is_current=False,
                created_at=dt.datetime.now(dt.UTC),
            )
        )
        session.flush()
        newest = versions_of(session, feature.id)[0]
        assert newest.label == "newer"
        make_current(session, feature, newest)
        assert (feature.label, feature.label_method, feature.detection_score) == (
            "newer",
            "local",
            None,
        )
        assert feature.interpretability == 0.25  # unscored: the proxy again
        make_current(session, feature, by_index[1])
        session.commit()
        assert (feature.label, feature.label_method) == ("commas", "rules")
        assert feature.interpretability == pytest.approx(0.8)
        current = [v for v in versions_of(session, feature.id) if v.is_current]
        assert [v.label for v in current] == ["commas"]


def _stored_time(engine: Engine, at: str | None) -> object:
    """``labeled_at`` as each database stores it (SQLite: SQLAlchemy's naive UTC text)."""
    if at is None or engine.dialect.name == "sqlite":
        return at
    return dt.datetime.fromisoformat(at).replace(tzinfo=dt.UTC)


def features_index(features: dict[int, Feature], feature_id: int) -> int:
    return next(i for i, f in features.items() if f.id == feature_id)
