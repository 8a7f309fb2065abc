"""Sealed per-job API keys: round trip, private files, tamper and foreign-master refusal."""

from __future__ import annotations

import stat

import pytest

from mistudio.settings import get_settings
from mistudio.store import job_secrets
from mistudio.store.job_secrets import SecretUnreadableError, seal, unseal

KEY = "sk-unit-0123456789-SECRET"


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("MISTUDIO_HOME", str(tmp_path))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_round_trip_private_and_forgotten(home) -> None:
    job_secrets.put_job_secret("abc123", KEY)
    folder = home / "secrets"
    sealed = folder / "abc123.key"
    assert KEY.encode() not in sealed.read_bytes()
    assert stat.S_IMODE(sealed.stat().st_mode) == 0o600
    assert stat.S_IMODE((folder / "master.key").stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert job_secrets.get_job_secret("abc123") == KEY
    job_secrets.drop_job_secret("abc123")
    assert job_secrets.get_job_secret("abc123") is None
    with pytest.raises(ValueError):
        job_secrets.get_job_secret("../master")


def test_tampered_or_foreign_blobs_are_refused() -> None:
    master, other = b"m" * 32, b"o" * 32
    blob = seal(KEY, master)
    assert seal(KEY, master) != blob  # a fresh nonce each time
    assert unseal(blob, master) == KEY
    with pytest.raises(SecretUnreadableError):
        unseal(blob, other)
    flipped = bytearray(blob)
    flipped[20] ^= 1
    with pytest.raises(SecretUnreadableError):
        unseal(bytes(flipped), master)
