"""Linguistic analysis through the API on SQLite and PostgreSQL/Redis: the job on a fresh tiny
extraction (a real Celery worker, spaCy's real pipeline), its summary per latent equal to what
the folder holds, its columns in the feature list with the category and share filters checked
against the same selection in Python, and the one-line errors (not ready, twice at once, not yet
analysed, a pipeline that is not installed)."""

from __future__ import annotations

import pytest

from tests.service.conftest import Studio
from tests.service.tiny_artifacts import API, fresh_extraction

pytestmark = pytest.mark.service
pytest.importorskip("spacy")


def _all_features(studio: Studio, extraction_id: int, **params) -> list[dict]:
    r = studio.client.get(
        f"{API}/features",
        params={"extraction_id": extraction_id, "limit": 500, "include_example": False, **params},
    )
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_analysis_job_summaries_and_filters(studio: Studio):
    from mistudio.core.linguistics import Linguistics

    c = studio.client
    extraction_id = fresh_extraction(studio, "linguistics")
    feature = _all_features(studio, extraction_id)[0]
    r = c.get(f"{API}/features/{feature['id']}/linguistics")
    assert r.status_code == 404 and "no linguistic analysis yet" in r.json()["detail"]

    r = c.post(f"{API}/extractions/{extraction_id}/linguistics", json={"spacy_pipeline": "xx_no"})
    assert r.status_code == 422 and "pip install mistudio[nlp]" in r.json()["detail"]

    r = c.post(f"{API}/extractions/{extraction_id}/linguistics", json={"examples_per_latent": 5})
    assert r.status_code == 202, r.text
    started = r.json()
    assert started["pipeline"].startswith("en_core_web_sm")
    again = c.post(f"{API}/extractions/{extraction_id}/linguistics", json={})
    if again.status_code == 409:  # the first may already be done on a fast machine
        assert "linguistic analysis of this extraction is" in again.json()["detail"]
        job = studio.completed(started["job_id"])
    else:
        assert again.status_code == 202, again.text
        job = studio.completed(again.json()["job_id"])
    assert job["result"]["n_windows"] > 0

    extraction = c.get(f"{API}/extractions/{extraction_id}").json()
    ling_result = extraction["result"]["linguistics"]
    assert ling_result["ready"] and ling_result["seconds"] > 0
    assert ling_result["extraction_seconds"] > 0

    folder = Linguistics.open(extraction["path"])
    rows = _all_features(studio, extraction_id)
    live = [row for row in rows if row["ling_summary"] != "no activating examples"]
    assert live, "no latent fired in the tiny extraction"
    for row in rows:
        s = folder.summary(row["index"])
        assert (row["ling_category"], row["ling_summary"]) == (s.top_category, s.text)
        if s.n_examples:
            assert row["ling_share"] == pytest.approx(s.top_share)
    one = live[0]
    r = c.get(f"{API}/features/{one['id']}/linguistics")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["text"] == one["ling_summary"] and body["pipeline"].startswith("en_core_web_sm")
    assert 0 < body["n_examples"] <= 5
    assert sum(body["categories"].values()) == pytest.approx(1.0, abs=1e-3)

    # Filters: the dominant category, a share range, both; sorted by share.
    category = one["ling_category"]
    got = {f["index"] for f in _all_features(studio, extraction_id, ling_category=category)}
    assert got == {row["index"] for row in rows if row["ling_category"] == category}
    got = {
        f["index"]
        for f in _all_features(
            studio, extraction_id, ling_category=category, min_ling_share=0.5, max_ling_share=0.9
        )
    }
    assert got == {
        row["index"]
        for row in rows
        if row["ling_category"] == category
        and row["ling_share"] is not None
        and 0.5 <= row["ling_share"] <= 0.9
    }
    shares = [
        f["ling_share"]
        for f in _all_features(studio, extraction_id, sort="ling_share", order="desc")
        if f["ling_share"] is not None
    ]
    assert shares == sorted(shares, reverse=True)
    r = c.get(
        f"{API}/features",
        params={"extraction_id": extraction_id, "min_ling_share": 0.8, "max_ling_share": 0.2},
    )
    assert r.status_code == 422 and "min_ling_share" in r.json()["detail"]


def test_analysis_needs_a_ready_extraction(studio: Studio):
    r = studio.client.post(f"{API}/extractions/999999/linguistics", json={})
    assert r.status_code == 404 and "extraction" in r.json()["detail"]
