"""``mistudio export neuronpedia`` and ``mistudio export upload`` headless: both forms written,
labels read from the extraction folder (as ``mistudio label`` writes them), one-line refusals,
and an upload to a local fake Neuronpedia that a rerun resumes."""

from __future__ import annotations

import gzip
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from mistudio.cli import main
from mistudio.core.labeling.records import FeatureLabel
from tests.fake_neuronpedia import FakeNeuronpedia


@pytest.fixture
def folder(tiny_extraction, tmp_path) -> Path:
    """A copy of the tiny extraction with a label file beside it, as `mistudio label` leaves."""
    copy = tmp_path / "ext"
    shutil.copytree(tiny_extraction.result.folder, copy)
    labels = copy / "labels" / "rules"
    labels.mkdir(parents=True)
    rows = [
        FeatureLabel(index=4, status="labelled", label="old", method="rules"),
        FeatureLabel(index=4, status="labelled", label="w4 tokens", method="rules"),
        FeatureLabel(index=6, status="unclear", method="rules"),
        FeatureLabel(index=9, status="labelled", label="nul\u0000 here", method="rules"),
    ]
    labels.joinpath("labels.jsonl").write_text("\n".join(r.model_dump_json() for r in rows))
    return copy


def test_export_writes_both_forms_with_the_folder_labels(folder, tmp_path, tmp_home, capsys):
    out = tmp_path / "out"
    main(["export", "neuronpedia", str(folder), "--out", str(out), "--latents", "labelled",
          "--examples", "3", "--no-logit-lens", "--model-id", "tiny-llama"])  # fmt: skip
    text = capsys.readouterr().out
    assert "2 latents" in text and "tiny-llama/1-mistudio-res-40" in text
    archive = zipfile.ZipFile(out / "export.zip")
    assert sorted(n for n in archive.namelist() if n.startswith("features/")) == [
        "features/4.json",
        "features/9.json",
    ]
    labels = json.loads(archive.read("explanations/explanations.json"))
    assert [(x["index"], x["label"]) for x in labels] == [(4, "w4 tokens"), (9, "nul  here")]
    source = out / "neuronpedia" / "tiny-llama" / "1-mistudio-res-40"
    with gzip.open(source / "features" / "batch-0.jsonl.gz", "rt") as f:
        features = [json.loads(line) for line in f]
    assert [x["index"] for x in features] == ["4", "9"] and features[0]["pos_str"] == []


def test_export_errors_are_one_line(folder, tmp_path, tmp_home, capsys):
    for args, words in (
        (["--latents", "starred"], "studio's database"),
        (["--latents", "0-40"], "latent 40 does not exist; this SAE has 0..39"),
        (["--model-id", "Tiny_Llama"], "Neuronpedia model id"),
        (["--source-set", "a--b"], "source set"),
        (["--form", "pdf"], "--form"),
    ):
        with pytest.raises(SystemExit) as info:
            main(["export", "neuronpedia", str(folder), "--out", str(tmp_path / "x"), *args])
        assert info.value.code == 1
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and words in err and "\n" not in err, err
    assert not (tmp_path / "x").exists() or not any((tmp_path / "x").iterdir())


def test_upload_then_rerun_resumes(folder, tmp_path, tmp_home, capsys, monkeypatch):
    out = tmp_path / "out"
    main(["export", "neuronpedia", str(folder), "--out", str(out), "--form", "neuronpedia",
          "--latents", "extracted", "--examples", "2"])  # fmt: skip
    capsys.readouterr()
    with FakeNeuronpedia() as fake:
        fake.add_source("smollm2-135m", "1-mistudio-res-40")
        monkeypatch.setenv("MY_NP_KEY", fake.api_key)
        args = ["export", "upload", str(out), "--url", fake.endpoint, "--api-key-env", "MY_NP_KEY"]
        args += ["--batch-features", "8"]
        fake.reject_request(2, 400, "no room")
        with pytest.raises(SystemExit):
            main(args)
        last = capsys.readouterr().err.strip().splitlines()[-1]  # under the progress bar
        assert last.startswith("error: ") and "rejected batch 2 of" in last and "no room" in last
        main(args)  # the rerun sends only what was not accepted
        stored = fake.features("smollm2-135m", "1-mistudio-res-40")
        source = out / "neuronpedia/smollm2-135m/1-mistudio-res-40"
        written: dict[int, int] = {}
        with gzip.open(source / "activations" / "batch-0.jsonl.gz", "rt") as f:
            for line in f:
                index = int(json.loads(line)["index"])
                written[index] = written.get(index, 0) + 1
        assert set(stored) == set(written)  # every latent with examples, once
        assert {i: len(v["activations"]) for i, v in stored.items()} == written
        # Without a key for that instance: one line, nothing sent.
        monkeypatch.delenv("MY_NP_KEY")
        with pytest.raises(SystemExit):
            main(args)
        assert "MY_NP_KEY is not set" in capsys.readouterr().err
