"""The event WebSocket: authentication without the token in the URL (issue 13 point 4) and client
messages validated field by field, a bad one answered without closing the socket (point 10)."""

from __future__ import annotations

import pytest
from starlette.websockets import WebSocketDisconnect

from tests.security.conftest import MakeStudio

WS = "/api/v1/ws"


def test_token_mode_authenticates_with_the_first_message(make_studio: MakeStudio) -> None:
    c = make_studio(MISTUDIO_TOKEN="s3cret")
    with c.websocket_connect(WS) as ws:  # no token in the URL
        ws.send_json({"action": "auth", "token": "s3cret"})
        assert ws.receive_json() == {"type": "authenticated"}
        ws.send_json({"action": "subscribe", "channel": "jobs/abc", "after": 0})
        assert ws.receive_json() == {"type": "subscribed", "channel": "jobs/abc", "last_seq": 0}
        ws.send_json({"action": "ping"})
        assert ws.receive_json() == {"type": "pong"}


@pytest.mark.parametrize(
    "first",
    [
        {"action": "auth", "token": "wrong"},
        {"action": "auth"},
        {"action": "subscribe", "channel": "jobs"},  # must authenticate before anything else
        {"action": "ping"},
    ],
)
def test_token_mode_refuses_a_wrong_or_missing_token(
    make_studio: MakeStudio, first: dict[str, str]
) -> None:
    c = make_studio(MISTUDIO_TOKEN="s3cret")
    with pytest.raises(WebSocketDisconnect) as closed, c.websocket_connect(WS) as ws:
        ws.send_json(first)
        ws.receive_json()
    assert closed.value.code == 4401


def test_token_mode_closes_a_socket_that_never_authenticates(
    make_studio: MakeStudio, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mistudio.api.routers import ws as ws_router

    monkeypatch.setattr(ws_router, "AUTH_TIMEOUT_SECONDS", 0.2)
    c = make_studio(MISTUDIO_TOKEN="s3cret")
    with pytest.raises(WebSocketDisconnect) as closed, c.websocket_connect(WS) as ws:
        ws.receive_json()
    assert closed.value.code == 4401


def test_url_token_still_works_for_old_scripts(make_studio: MakeStudio) -> None:
    c = make_studio(MISTUDIO_TOKEN="s3cret")
    with c.websocket_connect(f"{WS}?token=s3cret") as ws:
        ws.send_json({"action": "ping"})
        assert ws.receive_json() == {"type": "pong"}
    with pytest.raises(WebSocketDisconnect) as closed, c.websocket_connect(f"{WS}?token=no") as ws:
        ws.receive_json()
    assert closed.value.code == 4401


def test_auth_message_is_harmless_without_a_token(make_studio: MakeStudio) -> None:
    c = make_studio()
    with c.websocket_connect(WS) as ws:
        ws.send_json({"action": "auth", "token": "anything"})
        assert ws.receive_json() == {"type": "authenticated"}
        ws.send_json({"action": "ping"})
        assert ws.receive_json() == {"type": "pong"}


BAD_MESSAGES = [
    ({"action": "subscribe", "channel": "jobs/abc", "after": "abc"}, "after"),
    ({"action": "subscribe", "channel": "jobs/abc", "after": -1}, "after"),
    ({"action": "subscribe", "channel": "jobs/abc", "after": 1.5}, "after"),
    ({"action": "subscribe", "channel": "jobs/abc", "after": True}, "after"),
    ({"action": "subscribe", "channel": "jobs/abc", "after": 2**64}, "after"),
    ({"action": "subscribe", "channel": 123}, "channel"),
    ({"action": "subscribe", "channel": "jobs/" + "x" * 500}, "channel"),
    ({"action": "subscribe"}, "channel"),
    ({"action": "subscribe", "channel": "jobs", "extra": 1}, "extra"),
    ({"action": "unsubscribe", "channel": None}, "channel"),
    ({"action": "launch"}, "unknown action"),
    ({"action": ["subscribe"]}, "unknown action"),
    ({}, "need an 'action'"),
    ([1, 2], "JSON object"),
    ("not json", "JSON object"),
    (b"\x00binary", "text frames"),
]


def test_bad_client_messages_get_an_error_and_the_socket_stays_open(
    make_studio: MakeStudio,
) -> None:
    c = make_studio()
    with c.websocket_connect(WS) as ws:
        for message, hint in BAD_MESSAGES:
            if isinstance(message, bytes):
                ws.send_bytes(message)
            elif isinstance(message, str):
                ws.send_text(message)
            else:
                ws.send_json(message)
            reply = ws.receive_json()
            assert reply["type"] == "error", (message, reply)
            assert hint in reply["detail"] and "\n" not in reply["detail"], (message, reply)
            ws.send_json({"action": "ping"})
            assert ws.receive_json() == {"type": "pong"}, message
        # ... and still serves a good subscribe.
        ws.send_json({"action": "subscribe", "channel": "jobs/abc", "after": 3})
        assert ws.receive_json() == {"type": "subscribed", "channel": "jobs/abc", "last_seq": 3}
