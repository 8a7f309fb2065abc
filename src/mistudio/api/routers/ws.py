"""``/ws``: one WebSocket for all live events.

Client messages (JSON):

* ``{"action": "subscribe", "channel": "jobs/<id>", "after": <last seq seen>}``: the server sends
  every stored event of the job with ``seq > after`` first, then live ones, each exactly once and
  in ``seq`` order (a reconnecting client loses nothing);
* ``{"action": "subscribe", "channel": "jobs"}``: live events of every job;
* ``{"action": "subscribe", "channel": "system"}``: a metrics sample every ~2 s;
* ``{"action": "unsubscribe", "channel": ...}``, ``{"action": "ping"}``;
* ``{"action": "auth", "token": "<MISTUDIO_TOKEN>"}``: see below.

Server messages: events as in ``GET /jobs/{id}/events`` (``channel``, ``job_id``, ``seq``,
``type``, ``data``), ``{"channel": "system", "type": "metrics", "data": {...}}``, and
``{"type": "subscribed" | "unsubscribed" | "pong" | "authenticated" | "error", ...}`` replies.

Every client message is validated field by field (one pydantic model per action); a bad one gets
``{"type": "error", "detail": "<one line>"}`` and the socket stays open, so one malformed
subscribe cannot cut a page off its other channels.

**Authentication.** With ``MISTUDIO_TOKEN`` set, the first message must be ``auth`` with the
token, within :data:`AUTH_TIMEOUT_SECONDS`; anything else, or a wrong token, closes the socket
with code 4401. The token travels in a frame, not in the URL, because uvicorn (and any proxy)
logs handshake URLs. ``?token=<token>`` on the URL still works for old scripts (uvicorn's log
redacts it, see ``mistudio.api.log_redaction``). Which pages may open the socket at all is
decided before this router runs (``mistudio.api.security``: foreign origins are refused).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ConfigDict, Field, TypeAdapter, ValidationError

from mistudio.api.deps import token_ok
from mistudio.api.events import ALL_JOBS, EventHub, read_events
from mistudio.core.config import DocumentedModel
from mistudio.settings import get_settings

router = APIRouter(tags=["events"])

AUTH_TIMEOUT_SECONDS = 10.0
"""How long a socket may stay open without authenticating when a token is set."""
UNAUTHORIZED = 4401
"""Close code for a missing or wrong token (4000-4999 are the application's; 401 as in HTTP)."""
MAX_SEQ = 2**63 - 1
"""Largest ``after`` a subscribe may give (event seqs are 64-bit at most)."""


class _Message(DocumentedModel):
    model_config = ConfigDict(extra="forbid")


class SubscribeMessage(_Message):
    action: Literal["subscribe"]
    channel: str = Field(min_length=1, max_length=64)
    """``jobs/<id>``, ``jobs`` or ``system``."""
    after: Annotated[int, Field(strict=True, ge=0, le=MAX_SEQ)] | None = None
    """For a job channel: the last seq the client has; only later events are replayed."""


class UnsubscribeMessage(_Message):
    action: Literal["unsubscribe"]
    channel: str = Field(min_length=1, max_length=64)


class PingMessage(_Message):
    action: Literal["ping"]


class AuthMessage(_Message):
    action: Literal["auth"]
    token: str = Field(max_length=4096)
    """``MISTUDIO_TOKEN``."""


ClientMessage = Annotated[
    SubscribeMessage | UnsubscribeMessage | PingMessage | AuthMessage,
    Field(discriminator="action"),
]
_CLIENT_MESSAGE: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)
ACTIONS = ("subscribe", "unsubscribe", "ping", "auth")


def parse_message(raw: str | None) -> ClientMessage | str:
    """The validated message, or one line saying what is wrong with it."""
    if raw is None:
        return "send JSON text frames, not binary ones"
    try:
        data = json.loads(raw)
    except ValueError:
        return "messages must be JSON objects"
    if not isinstance(data, dict):
        return "messages must be JSON objects"
    action = data.get("action")
    if action is None:
        return f"messages need an 'action', one of {', '.join(ACTIONS)}"
    if action not in ACTIONS:
        return f"unknown action {str(action)[:40]!r}; expected one of {', '.join(ACTIONS)}"
    try:
        return _CLIENT_MESSAGE.validate_python(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"][1:]) or "message"
        return f"{action}: {where}: {first['msg']}"


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


async def _authenticate(ws: WebSocket) -> bool:
    """With a token set, wait for the ``auth`` message; False (socket closed) if it is wrong,
    missing or late."""
    try:
        frame = await asyncio.wait_for(ws.receive(), AUTH_TIMEOUT_SECONDS)
    except TimeoutError:
        await ws.close(code=UNAUTHORIZED, reason="authenticate within a few seconds")
        return False
    if frame["type"] == "websocket.disconnect":
        return False
    message = parse_message(frame.get("text"))
    if not isinstance(message, AuthMessage) or not token_ok(message.token):
        await ws.close(code=UNAUTHORIZED, reason="missing or wrong token")
        return False
    await ws.send_json({"type": "authenticated"})
    return True


@router.websocket("/ws")
async def events_socket(ws: WebSocket) -> None:
    """Live events: job progress and metrics per ``jobs/{id}`` channel, system metrics on
    ``system``."""
    url_token = ws.query_params.get("token")  # old scripts; uvicorn's log redacts it
    if url_token is not None and not token_ok(url_token):
        await ws.close(code=UNAUTHORIZED, reason="missing or wrong token")
        return
    await ws.accept()
    if url_token is None and get_settings().token and not await _authenticate(ws):
        return
    hub: EventHub = ws.app.state.hub
    conn = _Connection(ws, hub)
    pump = asyncio.create_task(conn.pump())
    try:
        while True:
            frame = await ws.receive()
            if frame["type"] == "websocket.disconnect":
                break
            message = parse_message(frame.get("text"))
            if isinstance(message, str):
                await ws.send_json({"type": "error", "detail": message})
            elif isinstance(message, SubscribeMessage):
                await conn.subscribe(message.channel, message.after or 0)
            elif isinstance(message, UnsubscribeMessage):
                await conn.unsubscribe(message.channel)
            elif isinstance(message, PingMessage):
                await ws.send_json({"type": "pong"})
            elif token_ok(message.token):  # auth again (or with no token set): harmless
                await ws.send_json({"type": "authenticated"})
            else:
                await ws.close(code=UNAUTHORIZED, reason="missing or wrong token")
                break
    except WebSocketDisconnect:
        pass
    finally:
        hub.remove(conn.queue)
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await pump
