"""Neuronpedia export through the service: a labelled, starred tiny extraction exported by the
``neuronpedia_export`` job, both forms downloaded streamed; the archive's ``features/<i>.json``
agrees with ``GET /features/{id}/detail``; bad requests are one-line refusals before any job."""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.service.conftest import Studio
from tests.service.tiny_artifacts import API, ensure_extraction, fresh_extraction

pytestmark = pytest.mark.service


def _features(studio: Studio, extraction_id: int) -> dict[int, dict[str, Any]]:
    r = studio.client.get(
        f"{API}/features",
        params={"extraction_id": extraction_id, "limit": 500, "include_example": False},
    )
    assert r.status_code == 200, r.text
    return {f["index"]: f for f in r.json()["items"]}


def _one_line_refusal(response: Any, status: int, *words: str) -> None:
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail and "Traceback" not in detail, detail
    for word in words:
        assert word in detail, detail


def _labelled(studio: Studio, extraction_id: int) -> dict[int, dict[str, Any]]:
    """Rules labels on the live latents, one hand label with control characters, one star."""
    c = studio.client
    if not studio.cache.get("export_labelled"):
        r = c.post(
            f"{API}/labeling", json={"extraction_id": extraction_id, "config": {"method": "rules"}}
        )
        assert r.status_code == 202, r.text
        studio.completed(r.json()["job_id"])
        studio.cache["export_labelled"] = True
    rows = _features(studio, extraction_id)
    live = sorted(i for i, f in rows.items() if f["frequency"])
    hand, star = live[0], live[1]
    r = c.patch(
        f"{API}/features/{rows[hand]['id']}",
        json={"label": "bell\x07 and\x1b escape", "description": "hand\x0bmade"},
    )
    assert r.status_code == 200, r.text
    if not rows[star]["starred"]:
        assert c.post(f"{API}/features/{rows[star]['id']}/star").status_code == 200
    rows = _features(studio, extraction_id)
    assert rows[star]["starred"]
    return rows


def _close(a: Any, b: Any, tol: float = 1e-5) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y, tol) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k], tol) for k in a)
    if isinstance(a, float) or isinstance(b, float):
        return abs(float(a) - float(b)) <= tol * max(1.0, abs(float(b)))
    return bool(a == b)


def test_export_job_downloads_agree_with_the_feature_pages(studio: Studio) -> None:
    c = studio.client
    eid = fresh_extraction(studio, "export_extraction")
    rows = _labelled(studio, eid)

    r = c.post(f"{API}/exports", json={"extraction_id": eid, "config": {"examples": 5}})
    assert r.status_code == 202, r.text
    export = r.json()
    assert export["config"]["source_set"] == "mistudio-res-64"
    job = studio.completed(export["job_id"])
    assert job["kind"] == "neuronpedia_export"
    export = c.get(f"{API}/exports/{export['id']}").json()
    assert export["status"] == "ready", export
    assert export["result"]["latents"] == 64
    assert export["result"]["source_id"] == "1-mistudio-res-64"
    listed = c.get(f"{API}/exports", params={"extraction_id": eid}).json()
    assert export["id"] in [e["id"] for e in listed["items"]]

    # The archive: each features/<i>.json holds what the feature page shows.
    r = c.get(f"{API}/exports/{export['id']}/download", params={"form": "archive"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    names = set(archive.namelist())
    assert {"metadata.json", "README.md", "explanations/explanations.json"} <= names
    assert {"saelens/cfg.json", "saelens/sae_weights.safetensors"} <= names
    assert {f"features/{i}.json" for i in range(64)} <= names
    meta = json.loads(archive.read("metadata.json"))
    assert meta["lineage"]["extraction_id"] == eid and meta["neuronpedia"]["model_id"]
    live = [i for i, f in rows.items() if f["frequency"]]
    for index in live[:6]:
        mine = json.loads(archive.read(f"features/{index}.json"))
        page = c.get(f"{API}/features/{rows[index]['id']}/detail", params={"examples": 5}).json()
        for key in ("stats", "examples", "histogram", "logit_lens", "correlated"):
            assert _close(mine[key], page[key]), (index, key, mine[key], page[key])
        if page["feature"]["label_status"] == "labelled":
            assert (
                mine["label"]["label"]
                == " ".join(
                    page["feature"]["label"].replace("\x07", " ").replace("\x1b", " ").split(" ")
                ).strip()
            )
        else:  # unclear or never labelled: no explanation
            assert mine["label"] is None
    hand = min(live)
    labels = {e["index"]: e for e in json.loads(archive.read("explanations/explanations.json"))}
    assert labels[hand]["label"] == "bell  and  escape"
    assert labels[hand]["method"] == "manual"

    # The bulk layout, zipped as it is sent.
    r = c.get(f"{API}/exports/{export['id']}/download", params={"form": "neuronpedia"})
    assert r.status_code == 200, r.text
    bulk = zipfile.ZipFile(io.BytesIO(r.content))
    base = "smollm2-135m/1-mistudio-res-64/"
    for name in ("release.jsonl", "model.jsonl", "sourceset.jsonl", "source.jsonl"):
        assert base + name in bulk.namelist()
    features = [
        json.loads(line)
        for line in gzip.decompress(bulk.read(base + "features/batch-0.jsonl.gz")).splitlines()
    ]
    assert [f["index"] for f in features] == [str(i) for i in range(64)]
    explanations = [
        json.loads(line)
        for line in gzip.decompress(bulk.read(base + "explanations/batch-0.jsonl.gz")).splitlines()
    ]
    by_index = {e["index"]: e for e in explanations}
    assert by_index[str(hand)]["description"] == "bell  and  escape"
    assert by_index[str(hand)]["typeName"] is None  # a hand-written label
    rules = [e for e in explanations if e["index"] != str(hand)]
    assert rules and all(e["typeName"] is None for e in rules)  # rules: not an LLM

    # A starred selection exports the starred latent only.
    r = c.post(f"{API}/exports", json={"extraction_id": eid, "config": {"latents": "starred"}})
    assert r.status_code == 202, r.text
    studio.completed(r.json()["job_id"])
    starred = c.get(f"{API}/exports/{r.json()['id']}").json()
    assert starred["result"]["latents"] == 1

    # Deleting removes the row and its files.
    folder = Path(export["path"])
    assert folder.is_dir()
    assert c.delete(f"{API}/exports/{export['id']}").status_code == 204
    assert not folder.exists()
    assert c.get(f"{API}/exports/{export['id']}").status_code == 404


def test_bad_export_requests_are_one_line_refusals(studio: Studio) -> None:
    from mistudio.store import Extraction, session_scope

    c = studio.client
    ext = ensure_extraction(studio)  # read only: the shared one will do
    eid = ext["extraction_id"]
    before = c.get(f"{API}/exports").json()["total"]

    def post(**config: Any) -> Any:
        return c.post(f"{API}/exports", json={"extraction_id": eid, "config": config})

    _one_line_refusal(post(latents="0-99"), 422, "latent 99 does not exist", "0..63")
    _one_line_refusal(post(latents="3,x"), 422, "'x'")
    _one_line_refusal(post(latents="9-2"), 422, "ends before it starts")
    _one_line_refusal(post(model_id="SmolLM2_135M"), 422, "Neuronpedia model id")
    _one_line_refusal(post(source_set="neurons"), 422, "source set")
    _one_line_refusal(post(source_set="res__4k"), 422, "source set")
    _one_line_refusal(post(explanation_type="mine"), 422, "explanation type")
    _one_line_refusal(
        c.post(f"{API}/exports", json={"extraction_id": 999_999}), 404, "no extraction"
    )

    # An extraction still running, or failed, is refused before any row is written.
    with session_scope() as session:
        made = []
        for status in ("pending", "failed"):
            row = Extraction(
                name=f"export-refusal-{status}",
                status=status,
                sae_id=ext["sae_id"],
                config={},
                result={},
                lineage={},
            )
            session.add(row)
            session.flush()
            made.append(row.id)
    try:
        for extraction_id, status in zip(made, ("pending", "failed"), strict=True):
            r = c.post(f"{API}/exports", json={"extraction_id": extraction_id})
            _one_line_refusal(r, 409, f"extraction {extraction_id} is {status}")
    finally:
        with session_scope() as session:
            for extraction_id in made:
                session.delete(session.get(Extraction, extraction_id))
    assert c.get(f"{API}/exports").json()["total"] == before


def test_upload_to_a_local_neuronpedia_keeps_the_key_out_of_every_row(studio: Studio) -> None:
    from tests.fake_neuronpedia import FakeNeuronpedia

    c = studio.client
    eid = fresh_extraction(studio, "export_extraction")
    r = c.post(f"{API}/exports", json={"extraction_id": eid, "config": {"examples": 3}})
    assert r.status_code == 202, r.text
    studio.completed(r.json()["job_id"])
    export = c.get(f"{API}/exports/{r.json()['id']}").json()
    live = {i for i, f in _features(studio, eid).items() if f["frequency"]}
    with FakeNeuronpedia() as fake:
        fake.add_source("smollm2-135m", "1-mistudio-res-64")
        url = fake.endpoint
        # Another instance than the configured one, without a key: refused before any job.
        _one_line_refusal(
            c.post(f"{API}/exports/{export['id']}/upload", json={"url": url}),
            422,
            "is not the configured Neuronpedia instance",
        )
        _one_line_refusal(
            c.post(
                f"{API}/exports/{export['id']}/upload",
                json={"url": "http://169.254.169.254", "api_key": "k"},
            ),
            422,
            "refused",
        )
        # A wrong key: the job fails in one line and the export says so.
        r = c.post(
            f"{API}/exports/{export['id']}/upload",
            json={"url": url, "api_key": "np-wrong-key-000"},
        )
        assert r.status_code == 202, r.text
        job = studio.wait_job(r.json()["upload"]["job_id"])
        assert job["status"] == "failed" and "API key" in job["error"], job["error"]
        assert c.get(f"{API}/exports/{export['id']}").json()["upload"]["status"] == "failed"
        # The right key: every live latent arrives once.
        r = c.post(
            f"{API}/exports/{export['id']}/upload", json={"url": url, "api_key": fake.api_key}
        )
        assert r.status_code == 202, r.text
        job = studio.completed(r.json()["upload"]["job_id"])
        stored = fake.features("smollm2-135m", "1-mistudio-res-64")
        assert set(stored) == live
        assert all(len(f["activations"]) >= 1 for f in stored.values())
        after = c.get(f"{API}/exports/{export['id']}").json()
        assert after["upload"]["status"] == "completed" and after["upload"]["url"] == url
    everything = json.dumps([after, job, c.get(f"{API}/jobs/{job['id']}/log").json()])
    assert fake.api_key not in everything and "np-wrong-key-000" not in everything
