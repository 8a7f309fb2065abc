"""``mistudio steer`` on a tiny model saved as a HuggingFace folder."""

from __future__ import annotations

import json
import math
import re

import pytest
import torch

from mistudio.cli import main
from mistudio.core.features import ExtractionResult
from mistudio.core.sae import SAEConfig, build_sae, save_sae
from mistudio.core.steering import SteeringRun
from tests.unit.cli_workspace import tiny_tokenization
from tests.unit.tiny_models import tiny_model, tiny_tokenizer


@pytest.fixture
def workspace(tmp_home, tmp_path):
    model_dir = tmp_path / "tiny-llama"
    tiny_model("llama").save_pretrained(model_dir)
    tiny_tokenizer().save_pretrained(model_dir)
    sae = build_sae(SAEConfig(architecture="standard", d_in=32, d_sae=24))
    with torch.no_grad():
        sae.W_dec.mul_(10.0)
    save_sae(sae, tmp_path / "sae", metadata={"hook_name": "blocks.1.hook_resid_post"})
    return model_dir, tmp_path / "sae"


def run_cli(args, capsys):
    capsys.readouterr()
    main(args)
    return capsys.readouterr().out


def test_steer_side_by_side_and_sweep(workspace, tmp_path, capsys):
    model_dir, sae_dir = workspace
    common = ["--sae", str(sae_dir), "--feature", "5", "--prompt", "w5 w6 w7", "--model",
              str(model_dir), "--max-tokens", "6", "--similarity", "jaccard"]  # fmt: skip
    shown = run_cli(["steer", *common, "--strength", "4"], capsys)
    assert "feature 5 of blocks.1.hook_resid_post: add 4" in shown
    assert "baseline" in shown and "\u2502 steered" in shown
    assert "KL " in shown and "perplexity" in shown and "token Jaccard" in shown
    assert re.search(r"features fire on \d+% of its tokens \(baseline \d+%\)", shown), shown

    out = tmp_path / "sweep.json"
    shown = run_cli(["steer", *common, "--sweep", "0,2,nan", "--out", str(out)], capsys)
    assert "add, strength swept" in shown
    for label in ("strength 0", "strength 2", "strength nan"):
        assert label in shown
    assert "not finite" in shown
    run = SteeringRun.load(out)
    steered = run.prompts[0].steered
    assert [s.strength for s in steered[:2]] == [0.0, 2.0] and math.isnan(steered[2].strength)
    assert steered[0].token_ids == run.prompts[0].baseline.token_ids
    assert run.saes[0].folder == str(sae_dir)

    data = json.loads(run_cli(["steer", *common, "--mode", "suppress", "--json"], capsys))
    assert data["config"]["interventions"][0]["mode"] == "suppress"
    assert data["prompts"][0]["steered"][0]["values"] == [0.0]


def test_steer_relative_reads_max_act_from_extraction(workspace, tmp_home, tmp_path, capsys):
    model_dir, sae_dir = workspace
    tiny_tokenization(tmp_home, tmp_path, 20)
    ext = tmp_path / "ext"
    main(["extract", "--sae", str(sae_dir), "-t", "tiny", "--tokens", "200", "--top-k", "3",
          "--model", str(model_dir), "--out", str(ext)])  # fmt: skip
    result = ExtractionResult.open(ext)
    latent = int(result.table()["count"].argmax())
    max_act = result.stats(latent).max_act
    assert max_act > 0
    data = json.loads(run_cli(
        ["steer", "--sae", str(sae_dir), "-f", str(latent), "-s", "2", "--relative",
         "--extraction", str(ext), "-p", "w5", "--model", str(model_dir), "--max-tokens", "3",
         "--similarity", "jaccard", "--json"], capsys))  # fmt: skip
    assert data["prompts"][0]["steered"][0]["values"] == [pytest.approx(2 * max_act)]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--feature", "24", "--strength", "1"], "feature 24 does not exist"),
        (["--feature", "1"], "give --strength"),
        (["--feature", "1", "--strength", "1", "--relative"], "--relative needs --extraction"),
        (["--feature", "1", "--feature", "2", "--strength", "1", "--strength", "2",
          "--strength", "3"], "one --strength for all features or one per feature"),
        (["--feature", "1", "--strength", "1", "--mode", "boost"], "mode"),
        (["--feature", "1", "--sweep", "1,x"], "--sweep takes comma-separated numbers"),
    ],
)  # fmt: skip
def test_steer_errors_are_one_line(workspace, capsys, extra, message):
    model_dir, sae_dir = workspace
    with pytest.raises(SystemExit) as exit_info:
        main(["steer", "--sae", str(sae_dir), "--prompt", "w5", "--model", str(model_dir),
              "--similarity", "jaccard", *extra])  # fmt: skip
    assert exit_info.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: ") and message in err


def test_steer_config_file_is_the_steering_config(workspace, tmp_path, capsys):
    """``--config`` reads a SteeringConfig (SAE named by folder); typed options override it."""
    model_dir, sae_dir = workspace
    file = tmp_path / "steer.yaml"
    file.write_text(
        "prompts: ['w5 w6 w7']\n"
        "similarity: jaccard\n"
        "generation: {max_new_tokens: 6, seed: 3}\n"
        f"interventions: [{{sae: '{sae_dir}', index: 5, strength: 4.0}}]\n"
    )
    args = ["steer", "--config", str(file), "--model", str(model_dir), "--seed", "7", "--json"]
    data = json.loads(run_cli(args, capsys))
    config = data["config"]
    assert config["interventions"][0]["index"] == 5
    assert config["interventions"][0]["sae"] == str(sae_dir)
    assert config["generation"]["max_new_tokens"] == 6 and config["generation"]["seed"] == 7
    assert config["similarity"] == "jaccard"
    assert len(data["prompts"][0]["steered"][0]["token_ids"]) <= 6


def test_steer_prompt_template_runs_one_prompt_per_value(workspace, capsys):
    model_dir, sae_dir = workspace
    args = ["steer", "--sae", str(sae_dir), "--feature", "5", "--strength", "4", "--model",
            str(model_dir), "--max-tokens", "3", "--similarity", "jaccard", "--json",
            "--prompt", "w1", "--prompt-template", "w5 {a} {b}", "--value", "a=w6",
            "--value", "b=w8", "--value", "a=w7", "--value", "b=w9",
            "--combine", "zip"]  # fmt: skip
    data = json.loads(run_cli(args, capsys))
    assert [p["prompt"] for p in data["prompts"]] == ["w1", "w5 w6 w8", "w5 w7 w9"]
    assert [p["variables"] for p in data["prompts"]] == [
        {},
        {"a": "w6", "b": "w8"},
        {"a": "w7", "b": "w9"},
    ]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--value", "a=w6"], "--value fills a --prompt-template's variables"),
        (["--prompt-template", "w5 {a}", "--value", "a"], "--value takes NAME=VALUE"),
        (["--prompt-template", "w5 {a}", "--value", "b=w6"], "values given for {b}"),
        (["--prompt-template", "w5 {a}"], "{a} has no values"),
    ],
)  # fmt: skip
def test_steer_prompt_template_errors_are_one_line(workspace, capsys, extra, message):
    model_dir, sae_dir = workspace
    with pytest.raises(SystemExit) as exit_info:
        main(["steer", "--sae", str(sae_dir), "--feature", "1", "--strength", "1", "--model",
              str(model_dir), "--similarity", "jaccard", *extra])  # fmt: skip
    assert exit_info.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: ") and message in err
