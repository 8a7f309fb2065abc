"""Engines, sessions and start-up migrations.

One engine per database URL per process. SQLite is the laptop default (``MISTUDIO_HOME/
mistudio.db``); PostgreSQL comes through ``MISTUDIO_DATABASE_URL``. Both the API process and every
worker call :func:`init_db` at start-up; the migration runs under a lock (a file lock for SQLite,
an advisory lock for PostgreSQL) so two processes starting together do not race.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from mistudio.settings import get_settings

MIGRATIONS = Path(__file__).parent / "migrations"
_PG_MIGRATION_LOCK = 0x6D69_5374  # "miSt": the advisory lock key guarding migrations
_lock = threading.Lock()
_engines: dict[str, Engine] = {}
_sessionmakers: dict[str, sessionmaker[Session]] = {}
_migrated: set[str] = set()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL: the API reads while a worker writes progress, without either blocking the other.
    cursor.execute("PRAGMA journal_mode=WAL")
    # Two processes (API, worker) write the same file; wait for the lock instead of failing at
    # once with "database is locked".
    cursor.execute("PRAGMA busy_timeout=15000")
    # SQLite ignores foreign keys unless asked, per connection; we rely on ON DELETE CASCADE.
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL makes NORMAL durable enough (a power cut may lose the last commits, never corrupt).
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def get_engine(url: str | None = None) -> Engine:
    """The engine for ``url`` (default: the configured database), created once per process."""
    url = url or get_settings().sqlalchemy_url
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            if url.startswith("sqlite"):
                path = url.split("///", 1)[-1]
                if path and path != ":memory:":
                    Path(path).parent.mkdir(parents=True, exist_ok=True)
                engine = create_engine(url, connect_args={"timeout": 15})
                event.listen(engine, "connect", _sqlite_pragmas)
            else:
                engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
            _engines[url] = engine
        return engine


def session_factory(url: str | None = None) -> sessionmaker[Session]:
    url = url or get_settings().sqlalchemy_url
    maker = _sessionmakers.get(url)
    if maker is None:
        maker = sessionmaker(bind=get_engine(url), expire_on_commit=False)
        _sessionmakers[url] = maker
    return maker


@contextlib.contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A session committed on success and rolled back on error."""
    session = session_factory(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def migrate(url: str | None = None) -> None:
    """Bring the schema to the newest revision (idempotent; safe from several processes)."""
    url = url or get_settings().sqlalchemy_url
    engine = get_engine(url)
    config = alembic_config()
    if engine.dialect.name == "sqlite":
        lock_path = get_settings().home / ".migrate.lock"
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(lock_path, "w") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            with engine.begin() as conn:
                config.attributes["connection"] = conn
                command.upgrade(config, "head")
        return
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
        conn.commit()
        try:
            with conn.begin():
                config.attributes["connection"] = conn
                command.upgrade(config, "head")
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_MIGRATION_LOCK})
            conn.commit()


def init_db(url: str | None = None) -> Engine:
    """Migrate (once per process) and return the engine."""
    url = url or get_settings().sqlalchemy_url
    if url not in _migrated:
        migrate(url)
        _migrated.add(url)
    return get_engine(url)


def dispose_all() -> None:
    """Close every pooled connection (tests switching databases; worker processes after fork)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _sessionmakers.clear()
        _migrated.clear()


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)
