"""The Neuronpedia upload client against a local fake of Neuronpedia's upload route.

The bulk folder is written here by hand from FORMATS §3 (not with the export writer), with data
over every limit of the route: a 2,000-token activation, 30 top and bottom logits, a 600-character
explanation, an empty token, a feature without activations, 300 features in two bulk files.
"""

from __future__ import annotations

import gzip
import json
import shutil
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from mistudio.core.neuronpedia import upload
from mistudio.core.neuronpedia.upload import (
    BatchRejectedError,
    NeuronpediaAuthError,
    NeuronpediaUnreachableError,
    NeuronpediaUploadError,
    RetryPolicy,
    upload_bulk,
)
from mistudio.errors import InvalidInputError

if TYPE_CHECKING:
    from tests.fake_neuronpedia import FakeNeuronpedia

pytest_plugins = ["tests.fake_neuronpedia"]

MODEL = "smollm2-135m"
SOURCE = "6-mistudio-res-4k"
CREATOR = "clkht01d40000jv08hvalcvly"
N_FEATURES = 300
PER_FILE = 150
NO_ACTIVATIONS = 7
LONG = 0  # a 2,000-token activation, peak at token 1,000
MANY_LOGITS = 1  # 30 top and 30 bottom logits
LONG_TEXT = 2  # a 600-character explanation
EMPTY_TOKEN = 3  # an activation with an empty token


def _write_jsonl_gz(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")


def _feature(i: int) -> dict[str, Any]:
    n_logits = 30 if i == MANY_LOGITS else 10
    return {
        "modelId": MODEL,
        "layer": SOURCE,
        "index": str(i),
        "creatorId": CREATOR,
        "sourceSetName": "mistudio-res-4k",
        "maxActApprox": 3.0,
        "frac_nonzero": 0.01 * (i % 50),
        "hasVector": True,
        "vector": [0.1, -0.2, 0.3, 0.0],
        "vectorLabel": None,
        "vectorDefaultSteerStrength": 10,
        "hookName": "blocks.6.hook_resid_post",
        "topkCosSimIndices": [i, (i + 1) % N_FEATURES],
        "topkCosSimValues": [1.0, 0.2],
        "neuron_alignment_indices": [],
        "neuron_alignment_values": [],
        "neuron_alignment_l1": [],
        "correlated_neurons_indices": [],
        "correlated_neurons_pearson": [],
        "correlated_neurons_l1": [],
        "correlated_features_indices": [],
        "correlated_features_pearson": [],
        "correlated_features_l1": [],
        # shuffled on purpose: the client keeps the extreme ones, not the first ones
        "pos_str": [f" up{k}" for k in range(n_logits)][::-1],
        "pos_values": [float(k) for k in range(n_logits)][::-1],
        "neg_str": [f" down{k}" for k in range(n_logits)],
        "neg_values": [-float(k) for k in range(n_logits)],
        "freq_hist_data_bar_heights": [3, 2, 1],
        "freq_hist_data_bar_values": [-4.0, -3.0, -2.0],
        "logits_hist_data_bar_heights": [1, 2, 1],
        "logits_hist_data_bar_values": [-0.5, 0.0, 0.5],
        "decoder_weights_dist": [],
    }


def _activation(i: int, k: int, tokens: list[str], values: list[float], *, top: bool):
    peak = max(range(len(values)), key=values.__getitem__)
    return {
        "id": f"{MODEL}@{SOURCE}@{i}@{k}",
        "modelId": MODEL,
        "layer": SOURCE,
        "index": str(i),
        "creatorId": CREATOR,
        "tokens": tokens,
        "values": values,
        "maxValue": values[peak],
        "maxValueTokenIndex": peak,
        "minValue": min(values),
        "binMin": -1 if top else 0.5,
        "binMax": values[peak] if top else 1.0,
        "binContains": -1 if top else 0.25,
        "qualifyingTokenIndex": peak,
    }


def _activations(i: int) -> list[dict[str, Any]]:
    if i == NO_ACTIVATIONS:
        return []
    if i == LONG:
        values = [0.0] * 2000
        values[1000] = 9.0
        return [_activation(i, 0, [f"t{k}" for k in range(2000)], values, top=True)]
    tokens = [f" w{k}" for k in range(16)]
    if i == EMPTY_TOKEN:
        tokens[4] = ""
    values = [0.1 * ((k + i) % 7) for k in range(16)]
    return [
        _activation(i, 0, tokens, values, top=True),
        _activation(i, 1, tokens[::-1], [v / 2 for v in values], top=False),
    ]


def _explanations(i: int) -> list[dict[str, Any]]:
    text = "x" * 600 if i == LONG_TEXT else f"latent {i} fires on w tokens"
    return [
        {
            "id": f"expl-{i}",
            "modelId": MODEL,
            "layer": SOURCE,
            "index": str(i),
            "authorId": CREATOR,
            "description": text,
            "typeName": "oai_token-act-pair",
            "explanationModelName": "GPT-4o-mini",
        }
    ]


def build_bulk(root: Path) -> Path:
    """``root/<modelId>/<sourceId>/`` as FORMATS §3 describes it, 150 features a batch file."""
    folder = root / MODEL / SOURCE
    folder.mkdir(parents=True)
    (folder / "source.jsonl").write_text(
        json.dumps({"id": SOURCE, "modelId": MODEL, "setName": "mistudio-res-4k"}) + "\n"
    )
    for name, row in (
        ("release.jsonl", {"name": "mistudio-test"}),
        ("model.jsonl", {"id": MODEL}),
        ("sourceset.jsonl", {"modelId": MODEL, "name": "mistudio-res-4k"}),
    ):
        (folder / name).write_text(json.dumps(row) + "\n")
    for b in range(N_FEATURES // PER_FILE):
        ids = range(b * PER_FILE, (b + 1) * PER_FILE)
        _write_jsonl_gz(folder / "features" / f"batch-{b}.jsonl.gz", [_feature(i) for i in ids])
        activations = [a for i in ids for a in _activations(i)]
        _write_jsonl_gz(folder / "activations" / f"batch-{b}.jsonl.gz", activations)
        _write_jsonl_gz(
            folder / "explanations" / f"batch-{b}.jsonl.gz",
            [e for i in ids for e in _explanations(i)],
        )
    return folder


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(upload, "RETRY", RetryPolicy(attempts=3, backoff_s=0.01, timeout_s=20))


@pytest.fixture
def bulk(tmp_path: Path) -> Path:
    return build_bulk(tmp_path / "export")


@pytest.fixture
def server(fake_neuronpedia: FakeNeuronpedia) -> FakeNeuronpedia:
    fake_neuronpedia.add_source(MODEL, SOURCE)
    return fake_neuronpedia


def _run(bulk: Path, server: FakeNeuronpedia, tmp_path: Path, **kw: Any) -> upload.UploadReport:
    kw.setdefault("api_key", server.api_key)
    return upload_bulk(bulk, server.endpoint, state_file=tmp_path / "state.json", **kw)


def _assert_each_feature_once(server: FakeNeuronpedia) -> None:
    stored = server.features(MODEL, SOURCE)
    expected = [i for i in range(N_FEATURES) if i != NO_ACTIVATIONS]
    assert sorted(stored) == expected
    for i in expected:
        assert len(stored[i]["activations"]) == len(_activations(i)), i
        assert len(stored[i]["explanations"]) == 1, i


def test_uploads_every_feature_and_reports_what_it_clipped(bulk, server, tmp_path):
    calls: list[tuple[float, float | None, dict[str, Any]]] = []
    result = _run(bulk, server, tmp_path, progress=lambda s, t, **m: calls.append((s, t, m)))

    assert (result.batches_total, result.batches_sent, result.batches_resumed) == (4, 4, 0)
    assert result.features_sent == N_FEATURES - 1
    assert result.features_skipped == 1
    assert result.clipped == {
        "activation_tokens": 1,
        "top_logits": 1,
        "bottom_logits": 1,
        "explanation_text": 1,
        "empty_tokens": 2,  # the top example and the reversed bin example of EMPTY_TOKEN
    }
    text = "\n".join(result.lines())
    assert "1,024 tokens around their max" in text and "1 features with no activation" in text
    # 128 + 22 from the first file, 128 + 22 from the second: every call within the route's limit
    assert [len(r.features) for r in server.upload_requests()] == [127, 22, 128, 22]
    assert all(r.status == 200 for r in server.upload_requests())
    _assert_each_feature_once(server)

    stored = server.features(MODEL, SOURCE)
    (long,) = stored[LONG]["activations"]
    assert len(long["tokens"]) == len(long["values"]) == 1024
    assert long["tokens"][0] == "t488" and long["values"][512] == 9.0  # window centred on the max
    neuron = stored[MANY_LOGITS]["neuron"]
    assert neuron["pos_values"] == [float(k) for k in range(29, 9, -1)]
    assert neuron["neg_values"] == [-float(k) for k in range(29, 9, -1)]
    explanation = stored[LONG_TEXT]["explanations"][0]
    assert len(explanation["description"]) == 512 and explanation["description"].endswith("…")
    assert explanation["typeName"] == "oai_token-act-pair"
    assert explanation["modelName"] == "gpt-4o-mini"  # the route lower-cases it
    empty = stored[EMPTY_TOKEN]["activations"][0]["tokens"][4]
    assert empty == upload.EMPTY_TOKEN
    top, binned = stored[10]["activations"]
    assert top["binMin"] is None and top["binContains"] is None  # -1 would be refused
    assert (binned["binMin"], binned["binMax"], binned["binContains"]) == (0.5, 1.0, 0.25)
    assert stored[10]["neuron"]["frac_nonzero"] == pytest.approx(0.1)

    assert calls[-1][:2] == (4, 4)
    assert calls[-1][2]["features"] == N_FEATURES - 1
    first_batch = next(m["stage"] for s, _, m in calls if s == 1)
    assert "clipped" in first_batch and "explanations cut to 512" in first_batch


def test_wrong_key_is_one_line_and_not_retried(bulk, server, tmp_path):
    key = "np-wrong-key-that-must-not-be-echoed"
    with pytest.raises(NeuronpediaAuthError) as err:
        _run(bulk, server, tmp_path, api_key=key)
    message = str(err.value)
    assert "refused the API key (HTTP 401)" in message and server.endpoint in message
    assert key not in message and "\n" not in message
    assert len(server.upload_requests()) == 1
    assert server.features(MODEL, SOURCE) == {}


def test_rejected_batch_stops_then_resume_sends_only_the_rest(bulk, server, tmp_path):
    server.reject_request(3, 400, "features[5].activations[0].tokens is wrong")
    with pytest.raises(BatchRejectedError) as err:
        _run(bulk, server, tmp_path)
    message = str(err.value)
    assert "rejected batch 3 of 4 (HTTP 400)" in message
    assert "features[5].activations[0].tokens is wrong" in message
    assert "2 of 4 batches are accepted and stay" in message and "\n" not in message
    assert sorted(server.features(MODEL, SOURCE)) == [i for i in range(150) if i != 7]
    before = len(server.upload_requests())

    copy = tmp_path / "copy" / MODEL / SOURCE  # the same export elsewhere resumes too
    shutil.copytree(bulk, copy)
    result = _run(copy, server, tmp_path)
    assert (result.batches_resumed, result.batches_sent) == (2, 2)
    assert result.features_sent == 150
    resumed_requests = server.upload_requests()[before:]
    assert all(min(r.features) >= 150 for r in resumed_requests)
    _assert_each_feature_once(server)

    again = _run(bulk, server, tmp_path)  # everything accepted: nothing sent
    assert (again.batches_resumed, again.batches_sent, again.features_sent) == (4, 0, 0)
    assert len(server.upload_requests()) == before + len(resumed_requests)


def test_resume_with_another_batch_size_sends_exactly_the_rest(bulk, server, tmp_path):
    server.reject_request(3, 400, "no")
    with pytest.raises(BatchRejectedError):
        _run(bulk, server, tmp_path, batch_features=32)  # features 0..63 accepted
    result = _run(bulk, server, tmp_path, batch_features=128)
    assert result.features_sent == N_FEATURES - 1 - 63
    _assert_each_feature_once(server)


def test_a_different_export_does_not_resume(bulk, server, tmp_path):
    _run(bulk, server, tmp_path)
    with gzip.open(bulk / "explanations" / "batch-1.jsonl.gz", "at") as fh:
        fh.write(json.dumps(_explanations(151)[0]) + "\n")
    result = _run(bulk, server, tmp_path)
    assert result.batches_resumed == 0 and result.batches_sent == 4


def test_server_errors_and_rate_limits_are_retried(bulk, server, tmp_path):
    server.fail_next(1, 500)
    result = _run(bulk, server, tmp_path, batch_features=100)
    statuses = [r.status for r in server.upload_requests()]
    assert statuses[:2] == [500, 200]
    assert result.retries == 1 and result.batches_sent == result.batches_total == 4
    _assert_each_feature_once(server)


def test_rate_limit_then_success(bulk, server, tmp_path):
    server.fail_next(2, 429, retry_after="0")
    result = _run(bulk, server, tmp_path)
    assert [r.status for r in server.upload_requests()][:3] == [429, 429, 200]
    assert result.retries == 2
    _assert_each_feature_once(server)


def test_dropped_connection_is_retried(bulk, server, tmp_path):
    server.close_next(1)
    result = _run(bulk, server, tmp_path)
    assert result.retries == 1
    _assert_each_feature_once(server)


def test_persistent_server_error_names_the_batch_and_the_likely_causes(bulk, server, tmp_path):
    server.fail_next(50, 500)
    with pytest.raises(NeuronpediaUploadError) as err:
        _run(bulk, server, tmp_path)
    message = str(err.value)
    assert "failed batch 1 of 4 after 3 attempts (HTTP 500" in message
    assert "does not belong to the key's user" in message and "\n" not in message


def test_source_set_of_another_user(bulk, fake_neuronpedia, tmp_path):
    fake_neuronpedia.add_source(MODEL, SOURCE, owner="other")
    # Neuronpedia at HEAD throws a plain Error: an opaque 500, retried, then explained
    with pytest.raises(NeuronpediaUploadError, match="does not belong to the key's user"):
        _run(bulk, fake_neuronpedia, tmp_path)
    assert [r.status for r in fake_neuronpedia.upload_requests()] == [500, 500, 500]
    # a deployment that answers 403: said at once
    fake_neuronpedia.ownership_status = 403
    with pytest.raises(NeuronpediaAuthError, match="source set does not belong to the key"):
        _run(bulk, fake_neuronpedia, tmp_path)
    assert len(fake_neuronpedia.upload_requests()) == 4


def test_bodies_over_our_limit_are_sent_in_parts(bulk, server, tmp_path, monkeypatch):
    monkeypatch.setattr(upload, "MAX_BODY_BYTES", 40_000)
    server.max_body_bytes = 40_000
    result = _run(bulk, server, tmp_path)
    assert result.splits == 2 and result.batches_sent == 4  # the two 128-feature batches
    requests = server.upload_requests()
    assert all(r.status == 200 and r.body_bytes <= 40_000 for r in requests)
    assert len(requests) < 2 * sum(r.body_bytes for r in requests) / 40_000  # packed, not halved
    _assert_each_feature_once(server)


def test_bodies_the_instance_refuses_as_too_large_are_halved(bulk, server, tmp_path):
    server.max_body_bytes = 40_000
    result = _run(bulk, server, tmp_path)
    assert result.splits > 0 and result.batches_sent == 4
    statuses = {r.status for r in server.upload_requests()}
    assert statuses == {413, 200}
    accepted = [r for r in server.upload_requests() if r.status == 200]
    assert all(r.body_bytes <= 40_000 for r in accepted)
    _assert_each_feature_once(server)


def test_unreachable_url_is_one_line_naming_it(bulk, tmp_path):
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    with pytest.raises(NeuronpediaUnreachableError) as err:
        upload_bulk(bulk, url, "key", state_file=tmp_path / "state.json")
    assert url in str(err.value) and "\n" not in str(err.value)


def test_bad_arguments_are_refused_before_any_request(bulk, server, tmp_path):
    with pytest.raises(InvalidInputError, match="at most 128 features a call"):
        _run(bulk, server, tmp_path, batch_features=129)
    with pytest.raises(InvalidInputError, match="no Neuronpedia API key"):
        _run(bulk, server, tmp_path, api_key=" ")
    with pytest.raises(InvalidInputError, match="not a Neuronpedia bulk-import folder"):
        _run(tmp_path, server, tmp_path)
    with pytest.raises(InvalidInputError, match="refused"):
        upload_bulk(bulk, "http://169.254.169.254", "k", state_file=tmp_path / "s.json")
    (tmp_path / "state.json").write_text("{not json")
    with pytest.raises(InvalidInputError, match="delete it"):
        _run(bulk, server, tmp_path)
    assert server.upload_requests() == []


def test_misaligned_batch_files_are_refused(bulk, server, tmp_path):
    _write_jsonl_gz(bulk / "activations" / "batch-0.jsonl.gz", _activations(200))
    with pytest.raises(InvalidInputError, match="must hold the same features"):
        _run(bulk, server, tmp_path)


def test_nothing_to_upload_is_an_error_every_time(bulk, server, tmp_path):
    for b in range(N_FEATURES // PER_FILE):
        _write_jsonl_gz(bulk / "activations" / f"batch-{b}.jsonl.gz", [])
    for _ in range(2):
        with pytest.raises(InvalidInputError, match="none of its 300 features has an activation"):
            _run(bulk, server, tmp_path)
    assert server.upload_requests() == []


def _post(server: FakeNeuronpedia, body: Any, key: str | None = None) -> httpx.Response:
    headers = {"x-api-key": key or server.api_key}
    return httpx.post(f"{server.endpoint}/api/feature/upload-batch", json=body, headers=headers)


def test_the_fake_enforces_the_routes_limits(server):
    """The fake refuses what the real route refuses, so the client's clipping is tested."""

    def body(**feature: Any) -> dict[str, Any]:
        base = {"index": 1, "activations": [{"tokens": ["a"], "values": [1.0]}]}
        return {"modelId": MODEL, "source": SOURCE, "features": [{**base, **feature}]}

    ok = _post(server, body())
    assert ok.status_code == 200 and ok.json() == {"message": "1 features created."}
    cases = {
        "features field must have less than or equal to 128 items": {
            "modelId": MODEL,
            "source": SOURCE,
            "features": [body(index=i)["features"][0] for i in range(129)],
        },
        "features[0].activations field must have at least 1 items": body(activations=[]),
        "features[0].activations[0].tokens field must have less than or equal to 1024 items": body(
            activations=[{"tokens": ["a"] * 1025, "values": [1.0] * 1025}]
        ),
        "features[0].activations[0].tokens[0] is a required field": body(
            activations=[{"tokens": [""], "values": [1.0]}]
        ),
        "features[0].topLogits field must have less than or equal to 20 items": body(
            topLogits=[{"token": "a", "value": 1.0}] * 21
        ),
        "features[0].explanations[0].text must be at most 512 characters": body(
            explanations=[{"text": "x" * 513}]
        ),
        "features[0].density must be less than or equal to 1": body(density=2),
        "features[0].activations[0].quantileFraction must be greater than or equal to 0": body(
            activations=[{"tokens": ["a"], "values": [1.0], "quantileFraction": -1}]
        ),
    }
    for message, payload in cases.items():
        reply = _post(server, payload)
        assert (reply.status_code, reply.json()["error"]) == (400, message)
    assert _post(server, body(), key="nope").status_code == 401
    mismatch = body(activations=[{"tokens": ["a", "b"], "values": [1.0]}])
    assert _post(server, mismatch).status_code == 500
