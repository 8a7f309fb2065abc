"""Labelling runs: select latents, label (and score) them concurrently, persist, summarise.

Results go to a folder: ``labels.jsonl`` gets one :class:`FeatureLabel` per line as each feature
finishes (flushed, so a killed run loses at most the features in flight), and ``run.json`` holds
the config (without its key) and the summary at the end. Running again on the same folder skips
latents already ``labelled`` or ``unclear`` (failed ones are tried again): that is the resume.

Concurrency is threads: HTTP clients spend their time waiting on the network, and threads keep
the progress callback and ``should_stop`` on the caller's side simple. At most ``concurrency``
features are in flight; rules and local models run one at a time.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel

from mistudio.core.config import DocumentedModel
from mistudio.core.features.result import ExtractionResult
from mistudio.core.labeling.config import FeatureFilter, LabelingConfig
from mistudio.core.labeling.context import FeatureContext, gather_feature
from mistudio.core.labeling.methods import (
    Labeler,
    LLMScorer,
    create_labeler,
    estimate_tokens,
    messages_tokens,
    uses_patterns,
)
from mistudio.core.labeling.records import FeatureLabel, LabelingSummary, summarise
from mistudio.core.labeling.scoring import (
    ScoreKind,
    batches,
    score_label,
    scoring_examples,
    scoring_messages,
)
from mistudio.core.progress import Progress, report
from mistudio.errors import InvalidInputError

log = logging.getLogger(__name__)

LABELS_FILE = "labels.jsonl"
RUN_FILE = "run.json"
DONE_STATUSES = ("labelled", "unclear")


# ---- selection ----------------------------------------------------------------------------
def parse_indices(text: str, d_sae: int | None = None) -> list[int]:
    """``"0-99,120,200-210"`` -> sorted unique indices (ranges inclusive)."""
    out: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "-" in part:
                lo, hi = (int(p) for p in part.split("-", 1))
                out.update(range(lo, hi + 1))
            else:
                out.add(int(part))
        except ValueError:
            raise InvalidInputError(f"bad index range {part!r}; use e.g. 0-99,120") from None
    if d_sae is not None and out and (min(out) < 0 or max(out) >= d_sae):
        raise InvalidInputError(f"indices must lie in 0..{d_sae - 1}")
    return sorted(out)


def select_indices(result: ExtractionResult, feature_filter: FeatureFilter | None) -> list[int]:
    """Live latents passing ``feature_filter`` (all live latents when None)."""
    f = feature_filter or FeatureFilter()
    table = result.table()
    keep = (
        (table["count"] > 0)
        & (table["frequency"] >= f.min_frequency)
        & (table["frequency"] <= f.max_frequency)
        & (table["max_act"] >= f.min_max_act)
    )
    chosen = np.flatnonzero(keep).tolist()
    return chosen[: f.limit] if f.limit else chosen


# ---- persistence --------------------------------------------------------------------------
class LabelStore:
    """A run folder: ``labels.jsonl`` (append-only; the last record per index wins) and
    ``run.json``."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LABELS_FILE

    def read(self) -> dict[int, FeatureLabel]:
        out: dict[int, FeatureLabel] = {}
        if not self.path.is_file():
            return out
        for n, line in enumerate(self.path.read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                label = FeatureLabel.model_validate_json(line)
            except ValueError:
                log.warning("%s line %d is not a label record; skipped", self.path, n)
                continue
            out[label.index] = label
        return out

    def append(self, label: FeatureLabel) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as f:
            f.write(label.model_dump_json() + "\n")
            f.flush()

    def write_run(
        self, config: LabelingConfig, summary: LabelingSummary, meta: dict[str, Any]
    ) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        record = {
            "config": config.model_dump(mode="json"),
            "summary": summary.model_dump(mode="json"),
            **meta,
        }
        (self.folder / RUN_FILE).write_text(json.dumps(record, indent=2))


# ---- estimate -----------------------------------------------------------------------------
class CostEstimate(DocumentedModel):
    """Tokens and money a run will probably spend (chars / 4 per token)."""

    n_features: int
    """Latents to label."""
    requests: int
    """Requests to the backend (labels, plus scoring prompts when scoring)."""
    prompt_tokens: int
    """Prompt tokens, estimated."""
    completion_tokens: int
    """Generated tokens, estimated."""
    cost: float
    """In the currency of the configured prices."""

    def line(self) -> str:
        return (
            f"{self.n_features} features, ~{self.requests} requests, "
            f"~{self.prompt_tokens:,} prompt + ~{self.completion_tokens:,} completion tokens"
            + (f", ~${self.cost:.4f}" if self.cost else "")
        )


def estimate_cost(
    result: ExtractionResult,
    indices: Sequence[int],
    config: LabelingConfig,
    sample: int = 8,
    tokenizer: Any = None,
) -> CostEstimate:
    """Render the prompts of up to ``sample`` of ``indices`` and extrapolate to all of them."""
    if config.method == "rules" or uses_patterns(config) or not indices:
        return CostEstimate(
            n_features=len(indices), requests=0, prompt_tokens=0, completion_tokens=0, cost=0.0
        )
    tok = tokenizer or result.tokenizer()
    step = max(1, len(indices) // sample)
    picked = list(indices)[::step][:sample]
    per_prompt, per_requests, per_completion = [], [], []
    for i in picked:
        ctx = _gather(result, i, tok, config)
        prompt = messages_tokens(config.prompt.render(ctx, config.json_mode))
        requests = 1
        completion = min(config.max_tokens, 80)
        if config.score:
            probe = FeatureLabel(
                index=i, status="labelled", label="x" * 20, description="x" * 120, method=""
            )
            rng = random.Random(0)
            kinds: tuple[ScoreKind, ...] = ("detection", "fuzzing")
            for kind in kinds:
                for batch in batches(scoring_examples(ctx, kind, rng), config.score_batch):
                    prompt += messages_tokens(scoring_messages(probe, kind, batch))
                    requests += 1
                    completion += estimate_tokens("[1, 0, 1, 0, 1]")
        per_prompt.append(prompt)
        per_requests.append(requests)
        per_completion.append(completion)
    n = len(indices)
    p = int(np.mean(per_prompt) * n)
    c = int(np.mean(per_completion) * n)
    return CostEstimate(
        n_features=n,
        requests=int(np.mean(per_requests) * n),
        prompt_tokens=p,
        completion_tokens=c,
        cost=(p * config.price_per_1k_input + c * config.price_per_1k_output) / 1000,
    )


# ---- the run ------------------------------------------------------------------------------
class LabelingRun(BaseModel):
    """What :func:`label_features` returns."""

    summary: LabelingSummary
    labels: list[FeatureLabel]
    """This run's new labels, in index order."""
    folder: str | None = None


def _gather(
    result: ExtractionResult, index: int, tokenizer: Any, config: LabelingConfig
) -> FeatureContext:
    return gather_feature(
        result,
        index,
        tokenizer,
        n_explain=config.prompt.n_examples,
        n_held_out=config.n_held_out,
        n_negatives=config.n_negatives,
        seed=config.seed,
    )


def _one(
    labeler: Labeler, result: ExtractionResult, tokenizer: Any, index: int, config: LabelingConfig
) -> FeatureLabel:
    start = time.perf_counter()
    ctx = _gather(result, index, tokenizer, config)
    label = labeler.label(ctx)
    if config.score and label.status == "labelled":
        scorer = labeler.scorer()
        label.scores = score_label(scorer, label, ctx, config.score_batch, config.seed)
        if isinstance(scorer, LLMScorer):
            p, c = scorer.pop_usage(index)
            label.prompt_tokens += p
            label.completion_tokens += c
    label.seconds = time.perf_counter() - start
    return label


def label_features(
    result: ExtractionResult,
    config: LabelingConfig,
    indices: Iterable[int] | None = None,
    *,
    feature_filter: FeatureFilter | None = None,
    out: str | Path | None = None,
    skip: Collection[int] = (),
    on_label: Callable[[FeatureLabel], None] | None = None,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    labeler: Labeler | None = None,
    tokenizer: Any = None,
) -> LabelingRun:
    """Label (and with ``config.score`` score) latents of ``result``.

    ``indices`` (else ``feature_filter``, else every live latent) chooses the latents; those in
    ``skip`` or already done in ``out`` are skipped (resume). Each finished label is appended to
    ``out`` and passed to ``on_label``. ``progress(done, total, features_per_s=, eta_s=, ...)``
    follows the run; ``should_stop()`` ends it early after the features in flight. A feature
    that fails is recorded as failed; only backend-wide errors (unreachable, wrong key, no such
    model) raise, after the labels so far are saved.
    """
    wanted = list(indices) if indices is not None else select_indices(result, feature_filter)
    for i in wanted:
        result._check(i)
    store = LabelStore(out) if out is not None else None
    done = set(skip)
    if store is not None:
        done |= {i for i, lab in store.read().items() if lab.status in DONE_STATUSES}
    todo = [i for i in dict.fromkeys(wanted) if i not in done]
    skipped = len(set(wanted)) - len(todo)
    tok = tokenizer if tokenizer is not None else result.tokenizer()
    own = labeler is None
    labeler = labeler or create_labeler(config)
    new: list[FeatureLabel] = []
    start = time.perf_counter()
    stopped = False

    def finished(label: FeatureLabel) -> None:
        new.append(label)
        if store is not None:
            store.append(label)
        if on_label is not None:
            on_label(label)
        elapsed = time.perf_counter() - start
        rate = len(new) / elapsed if elapsed > 0 else 0.0
        report(
            progress,
            len(new),
            len(todo),
            features_per_s=rate,
            eta_s=(len(todo) - len(new)) / rate if rate > 0 else None,
            failed=sum(1 for lab in new if lab.status == "failed"),
        )

    report(progress, 0, len(todo), features_per_s=0.0, eta_s=None, failed=0)
    try:
        if todo:
            labeler.check()
        workers = config.concurrency if labeler.concurrent else 1
        if workers == 1:
            for i in todo:
                if should_stop is not None and should_stop():
                    stopped = True
                    break
                finished(_one(labeler, result, tok, i, config))
        else:
            stopped = _run_threads(
                labeler, result, tok, todo, config, workers, finished, should_stop
            )
    finally:
        seconds = time.perf_counter() - start
        summary = summarise(
            new,
            len(set(wanted)),
            skipped,
            seconds,
            config.price_per_1k_input,
            config.price_per_1k_output,
            stopped,
        )
        if store is not None:
            store.write_run(
                config,
                summary,
                {"extraction": str(result.folder), "method": config.method, "model": labeler.model},
            )
        if own:
            labeler.close()
    return LabelingRun(
        summary=summary,
        labels=sorted(new, key=lambda lab: lab.index),
        folder=str(store.folder) if store is not None else None,
    )


def _run_threads(
    labeler: Labeler,
    result: ExtractionResult,
    tokenizer: Any,
    todo: list[int],
    config: LabelingConfig,
    workers: int,
    finished: Callable[[FeatureLabel], None],
    should_stop: Callable[[], bool] | None,
) -> bool:
    """Label ``todo`` with ``workers`` features in flight; True when stopped early."""
    pending: set[Future[FeatureLabel]] = set()
    queue = iter(todo)
    stopped = False
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="label") as pool:
        try:
            while True:
                if not stopped and should_stop is not None and should_stop():
                    stopped = True
                while not stopped and len(pending) < workers:
                    i = next(queue, None)
                    if i is None:
                        break
                    pending.add(pool.submit(_one, labeler, result, tokenizer, i, config))
                if not pending:
                    break
                ready, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                for future in ready:
                    finished(future.result())  # a fatal backend error propagates here
        finally:
            for future in pending:
                future.cancel()
    return stopped
