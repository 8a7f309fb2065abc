"""Errors a researcher can act on.

Anything raised as :class:`MiStudioError` carries a one-line message meant for a person; the CLI
prints it without a traceback and the API turns it into a 4xx JSON error. Everything else is a
bug and keeps its traceback.
"""

from __future__ import annotations


class MiStudioError(Exception):
    """A problem with the input or the environment, explained in one line."""


class NotFoundError(MiStudioError):
    """Something named by the user does not exist."""


class InvalidInputError(MiStudioError):
    """The input does not fit (wrong type, shape, vocabulary, hook point, ...)."""


class HubUnreachableError(MiStudioError):
    """The HuggingFace Hub cannot be reached (offline, firewall, ``HF_HUB_OFFLINE``)."""


class ResourceError(MiStudioError):
    """Not enough disk, memory or a missing accelerator."""
