"""The lab's evaluations of one real SAE on SmolLM2-135M, every group, with their intervals and
times: ``results/lab_evals.json`` (section ``lab_evals`` of RESULTS.md).

    .venv/bin/python benchmarks/lab_evals.py

The SAE is ``tests/fixtures/formats/saelens_smollm2`` (SAELens-trained top-k, 128 latents, k 16,
``blocks.6.hook_resid_post``), imported as any foreign SAE; held-out text: the last 16 of 400 KJV
verses tokenized into 128-token windows. Absorption and probing use their defaults (40 words a
letter; 64 examples a class and task, 32-token windows).
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAE_DIR = ROOT / "tests" / "fixtures" / "formats" / "saelens_smollm2"
WORK = Path("/tmp/mistudio-lab-evals")
OUT = ROOT / "benchmarks" / "results" / "lab_evals.json"


def main() -> None:
    import torch

    from mistudio.core.data import (
        DatasetSource,
        Tokenization,
        TokenizeConfig,
        import_dataset,
        tokenize_dataset,
    )
    from mistudio.core.lab import EvalConfig, run_evals
    from mistudio.core.language_models import load_model
    from mistudio.core.sae.saelens_format import load_sae

    loaded = load_model("smollm2-135m")
    tok_dir = WORK / "tok"
    if not (tok_dir / "meta.json").exists():
        import_dataset(DatasetSource.builtin_corpus("kjv", max_documents=400), WORK / "ds")
        config = TokenizeConfig(max_length=128, stride=128)
        tokenize_dataset(WORK / "ds", loaded.tokenizer, config, tok_dir)
    load_avg = os.getloadavg()[0]
    report = run_evals(
        loaded,
        load_sae(SAE_DIR),
        "blocks.6.hook_resid_post",
        EvalConfig(metrics=["core", "absorption", "probing"], n_sequences=16),
        Tokenization.open(tok_dir),
    )
    results = {
        name: {
            "value": m.value,
            "low (95%)": m.low,
            "high (95%)": m.high,
        }
        for name, m in report.metrics.items()
    }
    per_task = report.details["probing"]["per_task"]
    doc = {
        "benchmark": "lab_evals",
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
            f"shared (load average {load_avg:.1f} at the start)"
        ),
        "settings": {
            "SAE": "tests/fixtures/formats/saelens_smollm2 (SAELens topk, 128 latents, k 16)",
            "held-out": "last 16 of 400 KJV verses in 128-token windows",
            "bootstrap": "200 resamples, seed 0",
            **{f"seconds {g}": round(s) for g, s in report.seconds.items()},
        },
        "results": results,
        "notes": (
            "Absorption: "
            f"{report.details['absorption']['n_words']} vocabulary words, first-letter probe "
            f"accuracy {report.details['absorption']['probe_accuracy']:.2f} on held-out words, "
            f"{report.details['absorption']['n_letters']} letters scored. Probing per task "
            "(top-1 / top-5 latents / raw activations): "
            + "; ".join(
                f"{t} {r['top_1']:.2f} / {r['top_5']:.2f} / {r['llm']:.2f}"
                for t, r in per_task.items()
            )
            + "."
        ),
    }
    OUT.write_text(json.dumps(doc, indent=2) + "\n")
    print(json.dumps(doc, indent=1))


if __name__ == "__main__":
    WORK.mkdir(parents=True, exist_ok=True)
    main()
