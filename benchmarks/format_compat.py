"""SAE formats written by their own libraries, read by miStudio: the compat table per format.

Run with the benchmark venv::

    .venv-bench/bin/python benchmarks/format_compat.py

The same cases as the unit-test fixtures (``benchmarks/format_fixtures.py``: SAELens 6.x
architectures, activation normalisations and pre-6.0 configs; sparsify TopK, skip and
transcoders; every dictionary_learning class), written by SAELens, eai-sparsify and
dictionary-learning at a larger size (d_in 64, d_sae 256, 256 tokens) into a temporary folder,
then read with ``mistudio.core.formats.read_sae``. Per format: the library version, the number of
cases, how many match the library's own encode / decode / forward within 1e-5, and the largest
absolute difference of each. Gemma Scope 1/2 and Llama Scope have no library that writes them;
``tests/unit/formats/test_hand_built.py`` checks them against their publishers' forward.

Writes ``benchmarks/results/format_compat.json`` (folded into ``RESULTS.md`` by ``report.py``).
"""

from __future__ import annotations

import json
import platform
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import format_fixtures  # noqa: E402  (beside this file)

from mistudio.core.formats import read_sae  # noqa: E402

TOL = 1e-5
SIZES = {"d_in": 64, "d_sae": 256, "d_out": 48, "k": 8, "n": 256}
LIBRARIES = {
    "saelens": "sae-lens",
    "sparsify": "eai-sparsify",
    "dictionary_learning": "dictionary-learning",
}


def _diff(a: torch.Tensor, b: torch.Tensor) -> float:
    if a.shape != b.shape:
        return float("inf")
    return float((a.float() - b.float()).abs().max()) if a.numel() else 0.0


def compare(case: Path) -> dict[str, Any]:
    ref = load_file(str(case / "reference.safetensors"))
    subfolders = [p for p in case.iterdir() if p.is_dir()]
    folder = subfolders[0] if len(subfolders) == 1 else case
    scale = float(ref["norm_scaling_factor"]) if "norm_scaling_factor" in ref else None
    try:
        imported = read_sae(folder, norm_scaling_factor=scale)
    except Exception as exc:  # noqa: BLE001 - the report says what failed
        return {"error": f"{type(exc).__name__}: {exc}", "pass": False}
    x = ref["x"]
    with torch.no_grad():
        row = {
            "loaded_as": imported.sae.architecture,
            "max_diff_encode": _diff(imported.sae.encode(x), ref["latents"]),
            "max_diff_decode": _diff(imported.sae.decode(ref["latents"], x), ref["decoded"]),
            "max_diff_forward": _diff(imported.sae(x).x_hat, ref["forward"]),
            "l0": float((ref["latents"] > 0).sum(-1).float().mean()),
        }
    row["pass"] = max(row["max_diff_encode"], row["max_diff_decode"], row["max_diff_forward"]) <= (
        TOL * max(1.0, float(ref["forward"].abs().max()))
    )
    return row


def main() -> None:
    torch.manual_seed(0)
    per_case: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="format-compat-") as tmp:
        format_fixtures.configure(Path(tmp), **SIZES)
        written = (
            format_fixtures.write_saelens()
            + format_fixtures.write_sparsify()
            + format_fixtures.write_dictionary_learning()
        )
        for name in written:
            per_case[name] = compare(Path(tmp) / name)
    results: dict[str, dict[str, Any]] = {}
    for fmt, package in LIBRARIES.items():
        rows = {k.split("/", 1)[1]: v for k, v in per_case.items() if k.startswith(fmt + "/")}
        diffs = [r for r in rows.values() if "error" not in r]
        results[fmt] = {
            "library": f"{package} {version(package)}",
            "cases": len(rows),
            "cases_passing": sum(1 for r in rows.values() if r["pass"]),
            # Written as text: report.py prints floats to 3 decimals, which would show 0.000.
            **{
                key: f"{max((r[key] for r in diffs), default=float('nan')):.1e}"
                for key in ("max_diff_encode", "max_diff_decode", "max_diff_forward")
            },
            "case_names": sorted(rows),
            "per_case": rows,
        }
    n_pass = sum(r["cases_passing"] for r in results.values())
    n_all = sum(r["cases"] for r in results.values())
    report = {
        "benchmark": "format_compat",
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": f"{platform.machine()}, torch {torch.__version__}",
        "settings": {**SIZES, "tolerance": TOL},
        "results": results,
        "ratios": {"cases_passing": n_pass / n_all if n_all else 0.0},
        "targets": {"cases_passing": "1.0 (every case equal to its library within 1e-5)"},
        "notes": (
            "Cases: "
            + "; ".join(f"{fmt}: {', '.join(r['case_names'])}" for fmt, r in results.items())
            + ". Written by each library in .venv-bench (benchmarks/format_fixtures.py at the "
            "sizes above) and read with mistudio.core.formats.read_sae. Gemma Scope 1/2 and Llama "
            "Scope have no writing library: tests/unit/formats/test_hand_built.py checks them "
            "against their publishers' forward. Differences are relative to outputs of order 1 "
            "(pass: max |diff| <= 1e-5 * max(1, max |forward|))."
        ),
    }
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "format_compat.json").write_text(json.dumps(report, indent=2) + "\n")
    summary = {
        k: {c: v[c] for c in v if c not in ("per_case", "case_names")} for k, v in results.items()
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
