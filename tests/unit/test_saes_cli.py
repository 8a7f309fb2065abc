"""``mistudio saes``: add from the (fake) Hub, browse, search, export, registry update."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import torch

from mistudio.cli import main
from mistudio.core.formats import read_sae
from mistudio.core.sae import load_sae
from tests.sae_repos import build_multi_sae_repo, fixture, reference

if TYPE_CHECKING:
    from tests.fake_hub import FakeHub

pytest_plugins = ["tests.fake_hub"]


def test_add_browse_search_and_export(
    fake_hub: FakeHub, tmp_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_hub.add_repo("org/saes", build_multi_sae_repo(tmp_path / "repo"), library="saelens")
    main(["saes", "browse", "org/saes"])
    out = capsys.readouterr().out
    assert "4 SAEs" in out and "sparsify/layers.3" in out and "dictionary_learning" in out
    main(["saes", "search", "saes"])
    assert "org/saes" in capsys.readouterr().out

    main(["saes", "add", "org/saes", "--allow-pattern", "dl/trainer_0/*", "--name", "dl"])
    out = capsys.readouterr().out
    assert "dictionary_learning" in out and "saved to" in out
    folder = tmp_home / "artifacts" / "saes" / "dl"
    ref = reference("dictionary_learning/JumpReluAutoEncoder")
    assert torch.allclose(load_sae(folder)(ref["x"]).x_hat, ref["forward"], atol=1e-5)
    origin = read_sae(folder).metadata["mistudio_origin"]
    assert (origin["repo"], origin["path"], origin["format"]) == (
        "org/saes",
        "dl/trainer_0",
        "dictionary_learning",
    )

    main(["saes", "export", "dl", str(tmp_path / "out.zip")])
    with zipfile.ZipFile(tmp_path / "out.zip") as archive:
        assert sorted(archive.namelist()) == ["out/cfg.json", "out/sae_weights.safetensors"]
        archive.extractall(tmp_path / "unzipped")
    back = load_sae(tmp_path / "unzipped" / "out")
    assert torch.allclose(back(ref["x"]).x_hat, ref["forward"], atol=1e-5)
    main(["saes", "export", str(fixture("saelens/pre6_standard")), str(tmp_path / "pre6")])
    ref6 = reference("saelens/pre6_standard")
    assert torch.allclose(load_sae(tmp_path / "pre6")(ref6["x"]).x_hat, ref6["forward"], atol=1e-5)


def test_errors_are_one_line(
    fake_hub: FakeHub, tmp_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_hub.add_repo("org/saes", build_multi_sae_repo(tmp_path / "repo"))
    for argv, text in (
        (["saes", "add", "org/saes", "--allow-pattern", "x/*"], "match no file"),
        (["saes", "add", "org/missing"], "not found"),
        (["saes", "export", "nothing-here", str(tmp_path / "x")], "no SAE 'nothing-here'"),
        (["saes", "registry", "update", "--from", str(tmp_path / "no.yaml")], "does not exist"),
    ):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        err = capsys.readouterr().err
        assert exit_.value.code == 1 and text in err and err.count("\n") == 1, (argv, err)


def test_registry_update(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    yaml_path = tmp_path / "pretrained_saes.yaml"
    yaml_path.write_text("r:\n  repo_id: o/r\n  saes:\n  - id: a\n    path: p\n")
    dest = tmp_path / "reg.json.gz"
    main(
        [
            "saes",
            "registry",
            "update",
            "--from",
            str(yaml_path),
            "--sae-lens-version",
            "6.1.0",
            "--dest",
            str(dest),
        ]
    )
    out = capsys.readouterr().out
    assert "1 releases, 1 SAEs" in out and "from sae-lens 6.1.0" in out and dest.is_file()
