"""Which built-in local labeller labels the latents the rules cannot (issue 19 part 4).

    .venv/bin/python benchmarks/local_labeller.py            # writes results/local_labeller.json
    .venv/bin/python benchmarks/local_labeller.py --n 8      # a quicker look

The measured set: the walkthrough SAE (:mod:`walkthrough_sae`: SmolLM2-135M layer 6, top-k 512,
k 16, trained and extracted headless as the e2e walkthrough does in the studio), its ``--n``
most frequent live latents that the rules labeller leaves ``unclear``. Every candidate sees the
same contexts (20 shown top examples, 10 held-out activating examples, 10 negatives, seed 0,
exactly what a studio run gathers) and is scored on the same held-out examples:

- ``smollm2`` (the ``local`` default before this benchmark): SmolLM2-135M-Instruct with the short
  small-model prompt, scored by SmolLM2 itself with constrained 0/1 answers (what the studio
  records for it);
- ``smollm2 + delphi prompt``: the same model with the full delphi prompt (``--prompts``);
- ``patterns`` (:mod:`mistudio.core.labeling.patterns`): scored by its own predicate, the way
  rule labels are scored;
- ``patterns, SmolLM2 scorer`` (``--llm-scorer``): the same pattern labels scored by SmolLM2,
  so an LLM label and a pattern label are compared on one scorer too;
- the rules on the same set (all ``unclear``: no label predicts nothing, detection 0.5 by
  definition) and, for the bar the issue sets, the rules on their own ``--n`` most frequent
  *labelled* latents, scored by their predicate.

Seconds per latent are labelling plus scoring, the cost a studio run pays per latent, measured
on a machine shared with other work: the load average at start and end is in the report.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from walkthrough_sae import walkthrough_extraction  # noqa: E402

HERE = Path(__file__).resolve().parent


def _row(labels: list[Any], seconds: list[float]) -> dict[str, Any]:
    done = [x for x in labels if x.status == "labelled"]
    det = [x.scores.detection for x in done if x.scores and x.scores.detection is not None]
    fuz = [x.scores.fuzzing for x in done if x.scores and x.scores.fuzzing is not None]
    n = len(labels)
    # An unlabelled latent predicts nothing: balanced accuracy 0.5 (chance) over the whole set.
    det_all = (sum(det) + 0.5 * (n - len(det))) / n if n else None
    mean_s = statistics.mean(seconds) if seconds else 0.0
    return {
        "latents": n,
        "labelled": len(done),
        "labelled_share": round(len(done) / n, 3) if n else 0.0,
        "detection_labelled": round(statistics.mean(det), 3) if det else None,
        "fuzzing_labelled": round(statistics.mean(fuz), 3) if fuz else None,
        "detection_all": round(det_all, 3) if det_all is not None else None,
        "s_per_latent": round(mean_s, 3),
        "gain_per_s": round((det_all - 0.5) / mean_s, 4) if det_all and mean_s else None,
    }


def _run(labeler: Any, scorer: Any, contexts: list[Any], verbose: bool) -> tuple[Any, Any]:
    from mistudio.core.labeling.scoring import score_label

    labels, seconds = [], []
    for ctx in contexts:
        t0 = time.perf_counter()
        label = labeler.label(ctx)
        if label.status == "labelled":
            label.scores = score_label(scorer or labeler.scorer(), label, ctx, 5, 0)
        seconds.append(time.perf_counter() - t0)
        labels.append(label)
        if verbose:
            s = label.scores
            print(
                f"  #{ctx.index}: {label.status} {label.label!r} "
                f"det {s.detection if s else None} fuz {s.fuzzing if s else None} "
                f"{seconds[-1]:.1f}s",
                file=sys.stderr,
            )
    return labels, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=32)
    parser.add_argument("--prompts", action="store_true", help="also the delphi prompt")
    parser.add_argument(
        "--llm-scorer", action="store_true", help="also score pattern labels with SmolLM2"
    )
    parser.add_argument(
        "--llm-n", type=int, default=None, help="SmolLM2 rows on the first N latents only"
    )
    parser.add_argument("--out", default=str(HERE / "results" / "local_labeller.json"))
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()

    import torch

    from mistudio.core.labeling import LLMLabeler, RuleLabeler, gather_feature
    from mistudio.core.labeling.local_backend import LocalChatClient
    from mistudio.core.labeling.methods import LLMScorer
    from mistudio.core.labeling.patterns import PatternLabeler
    from mistudio.core.labeling.prompts import PromptTemplate, small_model_template
    from mistudio.core.language_models import load_model

    load_start = os.getloadavg()
    loaded = load_model("smollm2-135m")
    result = walkthrough_extraction(loaded)
    tokenizer = loaded.tokenizer
    table = result.table()
    live = [int(i) for i in table["index"][table["count"] > 0]]
    order = sorted(live, key=lambda i: -float(table["frequency"][i]))
    rules = RuleLabeler()
    unclear, ruled = [], []
    rule_labels = []
    for i in order:
        ctx = gather_feature(result, i, tokenizer)
        label = rules.label(ctx)
        if label.status == "unclear" and len(unclear) < args.n:
            unclear.append(ctx)
        elif label.status == "labelled" and len(ruled) < args.n:
            ruled.append(ctx)
            rule_labels.append(label)
        if len(unclear) >= args.n and len(ruled) >= args.n:
            break

    results: dict[str, Any] = {}
    rl, rs = _run(RuleLabeler(), None, unclear, args.verbose)
    results["rules (the unclear set)"] = _row(rl, rs)
    rl, rs = _run(RuleLabeler(), None, ruled, args.verbose)
    results["rules (their own most frequent labelled latents)"] = _row(rl, rs)

    patterns = PatternLabeler("patterns")
    pl, ps = _run(patterns, None, unclear, args.verbose)
    results["patterns"] = _row(pl, ps)
    results["patterns (the SmolLM2 rows' latents)"] = _row(
        pl[: args.llm_n or args.n], ps[: args.llm_n or args.n]
    )
    examples = {
        str(x.index): [x.label, round(x.scores.detection, 3) if x.scores else None] for x in pl
    }

    torch.set_num_threads(max(1, torch.get_num_threads()))
    client = LocalChatClient(
        loaded.model, tokenizer, loaded.name, max_new_tokens=32, reply_prefix="[LABEL]:"
    )
    llm_scorer = LLMScorer(client)
    llm_set = unclear[: args.llm_n or args.n]
    if args.llm_scorer:
        pl2, ps2 = _run(PatternLabeler("patterns"), llm_scorer, llm_set, args.verbose)
        results["patterns, SmolLM2 scorer"] = _row(pl2, ps2)

    small = LLMLabeler(client, "local", small_model_template())
    sl, ss = _run(small, None, llm_set, args.verbose)
    results["smollm2 (small prompt, former default)"] = _row(sl, ss)
    smollm2_labels = {str(x.index): [x.label or x.error, x.status] for x in sl}

    if args.prompts:
        client_long = LocalChatClient(
            loaded.model, tokenizer, loaded.name, max_new_tokens=200, reply_prefix="[LABEL]:"
        )
        delphi = LLMLabeler(client_long, "local", PromptTemplate())
        dl, ds = _run(delphi, None, llm_set, args.verbose)
        results["smollm2 + delphi prompt"] = _row(dl, ds)

    load_end = os.getloadavg()
    report = {
        "benchmark": "local_labeller",
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": (
            f"{platform.machine()}, {torch.get_num_threads()} torch threads, shared: load "
            f"average {load_start[0]:.1f} at start, {load_end[0]:.1f} at end"
        ),
        "settings": {
            "SAE": "walkthrough topk 512 k16 on SmolLM2-135M layer 6",
            "latents": f"the {args.n} most frequent the rules leave unclear",
            "SmolLM2 rows": f"the first {len(llm_set)} of them",
            "scoring": "10 held-out activating + 10 negatives, batches of 5, seed 0",
        },
        "results": results,
        "targets": {"labelled_share": ">= 0.75", "detection": ">= the rules'"},
        "notes": (
            "detection_labelled / fuzzing_labelled: mean balanced accuracy over the labelled "
            "latents; detection_all: over every latent of the set, an unlabelled one counted "
            "0.5 (no label predicts nothing, chance); gain_per_s: (detection_all - 0.5) per "
            "second of labelling and scoring. Pattern labels: "
            + "; ".join(f"#{k} {v[0]!r} ({v[1]})" for k, v in list(examples.items())[:12])
            + ". SmolLM2 on the same latents: "
            + "; ".join(f"#{k} {v[0]!r}" for k, v in list(smollm2_labels.items())[:8])
            + ". SmolLM2's prompt is the small-model template with the latent's linguistic "
            "summary (part 1); its scores are its own constrained 0/1 answers, as the studio "
            "records them. The machine is shared (other helpers' tests and benchmarks), so "
            "SmolLM2's seconds are an upper range; the pattern labeller's are milliseconds at "
            "any load."
        ),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
