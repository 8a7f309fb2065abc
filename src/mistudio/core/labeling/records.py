"""What a labelling run produces: one :class:`FeatureLabel` per latent, and a run summary.

Labels are pydantic records so the JSONL file, the service's database rows and the API schema all
come from one class. A record never holds an API key: the config that made it is stored without
one (see :class:`~mistudio.core.labeling.config.LabelingConfig`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field

LabelStatus = Literal["labelled", "unclear", "failed"]


class LabelScores(BaseModel):
    """How well a label predicts held-out activations (FORMATS.md §4)."""

    detection: float | None = None
    """Detection balanced accuracy, (TPR + TNR) / 2, over held-out activating and
    non-activating examples."""
    detection_f1: float | None = None
    """F1 of the detection answers (activating = positive)."""
    fuzzing: float | None = None
    """Fuzzing balanced accuracy: are the marked tokens the ones the feature fires on?"""
    n_detection: int = 0
    """Examples whose detection answer was parsed."""
    n_fuzzing: int = 0
    """Examples whose fuzzing answer was parsed."""
    error: str | None = None
    """Why (part of) the scoring failed, when it did."""

    @property
    def score(self) -> float | None:
        """The feature's interpretability score: mean of the balanced accuracies present."""
        values = [v for v in (self.detection, self.fuzzing) if v is not None]
        return sum(values) / len(values) if values else None


class FeatureLabel(BaseModel):
    """One latent's label."""

    index: int
    """Latent index in the SAE."""
    status: LabelStatus
    """``labelled``; ``unclear`` when the method found no pattern; ``failed`` when it broke."""
    label: str = ""
    """Short semantic label (a few words)."""
    category: str = ""
    """Taxonomy path such as ``Syntax > Punctuation``."""
    description: str = ""
    """A sentence or two on what the latent responds to."""
    confidence: float | None = None
    """0..1, as stated by the method (rules: share of activation mass the pattern explains)."""
    method: str
    """Registry name of the method (``rules``, ``local``, ``ollama``, ``openai``)."""
    model: str | None = None
    """Model that wrote the label (None for rules)."""
    error: str | None = None
    """Why labelling failed (status ``failed``)."""
    raw: str | None = None
    """The model's last reply, kept for inspection when parsing failed."""
    scores: LabelScores | None = None
    """Detection / fuzzing scores when the run scored its labels."""
    prompt_tokens: int = 0
    """Tokens sent for this latent (reported by the backend, else estimated)."""
    completion_tokens: int = 0
    """Tokens received for this latent."""
    seconds: float = 0.0
    """Wall time spent on this latent."""
    created: datetime = Field(default_factory=lambda: datetime.now(UTC))
    """When the label was written (UTC)."""

    @property
    def score(self) -> float | None:
        return self.scores.score if self.scores is not None else None


class LabelingSummary(BaseModel):
    """The end-of-run report."""

    requested: int
    """Latents selected for this run (before skipping those already labelled)."""
    skipped: int = 0
    """Already labelled in an earlier run (resume)."""
    labelled: int = 0
    unclear: int = 0
    failed: int = 0
    stopped: bool = False
    """The run was asked to stop before it finished."""
    scored: int = 0
    """Labels with at least one score."""
    mean_score: float | None = None
    score_histogram: list[int] = Field(default_factory=lambda: [0] * 10)
    """Counts of scores in [0, 0.1), [0.1, 0.2), ... [0.9, 1.0]."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    """Estimated cost from the token counts and the configured prices."""
    seconds: float = 0.0
    failures: dict[str, int] = Field(default_factory=dict)
    """Failure reasons (first line of the error) and how often each happened."""
    kept_manual: int = 0
    """In the studio: latents whose hand-edited label stayed current (the run's label went into
    their history only; see ``LabelingConfig.overwrite_manual``)."""

    def line(self) -> str:
        """One line for a terminal or a job log."""
        parts = [
            f"{self.labelled} labelled",
            f"{self.unclear} unclear",
            f"{self.failed} failed",
        ]
        if self.skipped:
            parts.append(f"{self.skipped} already done")
        if self.kept_manual:
            parts.append(f"{self.kept_manual} hand-edited kept")
        if self.scored:
            parts.append(f"{self.scored} scored (mean {self.mean_score:.2f})")
        if self.prompt_tokens:
            parts.append(f"{self.prompt_tokens + self.completion_tokens:,} tokens")
        if self.cost:
            parts.append(f"~${self.cost:.4f}")
        text = ", ".join(parts) + f" in {self.seconds:.1f} s"
        return text + (" (stopped)" if self.stopped else "")


def summarise(
    labels: list[FeatureLabel],
    requested: int,
    skipped: int,
    seconds: float,
    price_in: float = 0.0,
    price_out: float = 0.0,
    stopped: bool = False,
) -> LabelingSummary:
    """Count statuses, scores and tokens of one run's new labels."""
    s = LabelingSummary(requested=requested, skipped=skipped, seconds=seconds, stopped=stopped)
    scores = []
    for lab in labels:
        if lab.status == "labelled":
            s.labelled += 1
        elif lab.status == "unclear":
            s.unclear += 1
        else:
            s.failed += 1
            reason = (lab.error or "unknown").splitlines()[0][:120]
            s.failures[reason] = s.failures.get(reason, 0) + 1
        s.prompt_tokens += lab.prompt_tokens
        s.completion_tokens += lab.completion_tokens
        if lab.score is not None:
            scores.append(lab.score)
            s.score_histogram[min(9, int(lab.score * 10))] += 1
    s.scored = len(scores)
    s.mean_score = sum(scores) / len(scores) if scores else None
    s.cost = (s.prompt_tokens * price_in + s.completion_tokens * price_out) / 1000
    return s
