"""Labelling through the service: a rules job writes labels (and scores) into feature rows that
search and sort; an ``openai`` job against a scripted OpenAI-compatible server on 127.0.0.1 gets
its API key from the request while the key never reaches a row, an event, a response, a log or
a file other than the sealed one (deleted when the job completes)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.service.conftest import Studio
from tests.service.tiny_artifacts import API, ensure_extraction
from tests.unit.labeling_fixtures import Reply, ScriptedServer, openai_body

pytestmark = pytest.mark.service

GOOD = (
    "[LABEL]: zebra crossing words\n[CATEGORY]: Lexical > Words\n[CONFIDENCE]: 0.8\n"
    "[EXPLANATION]: Words that appear in the middle of a zebra sentence."
)


def features(studio: Studio, extraction_id: int, **params: Any) -> dict[str, Any]:
    r = studio.client.get(
        f"{API}/features", params={"extraction_id": extraction_id, "limit": 64, **params}
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_rules_labelling_writes_searchable_sortable_labels(studio: Studio) -> None:
    c = studio.client
    ext = ensure_extraction(studio)
    eid = ext["extraction_id"]
    before = {f["index"]: f for f in features(studio, eid)["items"]}

    templates = c.get(f"{API}/templates", params={"kind": "labeling_prompt"}).json()["items"]
    default = next(t for t in templates if t["name"] == "delphi-default")
    assert "{examples}" in default["config"]["user"]

    estimate = c.post(
        f"{API}/labeling/estimate",
        json={"extraction_id": eid, "config": {"method": "rules"}},
    )
    assert estimate.status_code == 200, estimate.text
    assert estimate.json()["requests"] == 0 and estimate.json()["cost"] == 0
    paid = c.post(
        f"{API}/labeling/estimate",
        json={
            "extraction_id": eid,
            "config": {"method": "openai", "model": "gpt-x", "price_per_1k_input": 1.0},
            "selection": {"indices": [0, 1, 2, 3]},
            "template_id": default["id"],
        },
    ).json()
    assert paid["n_features"] == 4 and paid["requests"] == 4 and paid["cost"] > 0, paid

    bad = c.post(f"{API}/labeling", json={"extraction_id": eid, "config": {"method": "nope"}})
    assert bad.status_code == 422 and "nope" in bad.json()["detail"]
    r = c.post(
        f"{API}/labeling",
        json={
            "extraction_id": eid,
            "config": {"method": "rules", "score": True, "rules_min_share": 0.3},
            "template_id": default["id"],
        },
    )
    assert r.status_code == 202, r.text
    run = r.json()
    job = studio.completed(run["job_id"])
    assert job["kind"] == "label" and job["queue"] == "cpu"
    summary = job["result"]["summary"]
    live = [i for i, f in before.items() if f["frequency"]]
    assert summary["requested"] == len(live)
    assert summary["labelled"] + summary["unclear"] == len(live) and summary["failed"] == 0
    events = c.get(f"{API}/jobs/{run['job_id']}/events").json()
    rates = [e["data"].get("metrics", {}) for e in events if e["type"] == "progress"]
    assert any("features_per_s" in m for m in rates), rates[-3:]

    run = c.get(f"{API}/labeling/{run['id']}").json()
    assert run["status"] == "ready" and run["n_labeled"] == len(live)
    assert run["result"]["labelled"] == summary["labelled"]
    listed = c.get(f"{API}/labeling", params={"extraction_id": eid}).json()
    assert run["id"] in [x["id"] for x in listed["items"]]

    after = {f["index"]: f for f in features(studio, eid)["items"]}
    labelled = [f for f in after.values() if f["label_status"] == "labelled"]
    assert labelled, "the rules found no pattern in any latent"
    for f in after.values():
        assert f["interpretability_proxy"] == before[f["index"]]["interpretability"]
        if f["index"] in live:
            assert f["label"] and f["label_method"] == "rules"
        scores = [s for s in (f["detection_score"], f["fuzzing_score"]) if s is not None]
        if scores:  # a scored label: its score is what the browser sorts by
            assert f["interpretability"] == pytest.approx(sum(scores) / len(scores))
        else:
            assert f["interpretability"] == f["interpretability_proxy"]
    assert any(f["detection_score"] is not None for f in labelled)

    # full-text search finds the new labels; sorting by interpretability follows the scores
    word = labelled[0]["label"].split()[0]
    found = features(studio, eid, q=word)
    assert labelled[0]["index"] in [f["index"] for f in found["items"]]
    ranked = features(studio, eid, sort="interpretability", order="desc")["items"]
    values = [f["interpretability"] for f in ranked if f["interpretability"] is not None]
    assert values == sorted(values, reverse=True)

    # "all unlabelled" again: only what the rules found unclear is tried again
    again = c.post(f"{API}/labeling", json={"extraction_id": eid, "config": {"method": "rules"}})
    job = studio.completed(again.json()["job_id"])
    assert job["result"]["summary"]["requested"] == summary["unclear"]

    # semantic search over the labels, and a hand edit that it follows
    target = labelled[0]
    r = c.patch(
        f"{API}/features/{target['id']}",
        json={"label": "bible verses about sheep", "description": "Shepherds and flocks."},
    )
    assert r.json()["label_method"] == "manual" and r.json()["label_status"] == "labelled"
    hits = c.get(
        f"{API}/features/semantic", params={"extraction_id": eid, "q": "lambs and shepherds"}
    )
    assert hits.status_code == 200, hits.text
    assert hits.json()[0]["feature"]["index"] == target["index"]
    assert (Path(studio.home) / "artifacts" / "extractions" / str(eid) / "semantic").is_dir()

    # relabel one feature: a one-latent job that replaces the hand edit when asked to (by
    # default a hand-edited label stays current: tests/service/test_label_history.py)
    r = c.post(
        f"{API}/features/{target['id']}/relabel",
        json={"config": {"method": "rules", "overwrite_manual": True}},
    )
    assert r.status_code == 202, r.text
    studio.completed(r.json()["job_id"])
    relabelled = c.get(f"{API}/features/{target['id']}").json()
    assert relabelled["label_method"] == "rules" and relabelled["label"] == target["label"]


def _rows_text(studio: Studio) -> str:
    """Every row of every table, as text."""
    from sqlalchemy import select

    from mistudio.store import Base, session_scope

    parts = []
    with session_scope() as session:
        for table in Base.metadata.sorted_tables:
            for row in session.execute(select(table)).all():
                parts.append(repr(tuple(row)))
    return "\n".join(parts)


def _files_text(root: Path, skip: Path) -> str:
    parts = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_relative_to(skip) and path.stat().st_size < 5_000_000:
            parts.append(path.read_bytes().decode("latin-1"))
    return "\n".join(parts)


def test_openai_labelling_never_leaks_the_key(studio: Studio) -> None:
    c = studio.client
    eid = ensure_extraction(studio)["extraction_id"]
    key = f"sk-service-{uuid.uuid4().hex}-SECRET"
    mode = {"reply": "good"}

    def respond(method: str, path: str, body: Any) -> Reply:
        if mode["reply"] == "echo-401":  # as OpenAI does: the refusal quotes the key
            return Reply(401, {"error": {"message": f"Incorrect API key provided: {key}"}})
        return Reply(body=openai_body(GOOD))

    with ScriptedServer(respond) as server:
        base = {
            "method": "openai",
            "model": "gpt-test",
            "base_url": f"{server.url}/v1",
            "api_key": key,
            "max_retries": 0,
            "concurrency": 2,
        }
        r = c.post(
            f"{API}/labeling",
            json={
                "extraction_id": eid,
                "config": base,
                "selection": {"indices": [0, 1, 2, 3, 4], "only_unlabelled": False},
            },
        )
        assert r.status_code == 202, r.text
        assert key not in r.text and r.json()["config"]["api_key_given"] is True
        good = r.json()
        job = studio.completed(good["job_id"])
        assert job["result"]["summary"]["labelled"] == 5
        sent = [q["headers"].get("Authorization") for q in server.requests]
        assert sent and set(sent) == {f"Bearer {key}"}  # the worker had the key

        mode["reply"] = "echo-401"
        r = c.post(
            f"{API}/labeling",
            json={
                "extraction_id": eid,
                "config": base,
                "selection": {"indices": [5], "only_unlabelled": False},
            },
        )
        failed = studio.wait_job(r.json()["job_id"])
        assert failed["status"] == "failed" and "401" in failed["error"], failed
        assert key not in failed["error"] and failed["resumable"]
        sealed = Path(studio.home) / "secrets" / f"{failed['id']}.key"
        assert sealed.exists()  # failed: kept for a retry
        assert key not in sealed.read_bytes().decode("latin-1")

        mode["reply"] = "good"  # the researcher fixed the key on the server side; retry
        assert c.post(f"{API}/jobs/{failed['id']}/retry").status_code == 200
        retried = studio.completed(failed["id"])
        assert retried["attempts"] == 2 and retried["result"]["summary"]["labelled"] == 1

    rows = features(studio, eid)["items"]
    assert {f["label"] for f in rows if f["index"] < 6} == {"zebra crossing words"}
    assert {f["label_model"] for f in rows if f["index"] < 6} == {"gpt-test"}
    found = features(studio, eid, q="zebra")
    assert {f["index"] for f in found["items"]} >= {0, 1, 2, 3, 4, 5}

    secrets_dir = Path(studio.home) / "secrets"
    for job_id in (good["job_id"], failed["id"]):  # completed: forgotten
        assert not (secrets_dir / f"{job_id}.key").exists()

    responses = [
        c.get(f"{API}/jobs/{job_id}{suffix}").text
        for job_id in (good["job_id"], failed["id"])
        for suffix in ("", "/events", "/log")
    ]
    responses += [
        c.get(f"{API}/jobs", params={"limit": 500}).text,
        c.get(f"{API}/labeling", params={"limit": 500}).text,
        c.get(f"{API}/labeling/{good['id']}").text,
        c.get(f"{API}/features", params={"extraction_id": eid, "limit": 64}).text,
    ]
    for text in responses:
        assert key not in text
    assert key not in _rows_text(studio)
    assert studio.worker.log_path.exists() and key not in studio.worker.log_path.read_text()
    assert key not in _files_text(Path(studio.home), skip=secrets_dir)
