"""``mistudio extract`` and ``mistudio feature`` on a tiny model saved as a HuggingFace folder."""

from __future__ import annotations

import pytest

from mistudio.cli import main
from mistudio.core.features import ExtractionResult
from tests.unit.cli_workspace import cli_workspace


@pytest.fixture
def workspace(tmp_home, tmp_path):
    model_dir, sae_dir, _ = cli_workspace(tmp_home, tmp_path)
    return model_dir, sae_dir


def test_extract_then_feature(workspace, tmp_path, capsys):
    model_dir, sae_dir = workspace
    out = tmp_path / "ext"
    main(
        ["extract", "--sae", str(sae_dir), "-t", "tiny", "--tokens", "300", "--top-k", "5",
         "--context", "3", "--after", "1", "--model", str(model_dir), "--out", str(out)]
    )  # fmt: skip
    result = ExtractionResult.open(out)
    assert result.meta.n_tokens == 300 and result.meta.sae_folder == str(sae_dir)
    capsys.readouterr()
    latent = int(result.table()["count"].argmax())
    main(["feature", str(out), str(latent), "--examples", "3", "--prompt", "w5 w6"])
    shown = capsys.readouterr().out
    assert f"latent {latent} of blocks.1.hook_resid_post" in shown
    assert "top examples" in shown and "logit lens" in shown and "pearson" in shown
    assert "clean:" in shown and "ablated:" in shown
    assert result.examples(latent, result.tokenizer())[0].tokens[0] in shown


def test_extract_errors_are_one_line(workspace, tmp_path, capsys):
    model_dir, sae_dir = workspace
    with pytest.raises(SystemExit) as exit_info:
        main(
            ["extract", "--sae", str(sae_dir), "-t", "tiny", "--tokens", "10", "--top-k", "50",
             "--model", str(model_dir), "--out", str(tmp_path / "x")]
        )  # fmt: skip
    assert exit_info.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: ") and "top_k" in err
