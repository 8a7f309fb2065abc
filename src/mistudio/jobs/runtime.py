"""What a job sees while it runs in a worker: progress, log, heartbeat and the stop flag.

``JobContext.progress`` is the :class:`~mistudio.core.progress.Progress` callback handed to core
code. It is cheap to call often: the job row and an event are written at most every
``MIN_INTERVAL`` seconds (and always on the last step), and the stop flag is a
``threading.Event`` set by the heartbeat thread when the job row says ``cancel_requested``. When
the flag is set the next progress call raises :class:`JobCancelled`, which unwinds the core
function; training instead polls :meth:`JobContext.stopped` between steps and stops cleanly with
a checkpoint.

:func:`job_row` is how a handler reads and writes its artifact row: every handler reads its
inputs in one short session before the long work and writes its results in another after it,
and either time the row may have been deleted from the UI (a 404 the job reports as failed).
Rows produced during the long work (metric points, labels) go through :class:`BatchedWrites`,
a short session every fraction of a second rather than one per row.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from mistudio.errors import NotFoundError
from mistudio.jobs.events import emit
from mistudio.settings import get_settings
from mistudio.store import Job, session_scope, utcnow

R = TypeVar("R")
T = TypeVar("T")
log = logging.getLogger(__name__)
MIN_INTERVAL = 0.2
"""Seconds between progress writes: five updates a second is live enough for a progress bar."""
LOG_LIMIT = 200_000
"""Characters of job log kept in the row (the tail)."""


@contextmanager
def job_row(
    table: type[R], row_id: int, what: str, during: str = ""
) -> Iterator[tuple[Session, R]]:
    """A session (committed on exit) and row ``row_id`` of ``table``; NotFoundError ("<what>
    <id> was deleted[ while <during>]") when the row is gone."""
    with session_scope() as session:
        row = session.get(table, row_id)
        if row is None:
            when = f" while {during}" if during else ""
            raise NotFoundError(f"{what} {row_id} was deleted{when}")
        yield session, row


class BatchedWrites(Generic[T]):
    """Rows a job produces faster than each is worth a transaction (metric points, labels):
    held in memory and written together, in one session, once ``every_s`` seconds have passed
    since the last write or ``max_rows`` wait; :meth:`flush` at the end writes the rest.
    Subclasses say how in :meth:`write`."""

    def __init__(self, every_s: float, max_rows: int | None = None) -> None:
        self.every_s = every_s
        self.max_rows = max_rows
        self.pending: list[T] = []
        self.last_flush = time.monotonic()

    def extend(self, rows: Iterable[T]) -> None:
        """Hold ``rows``; write everything held when it is time."""
        self.pending.extend(rows)
        full = self.max_rows is not None and len(self.pending) >= self.max_rows
        if full or time.monotonic() - self.last_flush >= self.every_s:
            self.flush()

    def flush(self) -> None:
        """Write everything held now."""
        self.last_flush = time.monotonic()
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        with session_scope() as session:
            self.write(session, batch)

    def write(self, session: Session, batch: list[T]) -> None:
        """Write ``batch`` in ``session`` (committed after)."""
        raise NotImplementedError


class JobCancelled(Exception):
    """Raised inside a job when its cancel was requested."""


def worker_name() -> str:
    """``<machine>:<thread>``: the machine (``MISTUDIO_WORKER_NAME`` or the host name) that runs
    the job, as the reaper's "worker <machine> lost" messages name it."""
    return f"{get_settings().machine_name}:{threading.get_native_id()}"


def _json_number(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class JobContext:
    """The running job's handle on its row; one per attempt."""

    def __init__(
        self,
        job_id: str,
        kind: str,
        config: dict[str, Any],
        attempt: int = 1,
        lost: dict[str, Any] | None = None,
    ) -> None:
        self.job_id = job_id
        self.kind = kind
        self.config = config
        self.attempt = attempt
        """Which start of the job this is (the row's ``attempts``)."""
        self.lost = lost
        """The automatic re-queue that led to this attempt (``lost_worker``, ``lost_step``):
        the previous worker died and this one resumes its work."""
        self.stop_event = threading.Event()
        self._last_write = 0.0
        self._started = time.monotonic()
        self._start_fraction: float | None = None
        self._stage: tuple[float, float, str | None] = (0.0, 1.0, None)
        self._heartbeat: threading.Thread | None = None
        self._stop_heartbeat = threading.Event()
        self.metric_sink: Callable[[float, dict[str, Any]], None] | None = None
        """Extra consumer of progress metrics (training writes metric rows)."""
        self.raise_on_cancel = True
        """False for jobs that poll :meth:`stopped` themselves and stop cleanly (training)."""

    # -- stages ---------------------------------------------------------------------------
    def stage(self, start: float, end: float, name: str | None = None) -> JobContext:
        """Map the following progress calls into ``[start, end]`` of the whole job."""
        self._stage = (start, end, name)
        self._started = time.monotonic()
        self._start_fraction = None
        self._last_write = 0.0  # a new stage's name is shown at once, never throttled away
        self.progress(0, None)
        return self

    # -- progress -------------------------------------------------------------------------
    def stopped(self) -> bool:
        """Whether a cancel was requested (training polls this between steps)."""
        return self.stop_event.is_set()

    def progress(self, step: float, total: float | None, /, **metrics: Any) -> None:
        """The core-facing progress callback (see module docstring)."""
        if self.raise_on_cancel and self.stop_event.is_set():
            raise JobCancelled("cancelled")
        if self.metric_sink is not None and metrics:
            self.metric_sink(step, metrics)
        now = time.monotonic()
        done = total is not None and total > 0 and step >= total
        if not done and now - self._last_write < MIN_INTERVAL:
            return
        self._last_write = now
        start, end, stage = self._stage
        inner = min(1.0, step / total) if total else 0.0
        fraction = start + (end - start) * inner
        eta = self._eta(fraction, now)
        message = metrics.get("stage") or stage
        data: dict[str, Any] = {
            "progress": round(fraction, 6),
            "eta_seconds": eta,
            "step": step,
            "total": total,
        }
        if message:
            data["message"] = str(message)
        simple = {
            k: _json_number(v) for k, v in metrics.items() if isinstance(v, int | float | str)
        }
        if simple:
            data["metrics"] = simple
        with session_scope() as session:
            session.execute(
                update(Job)
                .where(Job.id == self.job_id)
                .values(
                    progress=fraction,
                    eta_seconds=eta,
                    message=str(message) if message else Job.message,
                    heartbeat_at=utcnow(),
                )
            )
        emit(self.job_id, "progress", data)

    def _eta(self, fraction: float, now: float) -> float | None:
        if self._start_fraction is None:
            self._start_fraction = fraction
            self._started = now
            return None
        done = fraction - self._start_fraction
        if done <= 1e-6:
            return None
        rate = done / max(now - self._started, 1e-6)
        return round((1.0 - fraction) / rate, 1)

    def resumed(self, step: int, where: str | None = None) -> None:
        """Say, in the log, the job's message and an event, where this attempt picks the work
        up (``step``: the checkpoint's training step; ``where``: the words for it, default
        "from step <step>"), and after whose loss."""
        where = where or f"from step {step}"
        if self.lost is not None:
            lost_at = self.lost.get("lost_step")
            at = f" at step {lost_at}" if lost_at is not None else ""
            here = get_settings().machine_name
            who = self.lost.get("lost_worker")
            message = f"worker {who} lost{at}; resumed on {here} {where}"
        else:
            message = f"resumed {where}"
        self.log(message)
        with session_scope() as session:
            session.execute(update(Job).where(Job.id == self.job_id).values(message=message))
        data: dict[str, Any] = {"message": message, "step": step}
        if self.lost is not None:
            data.update(
                lost_worker=self.lost.get("lost_worker"), lost_step=self.lost.get("lost_step")
            )
        emit(self.job_id, "resumed", data)

    def log(self, line: str) -> None:
        """Append a line to the job's log and publish it."""
        with session_scope() as session:
            job = session.get(Job, self.job_id)
            if job is not None:
                job.log = ((job.log or "") + line.rstrip("\n") + "\n")[-LOG_LIMIT:]
        emit(self.job_id, "log", {"line": line})

    # -- heartbeat ------------------------------------------------------------------------
    def start_heartbeat(self) -> None:
        self._heartbeat = threading.Thread(
            target=self._beat, name=f"heartbeat-{self.job_id[:8]}", daemon=True
        )
        self._heartbeat.start()

    def stop_heartbeat(self) -> None:
        self._stop_heartbeat.set()
        if self._heartbeat is not None:
            self._heartbeat.join(timeout=5)

    def _beat(self) -> None:
        interval = get_settings().heartbeat_seconds
        while not self._stop_heartbeat.wait(interval):
            try:
                with session_scope() as session:
                    beat = session.execute(
                        update(Job)
                        .where(Job.id == self.job_id, Job.attempts == self.attempt)
                        .where(Job.status == "running")
                        .values(heartbeat_at=utcnow())
                    )
                    mine = cast("CursorResult[Any]", beat).rowcount
                    cancel = session.scalar(
                        select(Job.cancel_requested).where(Job.id == self.job_id)
                    )
                if cancel or not mine:
                    # not mine: this worker was taken for lost (it stalled past the reaper's
                    # limit) and the job queued again; stop rather than run beside its resume
                    self.stop_event.set()
            except Exception as exc:  # a missed beat is not fatal; the next one may succeed
                log.warning("heartbeat for %s failed: %s", self.job_id, exc)
