"""A studio with a real Celery worker and chosen environment, for the credential tests.

The service tier's session ``studio`` runs with ``HF_HUB_OFFLINE=1`` and no labelling keys; the
credential tests need the worker started *with* a fake Hub's endpoint or a server-held OpenAI key
in its environment, so they start their own (SQLite, module-scoped, one worker). Only the
variables named in ``env`` differ from the service tier's studio; everything is restored after.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from tests.service.conftest import SERVICE_ENV, Studio, Worker, _save_tiny_model, _write_corpus
from tests.studio_client import StudioClient

ISOLATED = (
    "MISTUDIO_DATABASE_URL",
    "MISTUDIO_BROKER_URL",
    "MISTUDIO_BROKER_KEY_PREFIX",
    "MISTUDIO_REDIS_URL",
    "MISTUDIO_TOKEN",
    "MISTUDIO_OPENAI_API_KEY",
    "MISTUDIO_OPENAI_BASE_URL",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "MISTUDIO_OLLAMA_API_KEY",
    "MISTUDIO_OLLAMA_BASE_URL",
)
"""Variables of the caller's environment that would point the studio elsewhere."""


@contextlib.contextmanager
def worker_studio(
    root: Path, env: dict[str, str], worker_only: dict[str, str | None] | None = None
) -> Iterator[Studio]:
    """A started :class:`Studio` under ``root``: ``env`` is set for the API (this process) and
    the worker; ``worker_only`` only in the worker's environment (None removes a variable)."""
    from mistudio.api.app import create_app
    from mistudio.settings import get_settings
    from mistudio.store import dispose_all, init_db

    home, data = root / "home", root / "data"
    home.mkdir(parents=True)
    data.mkdir()
    updates = {
        **SERVICE_ENV,
        "MISTUDIO_HOME": str(home),
        "MISTUDIO_IMPORT_ROOTS": f"{root},{home}",
        **env,
    }
    saved = {k: os.environ.get(k) for k in (*ISOLATED, *updates)}
    for key in ISOLATED:
        os.environ.pop(key, None)
    os.environ.update(updates)
    get_settings.cache_clear()
    dispose_all()
    worker: Worker | None = None
    try:
        init_db()
        tiny = data / "tiny-llama"
        _save_tiny_model(tiny)
        _write_corpus(data)
        src = str(Path(__file__).resolve().parents[2] / "src")
        worker_env = dict(os.environ)
        for key, value in (worker_only or {}).items():
            if value is None:
                worker_env.pop(key, None)
            else:
                worker_env[key] = value
        worker_env["PYTHONPATH"] = os.pathsep.join([src, worker_env.get("PYTHONPATH", "")])
        worker = Worker(env=worker_env, log_path=root / "worker.log")
        worker.start()
        with StudioClient(create_app()) as client:
            yield Studio("sqlite", home, client, worker, data, tiny, worker_env)
    finally:
        if worker is not None:
            worker.stop()
        dispose_all()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        get_settings.cache_clear()
