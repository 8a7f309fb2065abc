"""``--config FILE`` for every operation command: the file is the operation's core config.

Each command names the config class of its operation and a thin mapping from its options to
that class's fields (``OPTION_FIELDS``). The config is built from the file (YAML or JSON, the
same shape the API takes and a template saves), then every mapped option the user typed on the
command line overrides its field; options left at their default do not override the file.
Without a file, the mapped options (defaults included) build the config as before. A field of
a nested config is named by a dotted path (``generation.seed``). A test checks every mapping
against the class's fields, so an option cannot point at a field that does not exist.

The config classes are imported inside the commands (they pull torch in through their
packages), so ``mistudio --help`` stays fast. That is why an option's help text, which is its
field's docstring, is read from ``field_help.json``: a table of every field's description that
``scripts/export_openapi.py`` (``make api-types``) writes from the classes with
:func:`help_table`; a test fails when it is stale, and another when a mapped option's help is
not its field's description.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import typer
from pydantic import BaseModel

from mistudio.errors import InvalidInputError

C = TypeVar("C", bound=BaseModel)

CONFIG_HELP = "YAML or JSON file holding the operation's config; options given override it"

HELP_FILE = Path(__file__).with_name("field_help.json")
"""``{config class: {field (dotted when nested): description}}``, generated."""


@functools.cache
def _help_table() -> dict[str, dict[str, str]]:
    table: dict[str, dict[str, str]] = json.loads(HELP_FILE.read_text())
    return table


def field_help(config: str, field: str) -> str:
    """The description of ``config``'s ``field`` (``generation.seed`` for a nested one)."""
    return _help_table()[config][field]


def help_table(classes: Iterable[type[BaseModel]]) -> dict[str, dict[str, str]]:
    """What ``field_help.json`` holds for ``classes``: each field's one-paragraph description,
    nested configs' fields under dotted names."""

    def fields(cls: type[BaseModel], prefix: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for name, info in cls.model_fields.items():
            if info.description:
                out[prefix + name] = " ".join(info.description.split())
            kind = info.annotation
            if isinstance(kind, type) and issubclass(kind, BaseModel):
                out |= fields(kind, f"{prefix}{name}.")
        return out

    return {cls.__name__: fields(cls, "") for cls in sorted(classes, key=lambda c: c.__name__)}


def option_fields(*same: str, **renamed: str) -> dict[str, str]:
    """A command's option -> field mapping: the options named as their fields (``same``), then
    the others (``option="field"``)."""
    return {name: name for name in same} | renamed


def argument_or_file(
    option_fields: Mapping[str, str], name: str, value: Any, file: Path | None, what: str
) -> dict[str, str]:
    """``option_fields`` for a command whose argument ``name`` (``value``) a ``--config`` file
    may give instead: without the argument the mapping leaves it out, so an absent argument does
    not override the file's value; one error (``give <what> ...``) when neither gives it."""
    if value is None and file is None:
        raise InvalidInputError(f"give {what} (or a --config file naming one)")
    return {k: v for k, v in option_fields.items() if value is not None or k != name}


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
        # deferred: PyYAML is only needed to read a YAML --config file
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
