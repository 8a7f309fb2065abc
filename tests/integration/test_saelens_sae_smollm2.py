"""An SAE trained by real SAELens on SmolLM2 layer 6, imported, extracted, labelled and steered
through the studio (issue 16's end-to-end test).

The SAE is ``tests/fixtures/formats/saelens_smollm2/``: a top-k SAE (d_sae 128, k 16) that
SAELens' own trainer fitted on SmolLM2-135M ``blocks.6.hook_resid_post`` activations and saved
with ``save_inference_model`` (``benchmarks/saelens_smollm2_fixture.py``, run in
``.venv-bench``). A studio with a real worker loads the built-in SmolLM2, imports the folder
from under the import roots (linked to the model by the ``model_name`` SAELens recorded),
tokenizes 100 KJV verses, extracts every latent over all of their tokens, labels the latents by
rules and steers with one of them; every job must succeed.

The check that can fail: the extraction's top examples equal a brute-force top-k computed here,
independently of the studio's stream, hooks and top-k slots: SmolLM2 run one sequence at a time
without padding up to a forward hook on ``model.layers[6]`` (checked once against
``output_hidden_states[7]``), special tokens dropped, the SAE as ``read_sae`` reads the
committed fixture, and ``torch.topk`` over every (sequence, position). Same positions (up to
exact ties), values to 1e-4 relative, for every latent that fires, and the same per-latent
counts.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file

from mistudio.core.data import Tokenization
from mistudio.core.features.result import ExtractionResult
from mistudio.core.formats import read_sae
from mistudio.core.language_models import LoadedModel
from tests.security.worker_studio import worker_studio
from tests.service.conftest import Studio

pytestmark = pytest.mark.smollm

API = "/api/v1"
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "formats" / "saelens_smollm2"
HOOK = "blocks.6.hook_resid_post"
TOP_K = 10
RTOL = 1e-4
N_VERSES = 100  # about 3,000 tokens
JOB_TIMEOUT = 300.0


def _job(studio: Studio, response: Any) -> dict[str, Any]:
    """A started job's row, once its job completed (a failed job fails the test with its log)."""
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    studio.completed(body["job_id"], timeout=JOB_TIMEOUT)
    return body


def _get(studio: Studio, path: str, **params: Any) -> Any:
    r = studio.client.get(f"{API}{path}", params=params)
    assert r.status_code == 200, r.text
    return r.json()


@dataclass
class Run:
    """What the studio made, by id, and the folders it wrote."""

    studio: Studio
    model_id: int
    sae: dict[str, Any]
    tokenization: dict[str, Any]
    extraction: dict[str, Any]


@pytest.fixture(scope="module")
def run(smollm2: LoadedModel, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """A studio with a worker: SmolLM2 loaded, the SAELens folder imported, KJV tokenized and
    extracted (the jobs everything else reads)."""
    root = tmp_path_factory.mktemp("saelens-smollm2")
    # Where the session's smollm2 fixture put its dequantized weights: <home>/cache/models/<name>.
    cache = Path(smollm2.local_path).parents[1]
    assert cache.name == "cache", cache
    with worker_studio(root, {}) as studio:
        (studio.home / "cache").symlink_to(cache, target_is_directory=True)
        c = studio.client
        (builtin,) = [m for m in _get(studio, "/models", q="smollm2")["items"] if m["builtin"]]
        _job(studio, c.post(f"{API}/models/{builtin['id']}/load"))
        model = _get(studio, f"/models/{builtin['id']}")
        assert model["status"] == "ready" and model["hook_dims"][HOOK] == 576

        folder = shutil.copytree(FIXTURE, studio.data_dir / "saelens_smollm2")
        sae = _job(studio, c.post(f"{API}/saes", json={"source": str(folder)}))
        sae = _get(studio, f"/saes/{sae['id']}")

        dataset = _job(
            studio,
            c.post(
                f"{API}/datasets",
                json={"source": {"kind": "builtin", "builtin": "kjv", "max_documents": N_VERSES}},
            ),
        )
        tok = _job(
            studio,
            c.post(
                f"{API}/tokenizations",
                json={
                    "dataset_id": dataset["id"],
                    "model_id": model["id"],
                    # Windows that do not overlap: no position is skipped as a repeat.
                    "config": {"max_length": 128, "stride": 128},
                },
            ),
        )
        extraction = _job(
            studio,
            c.post(
                f"{API}/extractions",
                json={
                    "sae_id": sae["id"],
                    "model_id": model["id"],
                    "tokenization_id": tok["id"],
                    "config": {
                        "n_tokens": 1_000_000,  # more than there are: every token is read
                        "top_k": TOP_K,
                        "context_before": 8,
                        "context_after": 2,
                        "n_samples": 10,
                        "n_random_contexts": 20,
                        "batch_size": 8,
                    },
                },
            ),
        )
        yield Run(
            studio,
            model["id"],
            sae,
            _get(studio, f"/tokenizations/{tok['id']}"),
            _get(studio, f"/extractions/{extraction['id']}"),
        )


@dataclass
class BruteForce:
    """Every latent's activation at every kept token, with where the token is."""

    latents: torch.Tensor  # [n_tokens, d_sae]
    locations: torch.Tensor  # [n_tokens, 2]: (sequence, position)

    def check_top(self, index: int, got: list[tuple[int, int]], values: list[float]) -> None:
        """``got`` (locations, largest first) and ``values`` are latent ``index``'s top-k.

        Values must equal the brute force's in order (to ``RTOL``). Locations must be the same
        tokens; where activations tie (the same verse opening at the start of two sequences
        gives the same context, hence the same value), either of the tied tokens may be kept,
        so a location is checked against every token of its value's tie."""
        column = self.latents[:, index]
        top, _ = column.topk(len(values))
        assert values == pytest.approx(top.tolist(), rel=RTOL), index
        assert len(set(got)) == len(got) and all(v > 0 for v in values), index
        for where, value in zip(got, values, strict=True):
            near = ((column - value).abs() <= RTOL * value).nonzero().squeeze(1)
            ties = {(int(s), int(p)) for s, p in self.locations[near].tolist()}
            assert where in ties, (index, where, value, sorted(ties))


class _Stop(Exception):
    """Raised by the capture hook: nothing after layer 6 is needed."""


@pytest.fixture(scope="module")
def brute_force(smollm2: LoadedModel, run: Run) -> BruteForce:
    """The SAE's latents over the tokenization, one sequence at a time (no padding), from a
    forward hook on ``model.layers[6]`` checked once against ``output_hidden_states``."""
    tokenization = Tokenization.open(run.tokenization["path"])
    sae = read_sae(FIXTURE).sae.eval()
    tok = smollm2.tokenizer
    special = set(tok.all_special_ids) | {
        t for t in (tok.bos_token_id, tok.eos_token_id, tok.pad_token_id) if t is not None
    }
    captured: list[torch.Tensor] = []

    def capture(_module: Any, _args: Any, output: Any) -> None:
        captured.append(output[0] if isinstance(output, tuple) else output)
        raise _Stop

    def layer6(ids: torch.Tensor) -> torch.Tensor:
        captured.clear()
        handle = smollm2.model.model.layers[6].register_forward_hook(capture)
        try:
            smollm2.model(input_ids=ids)
        except _Stop:
            pass
        finally:
            handle.remove()
        return captured[0][0].float().cpu()  # [n, d_model]

    latents, locations = [], []
    with torch.no_grad():
        for s in range(len(tokenization)):
            batch = tokenization.get_batch(s, s + 1)
            n = int(batch.attention_mask[0].sum())
            ids = torch.from_numpy(batch.input_ids[:, :n]).to(smollm2.device)
            resid = layer6(ids)
            if s == 0:  # hidden_states[7] is the output of layer 6 (index 0: the embeddings)
                full = smollm2.model(input_ids=ids, output_hidden_states=True).hidden_states[7]
                torch.testing.assert_close(resid, full[0].float().cpu())
            keep = torch.tensor([t not in special for t in ids[0].tolist()])
            positions = torch.arange(n)[keep]
            latents.append(sae.encode(resid[keep]))
            locations.append(torch.stack([torch.full_like(positions, s), positions], 1))
    return BruteForce(torch.cat(latents), torch.cat(locations))


def test_the_saelens_folder_imports_linked_to_smollm2(run: Run) -> None:
    sae = run.sae
    assert sae["status"] == "ready" and sae["origin"] == "imported"
    assert sae["model_id"] == run.model_id  # matched by the model_name SAELens recorded
    assert (sae["architecture"], sae["d_in"], sae["d_sae"], sae["hook_name"]) == (
        "topk",
        576,
        128,
        HOOK,
    )
    assert (sae["lineage"]["origin"], sae["lineage"]["format"]) == ("local", "saelens")
    assert sae["lineage"]["model_link"].startswith("matched by name")
    # The studio's own copy gives SAELens' latents on real layer-6 activations.
    ref = load_file(str(FIXTURE / "saelens_outputs.safetensors"))
    ours = read_sae(sae["path"]).sae
    with torch.no_grad():
        torch.testing.assert_close(ours.encode(ref["x"]), ref["latents"], atol=1e-4, rtol=1e-5)


def test_extraction_top_examples_equal_a_brute_force_top_k(
    run: Run, brute_force: BruteForce
) -> None:
    extraction = run.extraction
    assert extraction["status"] == "ready"
    result = ExtractionResult.open(extraction["path"])
    assert result.meta.n_tokens == brute_force.latents.shape[0] > 2000
    counts = (brute_force.latents > 0).sum(0)
    firing = [i for i in range(result.meta.d_sae) if counts[i] > 0]
    assert len(firing) > 100, f"only {len(firing)} of 128 latents fire"
    for i in firing:
        assert result.stats(i).count == counts[i], i
        examples = result.examples(i, limit=TOP_K)
        assert len(examples) == min(TOP_K, int(counts[i])), i
        brute_force.check_top(
            i, [(e.sequence, e.position) for e in examples], [e.value for e in examples]
        )
    # The feature pages the studio serves read the same examples.
    page = _get(
        run.studio,
        "/features",
        extraction_id=extraction["id"],
        sort="max_activation",
        order="desc",
        limit=5,
    )
    for feature in page["items"]:
        detail = _get(run.studio, f"/features/{feature['id']}/detail", examples=TOP_K)
        got = [(e["sequence"], e["position"]) for e in detail["examples"]]
        values = [e["value"] for e in detail["examples"]]
        brute_force.check_top(feature["index"], got, values)
        assert feature["max_activation"] == pytest.approx(values[0], rel=RTOL)


def test_rules_label_every_latent_that_fires(run: Run) -> None:
    studio, eid = run.studio, run.extraction["id"]
    r = studio.client.post(
        f"{API}/labeling", json={"extraction_id": eid, "config": {"method": "rules"}}
    )
    job = _job(studio, r)
    summary = studio.client.get(f"{API}/jobs/{job['job_id']}").json()["result"]["summary"]
    features = _get(studio, "/features", extraction_id=eid, limit=200)["items"]
    live = [f for f in features if f["frequency"]]
    assert len(features) == 128 and summary["requested"] == len(live) and summary["failed"] == 0
    for f in live:
        assert f["label"] and f["label_method"] == "rules", f
    assert any(f["label_status"] == "labelled" for f in live)


def test_steering_with_a_feature_returns_text_and_metrics(run: Run) -> None:
    studio = run.studio
    (feature,) = _get(
        studio,
        "/features",
        extraction_id=run.extraction["id"],
        sort="max_activation",
        order="desc",
        limit=1,
    )["items"]
    body = {
        "prompts": ["In the beginning"],
        "features": [
            {"sae_id": run.sae["id"], "index": feature["index"], "mode": "add", "relative": True}
        ],
        "generation": {"max_new_tokens": 6, "temperature": 0.0},
        "strengths": [0.0, 4.0],
        "similarity": "jaccard",
    }
    steering = _job(studio, studio.client.post(f"{API}/steering", json=body))
    steering = _get(studio, f"/steering/{steering['id']}")
    assert steering["status"] == "ready"
    (prompt,) = steering["result"]["prompts"]
    assert prompt["baseline"]["text"]
    zero, four = prompt["steered"]
    assert zero["token_ids"] == prompt["baseline"]["token_ids"]  # strength 0 is the baseline
    for s in (zero, four):
        assert s["text"] and len(s["token_ids"]) == 6
        m = s["metrics"]
        assert m is not None and len(m["kl_per_token"]) == 6
        assert m["perplexity"] > 0 and m["similarity"] is not None
    assert zero["metrics"]["kl_mean"] == pytest.approx(0.0, abs=1e-6)
    assert four["metrics"]["kl_mean"] > 0
