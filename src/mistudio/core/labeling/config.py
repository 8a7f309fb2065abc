"""One config object for a labelling run: method, backend, prompt, scoring, pacing and prices.

The API key is a ``SecretStr`` excluded from dumps and reprs, so saving the config (the run's
``run.json``, a job record) never writes it. When not given it is read from the environment:
``MISTUDIO_OPENAI_API_KEY`` or ``OPENAI_API_KEY`` for ``openai``, ``MISTUDIO_OLLAMA_API_KEY``
for ``ollama`` (a proxy in front of it may want one).

A key from the environment is the server's, and goes only to the endpoint configured beside it
(``MISTUDIO_OPENAI_BASE_URL`` / ``MISTUDIO_OLLAMA_BASE_URL``, see :mod:`mistudio.settings`):
a config whose ``base_url`` names another endpoint (compared by scheme, host, port and path)
never gets it, and :meth:`LabelingConfig.check_endpoint` refuses such a config without its own
key while the server holds one, instead of silently sending nothing. Every endpoint also passes
:func:`mistudio.core.outbound.check_outbound_url` (http(s) only, no link-local or metadata
addresses).
"""

from __future__ import annotations

import os

from pydantic import Field, SecretStr

from mistudio.core.config import OperationConfig
from mistudio.core.labeling.prompts import PromptTemplate
from mistudio.core.outbound import check_outbound_url, same_endpoint
from mistudio.errors import InvalidInputError
from mistudio.settings import Settings

KEY_ENV = {
    "openai": ("MISTUDIO_OPENAI_API_KEY", "OPENAI_API_KEY"),
    "ollama": ("MISTUDIO_OLLAMA_API_KEY",),
}
HTTP_METHODS = ("openai", "ollama")
"""Methods that send requests to a server (and may carry a key)."""


def server_base_url(method: str) -> str | None:
    """The endpoint configured for ``method``'s server-held key (its default ``base_url``), read
    from the environment now (not cached: a notebook or test may change it); None for methods
    that send nothing."""

    if method not in HTTP_METHODS:
        return None
    return str(getattr(Settings(), f"{method}_base_url"))


def server_key(method: str) -> SecretStr | None:
    """The server's own key for ``method`` (the first set environment variable), if any."""
    for name in KEY_ENV.get(method, ()):
        value = os.environ.get(name)
        if value:
            return SecretStr(value)
    return None


class FeatureFilter(OperationConfig):
    """Which latents to label when no explicit indices are given."""

    min_frequency: float = Field(default=0.0, ge=0)
    """Skip latents firing on a smaller fraction of tokens (dead ones are always skipped)."""
    max_frequency: float = Field(default=1.0, gt=0)
    """Skip denser latents."""
    min_max_act: float = Field(default=0.0, ge=0)
    """Skip latents whose largest activation is smaller."""
    limit: int | None = Field(default=None, gt=0)
    """At most this many (lowest indices first)."""


class LabelingSelection(OperationConfig):
    """Which latents of the extraction to label."""

    indices: list[int] | None = Field(default=None, max_length=1_000_000)
    """Exactly these latents (else those passing ``filter``, else every live latent)."""
    filter: FeatureFilter | None = None
    """Frequency / max-activation bounds and a limit, applied when no indices are given."""
    only_unlabelled: bool = True
    """Skip latents that already have a label (from any run or a hand edit). Latents an earlier
    run found ``unclear`` are not skipped: rules first, then an LLM over what they left, is the
    cheap way through a large SAE."""


class LabelingConfig(OperationConfig):
    """How to label (and optionally score) latents."""

    method: str = "rules"
    """Registry name: ``rules``, ``local``, ``ollama``, ``openai``."""
    model: str | None = None
    """Local: ``patterns`` (the default: the built-in pattern labeller, no language model) or a
    chat model's source (``smollm2-135m`` the built-in one, a Hub id or folder; None with a prompt
    of one's own: ``smollm2-135m``); ollama/openai: model name."""
    base_url: str | None = None
    """Server address (ollama default ``http://127.0.0.1:11434``, openai default
    ``https://api.openai.com/v1``)."""
    api_key: SecretStr | None = Field(default=None, repr=False, exclude=True)
    """API key; never stored. Default: from the environment (see module docstring)."""
    prompt: PromptTemplate = Field(default_factory=PromptTemplate)
    """Explanation prompt template."""
    json_mode: bool = False
    """Ask the backend for a JSON object (``response_format`` / ``format: json``)."""
    temperature: float = Field(default=0.0, ge=0)
    """Sampling temperature (0: greedy, reproducible where the backend allows)."""
    max_tokens: int = Field(default=200, gt=0)
    """Most tokens generated per reply."""
    reply_prefix: str | None = None
    """Local backend: text the assistant reply starts with (None: ``[LABEL]:`` in text mode)."""
    device: str = "auto"
    """Local backend: ``cpu``, ``cuda``, ``auto``."""
    seed: int = 0
    """Seed for example selection, shuffling and (where supported) generation."""
    concurrency: int = Field(default=4, gt=0)
    """Features in flight at once (HTTP backends; rules and local run one at a time)."""
    requests_per_minute: float | None = Field(default=None, gt=0)
    """Pace requests to the backend (None: as fast as the concurrency allows)."""
    timeout_s: float = Field(default=120.0, gt=0)
    """Per-request timeout."""
    max_retries: int = Field(default=4, ge=0)
    """Retries of 429 / 5xx / timeouts / refused connections, with exponential back-off."""
    backoff_s: float = Field(default=1.0, ge=0)
    """First back-off delay (doubles per retry, capped at 60 s; ``Retry-After`` wins)."""
    malformed_retries: int = Field(default=2, ge=0)
    """Extra attempts after a reply that cannot be parsed (then the feature is failed)."""
    n_held_out: int = Field(default=10, ge=0)
    """Held-out activating examples per latent for scoring."""
    n_negatives: int = Field(default=10, ge=0)
    """Non-activating examples per latent for scoring."""
    score: bool = False
    """Score each label by detection and fuzzing (FORMATS.md §4)."""
    score_batch: int = Field(default=5, gt=0)
    """Examples per scoring prompt."""
    rules_min_share: float = Field(default=0.6, gt=0, le=1)
    """Rules: share of activation mass a pattern must explain."""
    price_per_1k_input: float = Field(default=0.0, ge=0)
    """Price per 1,000 prompt tokens, for the cost estimate and summary."""
    price_per_1k_output: float = Field(default=0.0, ge=0)
    """Price per 1,000 generated tokens."""
    overwrite_manual: bool = False
    """In the studio: make this run's label current even where the current label was edited by
    hand. Off (the default), such a latent keeps its hand-edited label and the run's label is
    only added to its history (the run's summary counts them as ``kept_manual``)."""

    def endpoint(self) -> str | None:
        """Where requests go: ``base_url``, else the server's configured endpoint (None for
        methods that send nothing)."""
        if self.method not in HTTP_METHODS:
            return None
        return self.base_url or server_base_url(self.method)

    def has_own_key(self) -> bool:
        return self.api_key is not None and bool(self.api_key.get_secret_value())

    def resolved_key(self) -> SecretStr | None:
        """The given key, else the server's key when the endpoint is the one configured for it."""
        if self.has_own_key():
            return self.api_key
        endpoint, configured = self.endpoint(), server_base_url(self.method)
        if endpoint is None or configured is None or not same_endpoint(endpoint, configured):
            return None
        return server_key(self.method)

    def check_endpoint(self) -> None:
        """Refuse (:class:`InvalidInputError`) an endpoint the server may not connect to, and a
        ``base_url`` other than the configured one without its own key while the server holds
        a key (the server's key never goes there; sending none would fail later, less clearly)."""
        endpoint = self.endpoint()
        if endpoint is None:
            return
        check_outbound_url(endpoint)
        configured = server_base_url(self.method)
        if self.has_own_key() or configured is None or same_endpoint(endpoint, configured):
            return
        if server_key(self.method) is not None:
            raise InvalidInputError(
                f"base_url {endpoint} is not the server's configured {self.method} endpoint "
                f"({configured}): give an api_key for it (the server's own key is only sent "
                "to its configured endpoint)"
            )
