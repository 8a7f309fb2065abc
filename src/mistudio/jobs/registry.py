"""Job kinds by name: each kind is one function ``run(ctx) -> result dict``.

Adding a long operation to the studio is one handler function plus its ``@handler`` line; the
Celery task (:mod:`mistudio.jobs.tasks`) looks the kind up here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mistudio.jobs.runtime import JobContext

Run = Callable[[JobContext], dict[str, Any]]


@dataclass(frozen=True)
class Handler:
    kind: str
    run: Run
    resumable: bool
    """A failed or cancelled attempt can be continued by a retry (training resumes from its
    last checkpoint); other kinds simply start over."""


HANDLERS: dict[str, Handler] = {}


def handler(kind: str, resumable: bool = False) -> Callable[[Run], Run]:
    def register(run: Run) -> Run:
        HANDLERS[kind] = Handler(kind, run, resumable)
        return run

    return register


def load_handlers() -> dict[str, Handler]:
    """Import every handler module (their import registers them)."""
    from mistudio.jobs import (  # noqa: F401
        data_jobs,
        extraction_jobs,
        labeling_jobs,
        model_jobs,
        steering_jobs,
        training_jobs,
    )

    return HANDLERS
