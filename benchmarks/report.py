"""Fold every ``benchmarks/results/*.json`` into ``benchmarks/RESULTS.md``.

Each benchmark writes one JSON report (date, machine, settings, results side by side, ratios);
this renders them as tables so every figure from one run sits next to its anchor.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def render(report: dict[str, Any]) -> str:
    lines = [f"## {report['benchmark']}", ""]
    lines.append(f"Run {report['date']} on {report['machine']}.")
    lines.append("Settings: " + ", ".join(f"{k} {v}" for k, v in report["settings"].items()) + ".")
    lines.append("")
    rows = report["results"]
    columns: list[str] = []
    for row in rows.values():
        for key in row or {}:
            if key not in columns and not isinstance((row or {})[key], dict | list):
                columns.append(key)
    lines.append("| measurement | " + " | ".join(columns) + " |")
    lines.append("|---|" + "---|" * len(columns))
    for name, row in rows.items():
        if row is None:
            lines.append(f"| {name} | " + " | ".join("n/a" for _ in columns) + " |")
            continue
        lines.append(f"| {name} | " + " | ".join(_fmt(row.get(c, "")) for c in columns) + " |")
    if report.get("ratios"):
        lines.append("")
        lines.append("| ratio | value | target |")
        lines.append("|---|---|---|")
        targets = report.get("targets", {})
        for name, value in report["ratios"].items():
            lines.append(f"| {name} | {_fmt(value)} | {targets.get(name, '')} |")
    if report.get("notes"):
        lines += ["", report["notes"]]
    return "\n".join(lines) + "\n"


def main() -> None:
    reports = sorted((HERE / "results").glob("*.json"))
    parts = [
        "# Benchmark results",
        "",
        "Written by `make bench` (`benchmarks/report.py`) from `benchmarks/results/*.json`; "
        "each table comes from one run with every figure side by side.",
        "",
    ]
    for path in reports:
        report = json.loads(path.read_text())
        if not {"benchmark", "results"} <= set(report):
            # Scripts that print one JSON object (extraction, service_load, train_speed).
            body = json.dumps(report, indent=2)
            parts.append(f"## {path.stem}\n\n```json\n{body}\n```\n")
            continue
        parts.append(render(report))
    (HERE / "RESULTS.md").write_text("\n".join(parts))


if __name__ == "__main__":
    main()
