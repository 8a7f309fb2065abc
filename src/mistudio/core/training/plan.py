"""What a training run will do, said before it starts: the sparsity coefficient each SAE starts at
and how it adapts, and how long the run will take on this device.

**Sparsity plan** (:func:`sparsity_plans`). The numbers are the ones the trainer itself will use:
the start coefficient is :meth:`L0Controller.start`'s (the given coefficient, else
``d_in / (10 * target_l0)``), it adapts during :data:`~auto_sparsity.COEFFICIENT_FRACTION` of the
steps (at least :data:`~auto_sparsity.MIN_ADJUST_STEPS`), and the thresholds hold L0 for
``auto_sparsity_fraction`` of them, all through the same functions, so the form can never promise
something the run does not do.

**Time** (:func:`benchmark_steps`, :func:`benchmark_lm_forward`). A step's cost depends on the
device, the architecture's kernels and the width, which no formula predicts well (on 2 CPU
cores a 4x-expanded SAE's step is dominated by the encoder GEMM; on a GPU by launch overheads
for small widths), so the estimate is a measurement: real :class:`SAEState` steps (optimiser,
clipping, dead-latent tracking, the controller) on random activations of the right width, after
one untimed warm-up step (allocator, kernel selection). A run that streams activations also pays
the model's forward up to the deepest hook point for every ``lm_batch_size x seq_len`` tokens;
:func:`benchmark_lm_forward` times that forward on random token ids. The total is
``steps x step time + tokens / forward rate`` (the two do not overlap in the trainer: one thread).
"""

from __future__ import annotations

import statistics
import time
from typing import Literal

import psutil
import torch

from mistudio.core.config import DocumentedModel
from mistudio.core.hooks import capture, resolve_hook_points
from mistudio.core.language_models import LoadedModel
from mistudio.core.sae.registry import sae_class
from mistudio.core.training.auto_sparsity import L0Controller
from mistudio.core.training.config import SAETrainConfig, TrainConfig
from mistudio.core.training.sae_state import SAEState
from mistudio.errors import InvalidInputError

MIN_TIMED_SECONDS = 0.5
"""Timed steps continue until this much time has passed (or ``max_steps``): one step of a small
SAE takes well under a millisecond, and a single timing of it is mostly timer noise."""
MIN_TIMED_STEPS = 3
"""At least this many timed steps (``max_steps`` permitting), of which the median is kept: on a
shared CPU one step in a few is slowed by another process (measured on 2 busy cores: a single
timed step of a 2,304-latent top-k SAE read 1,236 ms against a 763 ms median in the real run)."""


class SparsityPlan(DocumentedModel):
    """How one SAE's sparsity is set during its run."""

    control: Literal["penalty", "k", "threshold"]
    """``penalty``: a coefficient (fixed, or adapted toward ``target_l0``); ``k``: L0 is fixed
    by k; ``threshold``: the architecture's own rule."""
    start_coefficient: float | None
    """The coefficient of the first step (None when no coefficient applies)."""
    target_l0: float | None
    """The L0 the coefficient adapts toward (None: the coefficient stays)."""
    adapt_steps: int
    """Steps during which the coefficient adapts (0 when it stays fixed)."""
    hold_steps: int
    """Steps during which the thresholds are held at the target (0 without a target)."""
    warmup_steps: int
    """Steps of linear warm-up of a fixed coefficient from 0 (0 with a target)."""
    summary: str
    """The plan in one line, as the studio shows it."""


def sparsity_plan(spec: SAETrainConfig, total_steps: int) -> SparsityPlan:
    """The sparsity plan of one SAE in a run of ``total_steps`` steps."""
    control = sae_class(spec.sae.architecture).sparsity_control
    if control == "k":
        return SparsityPlan(
            control="k",
            start_coefficient=None,
            target_l0=None,
            adapt_steps=0,
            hold_steps=0,
            warmup_steps=0,
            summary=f"L0 fixed at k={spec.sae.k}: no sparsity coefficient",
        )
    if control == "threshold":
        return SparsityPlan(
            control="threshold",
            start_coefficient=None,
            target_l0=None,
            adapt_steps=0,
            hold_steps=0,
            warmup_steps=0,
            summary=f"{spec.sae.architecture} sets its own threshold: no sparsity coefficient",
        )
    if spec.target_l0 is None:
        coefficient = spec.sparsity_coefficient or 0.0
        warm = min(spec.sparsity_warmup_steps, total_steps)
        ramp = f", reached after a {warm:,}-step warm-up from 0" if warm else ""
        return SparsityPlan(
            control="penalty",
            start_coefficient=coefficient,
            target_l0=None,
            adapt_steps=0,
            hold_steps=0,
            warmup_steps=warm,
            summary=f"coefficient {coefficient:.4g}, fixed{ramp}",
        )
    controller = L0Controller.start(
        spec.target_l0, spec.sparsity_coefficient, spec.sae.d_in, total_steps
    )
    adapt = min(controller.coefficient_steps, total_steps)
    hold = min(spec.adjust_steps(total_steps), total_steps)
    after = "the loss alone sets L0 after that" if hold < total_steps else "to the end"
    return SparsityPlan(
        control="penalty",
        start_coefficient=controller.coefficient,
        target_l0=spec.target_l0,
        adapt_steps=adapt,
        hold_steps=hold,
        warmup_steps=0,
        summary=(
            f"starts at {controller.coefficient:.4g}, adapts toward target L0 "
            f"{spec.target_l0:g} during the first {adapt:,} steps, then stays; thresholds hold "
            f"the target for {hold:,} of {total_steps:,} steps ({after})"
        ),
    )


def sparsity_plans(config: TrainConfig) -> dict[str, SparsityPlan]:
    """Each SAE's sparsity plan, by name."""
    return {s.resolved_name: sparsity_plan(s, config.total_steps) for s in config.saes}


class StepTiming(DocumentedModel):
    """A measured training step of every SAE of a run on one batch."""

    device: str
    """Where it ran."""
    steps_timed: int
    """Steps measured (after one untimed warm-up step)."""
    seconds_per_step: float
    """Median wall time of one step of every SAE of the run (one batch)."""
    per_sae: dict[str, float]
    """Each SAE's share: median seconds per step."""


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def benchmark_steps(config: TrainConfig, max_steps: int = 5, seed: int = 0) -> StepTiming:
    """Time real training steps of ``config``'s SAEs on random activations of the right widths.

    One untimed step first, then steps until :data:`MIN_TIMED_SECONDS` or ``max_steps``. The
    SAEs are built as the trainer builds them (:class:`SAEState`: same optimiser, clipping,
    trackers, controller) and thrown away."""
    if max_steps < 1:
        raise InvalidInputError("max_steps must be >= 1")
    device = torch.device(config.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InvalidInputError("device is cuda but no CUDA GPU is available here")
    autocast = {"none": None, "bfloat16": torch.bfloat16, "float16": torch.float16}[config.autocast]
    gen = torch.Generator(device="cpu").manual_seed(seed)
    n = config.batch_tokens
    inputs: dict[str, torch.Tensor] = {}
    for spec in config.saes:
        for hook, width in ((spec.hook_name, spec.sae.d_in), (spec.target_hook, spec.sae.out_dim)):
            if hook not in inputs:
                inputs[hook] = torch.randn(n, width, generator=gen).to(device)  # [n, width]
    states = [SAEState(spec, config, i) for i, spec in enumerate(config.saes)]
    per_sae: dict[str, list[float]] = {st.name: [] for st in states}
    totals: list[float] = []
    timed = 0
    started = time.perf_counter()
    for step in range(max_steps + 1):
        total = 0.0
        for st in states:
            t0 = time.perf_counter()
            st.step(inputs[st.spec.hook_name], inputs[st.spec.target_hook], step, autocast)
            _sync(device)
            took = time.perf_counter() - t0
            total += took
            if step > 0:
                per_sae[st.name].append(took)
        if step == 0:
            started = time.perf_counter()
            continue
        totals.append(total)
        timed += 1
        enough = timed >= MIN_TIMED_STEPS and time.perf_counter() - started >= MIN_TIMED_SECONDS
        if enough:
            break
    return StepTiming(
        device=str(device),
        steps_timed=timed,
        seconds_per_step=statistics.median(totals),
        per_sae={name: statistics.median(times) for name, times in per_sae.items()},
    )


class ForwardTiming(DocumentedModel):
    """A measured forward pass of the language model up to the run's deepest hook point."""

    device: str
    """Where the model ran."""
    batch_size: int
    """Sequences per forward."""
    seq_len: int
    """Tokens per sequence."""
    forwards_timed: int
    """Forward passes measured (after one untimed warm-up)."""
    seconds_per_forward: float
    """Mean wall time of one forward."""
    tokens_per_second: float
    """``batch_size x seq_len / seconds_per_forward``."""


def benchmark_lm_forward(
    loaded: LoadedModel,
    hooks: list[str],
    batch_size: int,
    seq_len: int,
    max_forwards: int = 3,
    seed: int = 0,
) -> ForwardTiming:
    """Time the model's forward on random token ids, stopping after the deepest of ``hooks``
    (as the live activation stream does)."""
    if batch_size < 1 or seq_len < 1:
        raise InvalidInputError("batch_size and seq_len must be >= 1")
    points = resolve_hook_points(loaded.model, hooks, loaded.layout)
    vocab = int(getattr(loaded.model.config, "vocab_size", 0) or len(loaded.tokenizer))
    gen = torch.Generator(device="cpu").manual_seed(seed)
    ids = torch.randint(0, vocab, (batch_size, seq_len), generator=gen).to(loaded.device)
    device = loaded.device
    timed = 0
    total = 0.0
    with torch.no_grad(), capture(loaded.model, points, stop_early=True) as cap:
        for i in range(max_forwards + 1):
            t0 = time.perf_counter()
            cap.run(input_ids=ids)
            _sync(device)
            if i > 0:
                total += time.perf_counter() - t0
                timed += 1
                if total >= MIN_TIMED_SECONDS:
                    break
    per = total / timed
    return ForwardTiming(
        device=str(device),
        batch_size=batch_size,
        seq_len=seq_len,
        forwards_timed=timed,
        seconds_per_forward=per,
        tokens_per_second=batch_size * seq_len / per if per > 0 else float("inf"),
    )


class DeviceMemory(DocumentedModel):
    """Memory of the device a run would use, as this process sees it now."""

    device: str
    """The device asked about (``cpu``, ``cuda``, ``cuda:1``)."""
    free: int
    """Bytes free now (CPU: available RAM; CUDA: the driver's free memory)."""
    total: int
    """Bytes in all."""


def device_memory(device: str) -> DeviceMemory | None:
    """Free and total memory of ``device`` (None for a CUDA device this process has not got)."""
    dev = torch.device(device)
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            return None
        index = dev.index if dev.index is not None else torch.cuda.current_device()
        if index >= torch.cuda.device_count():
            return None
        free, total = torch.cuda.mem_get_info(index)
        return DeviceMemory(device=device, free=int(free), total=int(total))
    if dev.type == "cpu":
        mem = psutil.virtual_memory()
        return DeviceMemory(device=device, free=int(mem.available), total=int(mem.total))
    return None
