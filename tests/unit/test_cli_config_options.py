"""``--config FILE`` on every operation command: the options are a thin mapping onto the core
config's fields, and the file is that config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer.main
from pydantic import BaseModel, ValidationError

from mistudio.cli import app
from mistudio.cli.activations_cmd import CACHE_OPTIONS
from mistudio.cli.config_options import HELP_FILE, config_from, help_table
from mistudio.cli.datasets_cmd import TOKENIZE_OPTIONS
from mistudio.cli.eval_cmd import EVAL_OPTIONS
from mistudio.cli.features_cmd import EXTRACT_OPTIONS
from mistudio.cli.label_cmd import LABEL_OPTIONS
from mistudio.cli.models_cmd import MODEL_OPTIONS
from mistudio.cli.saes_cmd import SAE_ADD_OPTIONS
from mistudio.cli.steer_cmd import STEER_OPTIONS
from mistudio.core.activations import ActivationStreamConfig
from mistudio.core.data import TokenizeConfig
from mistudio.core.features import ExtractionConfig
from mistudio.core.lab import EvalConfig
from mistudio.core.labeling import LabelingConfig
from mistudio.core.language_models import ModelLoadConfig
from mistudio.core.matching import MatchingConfig
from mistudio.core.sae_import import SAEImportConfig
from mistudio.core.steering import SteeringConfig

COMMANDS: list[tuple[tuple[str, ...], dict[str, str], type[BaseModel]]] = [
    (("datasets", "tokenize"), TOKENIZE_OPTIONS, TokenizeConfig),
    (("activations", "cache"), CACHE_OPTIONS, ActivationStreamConfig),
    (("extract",), EXTRACT_OPTIONS, ExtractionConfig),
    (("label",), LABEL_OPTIONS, LabelingConfig),
    (("steer",), STEER_OPTIONS, SteeringConfig),
    (("models", "add"), MODEL_OPTIONS, ModelLoadConfig),
    (("saes", "add"), SAE_ADD_OPTIONS, SAEImportConfig),
    (("eval",), EVAL_OPTIONS, EvalConfig),
]
WITHOUT_CONFIG_FILE: list[type[BaseModel]] = [MatchingConfig]
"""Configs whose command takes its few options without ``--config`` (``mistudio compare``)."""


def _command(path: tuple[str, ...]) -> Any:
    """The click command at ``path`` (typer ships its own click, so no isinstance checks)."""
    cmd: Any = typer.main.get_command(app)
    for name in path:
        cmd = cmd.commands[name]
    return cmd


@pytest.mark.parametrize(("path", "mapping", "cls"), COMMANDS, ids=lambda v: str(v)[:20])
def test_every_option_maps_to_a_real_field(
    path: tuple[str, ...], mapping: dict[str, str], cls: type[BaseModel]
) -> None:
    params = {p.name for p in _command(path).params}
    assert "config_file" in params, f"{' '.join(path)} has no --config"
    assert set(mapping) <= params, set(mapping) - params
    for field in mapping.values():
        owner: Any = cls
        *parents, leaf = field.split(".")
        for name in parents:  # a dotted field names a field of a nested config
            owner = owner.model_fields[name].annotation
        assert leaf in owner.model_fields, f"{field} is not a field of {cls.__name__}"


def _ctx(path: tuple[str, ...], args: list[str]) -> Any:
    return _command(path).make_context(path[-1], args)


def test_file_is_the_config_and_typed_options_override_it(tmp_path: Path) -> None:
    file = tmp_path / "tok.json"
    file.write_text(json.dumps({"max_length": 128, "stride": 64, "pack": False}))
    path = ("datasets", "tokenize")
    ctx = _ctx(path, ["ds", "--config", str(file), "--stride", "32"])
    config = config_from(TokenizeConfig, ctx, file, TOKENIZE_OPTIONS, ctx.params)
    # From the file; the typed --stride wins; untouched options do not override the file.
    assert (config.max_length, config.stride, config.pack) == (128, 32, False)
    assert config.prepend_bos is TokenizeConfig().prepend_bos


def test_without_a_file_the_options_and_their_defaults_build_the_config() -> None:
    path = ("datasets", "tokenize")
    ctx = _ctx(path, ["ds", "--max-length", "64", "--stride", "16", "--limit", "5"])
    config = config_from(TokenizeConfig, ctx, None, TOKENIZE_OPTIONS, ctx.params)
    assert (config.max_length, config.stride, config.max_documents) == (64, 16, 5)


def test_a_misspelt_key_in_the_file_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "x.yaml"
    file.write_text("n_tokenz: 5\n")
    ctx = _ctx(("extract",), ["--sae", "s", "-t", "t", "--config", str(file)])
    with pytest.raises(ValidationError, match="n_tokenz"):
        config_from(ExtractionConfig, ctx, file, EXTRACT_OPTIONS, ctx.params)


def test_a_dotted_field_sets_a_nested_config() -> None:
    ctx = _ctx(("steer",), ["--feature", "1", "--sae", "s", "-p", "hi", "--seed", "9"])
    values = dict(ctx.params, prompt=["hi"], sweep=None, any_model=True)
    values |= {"temperature": 0.0, "top_p": 0.9}
    fixed = {"interventions": [{"sae": "s", "index": 1, "strength": 2.0}]}
    config = config_from(SteeringConfig, ctx, None, STEER_OPTIONS, values, fixed)
    assert (config.generation.seed, config.generation.temperature) == (9, 0.0)
    assert config.check_model_name is True and config.prompts == ["hi"]


OWN_HELP = {"hook", "dtype", "float16", "sweep", "any_model", "metrics"}
"""Options whose value is converted on the way to their field (one hook per option, a bool for a
dtype, a comma-separated sweep or metric list, the negation of ``check_model_name``) or that say
where the value goes (``dtype`` on disk): their help says so instead of repeating the field's
docstring."""


def test_the_help_table_is_fresh() -> None:
    """``field_help.json`` holds the configs' field docstrings (``make api-types`` rewrites it)."""
    table = help_table([*(cls for _, _, cls in COMMANDS), *WITHOUT_CONFIG_FILE])
    assert json.loads(HELP_FILE.read_text()) == table, "run make api-types"


@pytest.mark.parametrize(("path", "mapping", "cls"), COMMANDS, ids=lambda v: str(v)[:20])
def test_each_mapped_option_help_is_its_field_docstring(
    path: tuple[str, ...], mapping: dict[str, str], cls: type[BaseModel]
) -> None:
    described = help_table([cls])[cls.__name__]
    helps = {p.name: p.help for p in _command(path).params}
    for option, field in mapping.items():
        if option not in OWN_HELP:
            assert helps[option] == described[field], f"--{option} of {' '.join(path)}"


def test_models_add_reads_its_source_from_the_file(tmp_path: Path) -> None:
    file = tmp_path / "model.yaml"
    file.write_text("source: smollm2-135m\ndtype: bfloat16\nrevision: main\n")
    path = ("models", "add")
    ctx = _ctx(path, ["--config", str(file), "--dtype", "float16"])
    options = {k: v for k, v in MODEL_OPTIONS.items() if k != "source"}
    values = {k: v for k, v in ctx.params.items() if k in options}
    config = config_from(ModelLoadConfig, ctx, file, options, values)
    assert (config.source, config.dtype, config.revision) == ("smollm2-135m", "float16", "main")
    typed = _ctx(path, ["other/model", "--config", str(file)])
    config = config_from(ModelLoadConfig, typed, file, MODEL_OPTIONS, typed.params)
    assert (config.source, config.dtype) == ("other/model", "bfloat16")
