"""``GET /saes/architectures`` and ``POST /trainings/estimate``: what the training form reads.

The form no longer re-derives architecture facts or memory: these endpoints serve them from the
registered SAE classes, so their answers must match core exactly.
"""

from __future__ import annotations

from mistudio.core.sae.registry import trainable_architectures
from mistudio.core.training import TrainConfig, estimate_training_memory
from mistudio.core.training.plan import sparsity_plans
from tests.service.conftest import Studio

API = "/api/v1"


def test_architectures_are_served_from_the_registry(studio: Studio) -> None:
    r = studio.client.get(f"{API}/saes/architectures")
    assert r.status_code == 200, r.text
    archs = {a["name"]: a for a in r.json()}
    assert sorted(archs) == trainable_architectures()  # inference-only imports are not offered
    assert "gated" not in archs
    assert archs["topk"]["sparsity_control"] == "k"
    assert [p["name"] for p in archs["topk"]["parameters"]] == ["k"]
    assert archs["standard"]["sparsity_control"] == "penalty"
    assert archs["standard"]["sparsity_penalty"] == "l1"
    assert archs["transcoder"]["reconstructs_other_hook"] is True
    assert archs["batchtopk"]["saelens_names"] == ["jumprelu"]
    jump = {p["name"]: p for p in archs["jumprelu"]["parameters"]}
    assert jump["jumprelu_bandwidth"]["default"] == 0.05 and jump["jumprelu_bandwidth"]["doc"]


def test_training_estimate_matches_core(studio: Studio) -> None:
    train = {
        "saes": [
            {"hook_name": "a", "sae": {"architecture": "topk", "d_in": 64, "d_sae": 256, "k": 8}},
            {
                "hook_name": "a",
                "hook_name_out": "b",
                "sae": {"architecture": "transcoder", "d_in": 64, "d_sae": 256, "d_out": 32},
                "target_l0": 10,
            },
        ],
        "total_tokens": 16384,  # target_l0 needs at least 10 adjusting steps
        "batch_tokens": 1024,
    }
    r = studio.client.post(f"{API}/trainings/estimate", json={"train": train, "lm_bytes": 1000})
    assert r.status_code == 200, r.text
    config = TrainConfig(**train)
    expected = estimate_training_memory(config, 1000)
    body = r.json()
    assert {k: body[k] for k in expected.model_dump()} == expected.model_dump()
    # The sparsity plan is the controller's own start (core/training/plan.py).
    assert body["sparsity"] == {
        name: plan.model_dump() for name, plan in sparsity_plans(config).items()
    }
    plan = body["sparsity"][config.saes[1].resolved_name]
    assert plan["start_coefficient"] == 64 / (10 * 10) and plan["target_l0"] == 10
    assert body["sparsity"][config.saes[0].resolved_name]["control"] == "k"
    assert body["device_memory"]["device"] == "cpu"
    assert 0 < body["device_memory"]["free"] <= body["device_memory"]["total"]

    bad = studio.client.post(
        f"{API}/trainings/estimate",
        json={
            "train": {
                **train,
                "saes": [
                    {"hook_name": "a", "sae": {"architecture": "nope", "d_in": 4, "d_sae": 8}}
                ],
            }
        },
    )
    assert 400 <= bad.status_code < 500
    assert "unknown SAE architecture 'nope'" in bad.json()["detail"]
