"""``/health``: is the API up and can it reach its database."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text

import mistudio
from mistudio.api.deps import SessionDep
from mistudio.settings import get_settings

router = APIRouter(prefix="/health", tags=["health"])


class Health(BaseModel):
    status: str
    version: str
    database: str
    broker: str


@router.get("", operation_id="get_health", response_model=Health)
def get_health(session: SessionDep) -> Health:
    session.execute(text("SELECT 1"))
    settings = get_settings()
    return Health(
        status="ok",
        version=mistudio.__version__,
        database=session.get_bind().dialect.name,
        broker=settings.celery_broker_url.split(":", 1)[0],
    )
