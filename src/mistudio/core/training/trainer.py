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
* **Divergence** stops the run with
  :class:`~mistudio.core.training.sae_state.TrainingDivergedError` naming the SAE, step and loss
  terms, before the bad update touches the weights; earlier checkpoints are kept.
* **Never a lost run.** Once training has started only divergence, a stop request or a broken
  batch end it early; a missed target L0 or failing final evaluations become warnings on the
  saved SAE (``SAEResult.warnings``, ``training.json``).
* **Stopping** (a ``threading.Event`` or a callable) is honoured between steps and leaves a
  final checkpoint plus the SAE folders.
* **Data parallel** (a :class:`~mistudio.core.training.distributed.RankGroup` of several ranks):
  every rank reads the same global batches and trains on its row shard; the init batches are
  gathered whole, gradients and every statistic a batch steers are reduced (see
  :mod:`~mistudio.core.training.distributed`), so the run equals one process on the same
  batches within float tolerance. ``step``, ``position`` and ``tokens_seen`` count global
  batches and tokens, so a checkpoint is the same whatever the number of ranks and resumes on
  any number. Only rank 0 reports progress and writes checkpoints and SAE folders.
"""

from __future__ import annotations

import itertools
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
from mistudio.core.evals import ReconstructionMetrics
from mistudio.core.progress import Progress, report
from mistudio.core.sae.base import SAE
from mistudio.core.sae.saelens_format import save_sae
from mistudio.core.training.auto_sparsity import start_at_target, target_warning
from mistudio.core.training.checkpoints import (
    PREFIX,
    CheckpointWriter,
    apply_retention,
    checkpoint_dir,
    latest_checkpoint,
    load_state,
)
from mistudio.core.training.config import TrainConfig, safe_name
from mistudio.core.training.distributed import RankGroup
from mistudio.core.training.sae_state import SAEState
from mistudio.errors import InvalidInputError

log = logging.getLogger(__name__)

Batch = dict[str, Tensor]
DataSource = Callable[[int], Iterable[Batch]] | Iterable[Batch]
StopSignal = threading.Event | Callable[[], bool]
Evaluator = Callable[[str, SAE], dict[str, Any]]

STATE_VERSION = 1
RESUMABLE_CHANGES = frozenset(
    {"log_every", "checkpoint_every", "keep_checkpoints", "threads", "device"}
)
"""Config fields that may differ between a run and its resume (a checkpoint is loaded to the CPU
and moved, so a run may resume on another device, or each rank on its own GPU)."""


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


def _check_batch(batch: Batch, states: list[SAEState], config: TrainConfig) -> None:
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
        group: RankGroup | None = None,
        presharded: bool = False,
    ) -> None:
        self.group = group or RankGroup.single()
        self.presharded = presharded
        """The data source yields this rank's shards already (else: global batches, cut here)."""
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
        self.progress = progress if self.group.is_main else None
        self.stop = stop
        self.evaluate = evaluate
        self.lineage = lineage
        self.states = [SAEState(spec, config, i) for i, spec in enumerate(config.saes)]
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
            stop = _stop_requested(self.stop)
            batch = None if stop else next(batches, None)
            if self.group.distributed:  # every rank ends at the same step
                flags = torch.tensor(
                    [int(stop), int(batch is None and not stop)], device=self.group.device
                )
                stop, exhausted = (bool(f) for f in self.group.max_(flags).tolist())
            else:
                exhausted = batch is None and not stop
            if stop:
                self.stopped = True
                break
            if exhausted or batch is None:
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
        self.group.barrier()  # rank 0 may still be committing the run's first files
        if ckpt is not None:
            self._resume(ckpt.path, load_state(ckpt))
            return self._shards(_open_data(data, self.position))
        return self._start(data)

    def _shards(self, batches: Iterator[Batch]) -> Iterator[Batch]:
        if self.presharded or not self.group.distributed:
            return batches
        return (self.group.shard(b) for b in batches)

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
            st.load_state_dict(state["saes"][st.name], main=self.group.is_main)
        torch.set_rng_state(state["rng_cpu"])
        if self.device.type == "cuda" and state.get("rng_cuda") is not None:
            torch.cuda.set_rng_state(state["rng_cuda"], self.device)
        self.last_checkpoint = path

    def _start(self, data: DataSource) -> Iterator[Batch]:
        torch.manual_seed(self.config.seed)
        it = self._shards(_open_data(data, 0))
        local = list(itertools.islice(it, self.config.init_batches))
        if self.group.any(not local):
            raise InvalidInputError("the data source yielded no batches")
        for b in local:
            _check_batch(b, self.states, self.config)
        buffer = local
        if self.group.distributed:
            # Every rank initialises from the whole init batches (its shards gathered in rank
            # order: exactly the global batches), so scales, b_dec and thresholds agree.
            counts = self.group.gather_rows(torch.tensor([len(local)]))
            if len(set(counts.tolist())) != 1:
                raise InvalidInputError("the ranks read different numbers of init batches")
            buffer = [self._gather(b) for b in local]
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
            if st.spec.target_l0 is not None:
                x = torch.cat([b[st.spec.hook_name] for b in buffer])[:8192]
                start_at_target(st.sae, x.to(self.device).float() * st.scale_in, st.spec.target_l0)
        return itertools.chain(local, it)

    def _gather(self, batch: Batch) -> Batch:
        return {hook: self.group.gather_rows(t.contiguous()) for hook, t in batch.items()}

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
            n = st.step(x, y, self.step, self.autocast, self.group).tokens
        self.step += 1
        self.tokens_seen += n

    def log(self) -> None:
        """Report each SAE's metrics since the last log through ``progress`` and its history."""
        now = time.perf_counter()
        tps = (self.tokens_seen - self._tokens_at_log) / max(now - self._t_log, 1e-9)
        self._t_log, self._tokens_at_log = now, self.tokens_seen
        for st in self.states:
            metrics = st.log_metrics(tps, self.group)
            st.history.append({"step": self.step, "tokens": self.tokens_seen, **metrics})
            report(self.progress, self.step, self.total, sae=st.name, **metrics)

    # ---- checkpoints and results ----------------------------------------------------------
    def checkpoint(self) -> Path:
        """Write a checkpoint (exported SAE folders plus the exact training state), apply the
        retention policy and return its folder. Every rank calls it (the final-window sums are
        added over ranks); rank 0 writes, the others wait for it."""
        accs = {st.name: st.global_final_acc(self.group) for st in self.states}
        if not self.group.is_main:
            self.group.barrier()
            self.last_checkpoint = checkpoint_dir(self.run) / f"{PREFIX}{self.step:09d}"
            return self.last_checkpoint
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
            "saes": {st.name: self._state(st, accs[st.name]) for st in self.states},
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
        self.group.barrier()
        return self.last_checkpoint

    @staticmethod
    def _state(st: SAEState, acc: Any) -> dict[str, Any]:
        state = st.state_dict()
        state["final_acc"] = vars(acc).copy() if acc is not None else None
        return state

    def finish(self) -> TrainResult:
        """Write each SAE's final folder (scales folded in, training.json) and the result (on
        rank 0; the other ranks return theirs without SAEs)."""
        accs = {st.name: st.global_final_acc(self.group) for st in self.states}
        results = (
            {st.name: self._finish_sae(st, accs[st.name]) for st in self.states}
            if self.group.is_main
            else {}
        )
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

    def _finish_sae(self, st: SAEState, acc: Any) -> SAEResult:
        folder = self.run / "saes" / safe_name(st.name)
        exported = st.export_sae()
        final = acc.result() if acc is not None and acc.n else None
        if final is not None:
            final.mse /= st.scale_out**2  # measured on normalised targets; report raw units
        warnings: list[str] = []
        evals: dict[str, Any] = {}
        if self.evaluate is not None:
            try:
                evals = self.evaluate(st.name, exported)
            except Exception as exc:  # noqa: BLE001 - the trained SAE is kept whatever the evals do
                log.exception("%s: final evaluation failed", st.name)
                warnings.append(f"final evaluation failed ({type(exc).__name__}: {exc})")
                evals = {"error": f"{type(exc).__name__}: {exc}"}
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
            warnings.insert(0, warning)
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
            "warnings": warnings,
            "auto_sparsity": st.controller.record() if st.controller is not None else None,
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
            warnings=warnings,
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
    group: RankGroup | None = None,
    presharded: bool = False,
) -> TrainResult:
    """Train every SAE of ``config`` from one pass over ``data``; see the module docstring.

    data: ``data(position)`` returning an iterable of batches starting at batch ``position``
    (or a plain iterable); run_dir: folder for checkpoints and final SAEs (``saes/<name>/``);
    progress: called as ``progress(step, total_steps, sae=name, **metrics)`` every ``log_every``
    steps for each SAE; stop: Event or callable polled between steps; evaluate: called with each
    final (folded) SAE, its result is stored in training.json; lineage: free dict stored in
    training.json (model, dataset, tokenization ids, ...); group: this rank's place in a
    data-parallel run (``data`` yields global batches, cut into row shards here, or this rank's
    shards when ``presharded``).
    """
    trainer = SAETrainer(config, run_dir, progress, stop, evaluate, lineage, group, presharded)
    return trainer.fit(data, resume)
