"""The researcher's pipeline through the API with a real worker: import, tokenize, cache, train;
live events over the WebSocket; cancel; a worker killed mid-job; retry resumes."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.service.conftest import Studio

pytestmark = pytest.mark.service
API = "/api/v1"
HOOK = "blocks.1.hook_resid_post"


def train_body(
    studio: Studio,
    total_tokens: int,
    *,
    d_in: int = 32,
    cache: bool = True,
    checkpoint_every: int | None = None,
    name: str = "t",
) -> dict[str, Any]:
    return {
        "model_id": studio.cache["model_id"],
        "tokenization_id": studio.cache["tokenization_id"],
        "activation_cache_id": studio.cache.get("activation_cache_id") if cache else None,
        "name": name,
        "train": {
            "saes": [
                {
                    "hook_name": HOOK,
                    "sae": {"architecture": "topk", "d_in": d_in, "d_sae": 64, "k": 4},
                }
            ],
            "total_tokens": total_tokens,
            "batch_tokens": 128,
            "log_every": 5,
            "init_batches": 2,
            "checkpoint_every": checkpoint_every,
            "final_eval_tokens": 512,
            "threads": 1,
        },
        "run": {"buffer_tokens": 1024, "eval_sequences": 4, "eval_splice": False},
    }


def test_import_tokenize_cache_train(studio: Studio) -> None:
    c = studio.client
    # datasets: a local jsonl and the built-in kjv (a few verses)
    r = c.post(
        f"{API}/datasets",
        json={"source": {"kind": "local", "path": str(studio.data_dir / "tiny.jsonl")}},
    )
    assert r.status_code == 202, r.text
    local = r.json()
    r = c.post(
        f"{API}/datasets",
        json={"source": {"kind": "builtin", "builtin": "kjv", "max_documents": 40}},
    )
    assert r.status_code == 202, r.text
    kjv = r.json()
    assert kjv["builtin"] is True  # the available built-in row is the one filled
    r = c.post(f"{API}/models", json={"source": str(studio.tiny_model_dir), "name": "tiny"})
    assert r.status_code == 202, r.text
    model = r.json()
    for job_id in (local["job_id"], kjv["job_id"], model["job_id"]):
        studio.completed(job_id)
    local = c.get(f"{API}/datasets/{local['id']}").json()
    assert local["status"] == "ready" and local["n_documents"] == 300
    kjv = c.get(f"{API}/datasets/{kjv['id']}").json()
    assert kjv["status"] == "ready" and kjv["n_documents"] == 40
    samples = c.get(f"{API}/datasets/{kjv['id']}/samples", params={"limit": 2}).json()
    assert len(samples) == 2 and "God" in samples[0]["text"] + samples[1]["text"]
    model = c.get(f"{API}/models/{model['id']}").json()
    assert model["status"] == "ready" and model["hook_dims"][HOOK] == 32
    assert model["tokenizer_fingerprint"]

    r = c.post(
        f"{API}/tokenizations",
        json={
            "dataset_id": local["id"],
            "model_id": model["id"],
            "config": {"max_length": 32, "stride": 16},
        },
    )
    assert r.status_code == 202, r.text
    tok = r.json()
    studio.completed(tok["job_id"])
    tok = c.get(f"{API}/tokenizations/{tok['id']}").json()
    assert tok["status"] == "ready" and tok["n_sequences"] > 100
    assert tok["tokenizer_fingerprint"] == model["tokenizer_fingerprint"]
    assert tok["lineage"]["dataset_id"] == local["id"]
    studio.cache.update(
        model_id=model["id"], tokenization_id=tok["id"], dataset_id=local["id"], kjv_id=kjv["id"]
    )

    # requests that do not fit are refused before anything is queued
    bad_hook = {
        "model_id": model["id"],
        "tokenization_id": tok["id"],
        "stream": {"hook_points": ["blocks.99.hook_resid_post"]},
    }
    r = c.post(f"{API}/activations", json=bad_hook)
    assert r.status_code == 422 and "blocks.99.hook_resid_post" in r.json()["detail"]
    r = c.post(f"{API}/trainings", json=train_body(studio, 2048, d_in=48, cache=False))
    assert r.status_code == 422 and "d_in 48" in r.json()["detail"], r.text
    # a tokenization with no more sequences than the run holds out for evaluation (issue 18)
    held_out = train_body(studio, 2048, cache=False)
    held_out["run"]["eval_sequences"] = tok["n_sequences"]
    r = c.post(f"{API}/trainings", json=held_out)
    assert r.status_code == 422, r.text
    assert f"has {tok['n_sequences']:,} sequences" in r.json()["detail"]
    assert f"holds out {tok['n_sequences']:,}" in r.json()["detail"]
    r = c.post(f"{API}/tokenizations", json={"dataset_id": 10_000, "model_id": model["id"]})
    assert r.status_code == 404

    r = c.post(
        f"{API}/activations",
        json={
            "model_id": model["id"],
            "tokenization_id": tok["id"],
            "stream": {"hook_points": [HOOK], "max_tokens": 4000},
            "shard_tokens": 1024,
        },
    )
    assert r.status_code == 202, r.text
    cache = r.json()
    studio.completed(cache["job_id"])
    cache = c.get(f"{API}/activations/{cache['id']}").json()
    assert cache["status"] == "ready" and cache["n_tokens"] == 4000
    studio.cache["activation_cache_id"] = cache["id"]

    r = c.post(f"{API}/trainings", json=train_body(studio, 128 * 40, name="tiny-run"))
    assert r.status_code == 202, r.text
    training = r.json()
    job = studio.completed(training["job_id"])
    training = c.get(f"{API}/trainings/{training['id']}").json()
    assert training["status"] == "ready" and training["step"] == 40
    assert training["result"]["sae_ids"], training
    metrics = c.get(f"{API}/trainings/{training['id']}/metrics").json()
    assert metrics and "l0" in {m["name"] for m in metrics}, metrics[:3]
    sae = c.get(f"{API}/saes/{training['result']['sae_ids'][0]}").json()
    assert sae["origin"] == "trained" and sae["d_in"] == 32 and sae["d_sae"] == 64
    assert sae["lineage"]["training_id"] == training["id"]
    assert job["result"]["steps"] == 40

    # extraction: one row per latent, paged/sorted/searched through /features
    extraction_config = {
        "n_tokens": 2000,
        "top_k": 5,
        "context_before": 4,
        "context_after": 2,
        "n_samples": 5,
        "n_random_contexts": 10,
        "coactivation_tokens": 512,
    }
    r = c.post(
        f"{API}/extractions",
        json={
            "sae_id": sae["id"],
            "model_id": model["id"],
            "tokenization_id": tok["id"],
            "config": extraction_config,
        },
    )
    assert r.status_code == 202, r.text
    extraction = r.json()
    studio.completed(extraction["job_id"])
    extraction = c.get(f"{API}/extractions/{extraction['id']}").json()
    assert extraction["status"] == "ready" and extraction["n_features"] == 64
    page = c.get(
        f"{API}/features",
        params={
            "extraction_id": extraction["id"],
            "sort": "frequency",
            "order": "desc",
            "limit": 64,
        },
    ).json()
    assert page["total"] == 64
    freqs = [f["frequency"] for f in page["items"]]
    assert freqs == sorted(freqs, reverse=True)
    busiest = page["items"][0]
    assert busiest["top_tokens"]
    word = busiest["top_tokens"].split()[0]
    found = c.get(
        f"{API}/features", params={"extraction_id": extraction["id"], "q": word, "limit": 64}
    ).json()
    assert busiest["index"] in [f["index"] for f in found["items"]]
    detail = c.get(f"{API}/features/{busiest['id']}/detail", params={"examples": 3}).json()
    assert detail["stats"]["index"] == busiest["index"] and len(detail["examples"]) <= 3
    assert detail["examples"] and detail["examples"][0]["tokens"]
    r = c.post(
        f"{API}/extractions",
        json={"sae_id": sae["id"], "model_id": model["id"], "tokenization_id": 999_999},
    )
    assert r.status_code == 404
    assert c.delete(f"{API}/saes/{sae['id']}").status_code == 409  # it has an extraction

    # deleting what others depend on is refused, with nothing deleted
    r = c.delete(f"{API}/datasets/{local['id']}")
    assert r.status_code == 409
    assert c.get(f"{API}/datasets/{local['id']}").json()["status"] == "ready"
    # Every row pointing at an artifact blocks its delete (read from the schema's foreign keys):
    # the model is used by the SAE and the extraction, the tokenization by the extraction. Both
    # used to pass their hand-written checks and then fail in the database, the tokenization's
    # folder already deleted.
    r = c.delete(f"{API}/models/{model['id']}")
    assert r.status_code == 409, r.text
    assert "saes" in r.json()["detail"] and "extractions" in r.json()["detail"]
    r = c.delete(f"{API}/tokenizations/{tok['id']}")
    assert r.status_code == 409, r.text
    assert f"extractions [{extraction['id']}]" in r.json()["detail"]
    tok_after = c.get(f"{API}/tokenizations/{tok['id']}").json()
    assert tok_after["status"] == "ready" and Path(tok_after["path"]).exists()


def _events_until_done(ws: Any, job_id: str, timeout: float = 60) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = ws.receive_json()
        if message.get("job_id") != job_id:
            continue
        events.append(message)
        if message["type"] == "status" and message["data"]["status"] in (
            "completed",
            "failed",
            "cancelled",
        ):
            return events
    raise AssertionError(f"no final status; got {events[-3:]}")


def test_websocket_progress_in_order(studio: Studio) -> None:
    c = studio.client
    if "tokenization_id" not in studio.cache:
        pytest.skip("needs the pipeline test's artifacts")
    r = c.post(
        f"{API}/tokenizations",
        json={
            "dataset_id": studio.cache["dataset_id"],
            "model_id": studio.cache["model_id"],
            "config": {"max_length": 16, "stride": 8, "batch_documents": 10},
        },
    )
    assert r.status_code == 202, r.text
    job_id = r.json()["job_id"]
    with c.websocket_connect(f"{API}/ws") as ws:
        ws.send_json({"action": "subscribe", "channel": f"jobs/{job_id}", "after": 0})
        events = _events_until_done(ws, job_id)
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(1, len(seqs) + 1)), seqs
    progress = [e["data"]["progress"] for e in events if e["type"] == "progress"]
    assert progress and progress == sorted(progress)
    assert events[-1]["data"]["status"] == "completed", events[-1]
    # a reconnecting client that saw seq 2 gets 3.. and nothing twice
    with c.websocket_connect(f"{API}/ws") as ws:
        ws.send_json({"action": "subscribe", "channel": f"jobs/{job_id}", "after": 2})
        again = []
        while True:
            message = ws.receive_json()
            if message.get("type") == "subscribed":
                break
            again.append(message["seq"])
    assert again == seqs[2:]
    polled = c.get(f"{API}/jobs/{job_id}/events", params={"after": 2}).json()
    assert [e["seq"] for e in polled] == seqs[2:]


def test_cancel_running_training(studio: Studio) -> None:
    c = studio.client
    if "activation_cache_id" not in studio.cache:
        pytest.skip("needs the pipeline test's artifacts")
    r = c.post(f"{API}/trainings", json=train_body(studio, 128 * 200_000, name="to-cancel"))
    assert r.status_code == 202, r.text
    job_id = r.json()["job_id"]
    studio.wait_job(job_id, until=lambda j: j["status"] == "running" and j["progress"] > 0)
    # the worker runs one job at a time: a second one waits queued and is cancelled at once
    r = c.post(f"{API}/trainings", json=train_body(studio, 128 * 100, name="queued"))
    queued = r.json()
    r = c.post(f"{API}/jobs/{queued['job_id']}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled", r.json()
    assert c.get(f"{API}/trainings/{queued['id']}").json()["status"] == "cancelled"
    r = c.post(f"{API}/jobs/{job_id}/cancel")
    assert r.status_code == 200 and r.json()["cancel_requested"]
    job = studio.wait_job(job_id, timeout=60)
    assert job["status"] == "cancelled" and job["resumable"]
    assert c.post(f"{API}/jobs/{job_id}/cancel").status_code == 409


def test_worker_killed_mid_training_fails_over(studio: Studio) -> None:
    """SIGKILL the worker mid-training and start another: the reaper (or the new worker's) queues
    the job again by itself, and the second worker resumes it from the last checkpoint."""
    c = studio.client
    if "activation_cache_id" not in studio.cache:
        pytest.skip("needs the pipeline test's artifacts")
    steps = 600
    body = train_body(studio, 128 * steps, checkpoint_every=10, name="to-kill")
    r = c.post(f"{API}/trainings", json=body)
    assert r.status_code == 202, r.text
    training_id, job_id = r.json()["id"], r.json()["job_id"]
    first = studio.wait_job(
        job_id, until=lambda j: j["status"] == "running" and j["progress"] > 0.05, timeout=120
    )
    # a running job's inputs cannot be deleted
    r = c.delete(f"{API}/activations/{studio.cache['activation_cache_id']}")
    assert r.status_code == 409 and "in use" in r.json()["detail"]
    t_kill = time.monotonic()
    studio.worker.kill()
    studio.worker.start()  # the second worker: another process, the same queues
    job = studio.wait_job(job_id, statuses=("completed", "failed"), timeout=240)
    assert job["status"] == "completed", job
    print(f"\n[{studio.backend}] finished {time.monotonic() - t_kill:.1f}s after SIGKILL")
    assert job["attempts"] == 2 and job["worker"] != first["worker"]
    result = c.get(f"{API}/trainings/{training_id}").json()["result"]
    resumed = result["resumed_from_step"]
    assert resumed >= 10 and result["steps"] == steps, result

    events = c.get(f"{API}/jobs/{job_id}/events", params={"limit": 5000}).json()
    requeue = [e["data"] for e in events if e["type"] == "status" and e["data"].get("automatic")]
    assert len(requeue) == 1, requeue  # one reaper queued it, once
    lost_step = requeue[0]["lost_step"]
    machine = first["worker"].rsplit(":", 1)[0]
    assert requeue[0]["message"].startswith(f"worker {machine} lost at step {lost_step} (")
    note = [e["data"]["message"] for e in events if e["type"] == "resumed"]
    assert note == [
        f"worker {machine} lost at step {lost_step}; resumed on {machine} from step {resumed}"
    ]
    # the second attempt starts at the checkpoint: no step before it is trained again
    second = next(e["seq"] for e in events if e["data"].get("attempt") == 2)
    stepped = [
        e["data"]["step"]
        for e in events
        if e["seq"] > second and e["type"] == "progress" and (e["data"].get("step") or 0) > 0
    ]
    assert stepped and min(stepped) > resumed, stepped[:5]
