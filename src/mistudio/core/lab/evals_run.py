"""One evaluation of one SAE: the metric groups a request asks for, each value with its interval.

``EVAL_VERSION`` names the definitions; a stored result is reused for the same SAE, version and
config (the service keys results on them), so a change of definition bumps the version.

Held-out tokens are the last ``n_sequences`` sequences of a tokenization (the sequences training
keeps out of its batches, :mod:`mistudio.core.pipeline`), so an SAE trained here is never scored
on what it trained on; an imported SAE is scored on any tokenization of its model.
"""

from __future__ import annotations

import time
from typing import Any, Literal

import torch
from pydantic import Field

from mistudio.core.activations import special_token_ids
from mistudio.core.config import DocumentedModel, OperationConfig
from mistudio.core.data import Tokenization
from mistudio.core.lab.bootstrap import Interval, bootstrap_weights
from mistudio.core.lab.evals_absorption import (
    LETTERS,
    AbsorptionConfig,
    absorption,
    first_letter_words,
    word_activations,
)
from mistudio.core.lab.evals_core import core_metrics, core_sums
from mistudio.core.lab.evals_labels import label_summary
from mistudio.core.lab.evals_probing import ProbingConfig, sparse_probing
from mistudio.core.lab.probing_tasks import build_tasks
from mistudio.core.language_models import LoadedModel
from mistudio.core.progress import Progress, report
from mistudio.core.sae.base import SAE
from mistudio.errors import InvalidInputError

EVAL_VERSION = "1"
"""Version of the metric definitions in this package."""

MetricGroup = Literal["core", "absorption", "probing", "labels"]
METRIC_GROUPS: tuple[str, ...] = ("core", "absorption", "probing", "labels")


class EvalConfig(OperationConfig):
    """What to evaluate on an SAE, and how."""

    metrics: list[MetricGroup] = Field(
        default_factory=lambda: list[MetricGroup](["core", "absorption", "probing"])
    )
    """Metric groups: ``core`` (FORMATS §6 on held-out tokens), ``absorption`` (first letter),
    ``probing`` (sparse probing on built-in corpora), ``labels`` (label score summary)."""
    n_sequences: int = Field(default=32, ge=2)
    """Held-out sequences: the tokenization's last ones."""
    batch_size: int = Field(default=8, gt=0)
    """Sequences per forward pass."""
    splice: bool = True
    """Also splice the SAE into the LM for CE-loss and KL scores."""
    n_resamples: int = Field(default=200, ge=0)
    """Bootstrap resamples for the intervals (0: no intervals)."""
    seed: int = 0
    """Seed of the bootstrap, the splits and the word / example samples."""
    absorption: AbsorptionConfig = Field(default_factory=AbsorptionConfig)
    """First-letter absorption settings."""
    probing: ProbingConfig = Field(default_factory=ProbingConfig)
    """Sparse-probing settings."""


class LabelScores(DocumentedModel):
    """Per-latent label facts the caller reads from wherever labels live."""

    labelled: list[bool]
    """Per latent: has a label."""
    detection: list[float | None]
    """Per latent: detection score (None: not scored)."""
    fuzzing: list[float | None]
    """Per latent: fuzzing score (None: not scored)."""


class EvalReport(DocumentedModel):
    """The metrics of one evaluation, by name, with intervals and details."""

    eval_version: str = EVAL_VERSION
    metrics: dict[str, Interval]
    """Metric name -> value and interval (``l0``, ``fvu``, ``ce_loss_score``, ``kl_score``,
    ``dead_fraction``, ``absorption_fraction``, ``probing_top_1``, ``label_share``, ...)."""
    details: dict[str, Any]
    """Per group: what the values rest on (tokens, per-letter and per-task results, skipped)."""
    seconds: dict[str, float]
    """Time each group took."""


def held_out_batches(tok: Tokenization, n_sequences: int, batch_size: int, device: Any):
    """``(input_ids, attention_mask)`` batches of the last ``n_sequences`` sequences."""
    start = max(0, len(tok) - n_sequences)
    for s in range(start, len(tok), batch_size):
        rows = tok.get_batch(s, min(s + batch_size, len(tok)))
        yield (
            torch.from_numpy(rows.input_ids).to(device),
            torch.from_numpy(rows.attention_mask).to(device),
        )


def _within(progress: Progress | None, i: int, n: int) -> Progress | None:
    """Progress of group ``i`` of ``n`` as a share of the whole evaluation (steps of 1000)."""
    if progress is None:
        return None
    outer = progress

    def inner(step: float, total: float | None, /, **metrics: Any) -> None:
        share = min(step / total, 1.0) if total else 0.0
        outer(1000 * (i + share) / n, 1000)

    return inner


def run_evals(
    loaded: LoadedModel,
    sae: SAE,
    hook_name: str,
    config: EvalConfig,
    tokenization: Tokenization | None = None,
    labels: LabelScores | None = None,
    progress: Progress | None = None,
) -> EvalReport:
    """Evaluate ``sae`` (on ``loaded``'s device) at ``hook_name``."""
    metrics: dict[str, Interval] = {}
    details: dict[str, Any] = {}
    seconds: dict[str, float] = {}
    groups = list(dict.fromkeys(config.metrics))
    for i, group in enumerate(groups):
        stage = _within(progress, i, len(groups))
        t0 = time.perf_counter()
        if group == "core":
            if tokenization is None:
                raise InvalidInputError("core metrics need a tokenization of held-out text")
            n_seq = min(config.n_sequences, len(tokenization))
            sums = core_sums(
                loaded.model,
                sae,
                hook_name,
                held_out_batches(tokenization, n_seq, config.batch_size, loaded.device),
                special_token_ids(loaded.tokenizer),
                loaded.layout,
                splice=config.splice,
                total=n_seq,
                progress=stage,
            )
            weights = (
                bootstrap_weights(n_seq, config.n_resamples, config.seed)
                if config.n_resamples
                else None
            )
            metrics.update(core_metrics(sums, weights))
            details["core"] = {"n_sequences": n_seq, "n_tokens": int(sums.recon[:, 0].sum())}
        elif group == "absorption":
            words = first_letter_words(
                loaded.tokenizer, config.absorption.max_words_per_letter, config.seed
            )
            acts = word_activations(
                loaded.model, loaded.tokenizer, hook_name, words, loaded.layout, progress=stage
            )
            letters = torch.tensor([LETTERS.index(w[0].lower()) for _, w in words])
            res = absorption(acts, letters, sae, config.absorption, config.seed, config.n_resamples)
            metrics["absorption_fraction"] = res.absorption_fraction
            metrics["full_absorption"] = res.full_absorption
            details["absorption"] = res.model_dump(
                exclude={"absorption_fraction", "full_absorption"}
            )
        elif group == "probing":
            p = config.probing
            tasks, skipped = build_tasks(loaded.tokenizer, p.n_per_class, p.window, config.seed)
            res_p = sparse_probing(
                loaded.model,
                sae,
                hook_name,
                tasks,
                p,
                loaded.layout,
                skipped,
                config.seed,
                config.n_resamples,
                stage,
            )
            for k, value in res_p.top_k.items():
                metrics[f"probing_top_{k}"] = value
            metrics["probing_llm"] = res_p.llm
            details["probing"] = {"per_task": res_p.per_task, "skipped": res_p.skipped}
        elif group == "labels":
            if labels is None or not labels.labelled:
                details["labels"] = {"skipped": "no labels: extract and label this SAE first"}
            else:
                nan = float("nan")
                metrics.update(
                    label_summary(
                        torch.tensor(labels.labelled),
                        torch.tensor([nan if v is None else v for v in labels.detection]),
                        torch.tensor([nan if v is None else v for v in labels.fuzzing]),
                        config.seed,
                        config.n_resamples,
                    )
                )
                details["labels"] = {"n_latents": len(labels.labelled)}
        seconds[group] = time.perf_counter() - t0
        report(progress, 1000 * (i + 1) / len(groups), 1000)
    return EvalReport(metrics=metrics, details=details, seconds=seconds)


def report_rows(report_: EvalReport) -> list[dict[str, Any]]:
    """One row per metric (``metric, value, low, high``) for CSV export."""
    return [
        {"metric": name, "value": m.value, "low": m.low, "high": m.high}
        for name, m in report_.metrics.items()
    ]
