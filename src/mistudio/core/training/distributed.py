"""Data-parallel training of one run over several ranks, on ``torch.distributed``.

Every rank holds every SAE of the run. Each global batch (the same batches, in the same order,
as a single process reads) is cut into ``world`` row shards and rank ``r`` trains on rows
``[r * B / W, (r + 1) * B / W)``. After the backward pass the gradients are averaged with one
explicit ``all_reduce`` per SAE (weighted by each rank's rows, so a shard of another size is
still exact), and every rank then clips and steps identically, so the weights never drift
apart and no broadcast is needed.

What this module gives the trainer is :class:`RankGroup`: the rank, the world size and the few
collectives a step needs. A group of one (:meth:`RankGroup.single`) does nothing at all, so the
single-process path is the plain code. Everything a batch steers is reduced through it, not
only the gradients (each place says why in its own docstring):

* the per-token means the trainer logs and feeds back (loss, L0, MSE, penalties, the auto-sparsity
  controller's L0 and its threshold scale): summed weighted by rows, so every rank holds the
  global value and the controller moves the same way everywhere;
* per-latent fire counts (dead-latent counters, density windows), summed;
* TopK's AuxK residual variances and BatchTopK's batch threshold (a top ``k * B`` over the *global*
  batch, :func:`mistudio.core.sae.batchtopk.global_batch_topk`);
* the init batches (scales, ``b_dec``, the auto-sparsity start quantiles) and a resampling batch,
  gathered whole so every rank computes the same initialisation.

Launch (:func:`launch`): ``torch.multiprocessing`` start-up with a TCP rendezvous on 127.0.0.1
(``torchrun``'s ``MASTER_ADDR``/``MASTER_PORT`` variables are honoured too), ``gloo`` on CPU and
``nccl`` on CUDA. Only rank 0 reports progress, writes checkpoints and SAE folders; a stop
request reaches every rank through a shared event and an all-reduced flag, so all ranks stop at
the same step.
"""

from __future__ import annotations

import os
import queue as queue_mod
import re
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import Tensor
from torch.multiprocessing.spawn import ProcessException

from mistudio.errors import InvalidInputError, MiStudioError

Batch = dict[str, Tensor]


@dataclass
class RankGroup:
    """This process's place in a data-parallel run: rank ``rank`` of ``world``."""

    rank: int = 0
    world: int = 1
    device: str = "cpu"
    """This rank's device: where its SAEs live and its collectives run (``nccl`` needs CUDA)."""

    @classmethod
    def single(cls, device: str = "cpu") -> RankGroup:
        """The group of a single process: every collective is the identity."""
        return cls(0, 1, device)

    @property
    def distributed(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the one that reports, writes checkpoints and SAE folders."""
        return self.rank == 0

    # ---- collectives (no-ops for a single process) -----------------------------------------
    def sum_(self, t: Tensor) -> Tensor:
        """All-reduce ``t`` in place (sum over ranks) and return it."""
        if self.distributed:
            dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return t

    def max_(self, t: Tensor) -> Tensor:
        if self.distributed:
            dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return t

    def min_(self, t: Tensor) -> Tensor:
        if self.distributed:
            dist.all_reduce(t, op=dist.ReduceOp.MIN)
        return t

    def any(self, flag: bool) -> bool:
        """Whether ``flag`` is set on any rank."""
        if not self.distributed:
            return flag
        return bool(self.max_(torch.tensor([int(flag)], device=self.device)).item())

    def gather_rows(self, t: Tensor, fill: float = 0.0) -> Tensor:
        """``[sum of rows, ...]``: every rank's ``t`` stacked in rank order (shards may differ
        in length: they are padded with ``fill`` for ``all_gather`` and cut back)."""
        if not self.distributed:
            return t
        home = t.device
        t = t.to(self.device)
        size = torch.tensor([t.shape[0]], device=t.device)
        sizes = [torch.zeros_like(size) for _ in range(self.world)]
        dist.all_gather(sizes, size)
        counts = [int(s.item()) for s in sizes]
        longest = max(counts)
        padded = t.new_full((longest, *t.shape[1:]), fill)
        padded[: t.shape[0]] = t
        parts = [torch.empty_like(padded) for _ in range(self.world)]
        dist.all_gather(parts, padded.contiguous())
        return torch.cat([p[:c] for p, c in zip(parts, counts, strict=True)]).to(home)

    def average_grads(self, params: Sequence[Tensor], weight: float) -> None:
        """Replace each gradient by the weighted mean over ranks: ``sum_r w_r g_r`` where this
        rank's ``w`` is its share of the global batch's rows (``1 / world`` for equal shards).
        One flat buffer, one ``all_reduce`` (per-tensor calls cost a round trip each)."""
        if not self.distributed:
            return
        grads = [p.grad for p in params if p.grad is not None]
        flat = torch.cat([g.reshape(-1) for g in grads]) * weight
        self.sum_(flat)
        offset = 0
        for g in grads:
            n = g.numel()
            g.copy_(flat[offset : offset + n].view_as(g))
            offset += n

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()

    # ---- data --------------------------------------------------------------------------------
    def shard(self, batch: Batch) -> Batch:
        """This rank's rows of a global batch: ``[rank * B / W, (rank + 1) * B / W)`` (the
        remainder of an uneven batch goes to the last ranks, one row each)."""
        if not self.distributed:
            return batch
        out = {}
        for hook, t in batch.items():
            start, stop = shard_bounds(t.shape[0], self.rank, self.world)
            out[hook] = t[start:stop]
        return out


def shard_bounds(rows: int, rank: int, world: int) -> tuple[int, int]:
    """Rows ``[start, stop)`` of ``rank`` in a batch of ``rows`` cut into ``world`` shards."""
    base, extra = divmod(rows, world)
    start = rank * base + max(0, rank - (world - extra))
    return start, start + base + (1 if rank >= world - extra else 0)


# ---- launch -----------------------------------------------------------------------------------
RankFn = Callable[..., Any]
"""``fn(group, progress, stop, *args)`` run on every rank; rank 0's return value is returned."""


def backend_for(device: str) -> str:
    """``nccl`` for CUDA devices, ``gloo`` otherwise."""
    return "nccl" if device.startswith("cuda") else "gloo"


def planned_devices(device: str, nproc: int) -> list[str]:
    """The device of each rank, without looking at the hardware: ``cuda`` (or ``cuda:N``) gives
    consecutive GPUs from N, CPU stays CPU (every rank on it). What a job asks for (the API
    has no GPU of its own to count); :func:`rank_devices` checks it where the ranks start."""
    if not device.startswith("cuda"):
        return [device] * nproc
    first = int(device.split(":", 1)[1]) if ":" in device else 0
    return [f"cuda:{first + i}" for i in range(nproc)]


def rank_devices(device: str, nproc: int) -> list[str]:
    """:func:`planned_devices`, refusing more CUDA ranks than GPUs in one line."""
    devices = planned_devices(device, nproc)
    check_visible(devices)
    return devices


def check_rank_devices(devices: Sequence[str]) -> None:
    """One line for a device list ranks cannot run on: each ``cpu`` or ``cuda:N``, all of one
    kind (one backend: gloo or nccl), no GPU twice (NCCL runs one rank per GPU)."""
    bad = [d for d in devices if not _RANK_DEVICE.fullmatch(d)]
    if bad:
        raise InvalidInputError(f"devices: {bad[0]!r} is not 'cpu' or 'cuda:N'")
    if len({d.split(":")[0] for d in devices}) > 1:
        raise InvalidInputError(f"devices mix CPU and GPU ranks ({', '.join(devices)})")
    twice = sorted({d for d in devices if d != "cpu" and devices.count(d) > 1})
    if twice:
        raise InvalidInputError(f"devices name {twice[0]} twice: one rank per GPU")


def check_training_device(device: str, devices: Sequence[str] | None, explicit: bool) -> None:
    """The training device (``explicit``: given, not the default) and the rank devices must
    not disagree: a GPU while the ranks are CPU ones (or the reverse), or another GPU than
    rank 0's. Not given, the ranks' devices decide."""
    if not devices or not explicit:
        return
    first = devices[0]
    kind = "cuda" if device.startswith("cuda") else device
    if kind != first.split(":")[0] or (device.startswith("cuda:") and device != first):
        raise InvalidInputError(
            f"train.device ({device}) contradicts devices ({', '.join(devices)}): rank 0 "
            f"runs on {first}"
        )


_RANK_DEVICE = re.compile(r"cpu|cuda:\d+")


def check_visible(devices: Sequence[str]) -> None:
    """Refuse (one line) a ``cuda:N`` rank whose GPU this process cannot see."""
    wanted = [int(d.split(":", 1)[1]) for d in devices if d.startswith("cuda:")]
    available = torch.cuda.device_count() if wanted else 0
    if wanted and max(wanted) >= available:
        raise InvalidInputError(
            f"{len(devices)} ranks on {', '.join(devices)} need GPU {max(wanted)}; "
            f"{available} visible"
        )


def _exit_with_parent(parent: int, interval: float = 0.5) -> None:
    """End this rank as soon as the process that launched it is gone. A worker killed mid-run
    (SIGKILL: no chance to stop its ranks) would otherwise leave them training, and writing
    checkpoints, beside the retry that resumes the job elsewhere, on a GPU whose device lock the
    kernel has already released."""

    def watch() -> None:
        while os.getppid() == parent:
            threading.Event().wait(interval)
        os._exit(1)

    threading.Thread(target=watch, name="rank-parent-watchdog", daemon=True).start()


def _rank_entry(
    rank: int,
    world: int,
    init_method: str,
    devices: list[str],
    threads: int | None,
    events: Any,
    stop_event: Any,
    fn: RankFn,
    args: tuple[Any, ...],
    parent: int,
) -> None:
    _exit_with_parent(parent)
    if threads is not None:
        torch.set_num_threads(threads)
    device = devices[rank]
    if device.startswith("cuda"):
        torch.cuda.set_device(device)
    backend = backend_for(device)
    dist.init_process_group(backend, init_method=init_method, rank=rank, world_size=world)
    group = RankGroup(rank, world, device)

    def progress(step: int, total: int, **fields: Any) -> None:
        events.put(("progress", step, total, fields))

    try:
        result = fn(group, progress if group.is_main else None, stop_event.is_set, *args)
        if group.is_main:
            events.put(("result", result))
    except Exception as exc:
        # The parent re-raises it as one line (a child's traceback is for the log).
        ours = isinstance(exc, MiStudioError)
        events.put(("error", rank, exc if ours else None, f"{type(exc).__name__}: {exc}"))
        raise
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def launch(
    fn: RankFn,
    nproc: int,
    args: tuple[Any, ...] = (),
    device: str = "cpu",
    threads: int | None = 1,
    progress: Callable[..., None] | None = None,
    stop: Callable[[], bool] | None = None,
    port: int | None = None,
    devices: Sequence[str] | None = None,
) -> Any:
    """Run ``fn(group, progress, stop, *args)`` on ``nproc`` new processes joined in one
    process group and return rank 0's result.

    ``fn`` must be importable (a module-level function) and ``args`` picklable: ranks are
    started with ``spawn``. ``device``: ``cpu`` (every rank on the CPU, ``gloo``) or ``cuda`` /
    ``cuda:N`` (one GPU per rank from N, ``nccl``); or ``devices``, one per rank (``cuda:0``,
    ``cuda:2``: any GPUs, in rank order); ``group.device`` tells each rank its own.
    Rank 0's progress calls come back to ``progress`` here, and ``stop``
    is polled here and handed to every rank as an event. ``threads``: torch threads per rank
    (1 on a small CPU; None leaves torch's default). The rendezvous is a TCP store on
    ``MASTER_ADDR:MASTER_PORT`` (127.0.0.1 and a free port unless the environment says).
    """
    if nproc < 1:
        raise InvalidInputError(f"nproc must be >= 1, got {nproc}")
    if devices is None:
        devices = rank_devices(device, nproc)
    else:
        if len(devices) != nproc:
            raise InvalidInputError(f"{nproc} ranks need {nproc} devices, got {len(devices)}")
        check_visible(devices)
    devices = list(devices)
    addr = os.environ.get("MASTER_ADDR", "127.0.0.1")
    if port is None:
        port = int(os.environ.get("MASTER_PORT", "0")) or _free_port(addr)
    ctx = mp.get_context("spawn")
    events = ctx.Queue()
    stop_event = ctx.Event()
    init = f"tcp://{addr}:{port}"
    procs = mp.start_processes(
        _rank_entry,
        args=(nproc, init, devices, threads, events, stop_event, fn, args, os.getpid()),
        nprocs=nproc,
        join=False,
        start_method="spawn",
    )
    result: Any = None
    got = threading.Event()
    errors: list[tuple[Any, ...]] = []

    def drain(block: bool) -> None:
        nonlocal result
        while True:
            try:
                item = events.get(timeout=0.1) if block else events.get_nowait()
            except queue_mod.Empty:
                return
            block = False
            if item[0] == "progress" and progress is not None:
                _, step, total, fields = item
                progress(step, total, **fields)
            elif item[0] == "result":
                result = item[1]
                got.set()
            elif item[0] == "error":
                errors.append(item[1:])

    try:
        while not procs.join(timeout=0.05):
            drain(block=True)
            if stop is not None and stop():
                stop_event.set()
    except ProcessException as exc:
        drain(block=False)
        if errors:
            rank, ours, message = errors[0]
            if ours is not None:
                raise ours from None  # the same one-line error a single process raises
            raise RuntimeError(f"training rank {rank} failed: {message}") from None
        raise RuntimeError(f"a training rank died: {exc}") from None
    drain(block=False)
    if not got.is_set():
        drain(block=True)
    return result


def _free_port(addr: str) -> int:
    with socket.socket() as s:
        s.bind((addr, 0))
        return int(s.getsockname()[1])
