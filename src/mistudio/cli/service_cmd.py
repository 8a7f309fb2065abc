"""``mistudio serve`` (API + UI + one embedded worker) and ``mistudio worker`` (cluster worker).

``serve`` binds 127.0.0.1 by default. Binding anything else exposes the studio (and the files it
can import) to the network, so it is refused unless ``MISTUDIO_TOKEN`` is set, and then every API
call must carry the token. The embedded worker is a ``celery worker`` subprocess consuming both
queues with concurrency 1 (pool ``solo``: the job runs in the worker's main process, so a killed
worker takes its job with it and the reaper sees the heartbeat stop); it is restarted if it dies.

The worker dies with the studio, however the studio dies. It used to get SIGTERM as its
parent-death signal, but Celery answers SIGTERM with a *warm* shutdown: stop consuming, finish
the current task. A killed ``serve`` thus left an orphan that trained on for hours, and the
restarted studio's worker ran the next GPU job beside it. Now the child asks the kernel for
SIGKILL when its parent dies (``PR_SET_PDEATHSIG``), and, because that signal follows the
*thread* that forked it (the supervisor thread spawns restarts) and exists only on Linux, the
worker also watches its parent's pid (:func:`mistudio.jobs.app.watch_parent`). Whatever still
escapes, the GPU device lock (:mod:`mistudio.jobs.device_lock`) keeps two GPU jobs apart.
"""

from __future__ import annotations

import ctypes
import ipaddress
import os
import signal
import subprocess
import sys
import threading
import time

import typer

from mistudio.cli import app
from mistudio.errors import InvalidInputError
from mistudio.settings import get_settings

LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


def is_local(host: str) -> bool:
    """Whether ``host`` is a loopback address (safe to serve without a token)."""
    if host in LOCAL_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def worker_argv(
    queues: str = "gpu,cpu",
    concurrency: int = 1,
    pool: str = "solo",
    name: str | None = None,
    loglevel: str = "INFO",
) -> list[str]:
    """``celery worker`` arguments shared by ``serve`` and ``worker``."""
    # deferred: the jobs package imports Celery; only `serve` and `worker` need it
    from mistudio.jobs.app import broker_supports_broadcast

    argv = [
        "worker",
        "--queues",
        queues,
        "--concurrency",
        str(concurrency),
        "--pool",
        pool,
        "--loglevel",
        loglevel,
    ]
    if name:
        argv += ["--hostname", name]
    if not broker_supports_broadcast(get_settings().celery_broker_url):
        # The SQL broker has no fanout exchange for these worker-to-worker chats.
        argv += ["--without-mingle", "--without-gossip", "--without-heartbeat"]
    return argv


def _die_with_parent() -> None:
    """In the worker child (Linux): get SIGKILL when the studio dies, even by SIGKILL, so a
    killed ``serve`` never leaves an orphan worker running a job (SIGTERM would not do: Celery
    finishes the current task first). The job's heartbeat stops and the reaper fails it,
    resumable."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the parent-pid watchdog does the work
        pass


class EmbeddedWorker:
    """A ``celery worker`` subprocess kept alive while the studio runs."""

    def __init__(self, argv: list[str]) -> None:
        self.cmd = [sys.executable, "-m", "celery", "-A", "mistudio.jobs.app", *argv]
        self.proc: subprocess.Popen[bytes] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._supervise, name="worker-supervisor", daemon=True
        )

    def _spawn(self) -> subprocess.Popen[bytes]:
        # deferred: the jobs package imports Celery; only `serve` and `worker` need it
        from mistudio.jobs.app import PARENT_PID_ENV

        env = {**os.environ, PARENT_PID_ENV: str(os.getpid())}
        return subprocess.Popen(self.cmd, env=env, preexec_fn=_die_with_parent)  # noqa: PLW1509

    def start(self) -> None:
        self.proc = self._spawn()
        self._thread.start()

    def _supervise(self) -> None:
        backoff = 1.0
        while not self._stop.wait(1.0):
            if self.proc is not None and self.proc.poll() is not None and not self._stop.is_set():
                typer.echo(f"worker exited ({self.proc.returncode}); restarting", err=True)
                time.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
                if not self._stop.is_set():
                    self.proc = self._spawn()

    def stop(self) -> None:
        self._stop.set()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@app.command("serve")
def serve(
    host: str | None = typer.Option(None, help="Address to bind (default MISTUDIO_HOST)"),
    port: int | None = typer.Option(None, help="Port (default MISTUDIO_PORT)"),
    worker: bool = typer.Option(True, help="Start the embedded Celery worker"),
    log_level: str = typer.Option("info", help="uvicorn log level"),
) -> None:
    """Start the studio: API + web UI on 127.0.0.1:8000 and one local worker."""
    # deferred: uvicorn is only needed by `serve`
    import uvicorn

    from mistudio.store import init_db

    settings = get_settings()
    host = host or settings.host
    port = port or settings.port
    if not is_local(host) and not settings.token:
        raise InvalidInputError(
            f"refusing to bind {host}: set MISTUDIO_TOKEN so the API is not open to the network"
        )
    init_db()
    embedded = None
    if worker:
        embedded = EmbeddedWorker(worker_argv(name=f"embedded-{os.getpid()}@%h"))
        embedded.start()
    typer.echo(f"miStudio on http://{host}:{port}  (home {settings.home})")
    typer.echo(
        "New here? Open it and click 'Try it on the built-in model': an SAE trained on SmolLM2, "
        "its features extracted and labelled, in a few minutes (or `mistudio demo` headless)."
    )
    try:
        # deferred: the API app imports FastAPI and torch; only `serve` needs it
        from mistudio.api.app import create_app

        uvicorn.run(create_app(), host=host, port=port, log_level=log_level)
    finally:
        if embedded is not None:
            embedded.stop()


@app.command("worker")
def worker_cmd(
    queues: str = typer.Option("gpu,cpu", help="Queues to consume (one GPU worker per device)"),
    concurrency: int = typer.Option(1, help="Jobs at once (keep 1 on a GPU queue)"),
    pool: str = typer.Option("solo", help="Celery pool: solo or prefork"),
    name: str | None = typer.Option(None, help="Worker name (default celery@host)"),
    loglevel: str = typer.Option("INFO", help="Log level"),
) -> None:
    """Start only a worker (cluster mode: one per GPU machine/device)."""
    # deferred: the jobs package imports Celery; only `serve` and `worker` need it
    from mistudio.jobs.app import app as celery_app
    from mistudio.store import init_db

    init_db()
    celery_app.worker_main(worker_argv(queues, concurrency, pool, name, loglevel))
