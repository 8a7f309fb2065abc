"""Credentials a job needs, kept out of the database: sealed files under ``MISTUDIO_HOME/secrets``.

A request may carry a credential: a labelling API key, a Hub token for a gated dataset or model.
It must never reach the database (job config, events, artifact rows), a log or a response, yet
the worker, another process, needs it. The API seals each one, by name, into
``secrets/<job id>.<name>.key`` (file 0600, folder 0700; the default name ``api_key`` keeps its
original file ``<job id>.key``) and the job row at most says that one was given; the worker
unseals it when the job starts. The job's files are deleted when it completes; a failed or
cancelled job keeps them so that a retry can resume with the same credentials.

Sealing uses the studio's master key ``secrets/master.key`` (32 random bytes, 0600, made on first
use): HMAC-SHA256 in counter mode as the keystream, then HMAC-SHA256 over nonce and ciphertext
(encrypt-then-MAC), standard library only. It keeps the key unreadable in a copy of the sealed
file without the master key (a backup of artifacts, a log of a directory listing); it cannot
protect against someone who reads ``MISTUDIO_HOME`` as the studio's user, and no scheme that lets
the worker read the key could.

A cluster worker that does not share ``MISTUDIO_HOME`` with the API finds no sealed file; it uses
its own environment instead (``MISTUDIO_OPENAI_API_KEY`` / ``OPENAI_API_KEY``, see
:mod:`mistudio.core.labeling.config`).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

from mistudio.settings import get_settings

SECRETS_DIR = "secrets"
MASTER_FILE = "master.key"
NONCE_BYTES = 16
TAG_BYTES = 32
_JOB_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
DEFAULT_NAME = "api_key"
"""A labelling API key; other names in use: ``hub_token``."""


class SecretUnreadableError(Exception):
    """A sealed file exists but does not open with this studio's master key."""


def _folder() -> Path:
    folder = get_settings().home / SECRETS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    return folder


def _write_private(path: Path, data: bytes) -> None:
    """Create ``path`` with mode 0600 from the start (never briefly world-readable)."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _master() -> bytes:
    path = _folder() / MASTER_FILE
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            pass
        else:
            try:
                os.write(fd, secrets.token_bytes(32))
            finally:
                os.close(fd)
    master = path.read_bytes()
    if len(master) != 32:
        raise SecretUnreadableError(f"{path} is not a 32-byte key")
    return master


def _subkey(master: bytes, purpose: bytes) -> bytes:
    return hmac.new(master, b"mistudio-secret:" + purpose, hashlib.sha256).digest()


def _keystream(key: bytes, nonce: bytes, length: int) -> bytes:
    blocks = []
    for counter in range((length + 31) // 32):
        blocks.append(hmac.new(key, nonce + counter.to_bytes(8, "big"), hashlib.sha256).digest())
    return b"".join(blocks)[:length]


def seal(value: str, master: bytes) -> bytes:
    """``nonce | ciphertext | tag`` of ``value`` under ``master``."""
    data = value.encode()
    nonce = secrets.token_bytes(NONCE_BYTES)
    stream = _keystream(_subkey(master, b"enc"), nonce, len(data))
    cipher = bytes(a ^ b for a, b in zip(data, stream, strict=True))
    tag = hmac.new(_subkey(master, b"mac"), nonce + cipher, hashlib.sha256).digest()
    return nonce + cipher + tag


def unseal(blob: bytes, master: bytes) -> str:
    """The value :func:`seal` sealed; :class:`SecretUnreadableError` if tampered or foreign."""
    if len(blob) < NONCE_BYTES + TAG_BYTES:
        raise SecretUnreadableError("sealed secret is truncated")
    nonce, cipher, tag = blob[:NONCE_BYTES], blob[NONCE_BYTES:-TAG_BYTES], blob[-TAG_BYTES:]
    expected = hmac.new(_subkey(master, b"mac"), nonce + cipher, hashlib.sha256).digest()
    if not hmac.compare_digest(tag, expected):
        raise SecretUnreadableError("sealed secret does not match this studio's master key")
    stream = _keystream(_subkey(master, b"enc"), nonce, len(cipher))
    return bytes(a ^ b for a, b in zip(cipher, stream, strict=True)).decode()


def _path(job_id: str, name: str = DEFAULT_NAME) -> Path:
    if not _JOB_ID.match(job_id):
        raise ValueError(f"not a job id: {job_id!r}")
    if not _NAME.match(name):
        raise ValueError(f"not a secret name: {name!r}")
    return _folder() / (f"{job_id}.key" if name == DEFAULT_NAME else f"{job_id}.{name}.key")


def put_job_secret(job_id: str, value: str, name: str = DEFAULT_NAME) -> None:
    """Seal ``value`` as job ``job_id``'s secret ``name`` (call before the job is dispatched)."""
    _write_private(_path(job_id, name), seal(value, _master()))


def get_job_secret(job_id: str, name: str = DEFAULT_NAME) -> str | None:
    """The value sealed as ``name`` for ``job_id``, or None when there is none (or it cannot be
    opened)."""
    path = _path(job_id, name)
    if not path.is_file():
        return None
    try:
        return unseal(path.read_bytes(), _master())
    except SecretUnreadableError:
        return None


def drop_job_secret(job_id: str) -> None:
    """Forget every secret of ``job_id`` (the job completed)."""
    _path(job_id).unlink(missing_ok=True)
    # Job ids hold no dots, so this matches only this job's named secrets.
    for path in _folder().glob(f"{job_id}.*.key"):
        path.unlink(missing_ok=True)
