"""``/health``: is the API up and can it reach its database."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

import mistudio
from mistudio.api.deps import SessionDep
from mistudio.core.config import DocumentedModel
from mistudio.settings import get_settings

router = APIRouter(prefix="/health", tags=["health"])


class Health(DocumentedModel):
    status: str
    """``ok`` when the API answers and its database query succeeded."""
    version: str
    """miStudio version."""
    database: str
    """Database dialect the API reached (``sqlite``, ``postgresql``)."""
    broker: str
    """Job broker kind: the scheme of its URL (``sqla+sqlite``, ``redis``, ...)."""


@router.get("", operation_id="get_health", response_model=Health)
def get_health(session: SessionDep) -> Health:
    """Whether the API answers and reaches its database; which database and broker it uses."""
    session.execute(text("SELECT 1"))
    settings = get_settings()
    return Health(
        status="ok",
        version=mistudio.__version__,
        database=session.get_bind().dialect.name,
        broker=settings.celery_broker_url.split(":", 1)[0],
    )
