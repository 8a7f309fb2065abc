"""Real server processes for tests that need what only a real server shows (uvicorn's logs,
keep-alive connections, process death, a browser's requests).

One way to pick a port, start a process in its own session, wait until it answers HTTP, and stop
its whole process group: the e2e studio, the security tier's ``mistudio serve`` and crash app, and
the serve-kill fault test all use it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def mistudio_exe() -> str:
    """The ``mistudio`` script of this interpreter's environment."""
    beside = Path(sys.executable).parent / "mistudio"
    return str(beside) if beside.exists() else shutil.which("mistudio") or "mistudio"


def wait_answering(url: str, proc: subprocess.Popen[bytes], log_path: Path, timeout: float) -> None:
    """Wait until ``url`` answers HTTP (any status: a token-mode studio answers 401); fail with
    the log's tail if the process exits first."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace")[-3000:]
            raise AssertionError(f"server exited with {proc.returncode}\n{tail}")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} did not answer within {timeout:.0f} s")
        time.sleep(0.3)


def stop_group(proc: subprocess.Popen[bytes], grace: float = 20) -> None:
    """SIGTERM the process group, SIGKILL it after ``grace`` seconds."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


@contextlib.contextmanager
def running_server(
    argv: list[str],
    env: dict[str, str],
    log_path: Path,
    health_url: str,
    cwd: Path | None = None,
    timeout: float = 90,
) -> Iterator[subprocess.Popen[bytes]]:
    """``argv`` in its own session with output to ``log_path``; yielded once ``health_url``
    answers, its process group stopped on exit."""
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            argv, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_answering(health_url, proc, log_path, timeout)
        yield proc
    finally:
        stop_group(proc)
