"""Job kinds by name: each kind is one function ``run(ctx) -> result dict``.

Adding a long operation to the studio is one handler function plus its ``@handler`` line, which
also says the queue it runs on (``gpu`` for work that wants the accelerator, one job at a time
per device; ``cpu`` otherwise) and whether a retry resumes it. The Celery task
(:mod:`mistudio.jobs.tasks`) and the lifecycle look the kind up in :mod:`mistudio.jobs.kinds`,
which imports every handler module; this module imports none of them, so handlers can import it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from mistudio.jobs.runtime import JobContext

Run = Callable[[JobContext], dict[str, Any]]
Queue = Literal["gpu", "cpu"]


@dataclass(frozen=True)
class Handler:
    kind: str
    run: Run
    resumable: bool
    """A failed or cancelled attempt can be continued by a retry (training resumes from its
    last checkpoint); other kinds simply start over."""
    queue: Queue
    """Where its jobs run unless the request picks (a labelling run: ``gpu`` only for the local
    model)."""


HANDLERS: dict[str, Handler] = {}


def handler(kind: str, queue: Queue = "cpu", resumable: bool = False) -> Callable[[Run], Run]:
    """Register ``run`` as the handler of job ``kind`` on ``queue``."""

    def register(run: Run) -> Run:
        HANDLERS[kind] = Handler(kind, run, resumable, queue)
        return run

    return register
