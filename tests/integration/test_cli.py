"""The CLI as a user runs it: a subprocess, one-line errors, JSON output."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


def mistudio(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mistudio", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.smollm
def test_models_info_json(smollm2):
    out = mistudio("models", "info", "smollm2-135m", "--json")
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert (info["n_layers"], info["d_model"], info["vocab_size"]) == (30, 576, 49152)
    assert 134e6 < info["n_params"] < 136e6
    assert "blocks.6.hook_resid_post" in info["hook_points"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("models", "info", "nobody/no-such-model"), "cannot reach the HuggingFace Hub"),
        (("models", "info", "./missing-folder"), "not found"),
        (("datasets", "import", "/etc/hostname.xyz"), "not a built-in corpus"),
        (("datasets", "tokenize", "never-imported"), "no dataset named"),
    ],
)
def test_bad_input_is_one_line_and_nonzero(args, message, tmp_path):
    out = mistudio(*args, env={"HF_HUB_OFFLINE": "1", "MISTUDIO_HOME": str(tmp_path)})
    assert out.returncode == 1
    assert message in out.stderr
    assert "Traceback" not in out.stderr
    last = out.stderr.strip().splitlines()[-1]  # progress bars may come before it
    assert last.startswith("error: ") and message in last


def test_unsupported_file_type(tmp_path):
    bad = tmp_path / "data.xlsx"
    bad.write_bytes(b"PK")
    out = mistudio("datasets", "import", str(bad), env={"MISTUDIO_HOME": str(tmp_path)})
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert ".jsonl" in out.stderr
