"""Feature ablation (synchronous, in the API process) and the example window of list rows, on a
ready tiny extraction."""

from __future__ import annotations

import math
import time

import pytest

from tests.service.conftest import Studio
from tests.service.tiny_artifacts import API, ensure_extraction

pytestmark = pytest.mark.service


def _top_feature(studio: Studio, extraction_id: int) -> dict:
    page = studio.client.get(
        f"{API}/features",
        params={"extraction_id": extraction_id, "sort": "max_activation", "order": "desc"},
    ).json()
    return page["items"][0]


def test_ablation_of_a_feature(studio: Studio) -> None:
    c = studio.client
    ext = ensure_extraction(studio)
    feature = _top_feature(studio, ext["extraction_id"])
    url = f"{API}/features/{feature['id']}/ablation"

    r = c.post(url, json={"coefficient": 0.0, "prompt": "w5 w6 w7", "max_new_tokens": 5})
    assert r.status_code == 200, r.text
    none = r.json()
    assert none["delta_loss"] == 0.0 and none["loss_clean"] == none["loss_ablated"]
    assert none["completion"]["clean"] == none["completion"]["ablated"]
    assert all(s["delta"] == 0.0 for s in none["most_decreased"] + none["most_increased"])

    r = c.post(url, json={"prompt": "w5 w6 w7", "max_new_tokens": 5, "n_examples": 4})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["index"] == feature["index"] and out["coefficient"] == 1.0
    assert 1 <= out["n_examples"] <= 4 and out["n_tokens"] > 0
    for key in ("loss_clean", "loss_ablated", "delta_loss", "perplexity_clean"):
        assert math.isfinite(out[key]), key
    assert out["delta_loss"] == pytest.approx(out["loss_ablated"] - out["loss_clean"])
    assert len(out["most_decreased"]) == 10 and isinstance(out["most_decreased"][0]["token"], str)
    completion = out["completion"]
    assert completion["prompt"] == "w5 w6 w7"
    assert isinstance(completion["clean"], str) and isinstance(completion["ablated"], str)
    assert completion["clean"]

    r = c.post(url, json={})  # no prompt: no completions
    assert r.status_code == 200 and r.json()["completion"] is None

    assert c.post(f"{API}/features/999999999/ablation", json={}).status_code == 404
    for bad in ({"max_new_tokens": 0}, {"n_examples": 1000}, {"coefficient": "x"}):
        assert c.post(url, json=bad).status_code == 422, bad


def test_list_rows_carry_their_top_example(studio: Studio) -> None:
    c = studio.client
    ext = ensure_extraction(studio)
    params = {"extraction_id": ext["extraction_id"], "sort": "max_activation", "order": "desc"}
    c.get(f"{API}/features", params=params)  # warm: opens the arrays and the tokenizer
    t = time.perf_counter()
    page = c.get(f"{API}/features", params={**params, "limit": 100}).json()
    with_examples_s = time.perf_counter() - t
    rows = [f for f in page["items"] if f["max_activation"]]
    assert rows
    for f in rows:
        example = f["example"]
        assert example is not None, f
        assert 0 < len(example["tokens"]) <= 16
        assert all(isinstance(tok, str) for tok in example["tokens"])
        assert len(example["acts"]) == len(example["tokens"])
        assert 0 <= example["center"] < len(example["tokens"])
        assert example["value"] == pytest.approx(f["max_activation"], rel=1e-3)
        assert example["acts"][example["center"]] == pytest.approx(example["value"], rel=1e-2)
    t = time.perf_counter()
    plain = c.get(f"{API}/features", params={**params, "limit": 100, "include_example": False})
    plain_s = time.perf_counter() - t
    assert all(f["example"] is None for f in plain.json()["items"])
    print(
        f"\n[{studio.backend}] list page ms: {with_examples_s * 1000:.1f} with examples, "
        f"{plain_s * 1000:.1f} without"
    )
    assert with_examples_s < 1.0
