"""Long runs keep their whole chart: the metrics endpoint downsamples each series over the whole
run to a point budget (spikes and both ends kept) and pages raw rows without gaps, on SQLite
and PostgreSQL."""

from __future__ import annotations

import time
from collections import defaultdict

from sqlalchemy import insert

from tests.service.conftest import Studio

API = "/api/v1"
STEPS = 33_000
SAES = ("blocks.0", "blocks.1")
NAMES = ("loss", "l0")
SPIKE_STEP = 20_017


def _long_run(studio: Studio) -> int:
    """A training row with ~130k metric rows (2 SAEs x 2 metrics x 33k steps, every step
    logged; one planted loss spike), bulk-inserted at the store level."""
    from mistudio.store import Training, TrainingMetric, session_scope

    if "long_run" in studio.cache:
        return int(studio.cache["long_run"])
    with session_scope() as session:
        row = Training(name="long-run", status="completed", step=STEPS, total_steps=STEPS)
        session.add(row)
        session.flush()
        training_id = row.id
        rows = []
        for sae in SAES:
            for step in range(STEPS):
                loss = 10.0 / (1 + step / 1000)
                if sae == "blocks.1" and step == SPIKE_STEP:
                    loss = 1000.0
                rows.append(
                    {
                        "training_id": training_id,
                        "sae": sae,
                        "step": step,
                        "name": "loss",
                        "value": loss,
                    }
                )
                rows.append(
                    {
                        "training_id": training_id,
                        "sae": sae,
                        "step": step,
                        "name": "l0",
                        "value": 32.0 + (step % 7),
                    }
                )
        session.execute(insert(TrainingMetric), rows)
    studio.cache["long_run"] = training_id
    return training_id


def test_metrics_span_the_run_within_the_budget(studio: Studio) -> None:
    c = studio.client
    training_id = _long_run(studio)
    t0 = time.monotonic()
    r = c.get(f"{API}/trainings/{training_id}/metrics", params={"points": 500})
    elapsed = time.monotonic() - t0
    assert r.status_code == 200, r.text
    series: dict[tuple[str, str], list[tuple[int, float]]] = defaultdict(list)
    for p in r.json():
        series[(p["sae"], p["name"])].append((p["step"], p["value"]))
    assert set(series) == {(s, n) for s in SAES for n in NAMES}
    for key, points in series.items():
        steps = [s for s, _ in points]
        assert len(points) <= 500, (key, len(points))
        assert len(points) >= 400, (key, len(points))  # the budget is used, not wasted
        assert steps[0] == 0 and steps[-1] == STEPS - 1, key  # the whole run
        assert steps == sorted(steps)
        # no bucket is left empty: the gaps between kept steps stay small
        assert max(b - a for a, b in zip(steps, steps[1:], strict=False)) <= 2 * STEPS // 249
    assert (SPIKE_STEP, 1000.0) in series[("blocks.1", "loss")]  # the spike survives
    assert max(v for _, v in series[("blocks.0", "loss")]) == 10.0
    # the default budget, one series, and it was fast
    t0 = time.monotonic()
    r = c.get(f"{API}/trainings/{training_id}/metrics", params={"sae": "blocks.0", "name": "l0"})
    elapsed = max(elapsed, time.monotonic() - t0)
    points = r.json()
    assert 900 <= len(points) <= 1000 and {p["sae"] for p in points} == {"blocks.0"}
    assert points[-1]["step"] == STEPS - 1
    print(f"\n[{studio.backend}] downsampled {4 * STEPS} rows in {elapsed:.2f}s")
    assert elapsed < 5.0


def test_raw_pages_are_consecutive(studio: Studio) -> None:
    c = studio.client
    training_id = _long_run(studio)
    seen: list[tuple[int, str, str]] = []
    after = 29_000
    pages = 0
    while True:
        r = c.get(
            f"{API}/trainings/{training_id}/metrics",
            params={"after_step": after, "limit": 999},
        )
        assert r.status_code == 200, r.text
        page = r.json()
        if not page:
            break
        pages += 1
        assert len(page) <= 999
        assert len(page) % 4 == 0  # never ends inside a step (4 rows per step)
        seen += [(p["step"], p["sae"], p["name"]) for p in page]
        after = page[-1]["step"]
    assert pages > 10
    steps = sorted({s for s, _, _ in seen})
    assert steps == list(range(29_001, STEPS))
    assert len(seen) == len(set(seen)) == 4 * len(steps)
    # a page smaller than one step still makes progress (the step comes whole)
    r = c.get(f"{API}/trainings/{training_id}/metrics", params={"after_step": 5, "limit": 1})
    assert [p["step"] for p in r.json()] == [6, 6, 6, 6]
    bad = c.get(f"{API}/trainings/{training_id}/metrics", params={"points": 1})
    assert bad.status_code == 422
