"""The committed ``openapi.json`` must match the app (the UI's client types come from it)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

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


def _module() -> object:
    spec = importlib.util.spec_from_file_location(
        "export_openapi", ROOT / "scripts" / "export_openapi.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_defaults_ts_is_current() -> None:
    """The UI forms' defaults are generated from the schema; a stale copy would let the form and
    the core configs disagree again (8 vs 16 eval sequences, 65,536 vs 262,144 buffer tokens)."""
    module: Any = _module()
    committed = (ROOT / "frontend" / "src" / "api" / "defaults.ts").read_text()
    assert committed == module.render_defaults(module.render()), (
        "frontend/src/api/defaults.ts is stale: run `make api-types` (or "
        "`.venv/bin/python scripts/export_openapi.py`) and commit it"
    )


def test_defaults_come_from_the_core_configs() -> None:
    """A default in defaults.ts is the core config's own default, not a copy made elsewhere."""
    from mistudio.core.features.config import ExtractionConfig
    from mistudio.core.pipeline import TrainingRunOptions
    from mistudio.core.training.config import SAETrainConfig

    module: Any = _module()
    text = module.render_defaults(module.render())
    body = json.loads(text.split("export const SCHEMA_DEFAULTS = ", 1)[1].rsplit(" as const", 1)[0])
    run = TrainingRunOptions()
    assert body["TrainingRunOptions"]["eval_sequences"] == run.eval_sequences
    assert body["TrainingRunOptions"]["buffer_tokens"] == run.buffer_tokens
    assert body["ExtractionConfig"]["top_k"] == ExtractionConfig().top_k
    assert body["SAETrainConfig"]["lr"] == SAETrainConfig.model_fields["lr"].default


def test_fields_are_documented() -> None:
    """Attribute docstrings reach the schema: every operation and nearly every property has a
    description (FastAPI's own validation-error schemas are the exceptions)."""
    schema = json.loads(_render())
    ops = [op for path in schema["paths"].values() for op in path.values()]
    assert [op["operationId"] for op in ops if not op.get("description")] == []
    props = [
        (name, prop, spec)
        for name, body in schema["components"]["schemas"].items()
        if name not in ("HTTPValidationError", "ValidationError")
        for prop, spec in body.get("properties", {}).items()
    ]
    missing = [f"{name}.{prop}" for name, prop, spec in props if "description" not in spec]
    assert len(missing) <= len(props) // 50, missing
