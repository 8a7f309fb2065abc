"""The committed ``openapi.json`` must match the app (the UI's client types come from it)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _render() -> str:
    spec = importlib.util.spec_from_file_location(
        "export_openapi", ROOT / "scripts" / "export_openapi.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.render())


def test_openapi_json_is_current() -> None:
    committed = (ROOT / "openapi.json").read_text()
    assert committed == _render(), (
        "openapi.json is stale: run `.venv/bin/python scripts/export_openapi.py` and commit it"
    )


def test_every_operation_has_an_explicit_id() -> None:
    schema = json.loads(_render())
    ids = [op["operationId"] for path in schema["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids))
    # FastAPI's generated ids look like name_api_v1_path_get; ours are plain verbs + nouns.
    assert not [i for i in ids if "_api_v1_" in i], ids
