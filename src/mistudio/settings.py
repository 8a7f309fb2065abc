"""All of miStudio's settings in one place, read from ``MISTUDIO_*`` environment variables.

Core code reads only ``home`` (for caches such as the dequantized built-in model); the service
reads the rest. The database URL is normalised here so every other module sees one spelling.
"""

from __future__ import annotations

import os
import socket
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MISTUDIO_", extra="ignore")

    home: Path = Field(default=Path("~/.mistudio"))
    """Folder for the database, caches and artifacts."""
    database_url: str | None = None
    """SQLAlchemy URL; SQLite under ``home`` when unset."""
    broker_url: str | None = None
    """Celery broker URL; a SQLite broker under ``home`` when unset."""
    host: str = "127.0.0.1"
    """Address the studio binds to."""
    port: int = 8000
    """Port the studio binds to."""
    token: str | None = None
    """Bearer token every API call must carry; required for a non-local bind."""
    allowed_hosts: str = ""
    """Host names (comma separated) the studio answers to besides ``localhost``, IP addresses and
    ``host``: the names users type to reach a 0.0.0.0 bind, or a reverse proxy's public name.
    ``*`` answers any name (only behind a proxy that checks Host itself): other names are refused
    so a DNS-rebinding page cannot read the studio."""
    allowed_origins: str = ""
    """Web origins (``scheme://host:port``, comma separated) besides the studio's own whose pages
    may send state-changing requests and open the WebSocket (e.g. a dev server on another port);
    ``*`` allows every page, which lets any site the user visits drive the studio."""
    broker_key_prefix: str | None = None
    """Prefix for every broker key and event channel on a shared Redis (several studios, or test
    sessions, on one server)."""
    redis_url: str | None = None
    """Redis for cluster-mode event pub/sub; defaults to the broker URL when that is redis."""
    import_roots: str | None = None
    """Folders (separated by ``os.pathsep`` or commas) the API may import local files from;
    default: ``home/imports`` (created at start-up) and ``home`` itself. Not the user's home
    folder: an API caller could otherwise import (and read back) ``~/.ssh`` or cloud
    credentials."""
    upload_max_bytes: int = 1 << 30
    """Largest file the API accepts as an upload (bigger ones get 413)."""
    json_max_bytes: int = 2 << 20
    """Largest request body other than a multipart upload (JSON, forms); bigger ones get 413."""
    heartbeat_seconds: float = 2.0
    """How often a running job's worker refreshes its heartbeat."""
    first_run_config: Path | None = None
    """A JSON ``FirstRunConfig`` the studio's "Try it on the built-in model" runs instead of the
    defaults (a smaller model or corpus; the e2e walkthrough's tiny model)."""
    stale_after_seconds: float = 30.0
    """A running job whose heartbeat is older than this is marked failed (worker lost)."""
    job_auto_retries: int = Field(default=1, ge=0)
    """Times a resumable job (training, labelling) whose worker was lost is queued again by
    itself, to resume on another worker from its last checkpoint; counted by the job's starts,
    so a job started more often than this fails (worker lost) and waits for a human's retry."""
    worker_name: str | None = None
    """This machine's name in job rows and GPU lock files (default: the host name). Set it where
    machines sharing ``home`` share a host name (containers, network namespaces)."""
    monitor_interval_seconds: float = 2.0
    """How often the API samples system metrics (one hour of samples is kept)."""
    gpu_source: Literal["auto", "nvml", "nvidia-smi", "none"] = "auto"
    """Where the monitor reads GPUs: NVML, else ``nvidia-smi`` (``auto``), one of them, or none
    (:mod:`mistudio.gpu_sources`)."""
    openai_base_url: str = Field(
        default="https://api.openai.com/v1",
        validation_alias=AliasChoices("MISTUDIO_OPENAI_BASE_URL", "OPENAI_BASE_URL"),
    )
    """The one endpoint the server's own OpenAI key (``MISTUDIO_OPENAI_API_KEY`` /
    ``OPENAI_API_KEY``) is sent to; a labelling request for another ``base_url`` brings its own."""
    ollama_base_url: str = Field(
        default="http://127.0.0.1:11434",
        validation_alias=AliasChoices("MISTUDIO_OLLAMA_BASE_URL"),
    )
    """Default Ollama server, and the only one ``MISTUDIO_OLLAMA_API_KEY`` is sent to."""

    neuronpedia_url: str = Field(
        default="https://www.neuronpedia.org",
        validation_alias=AliasChoices("MISTUDIO_NEURONPEDIA_URL"),
    )
    """Default Neuronpedia instance for uploads, and the only one the server's own key
    (``MISTUDIO_NEURONPEDIA_API_KEY``) is sent to; an upload elsewhere brings its own key."""

    @field_validator("home")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("database_url")
    @classmethod
    def _normalise_database_url(cls, value: str | None) -> str | None:
        # Heroku-style and bare postgresql URLs get the psycopg 3 driver we install.
        if value is None:
            return None
        for prefix in ("postgres://", "postgresql://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix) :]
        return value

    @property
    def machine_name(self) -> str:
        """:attr:`worker_name`, else this machine's host name."""
        return self.worker_name or socket.gethostname()

    @property
    def cache_dir(self) -> Path:
        """Derived files that can be rebuilt at any time (dequantized weights, ...)."""
        return self.home / "cache"

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL, SQLite under ``home`` by default."""
        return self.database_url or f"sqlite:///{self.home / 'mistudio.db'}"

    @property
    def celery_broker_url(self) -> str:
        """The Celery broker, a SQLite database under ``home`` by default (no other service)."""
        return self.broker_url or f"sqla+sqlite:///{self.home / 'broker.db'}"

    @property
    def events_redis_url(self) -> str | None:
        """Redis for event pub/sub (cluster mode), or None to publish through the database."""
        if self.redis_url:
            return self.redis_url
        broker = self.broker_url or ""
        return broker if broker.startswith(("redis://", "rediss://")) else None

    @property
    def import_root_paths(self) -> list[Path]:
        """Folders local imports must lie under."""
        if not self.import_roots:
            return [self.imports_dir, self.home]
        parts = [p for chunk in self.import_roots.split(os.pathsep) for p in chunk.split(",")]
        return [Path(p.strip()).expanduser().resolve() for p in parts if p.strip()]

    @property
    def imports_dir(self) -> Path:
        """The default import root: put (or link) files here for the studio to import."""
        return (self.home / "imports").resolve()

    @property
    def artifacts_dir(self) -> Path:
        """Artifact folders, ``artifacts/<kind>/<id>/``."""
        return self.home / "artifacts"


def _environment_key() -> tuple[tuple[str, str], ...]:
    """The variables :class:`Settings` reads (case-insensitively), as a hashable snapshot."""
    return tuple(
        sorted(
            (k, v)
            for k, v in os.environ.items()
            if k.upper().startswith("MISTUDIO_") or k.upper() == "OPENAI_BASE_URL"
        )
    )


@lru_cache(maxsize=4)
def _settings_for(key: tuple[tuple[str, str], ...]) -> Settings:
    return Settings()


def get_settings() -> Settings:
    """The process-wide settings, rebuilt when a ``MISTUDIO_*`` variable changes.

    Keyed on the environment rather than cached once: a cache cleared in one thread could be
    refilled by another thread (the studio's event poller) that read the environment a moment
    earlier, and hand a test, or a CLI call in the same process, another home's settings.
    """
    return _settings_for(_environment_key())


get_settings.cache_clear = _settings_for.cache_clear  # type: ignore[attr-defined]
