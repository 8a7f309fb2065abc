"""The training config shown in the README must stay valid."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from mistudio.core.pipeline import TrainingRunConfig


def test_readme_training_yaml_validates():
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    block = re.search(r"```yaml\n(.*?)```", readme, re.S)
    assert block is not None
    config = TrainingRunConfig.model_validate(yaml.safe_load(block.group(1)))
    archs = [s.sae.architecture for s in config.train.saes]
    assert archs == ["topk", "standard", "jumprelu"]
    assert config.train.total_steps == 2_000_000 // 4096
