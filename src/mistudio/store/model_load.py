"""A language-model row as the core config that loads it.

The row keeps the source and the options the model was added with (``config``: dtype, revision,
trust_remote_code); every job and endpoint that loads the model or its tokenizer builds the same
:class:`~mistudio.core.language_models.ModelLoadConfig` from it here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mistudio.core.language_models import ModelLoadConfig
from mistudio.store.tables import LanguageModel

if TYPE_CHECKING:
    from mistudio.core.language_models import ModelLoadConfig


def model_load_config(model: LanguageModel) -> ModelLoadConfig:
    """The core load config of a model row (source plus the options it was added with)."""
    # Deferred on purpose: mistudio.core.language_models imports torch, and the store is imported by
    # processes (CLI commands, the migrations) that never load a model.

    return ModelLoadConfig(source=model.source, **(model.config or {}))
