"""The SQLite broker's queue rows survive a creation race between two processes.

kombu inserts a queue's row on first use under a lock of its own process only. Here another
connection inserts the ``cpu`` row at the last moment (right before kombu's own INSERT), as a
starting worker does while the API publishes its first job; ``ensure_broker_queues`` must end
with one row per queue instead of failing with ``UNIQUE constraint failed``.
"""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import Engine, event

from mistudio.jobs.app import QUEUES, celery_app, ensure_broker_queues


def _queue_names(db: str) -> list[str]:
    with sqlite3.connect(db) as conn:
        return sorted(r[0] for r in conn.execute("SELECT name FROM kombu_queue"))


@pytest.fixture
def sqlite_broker(tmp_home, monkeypatch):
    """The default broker (SQLite in MISTUDIO_HOME), even while a session-scoped studio of the
    service tests has pointed the environment at Redis."""
    from mistudio.settings import get_settings

    monkeypatch.delenv("MISTUDIO_BROKER_URL", raising=False)
    get_settings.cache_clear()
    assert get_settings().celery_broker_url.startswith("sqla+sqlite")
    yield tmp_home
    get_settings.cache_clear()


def test_queue_rows_are_created_once(sqlite_broker):
    tmp_home = sqlite_broker
    ensure_broker_queues()
    ensure_broker_queues()  # again, as the worker does after the API
    assert _queue_names(str(tmp_home / "broker.db")) == sorted(QUEUES)


def test_losing_the_creation_race_finds_the_winners_row(sqlite_broker):
    db = str(sqlite_broker / "broker.db")
    celery = celery_app()
    with celery.connection_for_write() as conn:
        assert conn.default_channel.session is not None  # kombu creates its tables here
    raced = []

    def other_process_first(_conn, _cursor, statement, parameters, _context, _many):
        cpu = statement.startswith("INSERT INTO kombu_queue") and "cpu" in str(parameters)
        if cpu and not raced:
            raced.append(True)
            with sqlite3.connect(db) as other:
                other.execute("INSERT INTO kombu_queue (name) VALUES ('cpu')")

    event.listen(Engine, "before_cursor_execute", other_process_first)
    try:
        ensure_broker_queues(celery)
    finally:
        event.remove(Engine, "before_cursor_execute", other_process_first)
    assert raced, "the race was not staged: kombu never inserted the cpu row itself"
    assert _queue_names(db) == sorted(QUEUES)


def test_two_studios_on_one_redis_get_their_own_app(monkeypatch: pytest.MonkeyPatch) -> None:
    """One process serving two studios that share a Redis (the security and service tiers of
    one test session) must publish each studio's jobs under its own key prefix; an app cached
    by URL alone sent the second studio's jobs to the first one's worker."""
    from mistudio.settings import get_settings

    monkeypatch.setenv("MISTUDIO_BROKER_URL", "redis://127.0.0.1:6379/0")
    apps = {}
    for prefix in ("studio-a:", "studio-b:"):
        monkeypatch.setenv("MISTUDIO_BROKER_KEY_PREFIX", prefix)
        get_settings.cache_clear()
        apps[prefix] = celery_app()
        options = apps[prefix].conf.broker_transport_options
        assert options["global_keyprefix"] == prefix
    assert apps["studio-a:"] is not apps["studio-b:"]
    get_settings.cache_clear()
