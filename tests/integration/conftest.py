from __future__ import annotations

import pytest

from mistudio.core.language_models import LoadedModel, load_model


@pytest.fixture(scope="session")
def smollm2() -> LoadedModel:
    """The built-in model, loaded once per session (its dequantized cache is in MISTUDIO_HOME)."""
    return load_model("smollm2-135m")
