"""Host and Origin checks against a real browser (issue 13 point 1).

The in-process tests (``test_web_origin.py``) send the headers a browser would; this one lets
Debian's Chromium send them: a hostile page on ``http://evil.example:<port>`` (Chromium's
``--host-resolver-rules`` maps the names to 127.0.0.1, as a rebinding DNS server would) submits
a cross-site form upload, a ``no-cors`` POST and a WebSocket to a real ``mistudio serve``, and a
page on ``rebind.evil.example`` tries to read it same-origin. The studio's own pages keep working.
Skipped without Chromium or the ``playwright`` package (as the e2e tier is).
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.security.conftest import Served, serve_studio

CHROMIUM = (
    os.environ.get("MISTUDIO_E2E_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
)
API = "/api/v1"


class _EvilPage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        body = b"<!doctype html><title>evil</title><p>nothing to see</p>"
        self.send_response(200)
        self.send_header("content-type", "text/html")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def evil_port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EvilPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def browser(playwright_driver: Any) -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("MISTUDIO_E2E_REQUIRED"):
            pytest.fail(f"no Chromium at {CHROMIUM}")
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--host-resolver-rules=MAP evil.example 127.0.0.1, MAP rebind.evil.example 127.0.0.1",
    ]
    launched = playwright_driver.chromium.launch(executable_path=CHROMIUM, args=args, headless=True)
    try:
        yield launched
    finally:
        launched.close()


WS_PROBE = """async (url) => await new Promise((resolve) => {
  const ws = new WebSocket(url);
  const timer = setTimeout(() => resolve("timeout"), 5000);
  ws.onopen = () => ws.send(JSON.stringify({action: "ping"}));
  ws.onmessage = (ev) => { clearTimeout(timer); ws.close(); resolve(JSON.parse(ev.data).type); };
  ws.onclose = () => { clearTimeout(timer); resolve("closed"); };
})"""


def _favourite(served: Served, template_id: int) -> bool:
    return bool(httpx.get(f"{served.url}{API}/templates/{template_id}").json()["favourite"])


def test_hostile_pages_in_a_real_browser(tmp_path: Path, browser: Any, evil_port: int) -> None:
    with serve_studio(tmp_path) as served:
        body = {"kind": "training", "name": "t", "config": {}}
        template_id = httpx.post(f"{served.url}{API}/templates", json=body).json()["id"]
        datasets_before = httpx.get(f"{served.url}{API}/datasets").json()["total"]
        page = browser.new_page()

        # The studio's own origin: state-changing fetches and the socket work.
        page.goto(f"{served.url}{API}/health")
        status = page.evaluate(
            "async (u) => (await fetch(u, {method: 'POST'})).status",
            f"{API}/templates/{template_id}/favourite",
        )
        assert status == 200 and _favourite(served, template_id)
        assert page.evaluate(WS_PROBE, f"ws://127.0.0.1:{served.port}{API}/ws") == "pong"

        # A page elsewhere: a no-cors POST (it cannot read the answer, but it could act) ...
        page.goto(f"http://evil.example:{evil_port}/")
        page.evaluate(
            "async (u) => { await fetch(u, {method: 'POST', mode: 'no-cors'}); }",
            f"{served.url}{API}/templates/{template_id}/favourite",
        )
        assert _favourite(served, template_id)  # unchanged
        # ... a WebSocket that would read every job's events ...
        assert page.evaluate(WS_PROBE, f"ws://127.0.0.1:{served.port}{API}/ws") == "closed"
        # ... and a multipart form upload, the classic CSRF.
        with page.expect_navigation():
            page.evaluate(
                """(u) => {
                  const form = document.createElement("form");
                  form.method = "POST"; form.action = u; form.enctype = "multipart/form-data";
                  const file = document.createElement("input");
                  file.type = "file"; file.name = "file";
                  const dt = new DataTransfer();
                  dt.items.add(new File(['{"text": "pwned"}\\n'], "x.jsonl"));
                  file.files = dt.files;
                  form.appendChild(file);
                  document.body.appendChild(form);
                  form.submit();
                }""",
                f"{served.url}{API}/datasets/upload",
            )
        assert "cross-origin request from 'http://evil.example:" in page.content()
        assert httpx.get(f"{served.url}{API}/datasets").json()["total"] == datasets_before

        # DNS rebinding: the attacker's name now points at 127.0.0.1; the page reads same-origin.
        response = page.goto(f"http://rebind.evil.example:{served.port}{API}/datasets")
        assert response is not None and response.status == 403
        assert "MISTUDIO_ALLOWED_HOSTS" in page.content()
        page.close()
    log = served.log()
    assert "evil.example" in log  # the refusals were logged, for whoever wonders why
