"""``GET /features`` range filters (frequency, max activation, label score, a labelling run's
latents) and ``GET /features/summary``, checked against the same selection done in Python over
the rows inserted, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from tests.service.conftest import Studio
from tests.service.test_features import insert_synthetic_features

pytestmark = pytest.mark.service
API = "/api/v1"
N = 3000


def _score(row: dict[str, Any]) -> float | None:
    d, f = row["detection_score"], row["fuzzing_score"]
    if d is None and f is None:
        return None
    return ((d if d is not None else f) + (f if f is not None else d)) / 2


def _indices(studio: Studio, **params: Any) -> list[int]:
    out: list[int] = []
    offset = 0
    while True:
        r = studio.client.get(
            f"{API}/features",
            params={"limit": 500, "offset": offset, "include_example": False, **params},
        )
        assert r.status_code == 200, r.text
        out += [f["index"] for f in r.json()["items"]]
        offset += 500
        if offset >= r.json()["total"]:
            return out


def _run_versions(extraction_id: int, picked: dict[int, float]) -> int:
    """A labelling run row and its label versions for latent index -> score."""
    from sqlalchemy import select

    from mistudio.store import Feature, LabelingJob, LabelVersion, session_scope

    with session_scope() as session:
        run = LabelingJob(
            name="run",
            status="ready",
            extraction_id=extraction_id,
            config={},
            result={},
            lineage={},
        )
        session.add(run)
        session.flush()
        ids = dict(
            session.execute(
                select(Feature.index, Feature.id).where(Feature.extraction_id == extraction_id)
            ).all()
        )
        for index, score in picked.items():
            session.add(
                LabelVersion(
                    feature_id=ids[index],
                    extraction_id=extraction_id,
                    label="x",
                    status="labelled",
                    method="rules",
                    score=score,
                    labeling_id=run.id,
                )
            )
        return run.id


def test_range_filters_and_summary(studio: Studio) -> None:
    eid, rows = insert_synthetic_features(N, seed=3)

    def expect(pred: Any) -> list[int]:
        return [r["index"] for r in rows if pred(r)]

    got = _indices(studio, extraction_id=eid, min_frequency=0.25, max_frequency=0.5)
    assert got == expect(lambda r: 0.25 <= r["frequency"] <= 0.5)
    got = _indices(studio, extraction_id=eid, min_max_activation=7.5, sort="max_activation")
    assert sorted(got) == expect(lambda r: r["max_activation"] >= 7.5)
    got = _indices(studio, extraction_id=eid, min_score=0.7, q="alpha")
    text = ("label", "description", "top_tokens")  # what the search reads
    want = expect(lambda r: (_score(r) or -1) >= 0.7 and any("alpha" in r[k].split() for k in text))
    assert got == want and want

    summary = studio.client.get(f"{API}/features/summary", params={"extraction_id": eid})
    assert summary.status_code == 200, summary.text
    s = summary.json()
    scores = [x for x in (_score(r) for r in rows) if x is not None]
    assert s["n"] == N and s["scored"] == len(scores)
    assert s["interpretable"] == sum(x >= 0.7 for x in scores) and s["interpretable_score"] == 0.7
    assert s["mean_frequency"] == pytest.approx(sum(r["frequency"] for r in rows) / N)
    assert s["mean_score"] == pytest.approx(sum(scores) / len(scores))
    narrowed = studio.client.get(
        f"{API}/features/summary", params={"extraction_id": eid, "max_frequency": 0.1}
    ).json()
    assert narrowed["n"] == len(expect(lambda r: r["frequency"] <= 0.1))

    run = _run_versions(eid, {5: 0.9, 17: 0.75, 40: 0.55, 41: 0.2, 99: None})
    assert _indices(studio, extraction_id=eid, labeling_id=run) == [5, 17, 40, 41, 99]
    # The score band applies to the run's own label, not the latent's current one.
    assert _indices(studio, extraction_id=eid, labeling_id=run, min_score=0.7) == [5, 17]
    band = {"labeling_id": run, "min_score": 0.5, "max_score": 0.7}
    assert _indices(studio, extraction_id=eid, **band) == [40]
    assert (
        studio.client.get(
            f"{API}/features/summary", params={"extraction_id": eid, "labeling_id": run}
        ).json()["n"]
        == 5
    )

    for params, words in [
        ({"min_frequency": 0.6, "max_frequency": 0.2}, "min_frequency (0.6) is above"),
        ({"min_score": 2}, "less than or equal to 1"),
        ({"max_max_activation": "nan"}, "finite"),
    ]:
        r = studio.client.get(f"{API}/features", params={"extraction_id": eid, **params})
        assert r.status_code == 422, r.text
        assert words in str(r.json()["detail"])
