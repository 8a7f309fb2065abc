"""Built-ins, error mapping, import roots, upload limit, bearer token, templates, system metrics."""

from __future__ import annotations

import time

import pytest

from tests.service.conftest import Studio

pytestmark = pytest.mark.service
API = "/api/v1"


def test_builtins_registered(studio: Studio) -> None:
    c = studio.client
    models = c.get(f"{API}/models", params={"q": "smollm2"}).json()["items"]
    assert [m["name"] for m in models] == ["smollm2-135m"]
    assert models[0]["builtin"] and models[0]["status"] in ("available", "ready", "pending")
    datasets = c.get(f"{API}/datasets", params={"source_kind": "builtin", "limit": 10}).json()
    assert {"kjv", "python-stdlib"} <= {d["name"] for d in datasets["items"]}
    sources = c.get(f"{API}/datasets/sources").json()
    assert {s["name"] for s in sources} == {"kjv", "python-stdlib"}
    assert c.get(f"{API}/health").json()["database"] == (
        "sqlite" if studio.backend == "sqlite" else "postgresql"
    )


def test_errors_are_readable_json(studio: Studio) -> None:
    c = studio.client
    for path in (
        "/datasets/999999",
        "/models/999999",
        "/jobs/nope",
        "/saes/999999",
        "/trainings/999999",
        "/templates/999999",
        "/extractions/999999",
    ):
        r = c.get(API + path)
        assert r.status_code == 404 and isinstance(r.json()["detail"], str), path
    r = c.get(f"{API}/datasets", params={"limit": 100_000})
    assert r.status_code == 422 and "limit" in r.json()["detail"]
    r = c.get(f"{API}/datasets", params={"sort": "password"})
    assert r.status_code == 422 and "cannot sort" in r.json()["detail"]
    r = c.post(f"{API}/datasets", json={"source": {"kind": "local", "path": "/etc"}})
    assert r.status_code == 403 and "MISTUDIO_IMPORT_ROOTS" in r.json()["detail"]
    r = c.post(f"{API}/models", json={"source": "/etc"})
    assert r.status_code in (403, 422)
    r = c.post(f"{API}/datasets", json={"source": {"kind": "builtin", "builtin": "nope"}})
    assert r.status_code == 422 and "unknown built-in corpus" in r.json()["detail"]
    r = c.post(f"{API}/saes/import", json={"path": str(studio.data_dir)})
    assert r.status_code == 422 and "cfg.json" in r.json()["detail"]
    r = c.post(f"{API}/jobs/nope/retry")
    assert r.status_code == 404


def test_upload_limit_and_upload_import(studio: Studio) -> None:
    c = studio.client
    big = b'{"text": "w5 w6"}\n' * 400  # 7200 bytes > MISTUDIO_UPLOAD_MAX_BYTES=4000
    r = c.post(f"{API}/datasets/upload", files={"file": ("big.jsonl", big)})
    assert r.status_code == 413 and "limit" in r.json()["detail"]
    small = b'{"text": "w5 w6 w7"}\n' * 20
    r = c.post(
        f"{API}/datasets/upload", files={"file": ("small.jsonl", small)}, data={"name": "uploaded"}
    )
    assert r.status_code == 202, r.text
    studio.completed(r.json()["job_id"])
    row = c.get(f"{API}/datasets/{r.json()['id']}").json()
    assert row["name"] == "uploaded" and row["n_documents"] == 20


def test_bearer_token(studio: Studio, monkeypatch: pytest.MonkeyPatch) -> None:
    from mistudio.api.app import create_app
    from mistudio.settings import get_settings
    from tests.studio_client import StudioClient

    monkeypatch.setenv("MISTUDIO_TOKEN", "s3cret")
    get_settings.cache_clear()
    try:
        client = StudioClient(create_app())  # no lifespan needed
        assert client.get(f"{API}/datasets").status_code == 401
        bad = {"Authorization": "Bearer wrong"}
        assert client.get(f"{API}/datasets", headers=bad).status_code == 401
        good = {"Authorization": "Bearer s3cret"}
        assert client.get(f"{API}/datasets", headers=good).status_code == 200
        from starlette.websockets import WebSocketDisconnect

        with pytest.raises(WebSocketDisconnect), client.websocket_connect(f"{API}/ws") as ws:
            ws.send_json({"action": "ping"})  # anything but auth first closes it (4401)
            ws.receive_json()
        with client.websocket_connect(f"{API}/ws") as ws:
            ws.send_json({"action": "auth", "token": "s3cret"})
            assert ws.receive_json() == {"type": "authenticated"}
            ws.send_json({"action": "ping"})
            assert ws.receive_json() == {"type": "pong"}
    finally:
        monkeypatch.delenv("MISTUDIO_TOKEN")
        get_settings.cache_clear()


def test_serve_refuses_public_bind_without_token() -> None:
    from mistudio.cli.service_cmd import is_local

    assert is_local("127.0.0.1") and is_local("::1") and is_local("localhost")
    assert not is_local("0.0.0.0") and not is_local("192.168.1.10")


def test_templates(studio: Studio) -> None:
    c = studio.client
    body = {"kind": "training", "name": "tiny topk", "config": {"k": 4}, "description": "d"}
    t = c.post(f"{API}/templates", json=body).json()
    assert c.post(f"{API}/templates", json=body).status_code == 409
    assert c.post(f"{API}/templates", json={**body, "kind": "bogus"}).status_code == 422
    assert c.post(f"{API}/templates/{t['id']}/favourite").json()["favourite"] is True
    for _ in range(3):
        c.post(f"{API}/templates/{t['id']}/use")
    t = c.patch(f"{API}/templates/{t['id']}", json={"config": {"k": 8}}).json()
    assert t["usage_count"] == 3 and t["config"] == {"k": 8}
    c.post(f"{API}/templates", json={"kind": "labeling_prompt", "name": "p", "config": {}})
    listed = c.get(f"{API}/templates", params={"kind": "training", "favourite": True}).json()
    assert [x["name"] for x in listed["items"]] == ["tiny topk"]
    exported = c.get(f"{API}/templates/export").json()
    assert {x["name"] for x in exported["templates"]} >= {"tiny topk", "p"}
    result = c.post(f"{API}/templates/import", json=exported).json()
    assert result["renamed"] == len(exported["templates"])
    assert "tiny topk (2)" in {x["name"] for x in result["templates"]}
    result = c.post(f"{API}/templates/import", params={"on_conflict": "skip"}, json=exported).json()
    assert result["created"] == 0 and result["skipped"] == len(exported["templates"])
    assert c.delete(f"{API}/templates/{t['id']}").status_code == 204
    assert c.get(f"{API}/templates/{t['id']}").status_code == 404


def test_system_metrics_and_channel(studio: Studio) -> None:
    c = studio.client
    metrics = c.get(f"{API}/system/metrics").json()
    assert metrics["cpu"]["count"] >= 1 and len(metrics["cpu"]["per_core_percent"]) >= 1
    assert metrics["memory"]["total_bytes"] > 0 and "gpus" in metrics
    assert "disk_read_bytes_per_s" in metrics["io"]
    time.sleep(1.2)
    history = c.get(f"{API}/system/history", params={"seconds": 60}).json()
    assert len(history) >= 2
    with c.websocket_connect(f"{API}/ws") as ws:
        ws.send_json({"action": "subscribe", "channel": "system"})
        assert ws.receive_json()["type"] == "subscribed"
        message = ws.receive_json()
        assert message["channel"] == "system" and message["type"] == "metrics"
        ws.send_json({"action": "ping"})
        while (reply := ws.receive_json()).get("type") != "pong":
            assert reply["channel"] == "system"
