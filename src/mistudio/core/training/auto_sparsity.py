"""Find the sparsity coefficient that reaches a target L0, during training.

A researcher usually knows the L0 they want (say 32), not the L1/L0 weight that yields it, and
that weight depends on the data scale, the width and the architecture. During the first
``auto_sparsity_fraction`` of training an integral controller moves ``log(coefficient)`` by
``gain * (log(L0_ema) - log(target))`` each step (too dense -> stronger penalty), then the value
is frozen so the rest of training (and the learning-rate decay) runs with a fixed objective,
as in a hand-tuned run. Working in log space makes the step size scale-free; the small gain keeps
the loop slower than the SAE's own response, which avoids oscillation.

If the coefficient hits its bounds while L0 is still far from the target, or L0 is off by more
than 2x when the controller freezes (after at least 100 adjusting steps), the target is
unreachable for this SAE and training stops with :class:`AutoSparsityError` saying what was
reached. The controller waits the first tenth of its phase (an untrained SAE is dense whatever
the coefficient) and keeps adjusting until the learning-rate decay by default, because the SAE
answers a change of coefficient with a lag of tens to hundreds of steps.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from mistudio.errors import MiStudioError

LOG_MIN = math.log(1e-8)
LOG_MAX = math.log(1e6)
MIN_JUDGED_STEPS = 100
"""Shorter calibrations are too short to call a target unreachable; they just freeze."""
BOUND_PATIENCE = 200
"""Steps the coefficient may sit at a bound with L0 still off before we give up."""


class AutoSparsityError(MiStudioError):
    """The target L0 cannot be reached."""


@dataclass
class L0Controller:
    """Integral controller on the log sparsity coefficient."""

    target: float
    log_coefficient: float
    gain: float = 0.02
    ema_beta: float = 0.9
    delay_steps: int = 0
    ema_l0: float | None = None
    at_bound_steps: int = 0
    frozen: bool = False
    steps: int = 0

    @classmethod
    def start(
        cls, target: float, initial: float | None, d_in: int, gain: float, delay_steps: int = 0
    ) -> L0Controller:
        # Without a hint, a penalty of about a tenth of the (normalised) signal energy d_in spread
        # over the target latents is a reasonable order of magnitude to start from.
        guess = initial if initial is not None and initial > 0 else d_in / (10.0 * target)
        return cls(
            target=target, log_coefficient=math.log(guess), gain=gain, delay_steps=delay_steps
        )

    @property
    def coefficient(self) -> float:
        return math.exp(self.log_coefficient)

    def update(self, l0: float, name: str) -> None:
        """Feed the L0 of the last step; adjusts the coefficient unless frozen."""
        self.ema_l0 = (
            l0 if self.ema_l0 is None else self.ema_beta * self.ema_l0 + (1 - self.ema_beta) * l0
        )
        if self.frozen:
            return
        self.steps += 1
        if self.steps <= self.delay_steps:
            return  # an untrained SAE is dense whatever the coefficient; let it settle first
        err = math.log(self.ema_l0 + 1e-3) - math.log(self.target)
        err = max(-0.5, min(0.5, err))
        self.log_coefficient = min(LOG_MAX, max(LOG_MIN, self.log_coefficient + self.gain * err))
        at_bound = self.log_coefficient in (LOG_MIN, LOG_MAX) and abs(err) > math.log(1.5)
        self.at_bound_steps = self.at_bound_steps + 1 if at_bound else 0
        if self.at_bound_steps >= BOUND_PATIENCE:
            raise AutoSparsityError(
                f"{name}: target L0 {self.target:g} is unreachable: the coefficient reached "
                f"{self.coefficient:.3g} with L0 still {self.ema_l0:.1f}"
            )

    def freeze(self, name: str) -> None:
        """Stop adjusting; raise when L0 is still more than 2x away from the target."""
        if self.frozen:
            return
        self.frozen = True
        l0 = self.ema_l0 if self.ema_l0 is not None else float("nan")
        judged = self.steps - self.delay_steps >= MIN_JUDGED_STEPS
        if judged and not (self.target / 2 <= l0 <= self.target * 2):
            raise AutoSparsityError(
                f"{name}: target L0 {self.target:g} not reached during calibration "
                f"({self.steps} steps): L0 {l0:.1f} at coefficient {self.coefficient:.3g}; "
                "train on more tokens or raise auto_sparsity_fraction"
            )

    def state_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> L0Controller:
        return cls(**state)
