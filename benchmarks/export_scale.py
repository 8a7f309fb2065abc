"""Neuronpedia export at scale (issue 17): wall time and peak RSS of an export of 4,096 and
65,536 latents with 20 top examples each, beside the time to read the extraction's arrays once.

Each size gets a synthetic extraction folder in the real layout (random arrays of the real
shapes and dtypes, ``tests/unit/neuronpedia/synthetic.py``; d_in 576 as SmolLM2-135M, a
49,152-word vocabulary, windows of 32 + 1 + 8 tokens), then, each in a fresh subprocess so that
its ``ru_maxrss`` is its own:

- **read**: every array of the folder read once (``np.load`` then a sum, so each byte is
  touched), the floor any export has to pay;
- **export**: ``export_extraction`` writing both forms (``export.zip`` and the bulk layout).

Peak RSS is ``VmHWM`` of the subprocess (``ru_maxrss`` survives ``exec`` on Linux and would
report the parent's, which imported torch to build the folder).

Files are freshly written, so both read from the page cache (no cache drop on a shared
machine); the ratio is therefore CPU work over CPU work. Run with ``.venv/bin/python
benchmarks/export_scale.py [--sizes 4096 65536] [--keep DIR]``; prints a JSON report (not part
of ``make test``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

READ = """
import json, resource, sys, time
from pathlib import Path
import numpy as np
folder = Path(sys.argv[1])
start = time.perf_counter()
total = 0
for path in sorted(folder.rglob("*.npy")):
    a = np.load(path)
    total += int(a.size)
    float(a.sum(dtype=np.float64))  # touch every byte, without a copy
seconds = time.perf_counter() - start
hwm = next(l for l in open("/proc/self/status") if l.startswith("VmHWM"))
rss = int(hwm.split()[1]) * 1024
print(json.dumps({"seconds": seconds, "peak_rss": rss, "values": total}))
"""

EXPORT = """
import json, resource, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[4])
from mistudio.core.features import ExtractionResult
from mistudio.core.neuronpedia import NeuronpediaExportConfig
from mistudio.core.neuronpedia.export import export_extraction
start = time.perf_counter()
result = ExtractionResult.open(sys.argv[1])
summary = export_extraction(result, NeuronpediaExportConfig(examples=20), Path(sys.argv[3]),
                            sae_folder=Path(sys.argv[2]))
seconds = time.perf_counter() - start
hwm = next(l for l in open("/proc/self/status") if l.startswith("VmHWM"))
rss = int(hwm.split()[1]) * 1024
print(json.dumps({"seconds": seconds, "peak_rss": rss, "archive_bytes": summary.archive_bytes,
                  "bulk_bytes": summary.bulk_bytes, "activations": summary.activations,
                  "batches": summary.batches}))
"""

BASELINE = """
import json, resource
import numpy, torch, transformers, safetensors  # what the export imports before any work
import mistudio.core.neuronpedia.export
hwm = next(l for l in open("/proc/self/status") if l.startswith("VmHWM"))
print(json.dumps({"peak_rss": int(hwm.split()[1]) * 1024}))
"""


def run(script: str, *args: str) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-3000:])
    out: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[4096, 65536])
    parser.add_argument("--keep", type=Path, default=None, help="Keep the folders here")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from tests.unit.neuronpedia.synthetic import make_extraction

    base = args.keep or Path(tempfile.mkdtemp(prefix="export-scale-"))
    baseline = run(BASELINE)
    rows = []
    try:
        for d_sae in args.sizes:
            folder = base / f"d{d_sae}"
            shutil.rmtree(folder, ignore_errors=True)
            started = time.perf_counter()
            ext, sae = make_extraction(folder, d_sae, d_in=576, top_k=20)
            built = time.perf_counter() - started
            read = run(READ, str(ext))
            export = run(EXPORT, str(ext), str(sae), str(folder / "out"), str(ROOT))
            rows.append(
                {
                    "latents": d_sae,
                    "examples_per_latent": 20,
                    "extraction_bytes": folder_bytes(ext),
                    "build_seconds": round(built, 1),
                    "read_seconds": round(read["seconds"], 2),
                    "read_peak_rss_mb": round(read["peak_rss"] / 2**20),
                    "export_seconds": round(export["seconds"], 1),
                    "export_peak_rss_mb": round(export["peak_rss"] / 2**20),
                    "export_over_read": round(export["seconds"] / read["seconds"], 1),
                    "archive_mb": round(export["archive_bytes"] / 2**20, 1),
                    "bulk_mb": round(export["bulk_bytes"] / 2**20, 1),
                    "activations": export["activations"],
                    "batches": export["batches"],
                }
            )
            print(json.dumps(rows[-1]), flush=True)
            if args.keep is None:
                shutil.rmtree(folder, ignore_errors=True)
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)
    report = {
        "benchmark": "neuronpedia_export_scale",
        "machine": {"cpus": os.cpu_count(), "load_average": os.getloadavg()},
        "import_baseline_peak_rss_mb": round(baseline["peak_rss"] / 2**20),
        "results": rows,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
