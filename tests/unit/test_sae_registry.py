"""The architecture registry lives in its own module, and the package registers the built-ins.

The package ``__init__`` imports every architecture module (that is what registers them); the
modules import :mod:`mistudio.core.sae.registry`, never the package, so ``core/sae`` has no import
cycle. These tests fail if a module starts importing the package again, or if importing the
registry alone stops yielding the built-ins.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import mistudio.core.sae as sae_package
from mistudio.core.sae.catalog import architecture_catalog
from mistudio.core.sae.registry import registered_architectures, trainable_architectures

TRAINABLE = {
    "batchtopk",
    "jumprelu",
    "matryoshka_batchtopk",
    "standard",
    "standard_skip",
    "topk",
    "transcoder",
}
INFERENCE_ONLY = {"gated", "jumprelu_transcoder", "topk_transcoder"}  # read from other tools' files
BUILTINS = TRAINABLE | INFERENCE_ONLY


def test_registry_module_alone_sees_every_builtin() -> None:
    code = (
        "from mistudio.core.sae.registry import registered_architectures;"
        "print(','.join(registered_architectures()))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert set(out.stdout.strip().split(",")) == BUILTINS
    assert set(registered_architectures()) >= BUILTINS


def test_package_modules_do_not_import_the_package() -> None:
    folder = Path(sae_package.__file__).parent
    offenders = []
    for path in sorted(folder.glob("*.py")):
        if path.name == "__init__.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "mistudio.core.sae":
                offenders.append(f"{path.name}:{node.lineno}")
            if isinstance(node, ast.Import) and any(
                a.name == "mistudio.core.sae" for a in node.names
            ):
                offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []


def test_only_trainable_architectures_are_offered() -> None:
    assert set(trainable_architectures()) == TRAINABLE
    assert {a.name for a in architecture_catalog()} == TRAINABLE
