"""Alembic environment: runs on the connection :func:`mistudio.store.db.migrate` hands over.

There is no ``alembic.ini``; the service builds the Alembic config in code (migrations run at
start-up), and ``render_as_batch`` makes every ALTER work on SQLite through ``batch_alter_table``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from mistudio.store.tables import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:  # `alembic` on the command line (e.g. to autogenerate a revision)
        engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite://")
        with engine.connect() as conn:
            _run(conn)
        return
    _run(connection)


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
