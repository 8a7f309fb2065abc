"""What core's outbound HTTP clients share besides the URL check: how long to wait before a
retry, and keeping a key out of the messages a failed request leaves behind.

The labelling backends (:mod:`mistudio.core.labeling.http_backends`) and the Neuronpedia upload
(:mod:`mistudio.core.neuronpedia.upload_http`) both call remote servers with a user's key and
retry 429, 5xx, timeouts and refused connections. These two helpers live here, not in the
labelling package, because importing that package pulls its local-model backend (torch, about
3 s): an upload from the CLI must not pay for a model it never loads. The URL rules are in
:mod:`mistudio.core.outbound`; which statuses to retry stays with each client (the routes differ).
"""

from __future__ import annotations

import random
from collections.abc import Iterable


def backoff_delay(
    attempt: int, base: float, cap: float = 60.0, retry_after: str | None = None
) -> float:
    """Seconds before retry ``attempt`` (0-based): ``Retry-After`` when the server gave one
    (capped), else ``base * 2**attempt`` with +-25 % jitter (capped), as openai-python does.
    The jitter keeps many clients (or threads) that failed together from retrying together."""
    if retry_after:
        try:
            return min(cap, max(0.0, float(retry_after)))
        except ValueError:
            pass
    delay = min(cap, base * 2**attempt)
    return delay * random.uniform(0.75, 1.25)


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every secret (and any 8+ character piece of one) replaced by ``***``."""
    for secret in secrets:
        if not secret:
            continue
        text = text.replace(secret, "***")
        # Servers echo keys partially ("sk-abc...wxyz"); mask long fragments too.
        if len(secret) >= 16:
            for size in (12, 8):
                for start in range(0, len(secret) - size + 1):
                    piece = secret[start : start + size]
                    if piece in text:
                        text = text.replace(piece, "***")
    return text
