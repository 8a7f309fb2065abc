"""``/system``: live machine metrics (CPU, memory, disk/network I/O, GPUs) and their history."""

from __future__ import annotations

import platform
from typing import Any

from fastapi import APIRouter, Query, Request

import mistudio
from mistudio.core.config import DocumentedModel
from mistudio.monitor import SystemMonitor
from mistudio.settings import get_settings

router = APIRouter(prefix="/system", tags=["system"])


class SystemInfo(DocumentedModel):
    version: str
    """miStudio version."""
    python: str
    """Python version of the server."""
    platform: str
    """Operating system and machine."""
    database: str
    """Database kind: the scheme of its URL."""
    broker: str
    """Job broker kind: the scheme of its URL."""
    home: str
    """``MISTUDIO_HOME``: where artifacts and the default database live."""
    gpus: int
    """Number of GPUs the monitor sees."""
    gpu_source: str
    """Where the monitor reads them: ``nvml``, ``nvidia-smi`` or ``none``."""


def _monitor(request: Request) -> SystemMonitor:
    monitor: SystemMonitor = request.app.state.monitor
    return monitor


@router.get("/metrics", operation_id="get_system_metrics", response_model=dict[str, Any])
def get_metrics(request: Request) -> dict[str, Any]:
    """The latest sample (taken every ~2 s)."""
    return _monitor(request).latest()


@router.get("/history", operation_id="get_system_history", response_model=list[dict[str, Any]])
def get_history(
    request: Request,
    seconds: float = Query(600, gt=0, le=3600, description="How far back (at most one hour)"),
) -> list[dict[str, Any]]:
    """Recent system metrics (CPU, memory, GPU) sampled by the server."""
    return _monitor(request).since(seconds)


@router.get("/info", operation_id="get_system_info", response_model=SystemInfo)
def get_info(request: Request) -> SystemInfo:
    """Server facts: version, Python, platform, database, broker, home folder, GPUs."""
    settings = get_settings()
    return SystemInfo(
        version=mistudio.__version__,
        python=platform.python_version(),
        platform=platform.platform(),
        database=settings.sqlalchemy_url.split(":", 1)[0],
        broker=settings.celery_broker_url.split(":", 1)[0],
        home=str(settings.home),
        gpus=_monitor(request).gpus.count,
        gpu_source=_monitor(request).gpus.name,
    )
