"""Label history through the service (API + Celery worker, SQLite and PostgreSQL): a rules run,
a hand edit, then another run keeps the hand-edited label current and records every version; a
run with ``overwrite_manual`` replaces it; any version can be made current again (the feature
row, search and the export's source follow); the browser's best-scored view shows and sorts by
each latent's best version; bad ids get one-line 404/422 answers.

The test makes its own extraction (same tiny model, SAE and tokens as the other labelling tests),
so labels other tests wrote do not change what it counts.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.service.conftest import Studio
from tests.service.tiny_artifacts import API, fresh_extraction

pytestmark = pytest.mark.service


def _features(studio: Studio, eid: int, **params: Any) -> list[dict[str, Any]]:
    r = studio.client.get(
        f"{API}/features",
        params={"extraction_id": eid, "limit": 64, "include_example": False, **params},
    )
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def _history(studio: Studio, feature_id: int) -> list[dict[str, Any]]:
    r = studio.client.get(f"{API}/features/{feature_id}/labels")
    assert r.status_code == 200, r.text
    return list(r.json())


def _run(studio: Studio, eid: int, config: dict[str, Any], **selection: Any) -> dict[str, Any]:
    r = studio.client.post(
        f"{API}/labeling",
        json={"extraction_id": eid, "config": config, "selection": selection},
    )
    assert r.status_code == 202, r.text
    job = studio.completed(r.json()["job_id"])
    summary: dict[str, Any] = job["result"]["summary"]
    return summary


def test_history_keeps_hand_edits_and_reverts(studio: Studio) -> None:
    c = studio.client
    eid = fresh_extraction(studio, "label_history_extraction")
    rules = {"method": "rules", "score": True, "rules_min_share": 0.3}

    # 1. a scored rules run: one current version per live latent, from that run
    first = _run(studio, eid, rules)
    rows = {f["index"]: f for f in _features(studio, eid)}
    labelled = [f for f in rows.values() if f["label_status"] == "labelled"]
    assert len(labelled) >= 3, "the rules found too few patterns to test with"
    assert first["kept_manual"] == 0
    target, other = labelled[0], labelled[1]
    history = _history(studio, target["id"])
    assert len(history) == 1
    (v1,) = history
    assert v1["is_current"] and v1["source"] == "labeling" and v1["labeling_id"]
    assert (v1["label"], v1["method"], v1["template"]) == (target["label"], "rules", None)
    assert v1["detection_score"] == target["detection_score"]
    assert v1["score"] == pytest.approx(target["interpretability"])

    # 2. a hand edit: a new current version, no scores (the text changed)
    r = c.patch(
        f"{API}/features/{target['id']}",
        json={"label": "hand-written pattern", "category": "Mine"},
    )
    assert r.status_code == 200, r.text
    edited = r.json()
    assert (edited["label"], edited["label_method"]) == ("hand-written pattern", "manual")
    assert edited["detection_score"] is None
    assert edited["interpretability"] == edited["interpretability_proxy"]
    # a category-only edit keeps the scores of the same text
    r = c.patch(f"{API}/features/{other['id']}", json={"category": "Recategorised"})
    assert r.json()["detection_score"] == other["detection_score"]
    assert r.json()["label_method"] == "manual"

    # 3. another run over every latent: the hand-edited labels stay current, all recorded
    second = _run(studio, eid, rules, only_unlabelled=False)
    assert second["kept_manual"] == 2, second
    history = _history(studio, target["id"])
    assert [v["method"] for v in history] == ["rules", "manual", "rules"]  # newest first
    assert [v["is_current"] for v in history] == [False, True, False]
    assert history[0]["labeling_id"] != history[2]["labeling_id"]
    assert history[0]["created_at"] >= history[1]["created_at"] >= history[2]["created_at"]
    now = c.get(f"{API}/features/{target['id']}").json()
    assert (now["label"], now["label_method"]) == ("hand-written pattern", "manual")
    untouched = next(f for f in labelled if f["id"] not in (target["id"], other["id"]))
    history = _history(studio, untouched["id"])
    assert [v["is_current"] for v in history] == [True, False]
    jobs = c.get(f"{API}/labeling", params={"extraction_id": eid}).json()["items"]
    assert any(j["result"].get("kept_manual") == 2 for j in jobs)

    # 4. a one-latent relabel that asks to overwrite the hand edit
    r = c.post(
        f"{API}/features/{target['id']}/relabel",
        json={"config": {**rules, "overwrite_manual": True}},
    )
    assert r.status_code == 202, r.text
    job = studio.completed(r.json()["job_id"])
    assert job["result"]["summary"]["kept_manual"] == 0
    now = c.get(f"{API}/features/{target['id']}").json()
    assert (now["label"], now["label_method"]) == (target["label"], "rules")
    history = _history(studio, target["id"])
    assert len(history) == 4 and history[0]["is_current"]

    # 5. make the hand edit current again: the row, search and sorting follow it
    manual = next(v for v in history if v["method"] == "manual")
    r = c.post(f"{API}/features/{target['id']}/labels/{manual['id']}/current")
    assert r.status_code == 200, r.text
    assert (r.json()["label"], r.json()["category"]) == ("hand-written pattern", "Mine")
    assert r.json()["detection_score"] is None
    assert [v["id"] for v in _history(studio, target["id"]) if v["is_current"]] == [manual["id"]]
    found = _features(studio, eid, q="hand-written")
    assert [f["id"] for f in found] == [target["id"]]
    # ... and runs respect it again
    again = _run(studio, eid, rules, indices=[target["index"]], only_unlabelled=False)
    assert again["kept_manual"] == 1
    assert c.get(f"{API}/features/{target['id']}").json()["label"] == "hand-written pattern"

    # 6. best-scored view: the unscored hand edit shows its best scored version instead
    current = {f["id"]: f for f in _features(studio, eid)}
    best = {f["id"]: f for f in _features(studio, eid, label_view="best")}
    assert current[target["id"]]["label"] == "hand-written pattern"
    shown = best[target["id"]]
    assert shown["label"] == target["label"] and shown["label_method"] == "rules"
    history = _history(studio, target["id"])
    ties = [v for v in history if v["score"] == max(h["score"] or 0 for h in history)]
    assert shown["best_version_id"] == max(v["id"] for v in ties)  # ties: the newest
    assert shown["interpretability"] == pytest.approx(target["interpretability"])
    for fid, row in best.items():  # where the current label is its best, nothing changes
        if row["best_version_id"] is None:
            assert row["label"] == current[fid]["label"]
            assert current[fid]["best_version_id"] is None
    ranked = _features(studio, eid, label_view="best", sort="label_score", order="desc")
    scores = [
        (f["detection_score"] + f["fuzzing_score"]) / 2
        for f in ranked
        if f["detection_score"] is not None and f["fuzzing_score"] is not None
    ]
    assert scores == sorted(scores, reverse=True)
    assert target["id"] in [f["id"] for f in ranked[: len(scores)]]
    # the current view ranks the unscored hand edit after every scored latent
    plain = _features(studio, eid, sort="label_score", order="desc")
    assert plain.index(next(f for f in plain if f["id"] == target["id"])) >= len(scores) - 1

    # 7. bad ids: one line each, never a 500
    other_version = _history(studio, other["id"])[0]["id"]
    for url, code in [
        (f"{API}/features/{target['id']}/labels/{other_version}/current", 404),
        (f"{API}/features/{target['id']}/labels/99999999/current", 404),
        (f"{API}/features/99999999/labels/{manual['id']}/current", 404),
        (f"{API}/features/{target['id']}/labels/0/current", 422),
        (f"{API}/features/{target['id']}/labels/abc/current", 422),
    ]:
        r = c.post(url)
        assert r.status_code == code, (url, r.text)
        assert "\n" not in str(r.json()["detail"]) and "Traceback" not in r.text
    assert c.get(f"{API}/features/99999999/labels").status_code == 404
    assert c.get(f"{API}/features/0/labels").status_code == 422
    bad_view = c.get(f"{API}/features", params={"extraction_id": eid, "label_view": "worst"})
    assert bad_view.status_code == 422
