"""Reach a target L0 early in training, and keep the run whatever happens.

A researcher usually knows the L0 they want (say 45), not the L1/L0 weight that yields it, and
that weight depends on the data scale, the width and the architecture. Two pieces do it:

**Start at the target** (:func:`start_at_target`). An SAE initialised the usual way fires on
about half its latents per token, and with Adam each bias moves about ``lr`` per step, so the
fall from L0 ~ d_sae / 2 to a target of 1% of d_sae takes hundreds of steps whatever the
coefficient: a controller watching L0 sees no answer, winds the coefficient up, and then
overshoots (measured: a 245-step run on SmolLM2 layer 6 ended at L0 209 against 45). So on the
init batches each latent's threshold is set to the pre-activation quantile that makes it fire on
``target / d_sae`` of the tokens: ``b_enc`` for ReLU SAEs (L1 penalty), the JumpReLU threshold
itself for L0-penalised ones (as Gemma Scope initialises its thresholds). L0 equals the target
at step 0, the run never has a dense phase, and the coefficient only has to *hold* L0 there.

**Two loops** (:class:`L0Controller`). The reconstruction loss keeps asking for more active
latents while the SAE learns, and with Adam a penalty answers only through parameters that move
about ``lr`` per step, so a controller acting on the coefficient alone lags by tens to hundreds
of steps. The fast loop acts on the thresholds directly: after each step it shifts them all by
``gain * log(L0 / target)`` times the mean excess of active pre-activations over their threshold
(:func:`active_scale`: for the exponential-like upper tail of pre-activations, the shift that
changes L0 by a factor e), which holds L0 at the target within a few steps. The slow loop moves
``log(coefficient)`` by ``k_c`` times the fast loop's normalised shift (the penalty takes over
what the thresholds had to do) during the first :data:`COEFFICIENT_FRACTION` of training, then
the coefficient stays. The thresholds are held for ``auto_sparsity_fraction`` of training
(default: all of it); after that the loss alone sets L0. The trajectory (step, coefficient, L0)
is kept for ``training.json`` and the studio's chart.

Nothing here raises once training has started: a target that is missed is reported with the
finished SAE (see :func:`target_warning`). What cannot work at all is refused before training
by the config (a target of ``d_sae`` or more, too few adjusting steps: :data:`MIN_ADJUST_STEPS`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import Tensor

from mistudio.core.sae.base import SAE, SAEOutput

LOG_MIN = math.log(1e-8)
LOG_MAX = math.log(1e6)
MIN_ADJUST_STEPS = 10
"""Fewest adjusting steps a target L0 needs: the thresholds hold L0 within a few steps, the
coefficient needs about one Adam momentum horizon (~10 steps) to follow them."""
NOISE = 0.1
"""log(L0 / target) errors smaller than this are within one batch's noise (no gain change)."""
COEFFICIENT_FRACTION = 0.2
"""The coefficient adapts during this first fraction of training, then stays: while the SAE
learns, its reconstruction keeps asking for more active latents, so a coefficient that followed
it to the end would keep rising (measured on SmolLM2 layer 6: x47 over 113 steps) and its
shrinkage costs FVU (0.51 against 0.38 at the same L0); the thresholds hold the target instead."""
MAX_TRAJECTORY = 400
"""Trajectory points kept in training.json (every step of a short run, thinned on long ones)."""
TARGET_TOLERANCE = 0.15
"""A reached L0 within this relative distance of the target counts as on target."""


def start_at_target(sae: SAE, x: Tensor, target: float) -> bool:
    """Set each latent's threshold so it fires on ``target / d_sae`` of the tokens ``x``
    ([n, d_in], as the SAE sees them in training). Returns False (and changes nothing) for an
    architecture whose penalty this does not know."""
    if sae.sparsity_penalty not in ("l1", "l0"):
        return False
    with torch.no_grad():
        pre = sae.pre_activation(x.to(sae.W_enc.device, sae.W_enc.dtype))  # [n, d_sae]
        n = pre.shape[0]
        firing = min(max(target / sae.d_sae, 1.0 / n), 1.0)
        k = min(n, max(1, n - round(firing * n)))
        quantile = pre.kthvalue(k, dim=0).values  # [d_sae]: fires above it on `firing` of x
        if sae.sparsity_penalty == "l1":
            sae.b_enc.sub_(quantile)
        else:
            # A JumpReLU threshold must be positive; a latent whose quantile is not gets a
            # small one and the controller's penalty takes it from there.
            floor = float(pre.abs().mean()) * 1e-3 + 1e-6
            log_threshold = getattr(sae, "log_threshold")  # noqa: B009 - the l0 family's parameter
            log_threshold.copy_(quantile.clamp_min(floor).log())
    return True


def target_warning(target_l0: float | None, reached_l0: float) -> str | None:
    """A note when auto sparsity ended more than :data:`TARGET_TOLERANCE` off its target."""
    if target_l0 is None:
        return None
    if math.isfinite(reached_l0) and abs(reached_l0 - target_l0) <= TARGET_TOLERANCE * target_l0:
        return None
    off = (reached_l0 / target_l0 - 1) * 100 if math.isfinite(reached_l0) else float("nan")
    return (
        f"target L0 {target_l0:g} not reached: L0 {reached_l0:.1f} ({off:+.0f}%); train on more "
        "tokens or raise auto_sparsity_fraction"
    )


def active_scale(sae: SAE, out: SAEOutput) -> float | None:
    """Mean amount by which active latents exceed their threshold on this step (pre-activation
    units): how far a threshold must move to change L0 by a factor e, for the roughly
    exponential upper tail of pre-activations. None when the step does not tell."""
    l0 = float(out.l0)
    excess = active_excess(sae, out)
    if l0 <= 0 or excess is None:
        return None
    return excess / l0


def active_excess(sae: SAE, out: SAEOutput) -> float | None:
    """Per token, the summed excess of the active latents over their thresholds (a mean over the
    batch's tokens, so data-parallel ranks average it like L0; :func:`active_scale` divides it
    by L0). None when the step does not tell."""
    if sae.sparsity_penalty == "l1" and "l1" in out.losses:
        # l1 = sum_i f_i ||d_i|| / batch; the threshold of a ReLU is 0, so the excess is f.
        norms = float(sae.W_dec.detach().norm(dim=-1).mean())
        return float(out.losses["l1"]) / norms if norms > 0 else None
    if sae.sparsity_penalty == "l0" and out.latents is not None:
        threshold = getattr(sae, "threshold")  # noqa: B009 - the l0 family's thresholds
        excess = out.latents.detach().sum() - (threshold.detach() * out.fired).sum()
        return float(excess) / out.latents.shape[0]
    return None


def shift_thresholds(sae: SAE, shift: float) -> None:
    """Raise every latent's threshold by ``shift`` (pre-activation units; negative lowers)."""
    with torch.no_grad():
        if sae.sparsity_penalty == "l1":
            sae.b_enc.sub_(shift)
        elif sae.sparsity_penalty == "l0":
            log_threshold = getattr(sae, "log_threshold")  # noqa: B009
            floor = float(log_threshold.exp().mean()) * 1e-3 + 1e-8
            log_threshold.copy_((log_threshold.exp() + shift).clamp_min(floor).log())


@dataclass
class L0Controller:
    """Two loops: thresholds held at the target L0 (fast), the coefficient following them (slow)."""

    target: float
    log_coefficient: float
    total_steps: int
    """Steps of the whole run (to thin the trajectory)."""
    coefficient_steps: int = 0
    """The coefficient adapts during these first steps, then stays (see COEFFICIENT_FRACTION)."""
    gain: float = 1.0
    """Fast loop: fraction of the log-L0 error a threshold shift corrects per step."""
    k_c: float = 0.3
    """Slow loop: log(coefficient) moves ``k_c`` times the fast loop's normalised shift."""
    gain_now: float = 1.0
    """The fast loop's gain now (adapted from ``gain`` by :meth:`_adapt_gain`)."""
    last_error: float | None = None
    frozen: bool = False
    frozen_at: int | None = None
    steps: int = 0
    ema_l0: float | None = None
    trajectory: list[list[float]] = field(default_factory=list)
    """``[step, coefficient, L0]`` rows (L0 as measured on that step's batch)."""

    @classmethod
    def start(
        cls, target: float, initial: float | None, d_in: int, total_steps: int
    ) -> L0Controller:
        # Without a hint: a penalty of about a tenth of the (normalised) signal energy d_in
        # spread over the target latents is the right order of magnitude to start from.
        guess = initial if initial is not None and initial > 0 else d_in / (10.0 * target)
        return cls(
            target=target,
            log_coefficient=math.log(guess),
            total_steps=total_steps,
            coefficient_steps=max(MIN_ADJUST_STEPS, round(COEFFICIENT_FRACTION * total_steps)),
        )

    @property
    def coefficient(self) -> float:
        return math.exp(self.log_coefficient)

    def update(self, l0: float, scale: float | None) -> float:
        """Feed the L0 of the step just trained and the step's :func:`active_scale`; returns the
        threshold shift to apply now (0 when frozen) and moves the coefficient."""
        self.steps += 1
        every = max(1, self.total_steps // MAX_TRAJECTORY)
        if self.steps % every == 0 or self.steps == 1:
            self.trajectory.append([self.steps, self.coefficient, l0])
            if len(self.trajectory) > 2 * MAX_TRAJECTORY:  # ran past total_steps: thin it
                self.trajectory = self.trajectory[::2]
        if not math.isfinite(l0):
            return 0.0
        self.ema_l0 = l0 if self.ema_l0 is None else 0.9 * self.ema_l0 + 0.1 * l0
        if self.frozen or scale is None or not math.isfinite(scale) or scale <= 0:
            return 0.0
        err = max(-2.0, min(2.0, math.log(max(l0, 1e-2) / self.target)))
        self._adapt_gain(err)
        step = self.gain_now * err
        if self.steps <= self.coefficient_steps:
            moved = self.log_coefficient + self.k_c * step
            self.log_coefficient = min(LOG_MAX, max(LOG_MIN, moved))
        return step * scale

    def _adapt_gain(self, err: float) -> None:
        """Rprop-style: an overshoot (the error changed sign, both beyond the noise of one
        batch) halves the fast loop's gain, a step that still fell short lets it grow back.
        How far L0 moves for a given shift depends on how many pre-activations sit just under
        the thresholds, which training changes: JumpReLU crowds them there (measured on SmolLM2
        layer 6: a fixed gain held L0 45 for 90 steps, then swung between 30 and 1,000)."""
        last = self.last_error
        self.last_error = err
        if last is None or min(abs(err), abs(last)) < NOISE:
            return
        if err * last < 0:
            self.gain_now = max(self.gain / 64, self.gain_now / 2)
        else:
            self.gain_now = min(self.gain, self.gain_now * 1.2)

    def freeze(self) -> None:
        """Stop adjusting: the rest of training runs with the thresholds the loss gives."""
        if not self.frozen:
            self.frozen = True
            self.frozen_at = self.steps

    def settled_step(self, tolerance: float = 0.2) -> int | None:
        """First step from which the coefficient stayed within ``tolerance`` of its final value."""
        final = self.coefficient
        settled = None
        for step, coefficient, _ in self.trajectory:
            if abs(coefficient / final - 1) <= tolerance:
                settled = int(step) if settled is None else settled
            else:
                settled = None
        return settled

    def record(self) -> dict[str, Any]:
        """What ``training.json`` keeps under ``auto_sparsity``."""
        return {
            "target_l0": self.target,
            "coefficient": self.coefficient,
            "coefficient_steps": self.coefficient_steps,
            "frozen_at_step": self.frozen_at,
            "settled_step": self.settled_step(),
            "gains": {
                "threshold": self.gain,
                "threshold_now": self.gain_now,
                "coefficient": self.k_c,
            },
            "trajectory": [
                {"step": int(s), "coefficient": c, "l0": v} for s, c, v in self.trajectory
            ],
        }

    def state_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> L0Controller:
        return cls(**state)
