"""``POST /trainings/benchmark``: the training form's time estimate, measured on this device.

The answer must come from real steps (it scales with the run's steps, it is cached per config,
it includes the model's forward only when the run streams), and bad input is one line.
"""

from __future__ import annotations

from mistudio.api.routers import trainings as trainings_router
from mistudio.core.training import TrainConfig
from tests.service.conftest import Studio
from tests.service.tiny_artifacts import ensure_model_and_tokenization

API = "/api/v1"


def _train(d_sae: int = 128, total_tokens: int = 256 * 40) -> dict:
    return {
        "saes": [
            {
                "hook_name": "blocks.1.hook_resid_post",
                "sae": {"architecture": "topk", "d_in": 32, "d_sae": d_sae, "k": 4},
            }
        ],
        "total_tokens": total_tokens,
        "batch_tokens": 256,
    }


def test_training_time_estimate(studio: Studio) -> None:
    c = studio.client
    model_id, tok_id = ensure_model_and_tokenization(studio)
    trainings_router._TIMINGS.clear()  # the API runs in this process: one cache for both backends

    cached_run = c.post(f"{API}/trainings/benchmark", json={"train": _train()})
    assert cached_run.status_code == 200, cached_run.text
    body = cached_run.json()
    assert body["forward"] is None and body["cached"] is False
    per_step = body["steps"]["seconds_per_step"]
    assert per_step > 0 and body["total_steps"] == TrainConfig(**_train()).total_steps == 40
    assert abs(body["seconds"] - 40 * per_step) < 1e-9
    assert "timed step" in body["method"]

    # Ten times the steps: the same measurement (cached), ten times the time.
    longer = c.post(f"{API}/trainings/benchmark", json={"train": _train(total_tokens=256 * 400)})
    assert longer.status_code == 200, longer.text
    assert longer.json()["cached"] is True
    assert abs(longer.json()["seconds"] - 10 * body["seconds"]) < 1e-6

    live = c.post(
        f"{API}/trainings/benchmark",
        json={
            "train": _train(),
            "model_id": model_id,
            "tokenization_id": tok_id,
            "run": {"lm_batch_size": 4},
        },
    )
    assert live.status_code == 200, live.text
    forward = live.json()["forward"]
    assert forward["batch_size"] == 4 and forward["seq_len"] == 32  # the tokenization's length
    assert forward["tokens_per_second"] > 0
    steps = live.json()["steps"]["seconds_per_step"]
    expected = 40 * steps + 256 * 40 / forward["tokens_per_second"]
    assert abs(live.json()["seconds"] - expected) < 1e-6
    assert "forward" in live.json()["method"]

    for bad, status, words in [
        ({"train": {**_train(), "device": "cuda:7"}}, 422, "not available"),
        ({"train": _train(), "model_id": 999_999}, 404, "model"),
        (
            {
                "train": {**_train(), "saes": [{**_train()["saes"][0], "hook_name": "nope"}]},
                "model_id": model_id,
            },
            422,
            "nope",
        ),
        ({"train": _train(d_sae=2**24, total_tokens=2**22) | {"batch_tokens": 2**22}}, 422, "GiB"),
    ]:
        r = c.post(f"{API}/trainings/benchmark", json=bad)
        assert r.status_code == status, r.text
        detail = r.json()["detail"]
        assert words in detail and "\n" not in detail and "Traceback" not in detail
