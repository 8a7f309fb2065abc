"""Request size limits and the 500 answer (issue 13, points 6 and 8).

Bodies over ``MISTUDIO_JSON_MAX_BYTES`` (or, for multipart uploads, ``MISTUDIO_UPLOAD_MAX_BYTES``)
get one 413 line whether they declare a Content-Length or stream without one; a template config
is capped so a list page stays small. An unexpected error answers ``internal error, see the
server log (id ...)`` with the same id beside the traceback in the log, and, on a real uvicorn,
leaves the client's keep-alive connection open for its next request.
"""

from __future__ import annotations

import json
import os
import re
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.security.conftest import MakeStudio
from tests.servers import free_port, running_server

API = "/api/v1"


def test_json_body_over_the_limit_is_413(make_studio: MakeStudio) -> None:
    c = make_studio(MISTUDIO_JSON_MAX_BYTES="20000")
    body = {"kind": "training", "name": "huge", "config": {"blob": "x" * 30_000}}
    r = c.post(f"{API}/templates", json=body)
    assert r.status_code == 413, r.text
    assert r.json()["detail"] == "request body is larger than the limit of 20,000 bytes"
    assert c.get(f"{API}/templates", params={"q": "huge"}).json()["total"] == 0
    assert c.get(f"{API}/health").status_code == 200


def test_streamed_body_without_length_is_cut_off(make_studio: MakeStudio) -> None:
    c = make_studio(MISTUDIO_JSON_MAX_BYTES="20000")
    sent = 0

    def chunks() -> Iterator[bytes]:
        nonlocal sent
        yield b'{"kind": "training", "name": "streamed", "config": {"blob": "'
        for _ in range(100):
            sent += 1000
            yield b"x" * 1000
        yield b'"}}'

    r = c.post(f"{API}/templates", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413, r.text
    assert "larger than the limit of 20,000 bytes" in r.json()["detail"]
    assert c.get(f"{API}/templates", params={"q": "streamed"}).json()["total"] == 0


def test_uploads_get_the_upload_limit(make_studio: MakeStudio) -> None:
    """Multipart bodies are measured against the (larger) upload limit, not the JSON one."""
    c = make_studio(MISTUDIO_JSON_MAX_BYTES="1000", MISTUDIO_UPLOAD_MAX_BYTES="100000")
    small = b'{"text": "a small upload, bigger than the JSON limit"}\n' * 40  # ~2 kB
    r = c.post(f"{API}/datasets/upload", files={"file": ("small.jsonl", small)})
    assert r.status_code == 202, r.text
    big = b"x" * (100_000 + (1 << 20) + 10)
    r = c.post(f"{API}/datasets/upload", files={"file": ("big.txt", big)})
    assert r.status_code == 413 and "upload is larger" in r.json()["detail"], r.text


def test_template_config_is_capped(make_studio: MakeStudio) -> None:
    c = make_studio()
    r = c.post(
        f"{API}/templates",
        json={"kind": "training", "name": "wide", "config": {"blob": "x" * 300_000}},
    )
    assert r.status_code == 422 and "the limit is 262,144 bytes" in r.json()["detail"], r.text
    ok = c.post(f"{API}/templates", json={"kind": "training", "name": "narrow", "config": {}})
    assert ok.status_code == 201
    r = c.patch(f"{API}/templates/{ok.json()['id']}", json={"config": {"blob": "x" * 300_000}})
    assert r.status_code == 422, r.text
    page = c.get(f"{API}/templates")
    assert page.status_code == 200 and len(page.content) < 200_000


CRASH_APP = textwrap.dedent(
    '''
    """The studio plus one route that fails unexpectedly (tests only)."""
    from mistudio.api.app import create_app

    app = create_app()


    def crash() -> None:
        raise RuntimeError("SECRET-EXCEPTION-TEXT from a handler")


    app.add_api_route("/api/v1/test-crash", crash)
    app.router.routes.insert(0, app.router.routes.pop())  # before the UI's catch-all mount
    '''
)


@pytest.fixture
def crash_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real uvicorn serving the studio with a crashing route; yields (url, log file)."""
    (tmp_path / "crash_app.py").write_text(CRASH_APP)
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MISTUDIO_")}
    src = str(Path(__file__).resolve().parents[2] / "src")
    env.update(
        MISTUDIO_HOME=str(home),
        MISTUDIO_MONITOR_INTERVAL_SECONDS="60",
        HF_HUB_OFFLINE="1",
        PYTHONPATH=os.pathsep.join([str(tmp_path), src]),
    )
    port = free_port()
    log_path = tmp_path / "uvicorn.log"
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "uvicorn", "crash_app:app", "--port", str(port)]
    with running_server(argv, env, log_path, f"{url}{API}/health", cwd=tmp_path):
        yield url, log_path


def _local_address(response: httpx.Response) -> object:
    return response.extensions["network_stream"].get_extra_info("client_addr")


def test_500_names_a_log_id_and_keeps_the_connection(crash_server: tuple[str, Path]) -> None:
    url, log_path = crash_server
    with httpx.Client(base_url=url, timeout=10) as client:
        for _ in range(3):
            crashed = client.get(f"{API}/test-crash")
            assert crashed.status_code == 500
            detail = crashed.json()["detail"]
            match = re.fullmatch(r"internal error, see the server log \(id ([0-9a-f]{8})\)", detail)
            assert match, detail
            assert "SECRET" not in crashed.text and "RuntimeError" not in crashed.text
            after = client.get(f"{API}/health")
            assert after.status_code == 200
            # The same TCP connection answered both: uvicorn did not drop it after the 500.
            assert _local_address(after) == _local_address(crashed)
    deadline = time.monotonic() + 10
    while match.group(1) not in log_path.read_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    log = log_path.read_text()
    line = next(line for line in log.splitlines() if match.group(1) in line)
    assert "internal error" in line and "/api/v1/test-crash" in line
    assert "SECRET-EXCEPTION-TEXT" in log  # the traceback went to the log, not to the client
    assert json.loads(crashed.text) == {"detail": detail}
