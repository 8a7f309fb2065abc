"""Neuronpedia's bulk import layout: every record of every file has exactly the fields and JSON
types of FORMATS §3 (the expected schemas below are written from that text and Neuronpedia's
``schema.prisma``, not from our writer), batches of 1,024 features, ids, text cleaning."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from mistudio.core.features import ExtractionResult
from mistudio.core.neuronpedia import LatentLabel, NeuronpediaExportConfig
from mistudio.core.neuronpedia.export import export_extraction
from mistudio.core.neuronpedia.records import clean_text, clean_token
from mistudio.errors import InvalidInputError
from tests.unit.neuronpedia.synthetic import make_extraction

S, I, F, B, O = "string", "integer", "number", "boolean", "object"  # noqa: E741
LS, LI, LF = "list[string]", "list[integer]", "list[number]"


def n(kind: str) -> tuple[str, str]:
    """``kind`` or null."""
    return (kind, "null")


# FORMATS §3, with the types of the columns in Neuronpedia's schema.prisma.
FEATURE = {
    "modelId": S, "layer": S, "index": S, "creatorId": S, "sourceSetName": S,
    "maxActApprox": F, "frac_nonzero": F, "hasVector": B, "vector": LF, "vectorLabel": n(S),
    "vectorDefaultSteerStrength": F, "hookName": S, "topkCosSimIndices": LI,
    "topkCosSimValues": LF, "neuron_alignment_indices": LI, "neuron_alignment_values": LF,
    "neuron_alignment_l1": LF, "correlated_neurons_indices": LI,
    "correlated_neurons_pearson": LF, "correlated_neurons_l1": LF,
    "correlated_features_indices": LI, "correlated_features_pearson": LF,
    "correlated_features_l1": LF, "pos_str": LS, "pos_values": LF, "neg_str": LS,
    "neg_values": LF, "freq_hist_data_bar_heights": LF, "freq_hist_data_bar_values": LF,
    "logits_hist_data_bar_heights": LF, "logits_hist_data_bar_values": LF,
    "decoder_weights_dist": LF,
}  # fmt: skip
ACTIVATION = {
    "id": S, "modelId": S, "layer": S, "index": S, "creatorId": S, "tokens": LS, "values": LF,
    "maxValue": F, "maxValueTokenIndex": I, "minValue": F, "binMin": n(F), "binMax": n(F),
    "binContains": n(F), "qualifyingTokenIndex": n(I),
}  # fmt: skip
ACTIVATION_OPTIONAL = {
    "dataSource": n(S), "dataIndex": n(S), "dfaValues": LF, "dfaTargetIndex": n(I),
    "dfaMaxValue": n(F), "lossValues": LF,
}  # fmt: skip
EXPLANATION = {
    "id": S, "modelId": S, "layer": S, "index": S, "authorId": S, "description": S,
    "typeName": n(S), "explanationModelName": n(S),
}  # fmt: skip
EXPLANATION_OPTIONAL = {"notes": n(S)}
RELEASE = {
    "name": S, "description": S, "descriptionShort": n(S), "creatorName": S,
    "creatorNameShort": n(S), "creatorId": S, "urls": LS, "visibility": S, "isNewUi": B,
    "featured": B, "defaultSourceSetName": n(S), "defaultSourceId": n(S), "createdAt": S,
}  # fmt: skip
MODEL = {
    "id": S, "instruct": B, "displayName": S, "displayNameShort": S, "creatorId": S,
    "tlensId": n(S), "dimension": n(I), "visibility": S, "defaultSourceSetName": n(S),
    "defaultSourceId": n(S), "inferenceEnabled": B, "layers": I, "neuronsPerLayer": I,
    "owner": S, "website": n(S), "createdAt": S, "updatedAt": S,
}  # fmt: skip
SOURCESET = {
    "modelId": S, "name": S, "creatorId": S, "creatorName": S, "description": S, "type": S,
    "urls": LS, "releaseName": n(S), "visibility": S, "hasDashboards": B, "showDfa": B,
    "showCorrelated": B, "showHeadAttribution": B, "showUmap": B, "createdAt": S,
}  # fmt: skip
SOURCE = {
    "id": S, "modelId": S, "setName": S, "creatorId": S, "hasDashboards": B,
    "inferenceEnabled": B, "saelensConfig": n(O), "saelensRelease": n(S), "saelensSaeId": n(S),
    "hfRepoId": n(S), "hfFolderId": n(S), "visibility": S, "num_prompts": n(I),
    "num_tokens_in_prompt": n(I), "dataset": n(S), "notes": n(S), "createdAt": S,
}  # fmt: skip


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return B
    if isinstance(value, int):
        return I
    if isinstance(value, float):
        return F
    if isinstance(value, str):
        return S
    if isinstance(value, dict):
        return O
    assert isinstance(value, list)
    kinds = {json_type(v) for v in value}
    if kinds <= {I}:
        return "list[integer]" if value else "list[]"
    if kinds <= {I, F}:
        return LF
    assert len(kinds) == 1, kinds
    return f"list[{kinds.pop()}]"


def fits(value: Any, expected: str | tuple[str, ...]) -> bool:
    allowed = expected if isinstance(expected, tuple) else (expected,)
    found = json_type(value)
    if found == "list[]":  # an empty list is a list of anything
        return any(a.startswith("list[") for a in allowed)
    if found == I and F in allowed:  # JSON has one number type: 2 is a float column's 2.0
        return True
    if found == LI and LF in allowed:
        return True
    return found in allowed


def check(record: dict[str, Any], schema: dict[str, Any], optional: dict[str, Any]) -> None:
    missing = schema.keys() - record.keys()
    extra = record.keys() - schema.keys() - optional.keys()
    assert not missing and not extra, (missing, extra)
    for key, value in record.items():
        expected = schema.get(key, optional.get(key))
        assert fits(value, expected), (key, value, expected)


def lines(path: Path) -> list[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:  # type: ignore[operator]
        return [json.loads(line) for line in f]


D_SAE = 2100


@pytest.fixture(scope="module")
def bulk(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[int, LatentLabel]]:
    tmp = tmp_path_factory.mktemp("bulk")
    ext, sae = make_extraction(tmp, D_SAE, d_in=16, top_k=3, n_samples=4, before=2, after=1)
    labels = {
        1: LatentLabel(1, "nul\u0000 in\x07 label", "made\u0000 by hand", method="manual"),
        2: LatentLabel(2, "cities", "names of cities", "Nouns", "openai", "gpt-4o-mini", 0.9),
        1500: LatentLabel(1500, "code", None, None, "local", "SmolLM2-135M-Instruct", None, 0.8),
    }
    config = NeuronpediaExportConfig(model_id="smollm2-135m")
    summary = export_extraction(
        ExtractionResult.open(ext),
        config,
        tmp / "out",
        sae_folder=sae,
        labels=labels,
        forms=("neuronpedia",),
    )
    assert summary.bulk is not None and summary.archive is None
    assert not (tmp / "out" / "export.zip").exists()
    return Path(summary.bulk), labels


def test_every_record_has_exactly_the_fields_and_types(bulk) -> None:
    folder, _ = bulk
    assert folder.parent.name == "smollm2-135m" and folder.name == "6-mistudio-res-2k"
    for name, schema in (
        ("release.jsonl", RELEASE),
        ("model.jsonl", MODEL),
        ("sourceset.jsonl", SOURCESET),
        ("source.jsonl", SOURCE),
    ):
        (row,) = lines(folder / name)
        check(row, schema, {})
    for table, schema, optional in (
        ("features", FEATURE, {}),
        ("activations", ACTIVATION, ACTIVATION_OPTIONAL),
        ("explanations", EXPLANATION, EXPLANATION_OPTIONAL),
    ):
        files = sorted((folder / table).glob("*.jsonl.gz"))
        assert files, table
        for path in files:
            rows = lines(path)
            assert rows, path  # Neuronpedia's importer reads the columns off the first line
            keys = set(rows[0])
            for row in rows:
                check(row, schema, optional)
                assert set(row) == keys  # one shape per file


def test_batches_ids_and_foreign_keys(bulk) -> None:
    folder, labels = bulk
    source = lines(folder / "source.jsonl")[0]
    sourceset = lines(folder / "sourceset.jsonl")[0]
    model = lines(folder / "model.jsonl")[0]
    assert source["id"] == "6-mistudio-res-2k" and source["setName"] == sourceset["name"]
    assert source["modelId"] == sourceset["modelId"] == model["id"] == "smollm2-135m"
    assert model["defaultSourceId"] is None  # the source does not exist yet when it is made
    names = sorted(p.name for p in (folder / "features").iterdir())
    assert names == ["batch-0.jsonl.gz", "batch-1.jsonl.gz", "batch-2.jsonl.gz"]
    seen: list[int] = []
    activation_ids: set[str] = set()
    for b, name in enumerate(names):
        features = lines(folder / "features" / name)
        assert len(features) == (1024 if b < 2 else D_SAE - 2048)
        indices = [int(f["index"]) for f in features]
        assert indices == list(range(b * 1024, b * 1024 + len(features)))
        seen += indices
        for f in features:
            assert f["layer"] == "6-mistudio-res-2k" and f["sourceSetName"] == "mistudio-res-2k"
            assert f["creatorId"] == "clkht01d40000jv08hvalcvly"
            assert len(f["vector"]) == 16 and f["hasVector"]
            assert f["hookName"] == "blocks.6.hook_resid_post"
        batch_indices = set(indices)
        for a in lines(folder / "activations" / name):
            assert int(a["index"]) in batch_indices  # batch-N covers the same latents
            assert a["id"] not in activation_ids
            activation_ids.add(a["id"])
            assert len(a["tokens"]) == len(a["values"]) > 0
            assert a["values"][a["maxValueTokenIndex"]] == a["maxValue"]
            if a["binMin"] == -1:
                assert a["binContains"] == -1 and a["binMax"] > 0
            else:
                assert 0 <= a["binMin"] < a["binMax"] and 0 < a["binContains"] <= 1
    assert seen == list(range(D_SAE))
    # Dead latents (every 7th) have no activation rows; live ones 3 top + 4 samples.
    per_latent: dict[str, int] = {}
    for path in (folder / "activations").iterdir():
        for a in lines(path):
            per_latent[a["index"]] = per_latent.get(a["index"], 0) + 1
    assert "0" not in per_latent and per_latent["1"] == 7
    # Explanations only in the batches that have labelled latents.
    assert sorted(p.name for p in (folder / "explanations").iterdir()) == [
        "batch-0.jsonl.gz",
        "batch-1.jsonl.gz",
    ]
    explanations = {e["index"]: e for p in (folder / "explanations").iterdir() for e in lines(p)}
    assert set(explanations) == {str(i) for i in labels}
    assert explanations["1"]["description"] == "nul  in  label"
    assert "\x00" not in explanations["1"]["notes"]
    assert explanations["1"]["typeName"] is None  # hand-written, as Neuronpedia stores them
    assert explanations["2"]["typeName"] == "eleuther_acts_top20"
    assert explanations["2"]["explanationModelName"] == "gpt-4o-mini"
    # A model Neuronpedia's config does not know would fail the insert: named in notes instead.
    assert explanations["1500"]["explanationModelName"] is None
    assert "SmolLM2-135M-Instruct" in explanations["1500"]["notes"]


def test_text_cleaning() -> None:
    assert clean_token("a\x00b") == "a b"
    assert clean_token("\n") == "\n" and clean_token("\t ") == "\t "
    assert clean_token("x\ud800") == "x\ufffd"
    assert clean_text(" tab\there\x00\x1b\n ") == "tab\there  \n".strip()
    assert clean_text(None) is None


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("model_id", "SmolLM2", "Neuronpedia model id"),
        ("model_id", "a--b", "Neuronpedia model id"),
        ("model_id", "x" * 33, "Neuronpedia model id"),
        ("source_set", "res_4k", "source set"),
        ("source_set", "neurons", "source set"),
        ("source_set", "res-", "source set"),
        ("creator_id", "Bob Smith", "user id"),
        ("latents", "1-2-3", "bad latent"),
        ("latents", "", "no latents"),
    ],
)
def test_ids_and_selections_neuronpedia_refuses_are_one_line(
    field: str, value: str, words: str
) -> None:
    with pytest.raises(InvalidInputError) as info:
        NeuronpediaExportConfig(**{field: value})
    message = str(info.value)
    assert words in message and "\n" not in message


def test_latents_out_of_range_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    ext, sae = make_extraction(tmp_path, 50, d_in=8, top_k=2, before=1, after=1, vocab=64)
    result = ExtractionResult.open(ext)
    with pytest.raises(InvalidInputError, match="latent 50 does not exist; this SAE has 0..49"):
        export_extraction(
            result, NeuronpediaExportConfig(latents="0-50"), tmp_path / "out", sae_folder=sae
        )
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    summary = export_extraction(
        result,
        NeuronpediaExportConfig(latents="3, 7-9,3", include_vectors=False),
        tmp_path / "out",
        sae_folder=sae,
        forms=("neuronpedia",),
    )
    features = lines(Path(summary.bulk or "") / "features" / "batch-0.jsonl.gz")
    assert [f["index"] for f in features] == ["3", "7", "8", "9"]
    assert all(f["vector"] == [] and not f["hasVector"] for f in features)
