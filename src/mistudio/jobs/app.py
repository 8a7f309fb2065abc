"""The Celery app: ``celery -A mistudio.jobs.app worker`` runs miStudio's jobs.

Decisions:

* **Broker**: a SQLite file under ``MISTUDIO_HOME`` through kombu's SQLAlchemy transport by
  default, so ``mistudio serve`` needs no other service; ``MISTUDIO_BROKER_URL=redis://...`` for
  clusters. No result backend: the database row of each job is the truth.
* **Queues**: ``gpu`` for work that wants the accelerator (model load, activations, training,
  extraction) and ``cpu`` for the rest. A GPU machine runs one worker per GPU with concurrency 1
  on ``gpu``, so at most one GPU job runs per device.
* **Acks early**: a task message is acknowledged when the worker takes it. A worker killed mid-job
  does not get the job redelivered behind our back; the reaper decides: a resumable job is sent
  again once (``MISTUDIO_JOB_AUTO_RETRIES``) and another worker resumes it from its last
  checkpoint, any other fails (worker lost) for the researcher to retry.
* Remote control (revoke broadcasts, mingle, gossip) needs fanout, which the SQL transport lacks;
  cancellation is therefore cooperative through the job row (see :mod:`mistudio.jobs.runtime`),
  and revoke is an extra only where the broker supports it.
"""

from __future__ import annotations

import os
import signal
import threading
import warnings
from typing import Any

from celery import Celery
from celery.signals import worker_init, worker_process_init
from kombu import Exchange, Queue
from sqlalchemy.exc import IntegrityError

from mistudio.settings import get_settings
from mistudio.store import dispose_all

QUEUES = ("gpu", "cpu")
PARENT_PID_ENV = "MISTUDIO_WORKER_PARENT_PID"
"""Set by ``mistudio serve`` for its embedded worker: the pid the worker must not outlive."""

# kombu's SQL transport uses an ORM loader option SQLAlchemy 2.1 deprecates; nothing we can act on.
warnings.filterwarnings("ignore", message=r".*``noload`` loader strategy.*")


def broker_supports_broadcast(url: str) -> bool:
    """Whether revoke/mingle/gossip work on this broker (they need fanout exchanges)."""
    return url.startswith(("redis://", "rediss://", "amqp://", "pyamqp://"))


def make_app() -> Celery:
    """Build the Celery app from the current settings."""
    settings = get_settings()
    broker = settings.celery_broker_url
    celery = Celery("mistudio", broker=broker, include=["mistudio.jobs.tasks"])
    options: dict[str, Any] = {}
    if broker.startswith("sqla+sqlite"):
        settings.home.mkdir(parents=True, exist_ok=True)
        options = {"connect_args": {"timeout": 30}}  # create_engine kwargs: wait for the lock
    elif broker.startswith(("redis://", "rediss://")) and settings.broker_key_prefix:
        options = {"global_keyprefix": settings.broker_key_prefix}
    celery.conf.update(
        task_queues=[
            Queue(name, Exchange(name, type="direct"), routing_key=name) for name in QUEUES
        ],
        task_default_queue="cpu",
        task_ignore_result=True,
        task_acks_late=False,
        task_track_started=False,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        worker_enable_remote_control=broker_supports_broadcast(broker),
        broker_connection_retry_on_startup=True,
        broker_transport_options=options,
        task_serializer="json",
        accept_content=["json"],
    )
    return celery


def _broker_key() -> tuple[str, str | None]:
    """What tells two brokers apart: the URL and, on a shared Redis, the key prefix (two
    studios on one server differ only by it)."""
    settings = get_settings()
    return settings.celery_broker_url, settings.broker_key_prefix


app = make_app()
_apps: dict[tuple[str, str | None], Celery] = {_broker_key(): app}


def celery_app() -> Celery:
    """The app for the current settings (tests and the API may change them after import)."""
    key = _broker_key()
    if key not in _apps:
        _apps[key] = make_app()
    return _apps[key]


def ensure_broker_queues(celery: Celery | None = None) -> None:
    """Create the SQLite broker's queue rows up front, tolerating a race with another process.

    kombu's SQLAlchemy transport inserts a queue's row on first use, guarded only by a lock in
    its own process: an API publishing its first job while a starting worker declares the same
    queue can both insert it, and the loser's request fails with ``UNIQUE constraint failed:
    kombu_queue.name`` (seen in the service tests). Each process calls this at start-up, where
    the loser of that race just rolls back and finds the winner's row."""
    celery = celery or celery_app()
    if not str(celery.conf.broker_url).startswith("sqla+"):
        return
    with celery.connection_for_write() as conn:
        channel: Any = conn.default_channel
        for name in QUEUES:
            for _ in range(3):
                try:
                    channel._get_or_create(name)
                    break
                except IntegrityError:
                    channel.session.rollback()


def watch_parent(parent_pid: int, interval: float = 0.5) -> threading.Thread:
    """Kill this process (SIGKILL: no warm shutdown that finishes the current job) as soon as
    ``parent_pid`` is no longer its parent. Backs up ``PR_SET_PDEATHSIG``, which follows the
    forking thread rather than the process and exists only on Linux."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            threading.Event().wait(interval)
        os.kill(os.getpid(), signal.SIGKILL)

    thread = threading.Thread(target=watch, name="parent-watchdog", daemon=True)
    thread.start()
    return thread


@worker_init.connect
def _queues_before_consuming(**_: Any) -> None:
    parent = os.environ.get(PARENT_PID_ENV)
    if parent and parent.isdigit():
        watch_parent(int(parent))
    ensure_broker_queues()


@worker_process_init.connect
def _fresh_connections(**_: Any) -> None:
    # A forked pool child must not reuse the parent's pooled database connections.
    dispose_all()
