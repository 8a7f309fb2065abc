"""Steering through the service: a five-strength sweep on the tiny model is one job with five
steered continuations per prompt, saved as a ``steering_runs`` row and a JSON export."""

from __future__ import annotations

from typing import Any

import pytest

from tests.service.conftest import Studio
from tests.service.tiny_artifacts import API, ensure_extraction

pytestmark = pytest.mark.service
STRENGTHS = [0.0, 1.0, 2.0, 4.0, 8.0]


def test_strength_sweep_is_one_job_with_an_export(studio: Studio) -> None:
    c = studio.client
    ext = ensure_extraction(studio)
    page = c.get(
        f"{API}/features",
        params={"extraction_id": ext["extraction_id"], "sort": "max_activation", "order": "desc"},
    ).json()
    feature = page["items"][0]
    body: dict[str, Any] = {
        "prompts": ["w5 w6 w7 w8", "w40 w41"],
        "features": [
            {"sae_id": ext["sae_id"], "index": feature["index"], "mode": "add", "relative": True}
        ],
        "generation": {"max_new_tokens": 6, "temperature": 0.0},
        "strengths": STRENGTHS,
        "similarity": "jaccard",
    }

    bad = dict(body, features=[{"sae_id": ext["sae_id"], "index": 64}])
    r = c.post(f"{API}/steering", json=bad)
    assert r.status_code == 422 and "feature 64" in r.json()["detail"], r.text
    assert (
        c.post(
            f"{API}/steering", json=dict(body, features=[{"sae_id": 9999, "index": 0}])
        ).status_code
        == 404
    )

    r = c.post(f"{API}/steering", json=body)
    assert r.status_code == 202, r.text
    run = r.json()
    (iv,) = run["config"]["interventions"]
    assert iv["max_act"] == pytest.approx(feature["max_activation"])  # relative to the extraction
    job = studio.completed(run["job_id"])
    assert job["kind"] == "steer" and job["queue"] == "gpu"
    assert job["result"]["n_strengths"] == 5 and job["result"]["n_prompts"] == 2

    run = c.get(f"{API}/steering/{run['id']}").json()
    assert run["status"] == "ready"
    for prompt in run["result"]["prompts"]:
        steered = prompt["steered"]
        assert [s["strength"] for s in steered] == STRENGTHS
        assert steered[0]["token_ids"] == prompt["baseline"]["token_ids"]  # zero is the baseline
        assert steered[0]["metrics"]["kl_mean"] == pytest.approx(0.0, abs=1e-6)
        values = [s["values"][0] for s in steered]
        assert values == pytest.approx([s * feature["max_activation"] for s in STRENGTHS])
        assert all(s["metrics"]["similarity_method"] == "token_jaccard" for s in steered)

    export = c.get(f"{API}/steering/{run['id']}/export")
    assert export.status_code == 200
    assert "attachment" in export.headers["content-disposition"]
    from mistudio.core.steering import SteeringRun

    saved = SteeringRun.model_validate_json(export.content)
    assert len(saved.prompts) == 2 and len(saved.prompts[0].steered) == 5
    assert saved.saes[0].name == str(ext["sae_id"])

    history = c.get(f"{API}/steering", params={"sae_id": ext["sae_id"]}).json()
    assert run["id"] in [h["id"] for h in history["items"]]
    assert "result" not in history["items"][0]  # history rows leave the outputs out
