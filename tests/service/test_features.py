"""Feature search, sort, filter and paging over 65,536 latents (rows inserted through the store),
checked against the same query done in Python, and timed."""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

import pytest

from tests.service.conftest import Studio

pytestmark = pytest.mark.service
API = "/api/v1"
N = 65_536
WORDS = ["alpha", "beta", "gamma", "delta", "river", "stone", "light", "music", "paper", "cloud"]
RARE = "pythonic"


def insert_synthetic_features(n: int = N, seed: int = 0) -> tuple[int, list[dict[str, Any]]]:
    """An SAE, an extraction and ``n`` feature rows; returns the extraction id and the rows."""
    from mistudio.store import Extraction, Feature, SAERow, session_scope
    from mistudio.store.features import analyze_features

    rng = random.Random(seed)
    with session_scope() as session:
        sae = SAERow(
            name="synthetic",
            status="ready",
            origin="imported",
            d_in=32,
            d_sae=n,
            cfg={},
            metrics={},
            lineage={},
        )
        session.add(sae)
        session.flush()
        extraction = Extraction(
            name="synthetic",
            status="ready",
            sae_id=sae.id,
            config={},
            result={},
            lineage={},
            n_features=n,
        )
        session.add(extraction)
        session.flush()
        sae_id, extraction_id = sae.id, extraction.id
    rows = []
    for i in range(n):
        label = f"{rng.choice(WORDS)} {rng.choice(WORDS)}"
        if i % 97 == 0:
            label += f" {RARE}"
        # Scored labels: none (i % 3 == 0), detection only (i % 5 == 0), or both.
        detection = None if i % 3 == 0 else rng.random()
        fuzzing = None if i % 3 == 0 or i % 5 == 0 else rng.random()
        rows.append(
            {
                "extraction_id": extraction_id,
                "sae_id": sae_id,
                "index": i,
                "frequency": rng.random(),
                "max_activation": rng.random() * 10,
                "mean_activation": rng.random(),
                "interpretability": None if i % 10 == 0 else rng.random(),
                "label": label,
                "description": f"fires on {rng.choice(WORDS)}",
                "top_tokens": " ".join(rng.choice(WORDS) for _ in range(3)),
                "detection_score": detection,
                "fuzzing_score": fuzzing,
                "starred": False,
            }
        )
    with session_scope() as session:
        for start in range(0, n, 8192):
            session.bulk_insert_mappings(Feature.__mapper__, rows[start : start + 8192])
    with session_scope() as session:
        analyze_features(session)  # as an extraction job does after its bulk insert
    return extraction_id, rows


def write_synthetic_examples(folder: Path, n: int, before: int = 32, after: int = 8) -> Path:
    """A minimal extraction folder (meta, tokenizer, ``n_top`` and the top-example arrays) whose
    latent ``i`` has one top example centred on token ``w{3 + i % 90}`` with value ``i % 7 + 1``."""
    import numpy as np

    from mistudio.core.features import ExtractionConfig
    from mistudio.core.features.result import ExtractionMeta
    from tests.unit.tiny_models import tiny_tokenizer

    (folder / "stats").mkdir(parents=True)
    tiny_tokenizer().save_pretrained(folder / "tokenizer")
    width = before + 1 + after
    rows = np.arange(n)
    tokens = np.broadcast_to(3 + (rows[:, None] + np.arange(width) - before) % 90, (n, width))
    np.save(folder / "top_tokens.npy", tokens.astype(np.int32)[:, None, :])
    acts = np.zeros((n, 1, width), dtype=np.float16)
    acts[:, 0, before] = rows % 7 + 1
    np.save(folder / "top_acts.npy", acts)
    np.save(folder / "top_values.npy", (rows % 7 + 1).astype(np.float32)[:, None])
    np.save(folder / "stats" / "n_top.npy", np.ones(n, dtype=np.int64))
    config = ExtractionConfig(top_k=1, context_before=before, context_after=after)
    meta = ExtractionMeta(
        sae_folder=None,
        sae_architecture="topk",
        d_in=32,
        d_sae=n,
        hook_name="blocks.0.hook_resid_post",
        hf_hook_name="model.layers.0",
        model_name="synthetic",
        model_path="",
        tokenization_folder="",
        tokenization_name="synthetic",
        tokenizer_fingerprint="",
        n_tokens=0,
        n_sequences=0,
        config=config,
        coactivation_tokens=0,
        coactivation_pairs=0,
        seconds=0.0,
    )
    (folder / "extraction.json").write_text(meta.model_dump_json())
    return folder


@pytest.mark.slow  # 65,536 rows on both backends: 45 s of the suite (make test-slow)
def test_feature_pages_over_65k(studio: Studio) -> None:
    c = studio.client
    t0 = time.perf_counter()
    extraction_id, rows = insert_synthetic_features()
    insert_s = time.perf_counter() - t0
    timings: dict[str, float] = {}

    def get(name: str, **params: Any) -> dict[str, Any]:
        t = time.perf_counter()
        r = c.get(f"{API}/features", params={"extraction_id": extraction_id, **params})
        timings[name] = time.perf_counter() - t
        assert r.status_code == 200, r.text
        return r.json()

    get("warm_up", limit=1)  # the first call compiles statements and warms SQLAlchemy's caches
    page = get("freq_desc", sort="frequency", order="desc", limit=50)
    expected = sorted(rows, key=lambda r: -r["frequency"])[:50]
    assert page["total"] == N
    assert [f["index"] for f in page["items"]] == [r["index"] for r in expected]

    page = get("maxact_asc_offset", sort="max_activation", order="asc", offset=1000, limit=25)
    expected = sorted(rows, key=lambda r: r["max_activation"])[1000:1025]
    assert [f["index"] for f in page["items"]] == [r["index"] for r in expected]

    page = get("interp_desc_last", sort="interpretability", order="desc", offset=N - 30, limit=30)
    assert all(f["interpretability"] is None for f in page["items"])  # unscored come last
    page = get("interp_asc", sort="interpretability", order="asc", limit=10)
    scored = sorted(
        (r for r in rows if r["interpretability"] is not None), key=lambda r: r["interpretability"]
    )
    assert [f["index"] for f in page["items"]] == [r["index"] for r in scored[:10]]

    # The label score ranks only scored labels: the mean of detection and fuzzing (either alone
    # when only one ran), unscored latents last whichever the order.
    def label_score(r: dict[str, Any]) -> float | None:
        present = [v for v in (r["detection_score"], r["fuzzing_score"]) if v is not None]
        return sum(present) / len(present) if present else None

    page = get("label_score_desc", sort="label_score", order="desc", limit=20)
    best = sorted(
        (r for r in rows if label_score(r) is not None), key=lambda r: -(label_score(r) or 0)
    )
    assert [f["index"] for f in page["items"]] == [r["index"] for r in best[:20]]
    for f, r in zip(page["items"], best, strict=False):
        present = [v for v in (f["detection_score"], f["fuzzing_score"]) if v is not None]
        assert sum(present) / len(present) == pytest.approx(label_score(r))
    page = get("label_score_asc_last", sort="label_score", order="asc", offset=N - 10, limit=10)
    assert all(f["detection_score"] is None for f in page["items"])

    page = get("search_sort", q=RARE, sort="max_activation", order="desc", limit=20)
    matching = [r for r in rows if RARE in r["label"]]
    assert page["total"] == len(matching)
    top = sorted(matching, key=lambda r: -r["max_activation"])[:20]
    assert [f["index"] for f in page["items"]] == [r["index"] for r in top]

    page = get("search_prefix_two_words", q="pyth riv", limit=500)
    both = [r for r in matching if "river" in f"{r['label']} {r['description']} {r['top_tokens']}"]
    assert page["total"] == len(both)

    page = get("search_index", q="4242", limit=10)
    assert [f["index"] for f in page["items"]] == [4242]

    feature_id = page["items"][0]["id"]
    r = c.post(f"{API}/features/{feature_id}/star")
    assert r.status_code == 200 and r.json()["starred"] is True
    r = c.patch(
        f"{API}/features/{feature_id}", json={"label": "zebra stripes", "category": "animals"}
    )
    assert r.json()["label"] == "zebra stripes"
    page = get("starred", starred=True)
    assert [f["index"] for f in page["items"]] == [4242]
    page = get("search_edited", q="zebra")
    assert [f["index"] for f in page["items"]] == [4242]  # the search index follows edits

    assert c.get(f"{API}/features", params={"extraction_id": 999_999}).status_code == 404
    assert (
        c.get(
            f"{API}/features", params={"extraction_id": extraction_id, "sort": "nope"}
        ).status_code
        == 422
    )
    # Example windows: give the extraction a folder of 65k latents' top examples and page it.
    folder = write_synthetic_examples(studio.home / "synthetic-extraction", N)
    from mistudio.store import Extraction, session_scope

    with session_scope() as session:
        extraction = session.get(Extraction, extraction_id)
        assert extraction is not None
        extraction.path = str(folder)
    get("examples_warm_up", sort="frequency", order="desc", limit=1)  # opens arrays, tokenizer
    page = get("examples_page", sort="frequency", order="desc", offset=30_000, limit=100)
    get(
        "no_examples_page",
        sort="frequency",
        order="desc",
        offset=30_000,
        limit=100,
        include_example=False,
    )
    for f in page["items"]:
        example = f["example"]
        assert len(example["tokens"]) == 16 and example["center"] == 10
        assert example["tokens"][10] == f"w{3 + f['index'] % 90}"
        assert example["value"] == pytest.approx(f["index"] % 7 + 1)
    slow = {k: round(v * 1000, 1) for k, v in timings.items() if v > 1.0 and "warm_up" not in k}
    print(
        f"\n[{studio.backend}] inserted {N} features in {insert_s:.1f}s; "
        f"request ms: { {k: round(v * 1000, 1) for k, v in timings.items()} }"
    )
    assert not slow, f"feature requests slower than 1 s: {slow}"
    r = c.delete(f"{API}/extractions/{extraction_id}")
    assert r.status_code == 204
    assert c.get(f"{API}/features/{feature_id}").status_code == 404  # rows cascade
