"""Fixtures for the security tier: a studio app over a fresh SQLite home, with chosen settings.

No Celery worker is started: these tests probe what the API accepts or refuses, not jobs. Each
call of ``make_studio`` builds its own app (settings are read when it is built and per request),
so a test can compare modes (token or not, allowed hosts, ...) side by side.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.service.conftest import studio  # noqa: F401 - the service tier's studio (a worker)
from tests.studio_client import StudioClient

ISOLATED_ENV = (
    "MISTUDIO_DATABASE_URL",
    "MISTUDIO_BROKER_URL",
    "MISTUDIO_BROKER_KEY_PREFIX",
    "MISTUDIO_REDIS_URL",
    "MISTUDIO_TOKEN",
    "MISTUDIO_HOST",
    "MISTUDIO_ALLOWED_HOSTS",
    "MISTUDIO_ALLOWED_ORIGINS",
)
"""Variables another tier may have set that would point these tests elsewhere."""

MakeStudio = Callable[..., StudioClient]


@pytest.fixture
def make_studio(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MakeStudio]:
    """``make_studio(**env)``: a started :class:`StudioClient` (lifespan run, database migrated)
    over a fresh SQLite ``MISTUDIO_HOME``; ``env`` are extra ``MISTUDIO_*`` variables, e.g.
    ``make_studio(MISTUDIO_TOKEN="s3cret")``. Everything is restored afterwards."""
    from mistudio.api.app import create_app
    from mistudio.settings import get_settings
    from mistudio.store import dispose_all

    home = tmp_path / "home"
    home.mkdir()
    for key in ISOLATED_ENV:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("MISTUDIO_HOME", str(home))
    monkeypatch.setenv("MISTUDIO_IMPORT_ROOTS", str(tmp_path))
    monkeypatch.setenv("MISTUDIO_MONITOR_INTERVAL_SECONDS", "60")
    get_settings.cache_clear()
    dispose_all()

    with contextlib.ExitStack() as stack:

        def make(**env: str) -> StudioClient:
            for key, value in env.items():
                monkeypatch.setenv(key, value)
            get_settings.cache_clear()
            return stack.enter_context(StudioClient(create_app()))

        try:
            yield make
        finally:
            stack.close()
            dispose_all()
            get_settings.cache_clear()
