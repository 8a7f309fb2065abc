"""Fixtures for the security tier: a studio over a fresh SQLite home, with chosen settings.

``make_studio`` builds the app in-process (a ``TestClient``); ``serve_studio`` runs the real
``mistudio serve`` (uvicorn, its logging, real sockets) for what only a real server shows. No
Celery worker is started: these tests probe what the studio accepts or refuses, not jobs. Each
studio reads its own settings, so a test can compare modes (token or not, allowed hosts, ...).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.servers import free_port, mistudio_exe, running_server
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


@dataclass
class Served:
    """A running ``mistudio serve``: its base URL and the file its output goes to."""

    url: str
    port: int
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextlib.contextmanager
def serve_studio(folder: Path, **env: str) -> Iterator[Served]:
    """``mistudio serve --no-worker`` on a free 127.0.0.1 port over a fresh home in ``folder``,
    with ``env`` (``MISTUDIO_*``) on top of a clean environment; stopped (its whole process
    group) on exit. Its output (uvicorn's access and error logs) is in ``log_path``."""
    home = folder / "serve-home"
    home.mkdir(parents=True)
    port = free_port()
    full = {k: v for k, v in os.environ.items() if not k.startswith("MISTUDIO_")}
    full.update(MISTUDIO_HOME=str(home), HF_HUB_OFFLINE="1", **env)
    served = Served(f"http://127.0.0.1:{port}", port, folder / "serve.log")
    argv = [mistudio_exe(), "serve", "--port", str(port), "--no-worker", "--log-level", "info"]
    with running_server(argv, full, served.log_path, f"{served.url}/api/v1/health"):
        yield served
