"""Models and SAEs the API process itself runs (synchronous feature ablation), loaded once.

Jobs load their model in the worker; the few requests answered in the API process keep the most
recently used model (one: they are large) and a few SAEs here. A model's forward hooks are
process-wide state, so every use of a cached model holds its lock (requests run one at a time).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from mistudio.api.errors import ApiError
from mistudio.core.language_models import load_model
from mistudio.core.sae.saelens_format import load_sae
from mistudio.errors import HubUnreachableError, MiStudioError

MAX_MODELS = 1
MAX_SAES = 4

_lock = threading.Lock()
"""Guards the caches and serialises use of the cached model (hooks are global to it)."""
_models: OrderedDict[str, Any] = OrderedDict()
_saes: OrderedDict[tuple[str, str], Any] = OrderedDict()


def _model(load_config: Any) -> Any:

    key = load_config.model_dump_json()
    if key in _models:
        _models.move_to_end(key)
        return _models[key]
    _models.clear()  # drop the previous model before loading the next (memory)
    _saes.clear()
    try:
        loaded = load_model(load_config)
    except HubUnreachableError:
        raise
    except MiStudioError as exc:
        raise ApiError(409, f"cannot load model {load_config.source}: {exc}") from exc
    except Exception as exc:  # out of memory, corrupt weights, missing folder, ...
        raise ApiError(
            503, f"cannot load model {load_config.source}: {type(exc).__name__}: {exc}"
        ) from exc
    _models[key] = loaded
    while len(_models) > MAX_MODELS:
        _models.popitem(last=False)
    return loaded


def _sae(path: str, device: Any) -> Any:

    key = (path, str(device))
    if key in _saes:
        _saes.move_to_end(key)
        return _saes[key]
    try:
        sae = load_sae(path, device=device)
    except MiStudioError as exc:
        raise ApiError(409, f"cannot load SAE {path}: {exc}") from exc
    except Exception as exc:
        raise ApiError(409, f"cannot load SAE {path}: {type(exc).__name__}: {exc}") from exc
    _saes[key] = sae
    while len(_saes) > MAX_SAES:
        _saes.popitem(last=False)
    return sae


@contextmanager
def model_and_sae(load_config: Any, sae_path: str) -> Iterator[tuple[Any, Any]]:
    """``(LoadedModel, SAE)``, loaded or reused, held exclusively for the ``with`` block."""
    with _lock:
        loaded = _model(load_config)
        yield loaded, _sae(sae_path, loaded.device)


def clear() -> None:
    """Forget every cached model and SAE (tests)."""
    with _lock:
        _models.clear()
        _saes.clear()


@contextmanager
def language_model(load_config: Any) -> Iterator[Any]:
    """The ``LoadedModel`` alone (the training-time estimate's forward), loaded or reused, held
    exclusively for the ``with`` block."""
    with _lock:
        yield _model(load_config)
