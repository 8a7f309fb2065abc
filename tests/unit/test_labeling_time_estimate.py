"""The labelling time estimate: each method's basis and arithmetic, and rules timed for real."""

from __future__ import annotations

import pytest

from mistudio.core.labeling import CostEstimate, LabelingConfig
from mistudio.core.labeling.time_estimate import (
    TYPICAL_LOCAL_TOKENS_PER_S,
    TYPICAL_REMOTE_SECONDS,
    PastRun,
    estimate_time,
    rate_from_runs,
)

COST = CostEstimate(
    n_features=100, requests=300, prompt_tokens=50_000, completion_tokens=8_000, cost=0.0
)


def test_rules_use_the_measured_rate() -> None:
    t = estimate_time(COST, LabelingConfig(method="rules"), rules_seconds_per_latent=0.002)
    assert t.basis == "measured" and t.seconds == pytest.approx(0.2)
    assert "2 ms per latent" in t.how


def test_typical_rates_without_past_runs() -> None:
    remote = estimate_time(COST, LabelingConfig(method="openai", model="m", concurrency=6))
    assert remote.basis == "typical"
    assert remote.seconds == pytest.approx(300 * TYPICAL_REMOTE_SECONDS / 6)
    paced = estimate_time(
        COST, LabelingConfig(method="openai", model="m", concurrency=6, requests_per_minute=60)
    )
    assert paced.seconds == pytest.approx(300.0) and "paced at 60/min" in paced.how
    local = estimate_time(COST, LabelingConfig(method="local", model="smollm2-135m"))
    assert local.seconds == pytest.approx(8_000 / TYPICAL_LOCAL_TOKENS_PER_S)
    assert "no past run" in local.how
    # local's default, the pattern labeller, is timed now like the rules
    patterns = estimate_time(COST, LabelingConfig(method="local"), None, 0.002)
    assert patterns.basis == "measured" and patterns.seconds == pytest.approx(0.002 * 100)
    assert "patterns timed now" in patterns.how


def test_past_runs_give_measured_rates() -> None:
    past = rate_from_runs(
        [
            PastRun(seconds=100, latents=50, requests=0, completion_tokens=2_000),
            PastRun(seconds=300, latents=150, requests=0, completion_tokens=6_000),
            PastRun(seconds=0, latents=0, requests=0, completion_tokens=0),  # stopped at once
        ]
    )
    assert past is not None and (past.seconds, past.latents) == (400, 200)
    local = estimate_time(COST, LabelingConfig(method="local", model="smollm2-135m"), past)
    assert local.basis == "past_runs" and local.seconds == pytest.approx(8_000 / 20)
    remote = estimate_time(COST, LabelingConfig(method="ollama", model="m"), past)
    assert remote.seconds == pytest.approx(100 * 2.0) and "per latent" in remote.how
    assert rate_from_runs([]) is None
