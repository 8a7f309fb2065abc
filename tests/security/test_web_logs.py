"""The token never lands in the server's logs (issue 13 point 4).

A real ``mistudio serve`` (uvicorn's own logging set-up, access log on) is driven the way the UI
and old scripts connect, and its output is searched for the token. uvicorn writes HTTP request
lines to ``uvicorn.access`` and WebSocket handshake lines to ``uvicorn.error``; both must redact.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

TOKEN = "s3cret-token-4f9a"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _mistudio() -> str:
    return str(Path(sys.executable).parent / "mistudio")


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

    home = tmp_path / "home"
    home.mkdir()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MISTUDIO_")}
    env.update(MISTUDIO_HOME=str(home), MISTUDIO_TOKEN=TOKEN, HF_HUB_OFFLINE="1")
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [_mistudio(), "serve", "--port", str(port), "--no-worker", "--log-level", "info"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    ws_url = f"ws://127.0.0.1:{port}/api/v1/ws"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, log_path.read_text()[-3000:]
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=1).status_code in (200, 401):
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "mistudio serve did not start"
            time.sleep(0.3)
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
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
    text = log_path.read_text(errors="replace")
    assert "/api/v1/health?token=[redacted]" in text, text[-3000:]
    assert "/api/v1/ws?token=[redacted]" in text, text[-3000:]
    assert TOKEN not in text, [line for line in text.splitlines() if TOKEN in line]
