"""The FastAPI app: routers under ``/api/v1``, the WebSocket, background loops and the UI.

Start-up (lifespan): migrate the database, register the built-in model and corpora, start the
event hub (database poll, plus Redis in cluster mode), the system monitor (every 2 s, pushed on
``system``) and the reaper (marks jobs whose worker stopped heart-beating as failed). The built web
studio is served from ``mistudio/api/static`` when it exists.

Every HTTP request and WebSocket handshake first passes the browser guard (``api/security.py``:
allowed Host names, no state change or socket from a foreign Origin), in every mode, token or
not; uvicorn's request lines are redacted of credential query values (``api/log_redaction.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI
from fastapi.staticfiles import StaticFiles

import mistudio
from mistudio.api.deps import require_token
from mistudio.api.errors import install_error_handlers
from mistudio.api.events import EventHub
from mistudio.api.limits import BodyLimitMiddleware
from mistudio.api.log_redaction import install_log_redaction
from mistudio.api.routers import (
    activations,
    datasets,
    evals,
    exports,
    extractions,
    features,
    first_run,
    health,
    jobs,
    labeling,
    linguistics,
    matchings,
    models,
    sae_hub,
    saes,
    steering,
    system,
    templates,
    tokenizations,
    trainings,
    ws,
)
from mistudio.api.security import BrowserGuard
from mistudio.jobs.app import ensure_broker_queues
from mistudio.jobs.lifecycle import reap_stale_jobs
from mistudio.monitor import SystemMonitor
from mistudio.settings import get_settings
from mistudio.store import init_db, session_scope
from mistudio.store.builtins import register_builtins

log = logging.getLogger(__name__)
API_PREFIX = "/api/v1"
STATIC_DIR = Path(__file__).parent / "static"
RESOURCE_ROUTERS = [
    health.router,
    system.router,
    datasets.router,
    tokenizations.router,
    models.router,
    activations.router,
    trainings.router,
    sae_hub.router,
    saes.router,
    extractions.router,
    features.router,
    labeling.router,
    linguistics.router,
    exports.router,
    evals.router,
    matchings.router,
    steering.router,
    templates.router,
    jobs.router,
    first_run.router,
]


async def _every(seconds: float, what: str, fn: object) -> None:
    while True:
        try:
            await asyncio.to_thread(fn)  # type: ignore[arg-type]
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # keep the loop alive; the next round may succeed
            log.warning("%s failed: %s", what, exc)
        await asyncio.sleep(seconds)


async def _monitor_loop(app: FastAPI) -> None:
    monitor: SystemMonitor = app.state.monitor
    hub: EventHub = app.state.hub
    while True:
        try:
            sample = await asyncio.to_thread(monitor.sample)
            hub.deliver({"channel": "system", "type": "metrics", "data": sample})
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("system sample failed: %s", exc)
        await asyncio.sleep(monitor.interval)


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    settings.imports_dir.mkdir(parents=True, exist_ok=True)  # the default import root
    await asyncio.to_thread(init_db)

    def _builtins() -> None:
        with session_scope() as session:
            register_builtins(session)

    await asyncio.to_thread(_builtins)
    await asyncio.to_thread(ensure_broker_queues)
    hub: EventHub = app.state.hub
    await hub.start()
    reap_every = max(1.0, min(10.0, settings.stale_after_seconds / 3))
    tasks = [
        asyncio.create_task(_monitor_loop(app)),
        asyncio.create_task(_every(reap_every, "reaper", reap_stale_jobs)),
    ]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await hub.stop()


def create_app() -> FastAPI:
    """A fresh app bound to the current settings."""
    app = FastAPI(
        title="miStudio",
        version=mistudio.__version__,
        description="Sparse-autoencoder interpretability workbench: datasets, models, "
        "activations, SAE training, features, labelling, steering, jobs and system metrics.",
        lifespan=lifespan,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    app.state.hub = EventHub()
    app.state.monitor = SystemMonitor()
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware)  # 413 before any handler reads a body
    # Host and Origin checks for every request and WebSocket handshake, token or not.
    app.add_middleware(BrowserGuard)
    install_log_redaction()
    api = APIRouter(prefix=API_PREFIX, dependencies=[Depends(require_token)])
    for router in RESOURCE_ROUTERS:
        api.include_router(router)
    app.include_router(api)
    app.include_router(ws.router, prefix=API_PREFIX)  # authenticates its first message itself
    if STATIC_DIR.is_dir() and (STATIC_DIR / "index.html").exists():
        app.mount("/", StaticFiles(directory=STATIC_DIR, html=True), name="studio")
    return app
