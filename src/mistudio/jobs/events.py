"""Job events: written to the database (the truth), then published for live delivery.

Every event of a job gets the next ``seq`` of that job, allocated by ``UPDATE jobs SET last_seq =
last_seq + 1 ... RETURNING`` in the same transaction as the insert, so the API and a worker
writing events for one job at once still produce 1, 2, 3, ... with no gaps or duplicates.

Delivery: in embedded mode the API polls ``job_events`` (every ~200 ms); in cluster mode the
worker also publishes each event on a Redis channel so the API hears it at once. Either way a
client that reconnects reads what it missed from the table.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from mistudio.settings import get_settings
from mistudio.store import Job, JobEvent, session_scope, utcnow


def redis_channel() -> str:
    """The pub/sub channel for job events (prefixed on a shared Redis)."""
    return f"{get_settings().broker_key_prefix or ''}mistudio:events"


log = logging.getLogger(__name__)
_redis_lock = threading.Lock()
_redis_clients: dict[str, Any] = {}


def event_dict(event: JobEvent) -> dict[str, Any]:
    """The wire form of an event (WebSocket message and polling endpoint alike)."""
    created = event.created_at
    return {
        "channel": f"jobs/{event.job_id}",
        "job_id": event.job_id,
        "seq": event.seq,
        "type": event.type,
        "data": event.data,
        "id": event.id,
        "created_at": created.isoformat() if created is not None else None,
    }


def add_event(session: Session, job_id: str, type_: str, data: dict[str, Any]) -> JobEvent:
    """Append an event to ``job_id``'s log inside ``session``'s transaction."""
    seq = session.execute(
        update(Job)
        .where(Job.id == job_id)
        .values(last_seq=Job.last_seq + 1)
        .returning(Job.last_seq)
    ).scalar_one()
    event = JobEvent(job_id=job_id, seq=seq, type=type_, data=data, created_at=utcnow())
    session.add(event)
    session.flush()
    return event


def emit(job_id: str, type_: str, data: dict[str, Any]) -> dict[str, Any]:
    """Write an event in its own transaction and publish it; returns the wire form."""
    with session_scope() as session:
        wire = event_dict(add_event(session, job_id, type_, data))
    publish(wire)
    return wire


def _redis() -> Any | None:
    url = get_settings().events_redis_url
    if url is None:
        return None
    with _redis_lock:
        client = _redis_clients.get(url)
        if client is None:
            # deferred: redis is only needed in cluster mode (embedded mode has no Redis)
            import redis

            client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
            _redis_clients[url] = client
        return client


def publish(wire: dict[str, Any]) -> None:
    """Publish a committed event on Redis (cluster mode); a no-op in embedded mode.

    A failed publish only costs latency: the API's database poll delivers the event anyway.
    """
    client = _redis()
    if client is None:
        return
    try:
        client.publish(redis_channel(), json.dumps(wire, default=str))
    except Exception as exc:  # the database still has the event
        log.warning("redis publish failed: %s", exc)
