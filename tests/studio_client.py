"""A ``TestClient`` that reaches the studio the way a browser on this machine does.

Starlette's ``TestClient`` sends ``Host: testserver`` (and its WebSocket handshakes always do, even
with another ``base_url``); the studio refuses host names it was not told about (DNS rebinding,
see ``mistudio.api.security``). Tests use this client, whose HTTP requests and WebSocket
handshakes carry ``Host: 127.0.0.1:8000``, rather than the studio allowing ``testserver``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin

from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

BASE_URL = "http://127.0.0.1:8000"
"""Where the tests pretend the studio is served: a loopback address, allowed by default."""
WS_BASE_URL = "ws://127.0.0.1:8000"


class StudioClient(TestClient):
    """``TestClient`` with ``base_url`` :data:`BASE_URL`, for HTTP and WebSocket alike; server
    exceptions become 500 responses, as a real client would see them."""

    def __init__(self, app: Any, **kwargs: Any) -> None:
        kwargs.setdefault("base_url", BASE_URL)
        kwargs.setdefault("raise_server_exceptions", False)
        super().__init__(app, **kwargs)

    def websocket_connect(self, url: str, *args: Any, **kwargs: Any) -> WebSocketTestSession:
        return super().websocket_connect(urljoin(WS_BASE_URL, url), *args, **kwargs)
