"""Extract, then label, in one request: the extraction job queues the chosen labelling run when it
is ready (its id in the extraction's ``result.labeling``); filters and the activation threshold
travel in the config; progress events count the latents found so far; a key given for the
follow-up run reaches the labeller and never a row or a response."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.service.conftest import Studio
from tests.service.tiny_artifacts import API, ensure_extraction
from tests.unit.labeling_fixtures import Reply, ScriptedServer, openai_body

pytestmark = pytest.mark.service

GOOD = "[LABEL]: follow-up words\n[CATEGORY]: Lexical\n[CONFIDENCE]: 0.8\n[EXPLANATION]: x"
SMALL = {
    "n_tokens": 2000,
    "top_k": 8,
    "context_before": 4,
    "context_after": 2,
    "n_samples": 10,
    "n_random_contexts": 20,
    "coactivation_tokens": 512,
}


def _body(studio: Studio, **extra: Any) -> dict[str, Any]:
    base = ensure_extraction(studio)
    return {
        "sae_id": base["sae_id"],
        "model_id": base["model_id"],
        "tokenization_id": studio.cache["tokenization_id"],
        **extra,
    }


def test_extraction_queues_its_labelling_run(studio: Studio) -> None:
    c = studio.client
    config = SMALL | {"activation_threshold": 0.01, "exclude_tokens": ["w5", "w6"]}
    r = c.post(
        f"{API}/extractions",
        json=_body(studio, config=config, labeling={"config": {"method": "rules"}}),
    )
    assert r.status_code == 202, r.text
    planned = r.json()
    assert planned["result"]["labeling"] == {"method": "rules", "run_id": None}
    assert planned["config"]["exclude_tokens"] == ["w5", "w6"]
    job = studio.completed(planned["job_id"])
    run_id = job["result"]["labeling_id"]
    extraction = c.get(f"{API}/extractions/{planned['id']}").json()
    assert extraction["result"]["labeling"] == {"method": "rules", "run_id": run_id}
    assert extraction["result"]["n_tokens"] == 2000

    events = c.get(f"{API}/jobs/{planned['job_id']}/events").json()
    found = [
        e["data"]["metrics"]["features_found"]
        for e in events
        if e["type"] == "progress" and "features_found" in e["data"].get("metrics", {})
    ]
    assert found and found == sorted(found)
    page = c.get(f"{API}/features", params={"extraction_id": planned["id"], "limit": 500}).json()
    live = [f for f in page["items"] if f["frequency"]]
    assert found[-1] == len(live)

    run = c.get(f"{API}/labeling/{run_id}").json()
    assert run["extraction_id"] == planned["id"] and run["config"]["labeling"]["method"] == "rules"
    done = studio.completed(run["job_id"])
    assert done["result"]["summary"]["requested"] == len(live)
    page = c.get(f"{API}/features", params={"extraction_id": planned["id"], "limit": 500}).json()
    assert any(f["label_method"] == "rules" for f in page["items"])


def test_a_bad_follow_up_is_refused_before_anything_runs(studio: Studio) -> None:
    c = studio.client
    before = c.get(f"{API}/extractions", params={"limit": 200}).json()["total"]
    for labeling, words in (
        ({"config": {"method": "nope"}}, "nope"),
        ({"config": {"method": "openai"}}, "model name"),
        ({"config": {"method": "rules"}, "template_id": 999999}, "template"),
    ):
        r = c.post(f"{API}/extractions", json=_body(studio, config=SMALL, labeling=labeling))
        assert r.status_code in (404, 422) and words in r.json()["detail"], r.text
    bad = c.post(f"{API}/extractions", json=_body(studio, config=SMALL | {"exclude_tokens": [" "]}))
    assert bad.status_code == 422 and "empty word" in bad.json()["detail"]
    assert c.get(f"{API}/extractions", params={"limit": 200}).json()["total"] == before


def test_the_follow_up_key_reaches_the_labeller_only(studio: Studio) -> None:
    c = studio.client
    key = f"sk-follow-{uuid.uuid4().hex}-SECRET"
    with ScriptedServer(lambda m, p, b: Reply(body=openai_body(GOOD))) as server:
        labeling = {
            "config": {
                "method": "openai",
                "model": "gpt-test",
                "base_url": f"{server.url}/v1",
                "api_key": key,
                "max_retries": 0,
            },
            "selection": {"indices": [0, 1, 2]},
        }
        r = c.post(f"{API}/extractions", json=_body(studio, config=SMALL, labeling=labeling))
        assert r.status_code == 202, r.text
        assert key not in r.text
        job = studio.completed(r.json()["job_id"])
        assert key not in str(job)
        run = c.get(f"{API}/labeling/{job['result']['labeling_id']}").json()
        assert run["config"]["api_key_given"] is True and key not in str(run)
        done = studio.completed(run["job_id"])
        assert done["result"]["summary"]["labelled"] == 3
        sent = {q["headers"].get("Authorization") for q in server.requests}
        assert sent == {f"Bearer {key}"}
    secrets = Path(studio.home) / "secrets"
    for job_id in (job["id"], run["job_id"]):  # both completed: nothing sealed is left
        assert not list(secrets.glob(f"{job_id}.*"))
