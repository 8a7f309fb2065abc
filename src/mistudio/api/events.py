"""Fan-out of job and system events to WebSocket clients.

Sources: the ``job_events`` table, polled every ``POLL_SECONDS`` (embedded mode needs nothing
else, and 200 ms keeps worker-to-browser delay well under a second), plus Redis pub/sub in
cluster mode for lower latency. The poll re-reads a small window of ids behind its cursor because
PostgreSQL can commit ids out of order across concurrent transactions; each connection drops
events it has already sent (per-job ``seq``) and fills gaps from the table, so a client sees every
event of a subscribed job exactly once and in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from typing import Any

from sqlalchemy import func, select

from mistudio.jobs.events import event_dict, redis_channel
from mistudio.settings import get_settings
from mistudio.store import JobEvent, session_scope

log = logging.getLogger(__name__)
POLL_SECONDS = 0.2
LOOKBACK_IDS = 64
ALL_JOBS = "jobs"


def read_events(job_id: str, after: int, before: int | None = None) -> list[dict[str, Any]]:
    """Events of ``job_id`` with ``after < seq (< before)``, in order."""
    with session_scope() as session:
        stmt = select(JobEvent).where(JobEvent.job_id == job_id, JobEvent.seq > after)
        if before is not None:
            stmt = stmt.where(JobEvent.seq < before)
        return [event_dict(e) for e in session.scalars(stmt.order_by(JobEvent.seq).limit(5000))]


class EventHub:
    """Channels -> subscriber queues; fed by the poller, Redis and the system monitor."""

    def __init__(self) -> None:
        self.subscribers: dict[str, set[asyncio.Queue[dict[str, Any]]]] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self._cursor = 0
        self._recent: set[int] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._redis_stop = threading.Event()

    # -- subscriptions --------------------------------------------------------------------
    def subscribe(self, queue: asyncio.Queue[dict[str, Any]], channel: str) -> None:
        self.subscribers.setdefault(channel, set()).add(queue)

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]], channel: str) -> None:
        self.subscribers.get(channel, set()).discard(queue)

    def remove(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        for queues in self.subscribers.values():
            queues.discard(queue)

    def deliver(self, wire: dict[str, Any]) -> None:
        """Hand an event to every queue subscribed to its channel (and to ``jobs`` for jobs)."""
        targets = set(self.subscribers.get(wire["channel"], ()))
        if wire["channel"].startswith("jobs/"):
            targets |= self.subscribers.get(ALL_JOBS, set())
        for queue in targets:
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(wire)

    # -- sources --------------------------------------------------------------------------
    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._cursor = await asyncio.to_thread(self._max_id)
        self._tasks.append(asyncio.create_task(self._poll_forever()))
        if get_settings().events_redis_url:
            threading.Thread(target=self._redis_listen, name="events-redis", daemon=True).start()

    async def stop(self) -> None:
        self._redis_stop.set()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()

    def _max_id(self) -> int:
        with session_scope() as session:
            return int(session.scalar(select(func.max(JobEvent.id))) or 0)

    def _poll_once(self) -> list[dict[str, Any]]:
        with session_scope() as session:
            rows = session.scalars(
                select(JobEvent)
                .where(JobEvent.id > self._cursor - LOOKBACK_IDS)
                .order_by(JobEvent.id)
                .limit(2000)
            ).all()
            fresh = [event_dict(r) for r in rows if r.id not in self._recent]
        for wire in fresh:
            self._recent.add(wire["id"])
            self._cursor = max(self._cursor, wire["id"])
        floor = self._cursor - 4 * LOOKBACK_IDS
        self._recent = {i for i in self._recent if i > floor}
        return fresh

    async def _poll_forever(self) -> None:
        while True:
            try:
                for wire in await asyncio.to_thread(self._poll_once):
                    self.deliver(wire)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database may be briefly locked or restarting
                log.warning("event poll failed: %s", exc)
            await asyncio.sleep(POLL_SECONDS)

    def _redis_listen(self) -> None:
        # deferred: redis is only needed in cluster mode (embedded mode has no Redis)
        import redis

        url = get_settings().events_redis_url
        assert url is not None
        while not self._redis_stop.is_set():
            try:
                client = redis.Redis.from_url(url)
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(redis_channel())
                while not self._redis_stop.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message and self.loop is not None:
                        wire = json.loads(message["data"])
                        self.loop.call_soon_threadsafe(self.deliver, wire)
                pubsub.close()
            except Exception as exc:  # reconnect; the poller covers the gap
                log.warning("redis event listener: %s", exc)
                self._redis_stop.wait(2.0)
