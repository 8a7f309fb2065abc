"""SAE evaluations through the API with a real worker, on SQLite and PostgreSQL/Redis: an eval
job on an imported tiny SAE (core metrics and the label summary: the tiny vocabulary has no
words for absorption and no offsets for probing), its metrics equal to core/lab run here on the
same held-out sequences, the stored result reused for the same config and run again when forced,
the compare table and both downloads, and the one-line refusals."""

from __future__ import annotations

import csv
import io

import pytest

from tests.service.conftest import Studio
from tests.service.tiny_artifacts import API, HOOK, ensure_extraction

pytestmark = pytest.mark.service

BODY = {"metrics": ["core", "labels"], "n_sequences": 6, "batch_size": 3, "n_resamples": 50}


def test_eval_job_reuse_compare_and_downloads(studio: Studio):
    from mistudio.core.data import Tokenization
    from mistudio.core.lab import EvalConfig, run_evals
    from mistudio.core.language_models import load_model
    from mistudio.core.sae.saelens_format import load_sae

    c = studio.client
    info = ensure_extraction(studio)
    sae_id = info["sae_id"]
    r = c.post(f"{API}/saes/{sae_id}/evals", json=BODY)
    assert r.status_code == 202, r.text
    queued = r.json()
    assert queued["status"] == "pending" and not queued["reused"]
    studio.completed(queued["job_id"])
    ev = c.get(f"{API}/evals/{queued['id']}").json()
    assert ev["status"] == "ready", ev
    m = ev["metrics"]
    assert {"l0", "fvu", "ce_loss_score", "kl_score", "dead_fraction", "shrinkage"} <= set(m)
    assert m["fvu"]["low"] <= m["fvu"]["value"] <= m["fvu"]["high"]
    assert "labels" in ev["details"]  # no labels on this extraction: said, not scored

    # the same numbers computed here from the same files
    sae_row = c.get(f"{API}/saes/{sae_id}").json()
    tok = c.get(f"{API}/tokenizations/{ev['config']['tokenization_id']}").json()
    loaded = load_model(str(studio.tiny_model_dir))
    config = EvalConfig.model_validate({k: v for k, v in BODY.items()} | {"metrics": ["core"]})
    here = run_evals(
        loaded, load_sae(sae_row["path"]), HOOK, config, Tokenization.open(tok["path"])
    )
    for name in ("l0", "fvu", "ce_loss_score", "kl_score", "dead_fraction"):
        assert m[name]["value"] == pytest.approx(here.metrics[name].value, rel=1e-5), name
        assert m[name]["low"] == pytest.approx(here.metrics[name].low, rel=1e-5), name

    again = c.post(f"{API}/saes/{sae_id}/evals", json=BODY)
    assert again.status_code == 200 and again.json()["reused"] and again.json()["id"] == ev["id"]
    forced = c.post(f"{API}/saes/{sae_id}/evals", json={**BODY, "force": True})
    assert forced.status_code == 202 and forced.json()["id"] == ev["id"]
    studio.completed(forced.json()["job_id"])
    many = c.post(f"{API}/lab/evals", json={**BODY, "sae_ids": [sae_id, sae_id]})
    assert many.status_code == 200, many.text  # stored: nothing queued
    assert many.json()["job_id"] is None and [e["id"] for e in many.json()["evals"]] == [ev["id"]]
    listed = c.get(f"{API}/saes/{sae_id}/evals").json()
    assert [e["id"] for e in listed] == [ev["id"]] and listed[0]["status"] == "ready"

    cmp = c.get(f"{API}/lab/compare", params={"model_id": info["model_id"], "hook_name": HOOK})
    assert cmp.status_code == 200, cmp.text
    point = next(p for p in cmp.json()["points"] if p["id"] == sae_id)
    assert point["eval_status"] == "ready"
    assert point["metrics"]["fvu"]["value"] == pytest.approx(m["fvu"]["value"])
    assert any(g["hook_name"] == HOOK for g in cmp.json()["groups"])

    r = c.get(f"{API}/evals/{ev['id']}/download", params={"form": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = {row["metric"]: row for row in csv.DictReader(io.StringIO(r.text))}
    assert float(rows["l0"]["value"]) == pytest.approx(m["l0"]["value"])
    r = c.get(
        f"{API}/lab/compare/download",
        params={"model_id": info["model_id"], "hook_name": HOOK, "form": "json"},
    )
    assert r.status_code == 200 and r.json()["points"]


def test_eval_refusals(studio: Studio):
    c = studio.client
    info = ensure_extraction(studio)
    r = c.post(f"{API}/saes/999999/evals", json=BODY)
    assert r.status_code == 404 and "SAE" in r.json()["detail"]
    r = c.post(f"{API}/saes/{info['sae_id']}/evals", json={"metrics": ["bogus"]})
    assert r.status_code == 422
    r = c.post(f"{API}/saes/{info['sae_id']}/evals", json={**BODY, "tokenization_id": 999999})
    assert r.status_code == 404 and "tokenization" in r.json()["detail"]
