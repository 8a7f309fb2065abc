"""``mistudio eval`` on a tiny model saved as a HuggingFace folder: the printed and written
metrics equal core/lab's on the same held-out sequences; mistakes are one line."""

from __future__ import annotations

import csv

import pytest

from mistudio.cli import main
from mistudio.core.data import Tokenization
from mistudio.core.lab import EvalConfig, run_evals
from mistudio.core.language_models import load_model
from mistudio.core.sae import load_sae
from tests.unit.cli_workspace import HOOK, cli_workspace


@pytest.fixture
def workspace(tmp_home, tmp_path):
    return cli_workspace(tmp_home, tmp_path)


def test_eval_writes_what_core_computes(workspace, tmp_path, capsys):
    model_dir, sae_dir, tok_dir = workspace
    out = tmp_path / "m.csv"
    main(
        ["eval", str(sae_dir), "-t", "tiny", "--metrics", "core", "--sequences", "6",
         "--resamples", "40", "--model", str(model_dir), "--out", str(out)]
    )  # fmt: skip
    shown = capsys.readouterr().out
    rows = {r["metric"]: r for r in csv.DictReader(out.open())}
    config = EvalConfig(metrics=["core"], n_sequences=6, n_resamples=40)
    ref = run_evals(
        load_model(str(model_dir)), load_sae(sae_dir), HOOK, config, Tokenization.open(tok_dir)
    ).metrics
    for name in ("l0", "fvu", "ce_loss_score", "dead_fraction"):
        assert float(rows[name]["value"]) == pytest.approx(ref[name].value, rel=1e-6), name
        assert float(rows[name]["high"]) == pytest.approx(ref[name].high, rel=1e-6), name
    assert "fvu" in shown and "core:" in shown and str(out) in shown


def test_eval_mistakes_are_one_line(workspace, tmp_path, capsys):
    model_dir, sae_dir, _ = workspace
    for argv, says in (
        (["--metrics", "core"], "--tokenization"),
        (["--metrics", "core,bogus", "-t", "tiny"], "metrics"),
        (["--out", str(tmp_path / "m.txt")], ".csv or .json"),
    ):
        with pytest.raises(SystemExit) as exit_info:
            main(["eval", str(sae_dir), "--model", str(model_dir), *argv])
        assert exit_info.value.code == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ") and says in err[0], err
