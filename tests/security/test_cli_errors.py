"""Bad command-line input prints one ``error:`` line and exits 1, never a traceback (issue 13,
point 11). The checks live in the config classes and the GGUF reader, so the API refuses the same
values with a 422 (see ``test_bad_input.py``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

MISTUDIO = str(Path(sys.executable).parent / "mistudio")

NAN_CONFIG = """\
model: smollm2-135m
tokenization: {tokenization}
train:
  total_tokens: 4096
  batch_tokens: 1024
  saes:
    - hook_name: blocks.0.hook_resid_post
      lr: {lr}
      sae: {{architecture: topk, d_in: 8, d_sae: 16, k: 2}}
"""


def _run(args: list[str], home: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MISTUDIO_")}
    env.update(MISTUDIO_HOME=str(home), HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    return subprocess.run(
        [MISTUDIO, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def _cases(tmp: Path) -> dict[str, tuple[list[str], str]]:
    """name -> (arguments, a phrase the error line must hold)."""
    tokenization = tmp / "tok"
    tokenization.mkdir()
    (tokenization / "meta.json").write_text("{}")
    for name, lr in (("nan", ".nan"), ("inf", ".inf")):
        (tmp / f"{name}.yaml").write_text(NAN_CONFIG.format(tokenization=tokenization, lr=lr))
    (tmp / "random.gguf").write_bytes(os.urandom(256))
    (tmp / "truncated.gguf").write_bytes(b"GGUF\x03\x00\x00\x00short")
    return {
        "max-length 0": (["datasets", "tokenize", "X", "--max-length", "0"], "max_length"),
        "max-length -5": (["datasets", "tokenize", "X", "--max-length", "-5"], "max_length"),
        "stride over max-length": (
            ["datasets", "tokenize", "X", "--stride", "100", "--max-length", "10"],
            "stride",
        ),
        "max-length 2**70": (
            ["datasets", "tokenize", "X", "--max-length", str(2**70)],
            "max_length",
        ),
        "training lr .nan": (["train", "--config", str(tmp / "nan.yaml")], "lr"),
        "training lr .inf": (["train", "--config", str(tmp / "inf.yaml")], "lr"),
        "random .gguf": (["models", "info", str(tmp / "random.gguf")], "not a GGUF file"),
        "truncated .gguf": (["models", "info", str(tmp / "truncated.gguf")], "GGUF"),
    }


CASE_NAMES = [
    "max-length 0",
    "max-length -5",
    "stride over max-length",
    "max-length 2**70",
    "training lr .nan",
    "training lr .inf",
    "random .gguf",
    "truncated .gguf",
]


@pytest.mark.parametrize("name", CASE_NAMES)
def test_bad_cli_input_is_one_line(tmp_path: Path, name: str) -> None:
    home = tmp_path / "home"
    home.mkdir()
    args, phrase = _cases(tmp_path)[name]
    done = _run(args, home, tmp_path)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    errors = [line for line in done.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1, done.stderr[-3000:]
    assert errors[0].split("\r")[-1].startswith("error: "), errors
    assert phrase in errors[0], errors
