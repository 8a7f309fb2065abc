"""The studio archive ``export.zip``: its layout, ``features/<i>.json`` equal to the extraction's
pages, ``saelens/`` read back by our SAELens reader with equal outputs, and a disk that fills
mid-export leaving nothing behind (a real ``RLIMIT_FSIZE`` in a subprocess)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from dataclasses import asdict
from pathlib import Path

import pytest
import torch

from mistudio.core.formats import read_sae
from mistudio.core.neuronpedia import LatentLabel, NeuronpediaExportConfig
from mistudio.core.neuronpedia.export import export_extraction

LIMIT_SCRIPT = """
import json, resource, signal, sys
from pathlib import Path
from mistudio.core.features import ExtractionResult
from mistudio.core.neuronpedia import NeuronpediaExportConfig
from mistudio.core.neuronpedia.export import export_extraction
from mistudio.errors import MiStudioError

result = ExtractionResult.open(sys.argv[1])
tokenizer = result.tokenizer()  # loaded before the limit: reading never writes
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
_, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
out = Path(sys.argv[3])
for limit in [int(x) for x in sys.argv[4].split(",")]:
    # The soft limit goes down for one export and back up after it (up to the hard limit).
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        export_extraction(result, NeuronpediaExportConfig(), out, sae_folder=Path(sys.argv[2]))
        line = "OK"
    except MiStudioError as exc:
        line = f"ERROR {exc}"
    resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))
    print(json.dumps({"limit": limit, "line": line, "left": sorted(p.name for p in out.iterdir())}))
"""


@pytest.fixture(scope="module")
def exported(tiny_extraction, tmp_path_factory):
    out = tmp_path_factory.mktemp("archive") / "out"
    labels = {5: LatentLabel(5, "w5 words", "fires on w5", "Lexical", "rules", None, 0.7)}
    summary = export_extraction(
        tiny_extraction.result,
        NeuronpediaExportConfig(examples=4),
        out,
        sae_folder=tiny_extraction.sae_folder,
        labels=labels,
        lineage={"extraction_id": 3},
    )
    return summary, zipfile.ZipFile(out / "export.zip"), out


def test_layout(exported, tiny_extraction) -> None:
    summary, archive, out = exported
    names = archive.namelist()
    d_sae = tiny_extraction.result.d_sae
    assert {f"features/{i}.json" for i in range(d_sae)} <= set(names)
    assert {"metadata.json", "README.md", "explanations/explanations.json"} <= set(names)
    assert {"saelens/cfg.json", "saelens/sae_weights.safetensors"} <= set(names)
    assert archive.getinfo("saelens/sae_weights.safetensors").compress_type == zipfile.ZIP_STORED
    meta = json.loads(archive.read("metadata.json"))
    assert meta["lineage"] == {"extraction_id": 3}
    assert meta["neuronpedia"]["source_id"] == "1-mistudio-res-40" == summary.source_id
    assert meta["sae_cfg"]["d_sae"] == d_sae and meta["extraction"]["hook_name"]
    assert "1-mistudio-res-40" in archive.read("README.md").decode()
    (label,) = json.loads(archive.read("explanations/explanations.json"))
    assert label["index"] == 5 and label["method"] == "rules" and label["label"] == "w5 words"
    assert sorted(p.name for p in out.iterdir()) == ["export.zip", "neuronpedia"]


def test_feature_files_hold_the_extraction_pages(exported, tiny_extraction) -> None:
    _, archive, _ = exported
    result = tiny_extraction.result
    tokenizer = result.tokenizer()
    live = [i for i in range(result.d_sae) if result.stats(i).count > 0]
    assert live
    for i in live[:8]:
        page = json.loads(archive.read(f"features/{i}.json"))
        stats = asdict(result.stats(i, tokenizer))
        assert page["stats"].keys() == stats.keys()
        for key, value in stats.items():
            assert page["stats"][key] == pytest.approx(value), key
        examples = result.examples(i, tokenizer, limit=4)
        assert [e["tokens"] for e in page["examples"]] == [e.tokens for e in examples]
        assert [e["token_ids"] for e in page["examples"]] == [e.token_ids for e in examples]
        for mine, theirs in zip(page["examples"], examples, strict=True):
            assert mine["acts"] == pytest.approx(theirs.acts, abs=1e-5)
            assert mine["center"] == theirs.center
        assert len(page["samples"]) == len(result.samples(i))
        hist = result.histogram(i)
        assert page["histogram"]["counts"] == hist.counts.tolist()
        lens = result.logit_lens(i, tokenizer)
        assert [t for t, _ in page["logit_lens"]["positive"]] == [t for t, _ in lens.positive]
        assert page["logit_lens"]["positive_text"] == lens.positive_text
        corr = result.correlated(i)
        assert [j for j, _ in page["correlated"]["decoder"]] == [j for j, _ in corr.decoder]
    assert json.loads(archive.read("features/5.json"))["label"]["label"] == "w5 words"


def test_saelens_folder_reads_back_with_equal_outputs(exported, tiny_extraction, tmp_path) -> None:
    _, archive, _ = exported
    folder = tmp_path / "saelens"
    for name in archive.namelist():
        if name.startswith("saelens/"):
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / name).write_bytes(archive.read(name))
    imported = read_sae(folder)
    assert imported.hook_name == "blocks.1.hook_resid_post"
    original = tiny_extraction.sae
    x = torch.randn(64, original.d_in)
    with torch.no_grad():
        assert torch.equal(imported.sae.encode(x), original.encode(x))
        assert torch.allclose(imported.sae(x).x_hat, original(x).x_hat)


def test_only_selected_latents_and_no_weights_when_excluded(tiny_extraction, tmp_path) -> None:
    config = NeuronpediaExportConfig(
        latents="2-4,9", include_saelens=False, include_logit_lens=False, include_top_tokens=False
    )
    export_extraction(
        tiny_extraction.result, config, tmp_path, sae_folder=tiny_extraction.sae_folder,
        forms=("archive",),
    )  # fmt: skip
    archive = zipfile.ZipFile(io.BytesIO((tmp_path / "export.zip").read_bytes()))
    features = sorted(n for n in archive.namelist() if n.startswith("features/"))
    assert features == ["features/2.json", "features/3.json", "features/4.json", "features/9.json"]
    assert not any(n.startswith("saelens/") for n in archive.namelist())
    page = json.loads(archive.read("features/3.json"))
    assert page["logit_lens"] is None and "top_tokens" not in page["stats"]
    assert page["stats"]["top_token_ids"] == []
    assert not (tmp_path / "neuronpedia").exists()


def test_a_full_disk_leaves_no_partial_export(tiny_extraction, tmp_path) -> None:
    """The file size limit stops the export among the features (30 kB) or at its end, while
    the SAE weights and metadata go in (85 kB of a 92 kB archive): a one-line error and nothing
    under ``out``; with room enough the same export completes. One subprocess runs the three
    (each one would pay the imports again)."""
    out = tmp_path / "out"
    out.mkdir()
    limits = [30_000, 85_000, 1 << 30]
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            LIMIT_SCRIPT,
            str(tiny_extraction.result.folder),
            str(tiny_extraction.sae_folder),
            str(out),
            ",".join(map(str, limits)),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, (proc.stdout, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr
    runs = [json.loads(line) for line in proc.stdout.strip().splitlines()[-3:]]
    assert [r["limit"] for r in runs] == limits
    for run in runs[:2]:
        assert run["line"].startswith("ERROR the disk filled while writing the export"), run
        assert "\n" not in run["line"] and run["left"] == [], run
    assert runs[2]["line"] == "OK" and runs[2]["left"] == ["export.zip", "neuronpedia"], runs[2]
    assert (out / "export.zip").is_file() and Path(out / "neuronpedia").is_dir()
