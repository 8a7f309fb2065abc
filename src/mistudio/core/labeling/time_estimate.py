"""How long a labelling run will take, said beside its cost estimate, with how it was estimated.

The best basis is a measurement, so each method uses the nearest one it has:

* ``rules`` and ``local``'s default pattern labeller: labelled here and now. Both run in this
  process in milliseconds per latent, so a sample of the selected latents is labelled for real
  and timed (:func:`time_rules`), examples gathered as the run gathers them.
* every method: **past runs** of the same method and model in this studio. Their summaries keep
  wall seconds, latents done, requests and generated tokens, so a local model's generation speed
  (completion tokens per second) and a server's seconds per request, concurrency included, are
  measured rates (:func:`rate_from_runs`).
* without a past run: a **typical** rate, and the estimate says so: a local model at
  :data:`TYPICAL_LOCAL_TOKENS_PER_S` generated tokens per second, a remote server at
  :data:`TYPICAL_REMOTE_SECONDS` per request divided over the run's concurrency (and held to its
  ``requests_per_minute`` pacing).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from mistudio.core.config import DocumentedModel
from mistudio.core.features import ExtractionResult
from mistudio.core.labeling.config import LabelingConfig
from mistudio.core.labeling.methods import PATTERNS, RuleLabeler, uses_patterns
from mistudio.core.labeling.patterns import PatternLabeler
from mistudio.core.labeling.run import CostEstimate, _gather

TYPICAL_LOCAL_TOKENS_PER_S = 15.0
"""Generated tokens per second of a small local instruct model on a laptop CPU (SmolLM2-135M
through transformers, greedy, one reply at a time: 10 to 25 on 2 to 8 cores)."""
TYPICAL_REMOTE_SECONDS = 2.0
"""Seconds per request to a hosted or Ollama chat model for a ~100-token reply (typical first
token plus generation latency of small hosted models)."""
LOCAL_METHODS = frozenset({"local"})
"""Methods that generate in the worker, one reply at a time."""


class PastRun(DocumentedModel):
    """What a finished labelling run measured (from its summary)."""

    seconds: float
    """Wall seconds of the run."""
    latents: int
    """Latents it labelled, found unclear or failed."""
    requests: int
    """Requests it sent (labels plus scoring); 0 for rules."""
    completion_tokens: int
    """Tokens it generated."""


class TimeEstimate(DocumentedModel):
    """How long a run will take and what that rests on."""

    seconds: float
    """Estimated wall seconds."""
    basis: Literal["measured", "past_runs", "typical"]
    """``measured``: timed now on a sample; ``past_runs``: this studio's finished runs of the
    same method and model; ``typical``: a documented typical rate (no measurement yet)."""
    how: str
    """The estimate's basis in one line, as the studio shows it."""


def time_rules(
    result: ExtractionResult,
    indices: Sequence[int],
    config: LabelingConfig,
    tokenizer: Any = None,
    sample: int = 8,
) -> float:
    """Seconds per latent of the rule labeller (or the pattern labeller, for the ``local``
    default), timed on up to ``sample`` of ``indices``
    (examples gathered as the run does). 0 when there is nothing to time."""
    if not indices:
        return 0.0
    tok = tokenizer or result.tokenizer()
    step = max(1, len(indices) // sample)
    picked = list(indices)[::step][:sample]
    labeler = PatternLabeler(PATTERNS) if uses_patterns(config) else RuleLabeler()
    start = time.perf_counter()
    for i in picked:
        labeler.label(_gather(result, i, tok, config))
    return (time.perf_counter() - start) / len(picked)


def rate_from_runs(runs: Iterable[PastRun]) -> PastRun | None:
    """The past runs pooled into one (sums), or None when none did any work."""
    useful = [r for r in runs if r.seconds > 0 and r.latents > 0]
    if not useful:
        return None
    return PastRun(
        seconds=sum(r.seconds for r in useful),
        latents=sum(r.latents for r in useful),
        requests=sum(r.requests for r in useful),
        completion_tokens=sum(r.completion_tokens for r in useful),
    )


def estimate_time(
    cost: CostEstimate,
    config: LabelingConfig,
    past: PastRun | None = None,
    rules_seconds_per_latent: float | None = None,
) -> TimeEstimate:
    """The run's time from the nearest measurement (see the module docstring)."""
    n = cost.n_features
    if config.method == "rules" or uses_patterns(config):
        per = rules_seconds_per_latent or 0.0
        what = "rules" if config.method == "rules" else "patterns"
        return TimeEstimate(
            seconds=per * n,
            basis="measured",
            how=f"{what} timed now on a sample: {per * 1000:.2g} ms per latent",
        )
    local = config.method in LOCAL_METHODS
    if past is not None:
        if local and past.completion_tokens > 0:
            rate = past.completion_tokens / past.seconds
            return TimeEstimate(
                seconds=cost.completion_tokens / rate,
                basis="past_runs",
                how=(
                    f"{rate:.3g} generated tokens/s measured over this model's past runs "
                    f"({past.latents:,} latents)"
                ),
            )
        if past.requests > 0 and cost.requests > 0:
            per_request = past.seconds / past.requests
            return TimeEstimate(
                seconds=per_request * cost.requests,
                basis="past_runs",
                how=(
                    f"{per_request:.3g} s per request measured over past {config.method} runs "
                    f"({past.requests:,} requests, their concurrency included)"
                ),
            )
        per_latent = past.seconds / past.latents
        return TimeEstimate(
            seconds=per_latent * n,
            basis="past_runs",
            how=f"{per_latent:.3g} s per latent measured over past {config.method} runs",
        )
    if local:
        return TimeEstimate(
            seconds=cost.completion_tokens / TYPICAL_LOCAL_TOKENS_PER_S,
            basis="typical",
            how=(
                f"no past run of this model: a typical {TYPICAL_LOCAL_TOKENS_PER_S:g} generated "
                "tokens/s on a CPU"
            ),
        )
    parallel = cost.requests * TYPICAL_REMOTE_SECONDS / config.concurrency
    rpm = config.requests_per_minute
    paced = cost.requests / rpm * 60 if rpm else 0.0
    pacing = f", paced at {rpm:g}/min" if rpm else ""
    return TimeEstimate(
        seconds=max(parallel, paced),
        basis="typical",
        how=(
            f"no past run: a typical {TYPICAL_REMOTE_SECONDS:g} s per request, "
            f"{config.concurrency} at once{pacing}"
        ),
    )
