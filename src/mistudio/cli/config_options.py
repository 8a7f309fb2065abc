"""``--config FILE`` for every operation command: the file is the operation's core config.

Each command names the config class of its operation and a thin mapping from its options to
that class's fields (``OPTION_FIELDS``). The config is built from the file (YAML or JSON, the
same shape the API takes and a template saves), then every mapped option the user typed on the
command line overrides its field; options left at their default do not override the file.
Without a file, the mapped options (defaults included) build the config as before. A field of
a nested config is named by a dotted path (``generation.seed``). A test checks every mapping
against the class's fields, so an option cannot point at a field that does not exist.

The config classes are imported inside the commands (they pull torch in through their
packages), so ``mistudio --help`` stays fast.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import typer
from pydantic import BaseModel

from mistudio.errors import InvalidInputError

C = TypeVar("C", bound=BaseModel)

CONFIG_HELP = "YAML or JSON file holding the operation's config; options given override it"


def read_config(path: Path) -> dict[str, Any]:
    """A YAML or JSON mapping from ``path`` (one readable error when it is not one)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise InvalidInputError(f"cannot read config {path}: {exc.strerror or exc}") from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"{path} is not valid JSON: {exc.msg}") from None
    else:
        import yaml  # only when a YAML file is given

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InvalidInputError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidInputError(f"{path} must hold a mapping of config fields")
    return data


def config_from(
    cls: type[C],
    ctx: typer.Context,
    file: Path | None,
    option_fields: Mapping[str, str],
    values: Mapping[str, Any],
    fixed: Mapping[str, Any] | None = None,
) -> C:
    """Build ``cls`` from ``file`` and the command's options.

    ``option_fields`` maps option (parameter) names to fields; ``values`` holds the options'
    values (converted to the field's form, e.g. ``float16`` -> ``acts_dtype``); ``fixed`` are
    fields the command always sets (such as hook points given as arguments)."""
    data: dict[str, Any] = read_config(file) if file is not None else {}
    for option, field in option_fields.items():
        # Compared by name: typer ships its own copy of click's ParameterSource enum.
        source = ctx.get_parameter_source(option)
        typed = source is not None and source.name == "COMMANDLINE"
        if file is None or typed:
            _set(data, field, values[option])
    data.update(fixed or {})
    return cls.model_validate(data)


def _set(data: dict[str, Any], field: str, value: Any) -> None:
    """``data[a][b] = value`` for the dotted field ``a.b`` (creating the nested mappings)."""
    *parents, leaf = field.split(".")
    for name in parents:
        data = data.setdefault(name, {})
    data[leaf] = value
