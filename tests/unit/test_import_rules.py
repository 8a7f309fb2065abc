"""Two import rules of the package, read from the source (no import runs):

- a router never imports another router: what two routers share lives in an ``api/`` module
  beside them (``api/labeling_runs.py``, ``api/artifact_jobs.py``), so each router file stays
  one resource that can be read, moved or removed alone;
- an import inside a function is there on purpose: it defers a heavy import (torch through
  ``mistudio.core``, transformers, datasets, huggingface_hub, redis, pynvml, uvicorn, ...) so a
  light entry point (``mistudio --help``, the API process) does not pay for it, and says so in a
  ``# deferred: <why>`` comment on its line or on the line above its group. Anything else
  belongs at the top of its module, where import cycles show.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "mistudio"
ROUTERS = PACKAGE / "api" / "routers"


def imported_modules(tree: ast.AST) -> set[str]:
    """Every module an ``import`` or ``from ... import`` names (absolute imports only: the
    package uses no relative ones), with ``from a import b`` also giving ``a.b``."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_routers_import_no_other_router() -> None:
    offenders = []
    for path in sorted(ROUTERS.glob("*.py")):
        own = f"mistudio.api.routers.{path.stem}"
        for module in imported_modules(ast.parse(path.read_text())):
            if module.startswith("mistudio.api.routers") and module not in (
                own,
                "mistudio.api.routers",
            ):
                offenders.append(f"{path.name} imports {module}")
    assert not offenders, offenders


def local_imports_without_reason(source: str) -> list[int]:
    """Line numbers of the function-local imports in ``source`` that carry no ``# deferred:``
    comment on their own lines or in the comment lines above their group (the run of import
    statements they stand in, blank lines between them allowed)."""
    lines = source.splitlines()
    tree = ast.parse(source)
    bare: set[int] = set()
    for func in ast.walk(tree):
        if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(func):
            for field in ("body", "orelse", "finalbody"):
                block = getattr(node, field, None)
                if not isinstance(block, list):
                    continue
                first: ast.stmt | None = None
                for stmt in block:
                    if not isinstance(stmt, ast.Import | ast.ImportFrom):
                        first = None
                        continue
                    first = first or stmt
                    own = lines[stmt.lineno - 1 : stmt.end_lineno or stmt.lineno]
                    above = first.lineno - 2
                    comments = []
                    while above >= 0 and lines[above].strip().startswith("#"):
                        comments.append(lines[above])
                        above -= 1
                    if not any("# deferred:" in line for line in own + comments):
                        bare.add(stmt.lineno)
    return sorted(bare)


def test_every_function_local_import_says_why() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for lineno in local_imports_without_reason(path.read_text()):
            offenders.append(f"{path.relative_to(PACKAGE.parent)}:{lineno}")
    assert not offenders, (
        "move these imports to the top of their module, or say why they wait with a "
        f"'# deferred: ...' comment: {offenders}"
    )


def test_the_local_import_check_can_fail() -> None:
    source = (
        "def f():\n"
        "    import json\n"
        "    return json\n"
        "def g():\n"
        "    # deferred: torch takes seconds to import\n"
        "    import torch\n"
        "\n"
        "    from torch import (\n"
        "        nn,\n"
        "    )\n"
        "    return torch, nn\n"
        "def h():\n"
        "    import numpy  # deferred: only the CLI's plot needs it\n"
        "    return numpy\n"
    )
    assert local_imports_without_reason(source) == [2]


def test_the_cli_help_does_not_import_torch() -> None:
    """``mistudio --help`` builds every command (all CLI modules) and must stay fast: core,
    which pulls torch in, is imported inside the commands. Run in a fresh interpreter."""
    import subprocess
    import sys

    code = (
        "import sys, pkgutil, importlib, mistudio.cli as c\n"
        "for m in pkgutil.iter_modules(c.__path__):\n"
        "    importlib.import_module(f'mistudio.cli.{m.name}')\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", "a CLI module imports torch at import time"
