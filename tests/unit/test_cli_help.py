"""Every command's ``--help`` renders: help texts come from field docstrings, which hold square
brackets (``org/name[/folder]``, ``[d_sae]``) that rich markup would read as tags and raise on."""

from __future__ import annotations

from typing import Any

import pytest
import typer

from mistudio.cli import _register, app, main


def _commands() -> list[tuple[str, ...]]:
    _register()
    root = typer.main.get_command(app)
    out: list[tuple[str, ...]] = []

    def walk(cmd: Any, path: tuple[str, ...]) -> None:
        out.append(path)
        if hasattr(cmd, "commands"):  # a group (typer vendors its own click)
            for name, sub in cmd.commands.items():
                walk(sub, (*path, name))

    walk(root, ())
    return out


@pytest.mark.parametrize("path", _commands(), ids=lambda p: " ".join(p) or "mistudio")
def test_help_renders(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    try:
        main([*path, "--help"])
    except SystemExit as exit_:
        assert exit_.code in (0, None)
    assert "Usage" in capsys.readouterr().out
