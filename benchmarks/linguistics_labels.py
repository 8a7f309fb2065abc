"""Does the linguistic summary help a labeller? (issue 19 part 1, labelling context)

    .venv/bin/python benchmarks/linguistics_labels.py EXTRACTION_FOLDER [--n 4]

EXTRACTION_FOLDER: an analysed extraction (its ``linguistics/`` written: the studio's "Analyse
linguistics", or :func:`mistudio.core.linguistics.analyse_extraction`), e.g. the e2e walkthrough's
(SmolLM2-135M layer 6, top-k 512, 20,000 tokens of the Python standard library).

The set: its ``--n`` most frequent live latents that the rules labeller leaves ``unclear`` (the
latents a language model is asked for). Each is labelled by the built-in local model
(SmolLM2-135M-Instruct; the README's figures were taken with its small-model prompt when that
prompt still had ``{linguistics}``, before commit 29ec1db; it now uses the delphi template, which
has it) twice from the same gathered context, with the summary line and without it, and each
label is scored by the same SmolLM2 scorer on the same held-out examples and negatives
(detection and fuzzing balanced accuracy; the scorer never sees the summary). Prints one JSON
line per condition.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from dataclasses import replace
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--n", type=int, default=4)
    args = parser.parse_args()

    import numpy as np

    from mistudio.core.features import ExtractionResult
    from mistudio.core.labeling import gather_feature
    from mistudio.core.labeling.config import LabelingConfig
    from mistudio.core.labeling.methods import create_labeler
    from mistudio.core.labeling.scoring import score_label

    result = ExtractionResult.open(args.folder)
    tokenizer = result.tokenizer()
    rules = create_labeler(LabelingConfig(method="rules"))
    frequency = np.asarray(result.array("stats/frequency"))
    chosen: list[int] = []
    for i in np.argsort(-frequency).tolist():
        if frequency[i] <= 0 or len(chosen) == args.n:
            break
        if rules.label(gather_feature(result, i, tokenizer)).status == "unclear":
            chosen.append(i)
    from mistudio.core.labeling.prompts import PromptTemplate

    # A template other than the default one: the small-model prompt has no {linguistics}.
    delphi = PromptTemplate(name="delphi-with-linguistics")
    local = create_labeler(LabelingConfig(method="local", model="smollm2-135m", prompt=delphi))
    scorer = local.scorer()
    rows: dict[str, list[dict[str, Any]]] = {"with summary": [], "without": []}
    for i in chosen:
        ctx = gather_feature(result, i, tokenizer)
        for name, c in (("with summary", ctx), ("without", replace(ctx, linguistics=None))):
            start = time.perf_counter()
            label = local.label(c)
            if label.status == "labelled":
                label.scores = score_label(scorer, label, c)
            rows[name].append(
                {
                    "index": i,
                    "summary": ctx.linguistics.text if ctx.linguistics else None,
                    "label": label.label,
                    "status": label.status,
                    "detection": label.scores.detection if label.scores else None,
                    "fuzzing": label.scores.fuzzing if label.scores else None,
                    "seconds": round(time.perf_counter() - start, 1),
                }
            )
    for name, got in rows.items():
        det = [r["detection"] for r in got if r["detection"] is not None]
        fuz = [r["fuzzing"] for r in got if r["fuzzing"] is not None]
        print(
            json.dumps(
                {
                    "condition": name,
                    "latents": len(got),
                    "labelled": sum(r["status"] == "labelled" for r in got),
                    "mean_detection": round(statistics.mean(det), 3) if det else None,
                    "mean_fuzzing": round(statistics.mean(fuz), 3) if fuz else None,
                    "seconds_per_latent": round(statistics.mean(r["seconds"] for r in got), 1),
                    "load": os.getloadavg()[0],
                    "rows": got,
                }
            )
        )


if __name__ == "__main__":
    main()
