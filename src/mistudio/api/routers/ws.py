"""``/ws``: one WebSocket for all live events.

Client messages (JSON):

* ``{"action": "subscribe", "channel": "jobs/<id>", "after": <last seq seen>}``: the server sends
  every stored event of the job with ``seq > after`` first, then live ones, each exactly once and
  in ``seq`` order (a reconnecting client loses nothing);
* ``{"action": "subscribe", "channel": "jobs"}``: live events of every job;
* ``{"action": "subscribe", "channel": "system"}``: a metrics sample every ~2 s;
* ``{"action": "unsubscribe", "channel": ...}``, ``{"action": "ping"}``.

Server messages: events as in ``GET /jobs/{id}/events`` (``channel``, ``job_id``, ``seq``,
``type``, ``data``), ``{"channel": "system", "type": "metrics", "data": {...}}``, and
``{"type": "subscribed" | "unsubscribed" | "pong" | "error", ...}`` replies.

With ``MISTUDIO_TOKEN`` set, connect with ``?token=<token>``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from mistudio.api.deps import token_ok
from mistudio.api.events import ALL_JOBS, EventHub, read_events

router = APIRouter(tags=["events"])


class _Connection:
    def __init__(self, ws: WebSocket, hub: EventHub) -> None:
        self.ws = ws
        self.hub = hub
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=10_000)
        self.sent: dict[str, int] = {}
        """Job id -> last seq sent, for subscribed job channels."""
        self.lock = asyncio.Lock()

    async def send_job_event(self, wire: dict[str, Any]) -> None:
        job_id = wire["job_id"]
        last = self.sent.get(job_id)
        if last is None:  # only via the all-jobs channel: pass live events through
            await self.ws.send_json(wire)
            return
        seq = int(wire["seq"])
        if seq <= last:
            return
        if seq > last + 1:  # missed some (a dropped Redis message): read them from the table
            for missed in await asyncio.to_thread(read_events, job_id, last, seq):
                await self.ws.send_json(missed)
        await self.ws.send_json(wire)
        self.sent[job_id] = seq

    async def pump(self) -> None:
        while True:
            wire = await self.queue.get()
            async with self.lock:
                if wire.get("job_id"):
                    await self.send_job_event(wire)
                else:
                    await self.ws.send_json(wire)

    async def subscribe(self, channel: str, after: int) -> None:
        if channel in (ALL_JOBS, "system"):
            self.hub.subscribe(self.queue, channel)
            await self.ws.send_json({"type": "subscribed", "channel": channel})
            return
        if not channel.startswith("jobs/") or len(channel) <= 5:
            await self.ws.send_json({"type": "error", "detail": f"unknown channel {channel!r}"})
            return
        job_id = channel[5:]
        async with self.lock:
            # Subscribe first, then catch up: anything committed after the read arrives live.
            self.sent[job_id] = max(after, 0)
            self.hub.subscribe(self.queue, channel)
            for wire in await asyncio.to_thread(read_events, job_id, max(after, 0)):
                if wire["seq"] > self.sent[job_id]:
                    await self.ws.send_json(wire)
                    self.sent[job_id] = wire["seq"]
            await self.ws.send_json(
                {"type": "subscribed", "channel": channel, "last_seq": self.sent[job_id]}
            )

    async def unsubscribe(self, channel: str) -> None:
        self.hub.unsubscribe(self.queue, channel)
        if channel.startswith("jobs/"):
            self.sent.pop(channel[5:], None)
        await self.ws.send_json({"type": "unsubscribed", "channel": channel})


@router.websocket("/ws")
async def events_socket(ws: WebSocket) -> None:
    if not token_ok(ws.query_params.get("token")):
        await ws.close(code=4401, reason="missing or wrong token")
        return
    await ws.accept()
    hub: EventHub = ws.app.state.hub
    conn = _Connection(ws, hub)
    pump = asyncio.create_task(conn.pump())
    try:
        while True:
            raw = await ws.receive_text()
            try:
                message = json.loads(raw)
                action = message.get("action")
                channel = str(message.get("channel", ""))
            except (ValueError, AttributeError):
                await ws.send_json({"type": "error", "detail": "messages must be JSON objects"})
                continue
            if action == "subscribe":
                await conn.subscribe(channel, int(message.get("after") or 0))
            elif action == "unsubscribe":
                await conn.unsubscribe(channel)
            elif action == "ping":
                await ws.send_json({"type": "pong"})
            else:
                await ws.send_json({"type": "error", "detail": f"unknown action {action!r}"})
    except WebSocketDisconnect:
        pass
    finally:
        hub.remove(conn.queue)
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await pump
