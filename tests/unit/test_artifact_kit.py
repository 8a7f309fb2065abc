"""The artifact-job kit's facts: lineage keys, queues declared by handlers, one output base."""

from __future__ import annotations

from mistudio.api.artifact_jobs import ArtifactOut
from mistudio.api.routers.activations import ActivationCacheOut
from mistudio.api.routers.extractions import ExtractionOut
from mistudio.api.routers.tokenizations import TokenizationOut
from mistudio.api.routers.trainings import TrainingOut
from mistudio.jobs.kinds import load_handlers, queue_for
from mistudio.store import LanguageModel, SAERow, TokenizationRow
from mistudio.store.lineage import Lineage, input_ids
from mistudio.store.tables import ARTIFACT_ID_KEYS, ARTIFACT_TABLES


def test_lineage_keys_inputs_like_job_configs() -> None:
    model, tok = LanguageModel(id=3), TokenizationRow(id=7)
    record = Lineage.of("j1", [model, tok], {"max_length": 128}, note="x").as_json()
    assert record == {
        "job_id": "j1",
        "model_id": 3,
        "tokenization_id": 7,
        "config": {"max_length": 128},
        "note": "x",
    }


def test_several_inputs_of_one_kind_are_listed() -> None:
    ids = input_ids([LanguageModel(id=1), SAERow(id=5), SAERow(id=2)])
    assert ids == {"model_id": 1, "sae_ids": [2, 5]}


def test_every_artifact_kind_has_an_id_key() -> None:
    assert set(ARTIFACT_ID_KEYS) == set(ARTIFACT_TABLES)


def test_queue_is_declared_by_the_handler() -> None:
    handlers = load_handlers()
    gpu = {kind for kind, h in handlers.items() if h.queue == "gpu"}
    # every job that runs the model or an SAE's forward takes a device: the lab's evaluations and
    # matchings (activation correlation) and the first run too
    assert gpu == {
        "model_load",
        "cache_activations",
        "train",
        "extract",
        "steer",
        "eval",
        "matching",
        "first_run",
    }
    assert queue_for("tokenize") == "cpu" and queue_for("label") == "cpu"
    assert queue_for("train") == "gpu"


def test_artifact_outputs_share_one_base() -> None:
    for out in (TokenizationOut, ActivationCacheOut, TrainingOut, ExtractionOut):
        assert issubclass(out, ArtifactOut)
        assert {"id", "status", "job_id", "lineage", "error", "created_at"} <= set(out.model_fields)
