"""The token never lands in the server's logs (issue 13 point 4).

A real ``mistudio serve`` (uvicorn's own logging set-up, access log on) is driven the way the UI
and old scripts connect, and its output is searched for the token. uvicorn writes HTTP request
lines to ``uvicorn.access`` and WebSocket handshake lines to ``uvicorn.error``; both must redact.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import httpx
import pytest

from tests.security.conftest import serve_studio

TOKEN = "s3cret-token-4f9a"


def test_filter_redacts_records_as_uvicorn_emits_them() -> None:
    from mistudio.api.log_redaction import install_log_redaction

    install_log_redaction()
    install_log_redaction()  # idempotent: one filter per logger
    access = logging.getLogger("uvicorn.access")
    assert len(access.filters) == len({type(f) for f in access.filters})
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    handler = Keep()
    error = logging.getLogger("uvicorn.error")
    for logger in (access, error):
        logger.addHandler(handler)
    old_levels = access.level, error.level
    access.setLevel(logging.INFO)
    error.setLevel(logging.INFO)
    try:
        access.info(
            '%s - "%s %s HTTP/%s" %d',
            "127.0.0.1:5555",
            "GET",
            f"/api/v1/jobs?api_key={TOKEN}&limit=5&access_token={TOKEN}",
            "1.1",
            200,
        )
        error.info('%s - "WebSocket %s" [accepted]', "127.0.0.1:5555", f"/api/v1/ws?token={TOKEN}")
    finally:
        for logger in (access, error):
            logger.removeHandler(handler)
        access.setLevel(old_levels[0])
        error.setLevel(old_levels[1])
    assert len(seen) == 2 and all(TOKEN not in line for line in seen), seen
    assert "api_key=[redacted]&limit=5&access_token=[redacted]" in seen[0]
    assert seen[1].endswith('"WebSocket /api/v1/ws?token=[redacted]" [accepted]')


def test_serve_log_never_shows_the_token(tmp_path: Path) -> None:
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    with serve_studio(tmp_path, MISTUDIO_TOKEN=TOKEN) as served:
        base = served.url
        ws_url = f"ws://127.0.0.1:{served.port}/api/v1/ws"
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        # An HTTP client that puts a token in the query (uvicorn.access).
        assert httpx.get(f"{base}/api/v1/health?token={TOKEN}", headers=bearer).status_code == 200
        # The UI: no token in the URL, the first message authenticates.
        with connect(ws_url, origin=base) as ws:
            ws.send(f'{{"action": "auth", "token": "{TOKEN}"}}')
            assert '"authenticated"' in str(ws.recv(timeout=10))
        # An old script: token in the URL (uvicorn.error's handshake line).
        with connect(f"{ws_url}?token={TOKEN}") as ws:
            ws.send('{"action": "ping"}')
            assert '"pong"' in str(ws.recv(timeout=10))
        # A wrong URL token is refused (and its handshake line is redacted too).
        with pytest.raises(InvalidStatus), connect(f"{ws_url}?token={TOKEN}x"):
            pass
        time.sleep(0.5)
    text = served.log()
    assert "/api/v1/health?token=[redacted]" in text, text[-3000:]
    assert "/api/v1/ws?token=[redacted]" in text, text[-3000:]
    assert TOKEN not in text, [line for line in text.splitlines() if TOKEN in line]
