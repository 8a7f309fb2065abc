"""Write the API's OpenAPI schema to ``openapi.json`` at the repository root.

The committed file is what the web studio's TypeScript client types are generated from;
``tests/service/test_openapi.py`` fails when it is stale. Run after changing a router or schema:

    .venv/bin/python scripts/export_openapi.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "openapi.json"


def render() -> str:
    """The schema as stable, pretty JSON (no database or worker needed)."""
    sys.path.insert(0, str(ROOT / "src"))
    from mistudio.api.app import create_app

    schema = create_app().openapi()
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> None:
    text = render()
    TARGET.write_text(text)
    sys.stdout.write(f"wrote {TARGET} ({len(text):,} bytes)\n")


if __name__ == "__main__":
    main()
