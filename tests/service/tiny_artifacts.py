"""A ready extraction of the tiny model for the labelling and steering tests, made through the API.

The SAE is a random top-k SAE written here and imported (no training: seconds instead of a
minute on a busy machine); the model, dataset and tokenization are reused from the pipeline test
when it ran first. Everything is cached per backend in ``studio.cache``.
"""

from __future__ import annotations

from typing import Any

from tests.service.conftest import Studio

API = "/api/v1"
HOOK = "blocks.1.hook_resid_post"


def _job(studio: Studio, response: Any) -> dict[str, Any]:
    assert response.status_code == 202, response.text
    body = response.json()
    studio.completed(body["job_id"])
    return body


def ensure_model_and_tokenization(studio: Studio) -> tuple[int, int]:
    c = studio.client
    if "model_id" not in studio.cache:
        model = _job(studio, c.post(f"{API}/models", json={"source": str(studio.tiny_model_dir)}))
        studio.cache["model_id"] = model["id"]
    if "tokenization_id" not in studio.cache:
        path = str(studio.data_dir / "tiny.jsonl")
        dataset = _job(
            studio, c.post(f"{API}/datasets", json={"source": {"kind": "local", "path": path}})
        )
        tok = _job(
            studio,
            c.post(
                f"{API}/tokenizations",
                json={
                    "dataset_id": dataset["id"],
                    "model_id": studio.cache["model_id"],
                    "config": {"max_length": 32, "stride": 16},
                },
            ),
        )
        studio.cache.update(dataset_id=dataset["id"], tokenization_id=tok["id"])
    return studio.cache["model_id"], studio.cache["tokenization_id"]


def ensure_extraction(studio: Studio) -> dict[str, Any]:
    """``{"extraction_id", "sae_id", "model_id", "n_features"}`` of a ready tiny extraction."""
    if "tiny_extraction" in studio.cache:
        return dict(studio.cache["tiny_extraction"])
    import torch

    from mistudio.core.sae import SAEConfig, build_sae, save_sae

    c = studio.client
    model_id, tokenization_id = ensure_model_and_tokenization(studio)
    torch.manual_seed(0)
    sae = build_sae(SAEConfig(architecture="topk", d_in=32, d_sae=64, k=4))
    folder = save_sae(sae, studio.data_dir / "random-sae", metadata={"hook_name": HOOK})
    r = c.post(f"{API}/saes/import", json={"path": str(folder), "model_id": model_id})
    assert r.status_code in (200, 201, 202), r.text
    sae_row = r.json()
    if sae_row.get("job_id"):
        studio.completed(sae_row["job_id"])
    extraction = _job(
        studio,
        c.post(
            f"{API}/extractions",
            json={
                "sae_id": sae_row["id"],
                "model_id": model_id,
                "tokenization_id": tokenization_id,
                "config": {
                    "n_tokens": 2000,
                    "top_k": 8,
                    "context_before": 4,
                    "context_after": 2,
                    "n_samples": 10,
                    "n_random_contexts": 20,
                    "coactivation_tokens": 512,
                },
            },
        ),
    )
    info = {
        "extraction_id": extraction["id"],
        "sae_id": sae_row["id"],
        "model_id": model_id,
        "n_features": 64,
    }
    studio.cache["tiny_extraction"] = info
    return dict(info)


def fresh_extraction(studio: Studio, key: str) -> int:
    """Id of an extraction of its own (the shared SAE and tokens, extracted again), cached
    under ``key``: for a test that labels, stars or edits latents, which would otherwise change
    what the other modules' tests see on the shared one."""
    if key not in studio.cache:
        base = ensure_extraction(studio)
        extraction = _job(
            studio,
            studio.client.post(
                f"{API}/extractions",
                json={
                    "sae_id": base["sae_id"],
                    "model_id": base["model_id"],
                    "tokenization_id": studio.cache["tokenization_id"],
                    "config": {
                        "n_tokens": 2000,
                        "top_k": 8,
                        "context_before": 4,
                        "context_after": 2,
                        "n_samples": 10,
                        "n_random_contexts": 20,
                        "coactivation_tokens": 512,
                    },
                },
            ),
        )
        studio.cache[key] = int(extraction["id"])
    return int(studio.cache[key])
