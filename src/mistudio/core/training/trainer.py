"""The training loop: many SAEs, one pass over the data.

:class:`SAETrainer` (and :func:`train_saes` over it) takes a :class:`TrainConfig`, a data source
yielding ``dict[hook_name, Tensor[batch_tokens, d]]`` and a run folder. Every batch trains every
SAE of the run (different hook points, and sweeps over one hook point), so the expensive part
(the LM forward that produced the activations, or the disk read of a cache) is paid once.

Decisions:

* **Exact resume.** The data source is a factory ``data(position) -> iterable`` that starts at
  batch ``position`` (a plain iterable is also accepted and skipped forward on resume). The
  checkpoint stores the position, the step, weights, Adam state, RNG states, dead-latent trackers
  and the auto-sparsity controller; schedules are pure functions of the step. Resuming therefore
  replays exactly what an uninterrupted run would have done. A changed config refuses to resume.
* **Normalisation** ("expected_average_only_in", FORMATS §1): the first ``init_batches`` give
  ``s = sqrt(d) / mean ||x||`` per hook point (they also initialise ``b_dec``) and are then
  trained on; saved SAEs have ``s`` folded in and work on raw activations.
* **Divergence** stops the run with :class:`TrainingDivergedError` naming the SAE, step and loss
  terms, before the bad update touches the weights; earlier checkpoints are kept.
* **Stopping** (a ``threading.Event`` or a callable) is honoured between steps and leaves a
  final checkpoint plus the SAE folders.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from mistudio import __version__
from mistudio.core.evals import DENSE_THRESHOLD, ReconstructionAccumulator, ReconstructionMetrics
from mistudio.core.progress import Progress, report
from mistudio.core.sae.base import SAE, TrainContext, build_sae
from mistudio.core.sae.saelens_format import save_sae
from mistudio.core.training.auto_sparsity import L0Controller
from mistudio.core.training.checkpoints import (
    CheckpointWriter,
    apply_retention,
    latest_checkpoint,
    load_state,
)
from mistudio.core.training.config import SAETrainConfig, TrainConfig, safe_name
from mistudio.core.training.resampling import resample_dead_latents
from mistudio.core.training.schedules import lr_factor, warmup_factor
from mistudio.errors import InvalidInputError, MiStudioError

log = logging.getLogger(__name__)

Batch = dict[str, Tensor]
DataSource = Callable[[int], Iterable[Batch]] | Iterable[Batch]
StopSignal = threading.Event | Callable[[], bool]
Evaluator = Callable[[str, SAE], dict[str, Any]]

STATE_VERSION = 1
AUTO_GAIN = 0.01
"""Per-step gain of the auto-sparsity controller on log(coefficient)."""
RESUMABLE_CHANGES = frozenset({"log_every", "checkpoint_every", "keep_checkpoints", "threads"})
"""Config fields that may differ between a run and its resume."""


class TrainingDivergedError(MiStudioError):
    """A loss became NaN or infinite."""


@dataclass
class SAEResult:
    """What one trained SAE produced."""

    name: str
    """Name in the run."""
    folder: Path
    """SAELens folder of the final SAE (scales folded in), with training.json."""
    sparsity_coefficient: float | None
    """Coefficient in use at the end (found automatically when target_l0 was set)."""
    reached_l0: float
    """L0 measured over the final evaluation window."""
    final: ReconstructionMetrics | None
    """Metrics over the last ``final_eval_tokens`` of training."""
    evals: dict[str, Any] = field(default_factory=dict)
    """What the ``evaluate`` callback returned."""
    warnings: list[str] = field(default_factory=list)
    """What a researcher should know about the result (e.g. a target L0 that was missed)."""


TARGET_TOLERANCE = 0.2
"""Auto sparsity counts as on target within this relative distance of ``target_l0``."""


def target_warning(target_l0: float | None, reached_l0: float) -> str | None:
    """A note when auto sparsity ended more than 20% off its target (short runs can)."""
    lo, hi = 1 - TARGET_TOLERANCE, 1 + TARGET_TOLERANCE
    if target_l0 is None or target_l0 * lo <= reached_l0 <= target_l0 * hi:
        return None
    return (
        f"target L0 {target_l0:g} not reached (L0 {reached_l0:.1f}): train on more "
        "tokens or raise auto_sparsity_fraction"
    )


@dataclass
class TrainResult:
    """Outcome of :func:`train_saes`."""

    run_dir: Path
    steps: int
    """Steps completed (including those before a resume)."""
    total_steps: int
    tokens_seen: int
    stopped: bool
    """A stop request ended the run early."""
    data_exhausted: bool
    """The data ran out before total_tokens."""
    checkpoint: Path | None
    """The last checkpoint written."""
    saes: dict[str, SAEResult]


def _stop_requested(stop: StopSignal | None) -> bool:
    if stop is None:
        return False
    if isinstance(stop, threading.Event):
        return stop.is_set()
    return bool(stop())


def _open_data(data: DataSource, position: int) -> Iterator[Batch]:
    if callable(data):
        return iter(data(position))
    return itertools.islice(iter(data), position, None)


def _comparable(config: TrainConfig) -> dict[str, Any]:
    dump = config.model_dump(mode="json")
    return {k: v for k, v in dump.items() if k not in RESUMABLE_CHANGES}


def _diff_keys(a: Any, b: Any, prefix: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[str] = []
        for k in sorted(set(a) | set(b)):
            out += _diff_keys(a.get(k), b.get(k), f"{prefix}{k}.")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            out += _diff_keys(x, y, f"{prefix}{i}.")
        return out
    return [] if a == b else [prefix.rstrip(".")]


class _SAEState:
    """One SAE being trained: module, optimiser, trackers, controller, log sums."""

    def __init__(self, spec: SAETrainConfig, config: TrainConfig, index: int) -> None:
        self.spec = spec
        self.name = spec.resolved_name
        self.config = config
        sae_cfg = spec.sae.model_copy(update={"device": config.device})
        self.sae: SAE = build_sae(sae_cfg)
        gen = torch.Generator().manual_seed(config.seed * 1_000_003 + index)
        self.sae.reset_parameters(generator=gen)
        self.generator = torch.Generator().manual_seed(config.seed * 7_919 + index)
        fused = config.device.startswith("cuda") or config.device == "cpu"
        self.optimizer = torch.optim.Adam(
            self.sae.parameters(),
            lr=spec.lr,
            betas=spec.adam_betas,
            eps=spec.adam_eps,
            fused=fused,
        )
        self.scaler = torch.amp.GradScaler("cuda") if config.autocast == "float16" else None
        d = self.sae.d_sae
        dev = self.sae.W_enc.device
        self.since_fired = torch.zeros(d, dtype=torch.int64, device=dev)
        self.window_counts = torch.zeros(d, dtype=torch.int64, device=dev)
        self.window_tokens = 0
        self.last_density: Tensor | None = None
        self.controller: L0Controller | None = None
        if spec.target_l0 is not None:
            calibration = max(1, int(spec.auto_sparsity_fraction * config.total_steps))
            self.controller = L0Controller.start(
                spec.target_l0,
                spec.sparsity_coefficient,
                self.sae.d_in,
                AUTO_GAIN,
                delay_steps=calibration // 10,
            )
        self.scale_in = 1.0
        self.scale_out = 1.0
        self.history: list[dict[str, Any]] = []
        self.last_fvu: float | None = None
        self.final_acc: ReconstructionAccumulator | None = None
        self.n_resampled = 0
        self._reset_sums()

    # ---- schedules ----------------------------------------------------------------------
    def coefficient(self, step: int) -> float:
        if self.controller is not None:
            return self.controller.coefficient
        if self.spec.sparsity_coefficient is None:
            return 0.0
        return self.spec.sparsity_coefficient * warmup_factor(step, self.spec.sparsity_warmup_steps)

    def lr(self, step: int) -> float:
        s = self.spec
        return s.lr * lr_factor(
            step,
            self.config.total_steps,
            s.lr_warmup_steps,
            s.lr_decay,
            s.lr_decay_start_fraction,
            s.lr_end_fraction,
        )

    def dead_mask(self) -> Tensor:
        return self.since_fired >= self.spec.dead_window_tokens

    def density(self) -> Tensor | None:
        if self.last_density is not None:
            return self.last_density
        if self.window_tokens > 0:
            return self.window_counts.double() / self.window_tokens
        return None

    def _reset_sums(self) -> None:
        self.sums: dict[str, Tensor] = {}
        self.sum_steps = 0
        self.grad_norm_sum = 0.0

    # ---- one step -----------------------------------------------------------------------
    def step(self, x: Tensor, y: Tensor, step: int, autocast: torch.dtype | None) -> None:
        spec, sae = self.spec, self.sae
        n = x.shape[0]
        lr = self.lr(step)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.current_lr = lr
        coeff = self.coefficient(step)
        dead = self.dead_mask() if sae.uses_dead_mask else None
        ctx = TrainContext(
            sparsity_coefficient=coeff,
            dead_mask=dead,
            aux_k=spec.aux_k or max(1, sae.d_in // 2),
            aux_coefficient=spec.aux_coefficient,
            update_threshold=step >= spec.threshold_start_step,
        )
        amp = (
            torch.autocast("cuda", dtype=autocast)
            if autocast is not None
            else contextlib.nullcontext()
        )
        with amp:
            out = sae.training_forward(x, y, ctx)
        loss = out.loss
        if not bool(torch.isfinite(loss)):
            terms = ", ".join(f"{k}={float(v.detach()):.4g}" for k, v in out.losses.items())
            raise TrainingDivergedError(
                f"SAE {self.name}: loss became {float(loss.detach())} at step {step} ({terms}); "
                "training stopped before the bad update; resume from the last checkpoint "
                "with a lower lr or sparsity coefficient"
            )
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(self.optimizer)
        else:
            loss.backward()
        sae.remove_parallel_decoder_grad()
        params = [p for p in sae.parameters() if p.grad is not None]
        if spec.grad_clip_norm is not None:
            gnorm = torch.nn.utils.clip_grad_norm_(params, spec.grad_clip_norm)
        else:
            gnorm = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in params]))  # type: ignore[union-attr]
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        sae.normalize_decoder()

        # Dead-latent and density tracking over a token window.
        fired = out.fired
        self.since_fired += n
        self.since_fired.masked_fill_(fired > 0, 0)
        self.window_counts += fired
        self.window_tokens += n
        if self.window_tokens >= spec.dead_window_tokens:
            self.last_density = self.window_counts.double() / self.window_tokens
            self.window_counts.zero_()
            self.window_tokens = 0

        if self.controller is not None and not self.controller.frozen:
            self.controller.update(float(out.l0), self.name)
            freeze_at = max(1, int(spec.auto_sparsity_fraction * self.config.total_steps))
            if step + 1 >= freeze_at:
                self.controller.freeze(self.name)

        parts = {"loss": loss.detach(), "l0": out.l0.detach().float()}
        parts["mse"] = out.losses["mse"].detach()
        parts["sparsity_loss"] = out.losses.get("sparsity", loss.new_zeros(())).detach()
        parts["aux_loss"] = out.losses.get("aux", loss.new_zeros(())).detach()
        for k, v in parts.items():
            self.sums[k] = self.sums[k] + v if k in self.sums else v.clone()
        self.sum_steps += 1
        self.last_grad_norm = gnorm
        self.last_out_mse = parts["mse"]
        self.last_target = y

        final_start = self.config.total_steps - max(1, self.config.final_eval_tokens // n)
        if step >= final_start:
            if self.final_acc is None:
                self.final_acc = ReconstructionAccumulator(sae.d_sae, sae.W_enc.device)
            self.final_acc.update(y, out.x_hat.detach(), fired, out.l0.detach().double() * n)

        if (step + 1) in spec.resample_steps:
            self.n_resampled += resample_dead_latents(
                sae, self.optimizer, self.dead_mask(), x, self.generator
            )
            self.since_fired.masked_fill_(self.dead_mask(), 0)

    def log_metrics(self, tokens_per_s: float) -> dict[str, Any]:
        steps = max(self.sum_steps, 1)
        m: dict[str, Any] = {k: float(v) / steps for k, v in self.sums.items()}
        y = self.last_target.float()
        var = float((y - y.mean(0)).pow(2).sum(-1).mean())
        fvu = float(self.last_out_mse) / var if var > 0 else float("nan")
        self.last_fvu = fvu
        dens = self.density()
        m.update(
            fvu=fvu,
            explained_variance=1.0 - fvu,
            dead=int(self.dead_mask().sum()),
            dense=int((dens > DENSE_THRESHOLD).sum()) if dens is not None else 0,
            lr=self.current_lr,
            grad_norm=float(self.last_grad_norm),
            tokens_per_s=tokens_per_s,
            sparsity_coefficient=self.coefficient_now(),
        )
        self._reset_sums()
        return m

    def coefficient_now(self) -> float | None:
        if self.controller is not None:
            return self.controller.coefficient
        return self.spec.sparsity_coefficient

    # ---- state --------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "model": {k: v.detach().clone() for k, v in self.sae.state_dict().items()},
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler is not None else None,
            "since_fired": self.since_fired.clone(),
            "window_counts": self.window_counts.clone(),
            "window_tokens": self.window_tokens,
            "last_density": self.last_density,
            "controller": self.controller.state_dict() if self.controller is not None else None,
            "scale_in": self.scale_in,
            "scale_out": self.scale_out,
            "generator": self.generator.get_state(),
            "history": json.dumps(self.history),
            "last_fvu": self.last_fvu,
            "n_resampled": self.n_resampled,
            "last_density_standard": getattr(self.sae, "last_density", None),
            "final_acc": vars(self.final_acc).copy() if self.final_acc is not None else None,
            "sums": dict(self.sums),
            "sum_steps": self.sum_steps,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        dev = self.sae.W_enc.device
        self.sae.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scaler is not None and state["scaler"] is not None:
            self.scaler.load_state_dict(state["scaler"])
        self.since_fired = state["since_fired"].to(dev)
        self.window_counts = state["window_counts"].to(dev)
        self.window_tokens = int(state["window_tokens"])
        ld = state["last_density"]
        self.last_density = ld.to(dev) if ld is not None else None
        if state["controller"] is not None:
            self.controller = L0Controller.from_state(state["controller"])
        self.scale_in = float(state["scale_in"])
        self.scale_out = float(state["scale_out"])
        self.generator.set_state(state["generator"])
        self.history = json.loads(state["history"])
        self.last_fvu = state["last_fvu"]
        self.n_resampled = int(state["n_resampled"])
        self.sums = {k: v.to(dev) for k, v in state["sums"].items()}
        self.sum_steps = int(state["sum_steps"])
        if state.get("final_acc") is not None:
            acc = ReconstructionAccumulator(self.sae.d_sae, dev)
            acc.__dict__.update(state["final_acc"])
            self.final_acc = acc
        if state.get("last_density_standard") is not None and hasattr(self.sae, "last_density"):
            self.sae.last_density = float(state["last_density_standard"])  # type: ignore[assignment]

    def export_sae(self) -> SAE:
        """A copy with the normalisation scales folded in (works on raw activations)."""
        copy = build_sae(self.sae.cfg)
        copy.load_state_dict(self.sae.state_dict())
        copy.fold_activation_scale(self.scale_in, self.scale_out)
        return copy

    def metadata(self) -> dict[str, Any]:
        meta: dict[str, Any] = {"hook_name": self.spec.hook_name}
        if self.spec.hook_name_out is not None:
            meta["hook_name_out"] = self.spec.hook_name_out
        meta.update(self.spec.sae.metadata)
        meta.setdefault("hf_hook_name", None)
        return meta


def _check_batch(batch: Batch, states: list[_SAEState], config: TrainConfig) -> None:
    if not isinstance(batch, dict):
        raise InvalidInputError(f"a batch must be a dict of hook name -> tensor, got {type(batch)}")
    rows = None
    for st in states:
        for hook, width in ((st.spec.hook_name, st.sae.d_in), (st.spec.target_hook, st.sae.d_out)):
            if hook not in batch:
                raise InvalidInputError(
                    f"batch has no activations for hook {hook!r} (has: {', '.join(batch)})"
                )
            t = batch[hook]
            if t.ndim != 2 or t.shape[1] != width:
                raise InvalidInputError(
                    f"activations for {hook!r} have shape {tuple(t.shape)}; "
                    f"SAE {st.name} expects [tokens, {width}]"
                )
            if rows is not None and t.shape[0] != rows:
                raise InvalidInputError("all hooks of a batch must have the same number of tokens")
            rows = t.shape[0]


def _estimate_scales(buffer: list[Batch], hooks: set[str]) -> dict[str, float]:
    scales = {}
    for hook in sorted(hooks):
        total = 0.0
        count = 0
        for b in buffer:
            x = b[hook].double()
            total += float(x.norm(dim=-1).sum())
            count += x.shape[0]
        mean_norm = total / max(count, 1)
        d = buffer[0][hook].shape[1]
        if not math.isfinite(mean_norm) or mean_norm <= 0:
            raise InvalidInputError(f"activations of {hook!r} are all zero or not finite")
        scales[hook] = math.sqrt(d) / mean_norm
    return scales


class SAETrainer:
    """Trains every SAE of a run from one pass over the data, in the shape of SAELens'
    ``SAETrainer.fit``: :meth:`begin` (start fresh or resume), :meth:`train_step` per batch,
    :meth:`log` and :meth:`checkpoint` on their cadence, :meth:`finish` writes the SAE folders.

    It knows nothing of where batches, evaluations or progress go: the caller passes a data source,
    an ``evaluate`` callable and a ``progress`` callback (see :func:`train_saes`).
    """

    def __init__(
        self,
        config: TrainConfig,
        run_dir: str | Path,
        progress: Progress | None = None,
        stop: StopSignal | None = None,
        evaluate: Evaluator | None = None,
        lineage: dict[str, Any] | None = None,
    ) -> None:
        if config.threads is not None:
            torch.set_num_threads(config.threads)
        self.config = config
        self.run = Path(run_dir)
        self.run.mkdir(parents=True, exist_ok=True)
        self.device = torch.device(config.device)
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise InvalidInputError("device is cuda but no CUDA GPU is available")
        self.autocast = {"none": None, "bfloat16": torch.bfloat16, "float16": torch.float16}[
            config.autocast
        ]
        self.progress = progress
        self.stop = stop
        self.evaluate = evaluate
        self.lineage = lineage
        self.states = [_SAEState(spec, config, i) for i, spec in enumerate(config.saes)]
        self.total = config.total_steps
        self.step = 0
        """Steps completed (including those before a resume)."""
        self.position = 0
        """Batches consumed from the data source (where a resume starts reading)."""
        self.tokens_seen = 0
        self.last_checkpoint: Path | None = None
        self.stopped = False
        self.exhausted = False
        self._t_log = time.perf_counter()
        self._tokens_at_log = 0

    # ---- the loop -------------------------------------------------------------------------
    def fit(self, data: DataSource, resume: bool = True) -> TrainResult:
        """Train to ``total_steps`` (or a stop request, or the end of the data) and finish."""
        batches = self.begin(data, resume)
        self._t_log = time.perf_counter()  # throughput counts training, not the init batches
        while self.step < self.total:
            if _stop_requested(self.stop):
                self.stopped = True
                break
            try:
                batch = next(batches)
            except StopIteration:
                self.exhausted = True
                break
            self.train_step(batch)
            if self.step % self.config.log_every == 0 or self.step == self.total:
                self.log()
            every = self.config.checkpoint_every
            if every and self.step % every == 0 and self.step < self.total:
                self.checkpoint()
        self.checkpoint()
        return self.finish()

    def begin(self, data: DataSource, resume: bool = True) -> Iterator[Batch]:
        """Resume from the run folder's latest checkpoint if there is one (and ``resume``), else
        start: the first ``init_batches`` set the normalisation scales and ``b_dec`` and are then
        trained on. Returns the batches still to train on."""
        ckpt = latest_checkpoint(self.run) if resume else None
        if ckpt is not None:
            self._resume(ckpt.path, load_state(ckpt))
            return _open_data(data, self.position)
        return self._start(data)

    def _resume(self, path: Path, state: dict[str, Any]) -> None:
        diff = _diff_keys(state["config"], _comparable(self.config))
        if diff:
            raise InvalidInputError(
                f"cannot resume {self.run}: the config differs from the checkpoint in "
                f"{', '.join(diff[:8])}; use a new run folder or the original config"
            )
        self.step, self.position = state["step"], state["position"]
        self.tokens_seen = self._tokens_at_log = state["tokens_seen"]
        for st in self.states:
            st.load_state_dict(state["saes"][st.name])
        torch.set_rng_state(state["rng_cpu"])
        if self.device.type == "cuda" and state.get("rng_cuda") is not None:
            torch.cuda.set_rng_state(state["rng_cuda"], self.device)
        self.last_checkpoint = path

    def _start(self, data: DataSource) -> Iterator[Batch]:
        torch.manual_seed(self.config.seed)
        it = _open_data(data, 0)
        buffer = list(itertools.islice(it, self.config.init_batches))
        if not buffer:
            raise InvalidInputError("the data source yielded no batches")
        for b in buffer:
            _check_batch(b, self.states, self.config)
        normalised = [
            st for st in self.states if st.spec.normalize_activations == "expected_average_only_in"
        ]
        hooks = {h for st in normalised for h in (st.spec.hook_name, st.spec.target_hook)}
        scales = _estimate_scales(buffer, hooks)
        for st in self.states:
            if st in normalised:
                st.scale_in = scales[st.spec.hook_name]
                st.scale_out = scales[st.spec.target_hook]
            target = torch.cat([b[st.spec.target_hook] for b in buffer])[:8192]
            st.sae.init_b_dec(target.to(self.device).float() * st.scale_out, st.spec.b_dec_init)
        return itertools.chain(buffer, it)

    def train_step(self, batch: Batch) -> None:
        """One optimiser step of every SAE on ``batch`` (each hook moved and scaled once)."""
        _check_batch(batch, self.states, self.config)
        self.position += 1
        inputs: dict[tuple[str, float], Tensor] = {}

        def get(hook: str, scale: float) -> Tensor:
            key = (hook, scale)
            if key not in inputs:
                t = batch[hook].to(device=self.device, dtype=torch.float32, non_blocking=True)
                inputs[key] = t * scale if scale != 1.0 else t
            return inputs[key]

        n = 0
        for st in self.states:
            x = get(st.spec.hook_name, st.scale_in)
            y = get(st.spec.target_hook, st.scale_out)
            n = x.shape[0]
            st.step(x, y, self.step, self.autocast)
        self.step += 1
        self.tokens_seen += n

    def log(self) -> None:
        """Report each SAE's metrics since the last log through ``progress`` and its history."""
        now = time.perf_counter()
        tps = (self.tokens_seen - self._tokens_at_log) / max(now - self._t_log, 1e-9)
        self._t_log, self._tokens_at_log = now, self.tokens_seen
        for st in self.states:
            metrics = st.log_metrics(tps)
            st.history.append({"step": self.step, "tokens": self.tokens_seen, **metrics})
            report(self.progress, self.step, self.total, sae=st.name, **metrics)

    # ---- checkpoints and results ----------------------------------------------------------
    def checkpoint(self) -> Path:
        """Write a checkpoint (exported SAE folders plus the exact training state), apply the
        retention policy and return its folder."""
        writer = CheckpointWriter(self.run, self.step)
        scores = [st.last_fvu for st in self.states if st.last_fvu is not None]
        score = sum(scores) / len(scores) if scores else None
        for st in self.states:
            dens = st.density()
            save_sae(
                st.export_sae(),
                writer.folder / safe_name(st.name),
                metadata=st.metadata(),
                firing_fraction=dens.float() if dens is not None else None,
            )
        cuda = self.device.type == "cuda"
        state = {
            "version": STATE_VERSION,
            "mistudio_version": __version__,
            "config": _comparable(self.config),
            "step": self.step,
            "position": self.position,
            "tokens_seen": self.tokens_seen,
            "rng_cpu": torch.get_rng_state(),
            "rng_cuda": torch.cuda.get_rng_state(self.device) if cuda else None,
            "saes": {st.name: st.state_dict() for st in self.states},
        }
        info = {
            "step": self.step,
            "position": self.position,
            "tokens_seen": self.tokens_seen,
            "score": score,
            "saes": [st.name for st in self.states],
        }
        self.last_checkpoint = writer.commit(state, info)
        apply_retention(self.run, self.config.keep_checkpoints)
        return self.last_checkpoint

    def finish(self) -> TrainResult:
        """Write each SAE's final folder (scales folded in, training.json) and the result."""
        results = {st.name: self._finish_sae(st) for st in self.states}
        return TrainResult(
            run_dir=self.run,
            steps=self.step,
            total_steps=self.total,
            tokens_seen=self.tokens_seen,
            stopped=self.stopped,
            data_exhausted=self.exhausted,
            checkpoint=self.last_checkpoint,
            saes=results,
        )

    def _finish_sae(self, st: _SAEState) -> SAEResult:
        folder = self.run / "saes" / safe_name(st.name)
        exported = st.export_sae()
        final = st.final_acc.result() if st.final_acc is not None and st.final_acc.n else None
        if final is not None:
            final.mse /= st.scale_out**2  # measured on normalised targets; report raw units
        evals = self.evaluate(st.name, exported) if self.evaluate is not None else {}
        if final is not None:
            reached: float = final.l0
        elif st.controller is not None and st.controller.ema_l0:
            reached = st.controller.ema_l0
        else:
            reached = float("nan")
        coefficient = st.coefficient_now()
        warning = target_warning(st.spec.target_l0, float(reached))
        if warning:
            log.warning("%s: %s", st.name, warning)
        training = {
            "name": st.name,
            "mistudio_version": __version__,
            "lineage": self.lineage or {},
            "config": st.spec.model_dump(mode="json"),
            "run": self.config.model_dump(mode="json"),
            "steps": self.step,
            "total_steps": self.total,
            "tokens_seen": self.tokens_seen,
            "stopped": self.stopped,
            "data_exhausted": self.exhausted,
            "normalization_scale": {"in": st.scale_in, "out": st.scale_out},
            "sparsity_coefficient": coefficient,
            "target_l0": st.spec.target_l0,
            "reached_l0": reached,
            "warnings": [warning] if warning else [],
            "n_resampled": st.n_resampled,
            "metrics": st.history,
            "final": final.model_dump() if final is not None else None,
            "evals": evals,
        }
        dens = st.density()
        save_sae(
            exported,
            folder,
            metadata=st.metadata(),
            firing_fraction=dens.float() if dens is not None else None,
            training=training,
        )
        return SAEResult(
            name=st.name,
            folder=folder,
            sparsity_coefficient=coefficient,
            reached_l0=float(reached) if reached is not None else float("nan"),
            final=final,
            evals=evals,
            warnings=[warning] if warning else [],
        )


def train_saes(
    config: TrainConfig,
    data: DataSource,
    run_dir: str | Path,
    progress: Progress | None = None,
    stop: StopSignal | None = None,
    evaluate: Evaluator | None = None,
    resume: bool = True,
    lineage: dict[str, Any] | None = None,
) -> TrainResult:
    """Train every SAE of ``config`` from one pass over ``data``; see the module docstring.

    data: ``data(position)`` returning an iterable of batches starting at batch ``position``
    (or a plain iterable); run_dir: folder for checkpoints and final SAEs (``saes/<name>/``);
    progress: called as ``progress(step, total_steps, sae=name, **metrics)`` every ``log_every``
    steps for each SAE; stop: Event or callable polled between steps; evaluate: called with each
    final (folded) SAE, its result is stored in training.json; lineage: free dict stored in
    training.json (model, dataset, tokenization ids, ...).
    """
    trainer = SAETrainer(config, run_dir, progress, stop, evaluate, lineage)
    return trainer.fit(data, resume)
