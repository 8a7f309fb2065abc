"""Host and Origin checks (issue 13 point 1): what a hostile web page can no longer do.

Every probe here succeeded before the checks existed: a rebinding Host read data, a cross-site
form upload was accepted (202), a body-less cross-site POST toggled a favourite, and a WebSocket
opened from a foreign origin was accepted.
"""

from __future__ import annotations

import pytest
from starlette.websockets import WebSocketDisconnect

from tests.security.conftest import MakeStudio

API = "/api/v1"
EVIL = "http://evil.example"
SAME = "http://127.0.0.1:8000"  # the StudioClient's own origin


def _detail(response) -> str:  # type: ignore[no-untyped-def]
    body = response.json()
    assert set(body) == {"detail"} and isinstance(body["detail"], str)
    return body["detail"]


def test_rebinding_host_is_refused_and_loopback_names_are_not(make_studio: MakeStudio) -> None:
    c = make_studio()
    r = c.get(f"{API}/datasets", headers={"host": "rebind.evil.example"})
    assert r.status_code == 403
    assert "rebind.evil.example" in _detail(r) and "MISTUDIO_ALLOWED_HOSTS" in _detail(r)
    assert c.get(f"{API}/datasets", headers={"host": "rebind.evil.example:8000"}).status_code == 403
    # The UI itself is refused too: a rebound page learns nothing, not even the app's shell.
    assert c.get("/", headers={"host": "rebind.evil.example"}).status_code == 403
    for host in ("127.0.0.1:8000", "localhost:8000", "localhost", "[::1]:8000", "10.1.2.3:8000"):
        assert c.get(f"{API}/datasets", headers={"host": host}).status_code == 200, host
    assert c.get(f"{API}/datasets", headers={"host": "bad host"}).status_code == 403


def test_allowed_hosts_setting_and_bound_name(make_studio: MakeStudio) -> None:
    listed = make_studio(MISTUDIO_ALLOWED_HOSTS="studio.lab, gpu-box")
    assert listed.get(f"{API}/datasets", headers={"host": "studio.lab:8000"}).status_code == 200
    assert listed.get(f"{API}/datasets", headers={"host": "gpu-box"}).status_code == 200
    assert listed.get(f"{API}/datasets", headers={"host": "evil.lab"}).status_code == 403
    anyone = make_studio(MISTUDIO_ALLOWED_HOSTS="*")
    assert anyone.get(f"{API}/datasets", headers={"host": "whatever.example"}).status_code == 200
    named = make_studio(MISTUDIO_ALLOWED_HOSTS="", MISTUDIO_HOST="gpu-box.lab")
    assert named.get(f"{API}/datasets", headers={"host": "gpu-box.lab:8000"}).status_code == 200
    # A wildcard bind says nothing about names: they must be listed.
    wild = make_studio(MISTUDIO_HOST="0.0.0.0", MISTUDIO_TOKEN="t")
    auth = {"authorization": "Bearer t"}
    r = wild.get(f"{API}/datasets", headers={**auth, "host": "rebind.evil.example"})
    assert r.status_code == 403  # a right token does not make a foreign Host acceptable
    r = wild.get(f"{API}/datasets", headers={**auth, "host": "192.168.1.9:8000"})
    assert r.status_code == 200  # an IP literal cannot be a rebinding


def test_cross_site_upload_is_refused_and_creates_nothing(make_studio: MakeStudio) -> None:
    from mistudio.settings import get_settings

    c = make_studio()
    before = c.get(f"{API}/datasets").json()["total"]
    form = {"file": ("x.jsonl", b'{"text": "hello"}\n' * 3)}
    r = c.post(f"{API}/datasets/upload", files=form, data={"name": "x"}, headers={"origin": EVIL})
    assert r.status_code == 403 and "evil.example" in _detail(r)
    # A page whose policy strips Origin on a form POST still sends Referer.
    r = c.post(f"{API}/datasets/upload", files=form, headers={"referer": f"{EVIL}/page.html"})
    assert r.status_code == 403
    assert c.get(f"{API}/datasets").json()["total"] == before
    uploads = get_settings().home / "uploads"
    assert not uploads.exists() or not any(uploads.iterdir())


@pytest.mark.parametrize(
    ("headers", "allowed"),
    [
        ({"origin": EVIL}, False),
        ({"origin": "null"}, False),  # sandboxed frames and file: pages
        ({"origin": "http://127.0.0.1:3000"}, False),  # another port is another origin
        ({"origin": "http://localhost:8000"}, False),  # another name is another origin
        ({"referer": f"{EVIL}/x"}, False),
        ({"origin": EVIL, "referer": f"{SAME}/"}, False),  # Origin wins over Referer
        ({"origin": SAME}, True),
        ({"referer": f"{SAME}/#/templates"}, True),
        ({}, True),  # curl, Python clients, the CLI
    ],
)
def test_body_less_cross_site_post_to_favourite(
    make_studio: MakeStudio, headers: dict[str, str], allowed: bool
) -> None:
    c = make_studio()
    t = c.post(f"{API}/templates", json={"kind": "training", "name": "t", "config": {}}).json()
    r = c.post(f"{API}/templates/{t['id']}/favourite", headers=headers)
    assert r.status_code == (200 if allowed else 403), r.text
    assert c.get(f"{API}/templates/{t['id']}").json()["favourite"] is allowed
    # Other state-changing methods are guarded the same way.
    r = c.delete(f"{API}/templates/{t['id']}", headers={"origin": EVIL})
    assert r.status_code == 403 and c.get(f"{API}/templates/{t['id']}").status_code == 200
    # GETs are not origin-checked (they change nothing; cross-site reads are the browser's job).
    assert c.get(f"{API}/templates", headers={"origin": EVIL}).status_code == 200


def test_allowed_origins_setting(make_studio: MakeStudio) -> None:
    c = make_studio(MISTUDIO_ALLOWED_ORIGINS="http://localhost:5173")
    t = c.post(f"{API}/templates", json={"kind": "training", "name": "t", "config": {}}).json()
    url = f"{API}/templates/{t['id']}/favourite"
    assert c.post(url, headers={"origin": "http://localhost:5173"}).status_code == 200
    assert c.post(url, headers={"origin": "http://localhost:5174"}).status_code == 403


def test_websocket_from_foreign_origin_is_refused(make_studio: MakeStudio) -> None:
    c = make_studio()
    for origin in (EVIL, "null", "http://127.0.0.1:3000"):
        with (
            pytest.raises(WebSocketDisconnect) as refused,
            c.websocket_connect(f"{API}/ws", headers={"origin": origin}) as ws,
        ):
            ws.send_json({"action": "subscribe", "channel": "jobs"})
            ws.receive_json()
        assert refused.value.code == 1008, origin
    with (
        pytest.raises(WebSocketDisconnect),
        c.websocket_connect(f"{API}/ws", headers={"host": "rebind.evil.example"}) as ws,
    ):
        ws.receive_json()
    for headers in ({"origin": SAME}, {}):
        with c.websocket_connect(f"{API}/ws", headers=headers) as ws:
            ws.send_json({"action": "subscribe", "channel": "jobs"})
            assert ws.receive_json() == {"type": "subscribed", "channel": "jobs"}


@pytest.mark.parametrize(
    "headers",
    [
        {"host": "a:²"},
        {"host": "a:99999"},
        {"host": "[::1"},
        {"host": "[::1]x"},
        {"host": ""},
        {"host": "é.example"},
        {"origin": "http://[::1"},
        {"origin": "http://127.0.0.1:²"},
        {"origin": "javascript:alert(1)"},
        {"origin": "http://user@127.0.0.1:9"},
        {"referer": "http://[::1/x"},
        {"referer": "/relative/page"},
    ],
)
def test_garbage_host_and_origin_headers_get_one_line_403(
    make_studio: MakeStudio, headers: dict[str, str]
) -> None:
    c = make_studio()
    raw = {k: v.encode() for k, v in headers.items()}  # sent as the bytes a browser would
    body = {"kind": "training", "name": "g", "config": {}}
    r = c.post(f"{API}/templates", json=body, headers=raw)
    assert r.status_code == 403, r.text
    assert "\n" not in _detail(r)
    assert c.get(f"{API}/health").status_code == 200
