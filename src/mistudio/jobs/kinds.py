"""Every job kind the studio runs: importing this module registers all handlers.

The handler modules import :mod:`mistudio.jobs.handlers` to register themselves; this module
imports them (and nothing imports it from below), so the registry and the handlers form no import
cycle, and whoever needs a kind's facts (the task that runs it, the lifecycle that queues and
reaps it) imports this.
"""

from __future__ import annotations

from mistudio.jobs import (  # noqa: F401  (imported for their @handler registrations)
    data_jobs,
    eval_jobs,
    export_jobs,
    extraction_jobs,
    first_run_jobs,
    labeling_jobs,
    linguistics_jobs,
    matching_jobs,
    model_jobs,
    sae_import_jobs,
    steering_jobs,
    training_jobs,
)
from mistudio.jobs.handlers import HANDLERS, Handler


def load_handlers() -> dict[str, Handler]:
    """Every registered handler by kind."""
    return HANDLERS


def queue_for(kind: str) -> str:
    """The queue a job of ``kind`` runs on (``cpu`` for a kind no handler declares)."""
    found = HANDLERS.get(kind)
    return found.queue if found is not None else "cpu"
