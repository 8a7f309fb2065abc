"""All of miStudio's settings in one place, read from ``MISTUDIO_*`` environment variables.

Core code reads only ``home`` (for caches such as the dequantized built-in model); the service
reads the rest. The database URL is normalised here so every other module sees one spelling.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
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
    def cache_dir(self) -> Path:
        """Derived files that can be rebuilt at any time (dequantized weights, ...)."""
        return self.home / "cache"

    @property
    def artifacts_dir(self) -> Path:
        """Artifact folders, ``artifacts/<kind>/<id>/``."""
        return self.home / "artifacts"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests clear the cache after changing the environment)."""
    return Settings()
