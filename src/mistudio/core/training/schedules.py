"""Learning-rate and sparsity-coefficient schedules as pure functions of the step.

Being pure functions of ``(step, total)`` is what makes resume exact: nothing but the step needs
saving. Warm-up is linear from 0; the decay phase (Anthropic's April 2024 recipe decays over the
last 20%) is linear or cosine down to ``end_fraction``.
"""

from __future__ import annotations

import math
from typing import Literal


def lr_factor(
    step: int,
    total: int,
    warmup_steps: int = 0,
    decay: Literal["constant", "linear", "cosine"] = "linear",
    decay_start_fraction: float = 0.8,
    end_fraction: float = 0.0,
) -> float:
    """Multiplier of the base learning rate for the update made at ``step`` (0-based)."""
    factor = 1.0
    if warmup_steps > 0 and step < warmup_steps:
        factor = (step + 1) / warmup_steps
    if decay == "constant":
        return factor
    start = int(decay_start_fraction * total)
    if step < start or total <= start:
        return factor
    progress = min(1.0, (step - start) / max(1, total - start))
    cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
    shape = 1.0 - progress if decay == "linear" else cosine
    return factor * (end_fraction + (1.0 - end_fraction) * shape)


def warmup_factor(step: int, warmup_steps: int) -> float:
    """Linear warm-up from 0 to 1 over ``warmup_steps`` (sparsity coefficient)."""
    if warmup_steps <= 0:
        return 1.0
    return min(1.0, (step + 1) / warmup_steps)
