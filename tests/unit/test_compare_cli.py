"""``mistudio compare A B``: the share matched and the splits printed, pairs written as CSV or
JSON, bad input one line."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch

from mistudio.cli import main
from mistudio.core.sae import SAEConfig, build_sae, save_sae


def _folders(root: Path) -> tuple[Path, Path, Path]:
    torch.manual_seed(0)
    a = build_sae(SAEConfig(architecture="standard", d_in=24, d_sae=40))
    b = build_sae(SAEConfig(architecture="topk", d_in=24, d_sae=80, k=4))
    with torch.no_grad():
        b.W_dec[:40] = a.W_dec.flip(0)  # A's latent i is B's 39 - i
        b.W_dec[40] = a.W_dec[0] + a.W_dec[1]  # and B's 40 is no single A latent
        a2 = build_sae(SAEConfig(architecture="standard", d_in=24, d_sae=40))
        a2.W_dec.copy_(a.W_dec)
        a2.W_dec[5] = b.W_dec[50] + b.W_dec[60]  # A's latent 5 splits into B's 50 and 60
    narrow = build_sae(SAEConfig(architecture="standard", d_in=8, d_sae=16))
    return (
        save_sae(a2, root / "a"),
        save_sae(b, root / "b"),
        save_sae(narrow, root / "narrow"),
    )


def test_compare_prints_and_writes(
    tmp_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b, _ = _folders(tmp_path)
    main(["compare", str(a), str(b), "--out", str(tmp_path / "pairs.csv")])
    out = capsys.readouterr().out
    assert "39 of A matched at cosine >= 0.7 (97.5%)" in out
    assert "split: A 5 -> B" in out and "50 (" in out and "60 (" in out
    rows = list(csv.DictReader((tmp_path / "pairs.csv").open()))
    assert len(rows) == 40 and rows[0]["b"] == "39" and rows[5]["split"] == "True"
    main(["compare", str(a), str(b), "--threshold", "0.99", "--out", str(tmp_path / "m.json")])
    doc = json.loads((tmp_path / "m.json").read_text())
    assert doc["threshold"] == 0.99 and len(doc["pairs"]) == 40
    assert [s["a"] for s in doc["splits"]] == [5]


def test_compare_bad_input_is_one_line(
    tmp_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, _, narrow = _folders(tmp_path)
    for argv in (
        ["compare", str(a), str(narrow)],
        ["compare", str(a), "no-such-sae"],
        ["compare", str(a), str(a), "--out", str(tmp_path / "x.txt")],
    ):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 1
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err
