"""The ``mistudio`` command line: every core operation headless, plus serve/worker/demo.

Each command group lives in its own module and registers itself on :data:`app`. Errors the user
can fix (:class:`mistudio.errors.MiStudioError`, and a config built from options that its
pydantic class refuses, such as ``--max-length 0``) print one line and exit 1; anything else is
a bug and keeps its traceback.
"""

from __future__ import annotations

import importlib
import sys

import click
import typer
from pydantic import ValidationError

from mistudio.errors import MiStudioError

app = typer.Typer(
    name="mistudio",
    help="miStudio: sparse-autoencoder interpretability workbench.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    # Help texts are field docstrings with square brackets (``org/name[/folder]``, ``[d_sae]``):
    # plain text, never rich markup, which would read them as tags and raise.
    rich_markup_mode=None,
)


# Command modules, imported for their side effect of adding commands to `app`.
COMMAND_MODULES = [
    "models_cmd",
    "saes_cmd",
    "datasets_cmd",
    "activations_cmd",
    "train_cmd",
    "features_cmd",
    "label_cmd",
    "service_cmd",
    "demo_cmd",
    "steer_cmd",
    "export_cmd",
    "compare_cmd",
    "eval_cmd",
]


def _register() -> None:

    for name in COMMAND_MODULES:
        importlib.import_module(f"mistudio.cli.{name}")


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``mistudio`` script."""
    _register()
    try:
        app(args=argv, standalone_mode=False)
    except MiStudioError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(1)
    except ValidationError as exc:  # the same checks the API answers with a 422
        # deferred: core imports torch (seconds); `mistudio --help` must not pay for it
        from mistudio.core.sae.base import validation_message

        typer.secho(
            f"error: invalid {exc.title}: {validation_message(exc)}", fg=typer.colors.RED, err=True
        )
        sys.exit(1)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # click usage errors carry their own exit code and message
        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise
