"""``POST /labeling/estimate`` says how long a run takes beside what it costs, and on what basis:
rules are timed now on a sample, a server without past runs gets the typical rate."""

from __future__ import annotations

import pytest

from mistudio.core.labeling.time_estimate import TYPICAL_REMOTE_SECONDS
from tests.service.conftest import Studio
from tests.service.tiny_artifacts import API, ensure_extraction

pytestmark = pytest.mark.service


def test_labelling_time_estimate(studio: Studio) -> None:
    c = studio.client
    eid = ensure_extraction(studio)["extraction_id"]
    rules = c.post(f"{API}/labeling/estimate", json={"extraction_id": eid, "config": {}})
    assert rules.status_code == 200, rules.text
    body = rules.json()
    assert body["time"]["basis"] == "measured" and body["time"]["seconds"] > 0
    assert "ms per latent" in body["time"]["how"] and body["cost"] == 0

    remote = c.post(
        f"{API}/labeling/estimate",
        json={
            "extraction_id": eid,
            "config": {"method": "openai", "model": "never-run-model", "concurrency": 2},
            "selection": {"indices": [0, 1, 2, 3]},
        },
    )
    assert remote.status_code == 200, remote.text
    t = remote.json()["time"]
    assert t["basis"] == "typical" and "no past run" in t["how"]
    assert t["seconds"] == pytest.approx(remote.json()["requests"] * TYPICAL_REMOTE_SECONDS / 2)

    bad = c.post(f"{API}/labeling/estimate", json={"extraction_id": 999_999, "config": {}})
    assert bad.status_code == 404 and "\n" not in bad.json()["detail"]
