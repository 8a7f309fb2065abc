"""The feature-extraction job.

TODO(issue 5 / core.features): ``mistudio.core.features`` is being written; once it exposes its
extraction entry point, wire it here: load the SAE row's folder and the model, run the extraction
over the tokenization with ``ctx.progress``, write the arrays under ``artifacts/extractions/<id>``
and insert one ``features`` row per latent (``bulk_insert_mappings``). Until then the API answers
``POST /extractions`` with 501 and this handler fails with a clear message.
"""

from __future__ import annotations

from typing import Any

from mistudio.errors import MiStudioError
from mistudio.jobs.registry import handler
from mistudio.jobs.runtime import JobContext


def extraction_available() -> bool:
    """Whether the core extraction entry point exists yet."""
    try:
        from mistudio.core import features

        return hasattr(features, "extract_features")
    except ImportError:
        return False


@handler("extract")
def extract_job(ctx: JobContext) -> dict[str, Any]:
    raise MiStudioError("feature extraction is not available in this build yet")
