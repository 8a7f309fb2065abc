"""Matching two SAEs through the API and a real worker: ``POST /lab/matchings``, its pairs
paged and sorted, CSV/JSON downloads, and bad input as one 4xx line with no row written."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
import torch

from mistudio.core.sae import SAEConfig, build_sae, save_sae
from tests.service.conftest import Studio
from tests.service.tiny_artifacts import API

pytestmark = pytest.mark.service

HOOK = "blocks.1.hook_resid_post"


def _import(studio: Studio, folder: Path) -> dict[str, Any]:
    r = studio.client.post(f"{API}/saes/import", json={"path": str(folder)})
    assert r.status_code in (200, 201, 202), r.text
    row = r.json()
    if row.get("job_id"):
        studio.completed(row["job_id"])
    return dict(studio.client.get(f"{API}/saes/{row['id']}").json())


def _pair(studio: Studio) -> tuple[int, int, torch.Tensor, int]:
    """SAE A (d_sae 48), SAE B holding A's latents permuted (plus 16 more), and an SAE of
    another width; ``studio.cache`` keeps them per backend."""
    if "matching_saes" in studio.cache:
        return studio.cache["matching_saes"]  # type: ignore[no-any-return]
    torch.manual_seed(0)
    a = build_sae(SAEConfig(architecture="topk", d_in=32, d_sae=48, k=4))
    b = build_sae(SAEConfig(architecture="jumprelu", d_in=32, d_sae=64))
    perm = torch.randperm(64)
    with torch.no_grad():
        rows = torch.cat([a.W_dec, torch.randn(16, 32)])
        b.W_dec.copy_(rows[perm])
    other = build_sae(SAEConfig(architecture="topk", d_in=16, d_sae=32, k=2))
    root = studio.data_dir / "matching"
    ids = [
        _import(studio, save_sae(s, root / n, metadata={"hook_name": HOOK}))["id"]
        for n, s in (("a", a), ("b", b), ("other", other))
    ]
    studio.cache["matching_saes"] = (ids[0], ids[1], perm, ids[2])
    return studio.cache["matching_saes"]  # type: ignore[no-any-return]


def test_matching_job_pairs_and_downloads(studio: Studio) -> None:
    a_id, b_id, perm, _ = _pair(studio)
    c = studio.client
    r = c.post(f"{API}/lab/matchings", json={"sae_a_id": a_id, "sae_b_id": b_id})
    assert r.status_code == 202, r.text
    studio.completed(r.json()["job_id"])
    row = c.get(f"{API}/lab/matchings/{r.json()['id']}").json()
    assert row["status"] == "ready"
    result = row["result"]
    assert result["n_a"] == 48 and result["n_b"] == 64 and result["share_matched"] == 1.0
    assert sum(result["histogram"]["counts"]) == 48
    mid = row["id"]

    page = c.get(f"{API}/lab/matchings/{mid}/pairs", params={"sort": "a", "limit": 10}).json()
    assert page["total"] == 48 and len(page["items"]) == 10
    where = torch.argsort(perm)  # B's row of A's latent i is where[i]
    assert [p["b"] for p in page["items"]] == where[:10].tolist()
    assert all(p["cosine"] > 0.9999 for p in page["items"])
    worst = c.get(f"{API}/lab/matchings/{mid}/pairs", params={"sort": "cosine", "limit": 1})
    assert worst.json()["items"][0]["cosine"] > 0.9999

    text = c.get(f"{API}/lab/matchings/{mid}/download", params={"form": "csv"}).text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 48 and rows[3]["b"] == str(int(where[3]))
    doc = c.get(f"{API}/lab/matchings/{mid}/download", params={"form": "json"}).json()
    assert doc["share_matched"] == 1.0 and len(doc["pairs"]) == 48 and doc["splits"] == []

    listed = c.get(f"{API}/lab/matchings", params={"sae_id": b_id}).json()
    assert mid in [m["id"] for m in listed["items"]]


def test_bad_matchings_are_one_line(studio: Studio) -> None:
    a_id, _, _, other_id = _pair(studio)
    c = studio.client
    before = c.get(f"{API}/lab/matchings").json()["total"]
    r = c.post(f"{API}/lab/matchings", json={"sae_a_id": a_id, "sae_b_id": other_id})
    assert r.status_code == 422
    assert "width 32" in r.json()["detail"] and "width 16" in r.json()["detail"]
    r = c.post(f"{API}/lab/matchings", json={"sae_a_id": a_id, "sae_b_id": 999_999})
    assert r.status_code == 404 and "\n" not in r.json()["detail"]
    r = c.post(
        f"{API}/lab/matchings",
        json={"sae_a_id": a_id, "sae_b_id": a_id, "config": {"candidates": 1}},
    )
    assert r.status_code == 422 and "candidates" in r.json()["detail"]
    assert c.get(f"{API}/lab/matchings").json()["total"] == before


def test_extracted_saes_correlate_on_shared_tokens(studio: Studio) -> None:
    """An SAE matched with itself on its own extraction's tokens: every pair is the latent and
    itself, so each activation correlation is 1 (or null for a latent that never fired)."""
    from tests.service.tiny_artifacts import ensure_extraction

    sae_id = ensure_extraction(studio)["sae_id"]
    c = studio.client
    r = c.post(
        f"{API}/lab/matchings",
        json={"sae_a_id": sae_id, "sae_b_id": sae_id, "config": {"correlation_tokens": 300}},
    )
    assert r.status_code == 202, r.text
    studio.completed(r.json()["job_id"])
    row = c.get(f"{API}/lab/matchings/{r.json()['id']}").json()
    corr = row["result"]["correlation"]
    assert corr["tokens"] == 300 and corr["pairs"] > 10 and abs(corr["mean"] - 1) < 1e-5
    items = c.get(f"{API}/lab/matchings/{row['id']}/pairs", params={"limit": 64}).json()["items"]
    assert all(p["a"] == p["b"] for p in items)
    assert all(p["act_corr"] is None or abs(p["act_corr"] - 1) < 1e-5 for p in items)
    # Without a shared extraction the summary says why.
    a_id, b_id, _, _ = _pair(studio)
    r = c.post(f"{API}/lab/matchings", json={"sae_a_id": a_id, "sae_b_id": b_id})
    studio.completed(r.json()["job_id"])
    skipped = c.get(f"{API}/lab/matchings/{r.json()['id']}").json()["result"]["correlation"]
    assert skipped["skipped"] == f"SAE {a_id} and SAE {b_id} not extracted"


def test_a_matched_sae_is_deleted_after_its_matchings(studio: Studio) -> None:
    _, _, _, other_id = _pair(studio)
    c = studio.client
    r = c.post(f"{API}/lab/matchings", json={"sae_a_id": other_id, "sae_b_id": other_id})
    studio.completed(r.json()["job_id"])
    mid = r.json()["id"]
    refused = c.delete(f"{API}/saes/{other_id}")
    assert refused.status_code == 409 and "matchings" in refused.json()["detail"]
    assert c.delete(f"{API}/lab/matchings/{mid}").status_code == 204
    assert c.get(f"{API}/lab/matchings/{mid}").status_code == 404
    assert c.delete(f"{API}/saes/{other_id}").status_code == 204
    studio.cache.pop("matching_saes")  # the trio is incomplete now
