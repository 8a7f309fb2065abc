"""The outbound HTTP helpers the labelling clients and the Neuronpedia upload share, and the
reason they live apart: the upload client imports without torch."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mistudio.core.http_retry import backoff_delay, redact

KEY = "sk-0123456789abcdefghijKLMN"


def test_redact_masks_the_key_and_long_pieces_of_it() -> None:
    text = f"bad key {KEY}; server saw {KEY[:12]}... and ...{KEY[-9:]}"
    out = redact(text, [None, "", KEY])
    assert out.startswith("bad key ***; server saw ***")
    assert KEY[:12] not in out and KEY[-8:] not in out
    # A short secret is masked whole, never by pieces (too many false matches).
    assert redact("token abcd and abc", ["abcd"]) == "token *** and abc"


def test_backoff_honours_retry_after_and_caps() -> None:
    assert backoff_delay(0, 1.0, cap=30.0, retry_after="7") == 7.0
    assert backoff_delay(0, 1.0, cap=30.0, retry_after="120") == 30.0
    assert backoff_delay(0, 1.0, cap=30.0, retry_after="-3") == 0.0
    # An HTTP-date Retry-After is not parsed: the exponential delay applies.
    assert 0.75 <= backoff_delay(0, 1.0, retry_after="Wed, 21 Oct 2015 07:28:00 GMT") <= 1.25


@pytest.mark.parametrize("attempt", [0, 1, 2, 3])
def test_backoff_doubles_with_jitter(attempt: int) -> None:
    delays = [backoff_delay(attempt, 0.5, cap=100.0) for _ in range(200)]
    expected = 0.5 * 2**attempt
    assert all(0.75 * expected <= d <= 1.25 * expected for d in delays)
    assert len(set(delays)) > 1  # jittered, not a constant
    assert max(backoff_delay(10, 0.5, cap=3.0) for _ in range(50)) <= 3.0 * 1.25


def test_upload_client_imports_without_torch() -> None:
    code = (
        "import sys, mistudio.core.neuronpedia.upload; "
        "print(sorted(m for m in sys.modules "
        "if m == 'torch' or m.startswith('mistudio.core.labeling')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]", out.stdout
