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


def _hand_built(kind: str, root: Path) -> Path:
    """Gemma Scope 1/2 and Llama Scope folders as ``formats/test_hand_built.py`` builds them."""
    from tests.unit.formats import test_hand_built as hb

    if kind == "gemma_scope":
        return hb._gemma_scope_1(
            root, "gemma-scope-2b-pt-res", "layer_3/width_16k/average_l0_40", hb._weights(1), True
        )
    if kind == "gemma_scope_2":
        config = {"architecture": "jump_relu", "hf_hook_point_in": "model.layers.7.output"}
        return hb._gemma_scope_2(
            root / "resid_post" / "layer_7_width_16k_l0_small", hb._weights(4), config, None
        )
    hp = {
        "d_model": hb.D_IN,
        "d_sae": hb.D_SAE,
        "jump_relu_threshold": 0.3,
        "dataset_average_activation_norm": {"in": 9.5, "out": 9.5},
        "hook_point_in": "blocks.15.hook_resid_post",
        "hook_point_out": "blocks.15.hook_resid_post",
    }
    return hb._llama_scope(root / "Llama3_1-8B-Base-L15R-8x", hp, hb._llama_weights(7))


FORMAT_CASES = [
    ("saelens", "saelens/jumprelu"),
    ("saelens", "saelens/pre6_topk"),
    ("sparsify", "sparsify/topk/layers.3"),
    ("dictionary_learning", "dictionary_learning/BatchTopKSAE"),
    ("gemma_scope", None),
    ("gemma_scope_2", None),
    ("llama_scope", None),
]


@pytest.mark.parametrize(("fmt", "case"), FORMAT_CASES, ids=lambda v: str(v))
def test_every_format_adds_from_a_path_and_exports_the_same(
    fmt: str,
    case: str | None,
    tmp_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source = fixture(case) if case else _hand_built(fmt, tmp_path / "src")
    expected = read_sae(source)
    monkeypatch.chdir(source.parent)  # a relative path names the folder, not a Hub repo
    main(["saes", "add", source.name, "--name", "added"])
    assert f"added: {fmt} ->" in capsys.readouterr().out
    main(["saes", "export", "added", str(tmp_path / "out.zip")])
    with zipfile.ZipFile(tmp_path / "out.zip") as archive:
        archive.extractall(tmp_path / "unzipped")
    back = load_sae(tmp_path / "unzipped" / "out")
    x = torch.randn(16, expected.sae.d_in)
    with torch.no_grad():
        torch.testing.assert_close(back(x).x_hat, expected.sae(x).x_hat, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(back.encode(x), expected.sae.encode(x), atol=1e-5, rtol=1e-5)
