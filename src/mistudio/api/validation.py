"""Checks that refuse a job request before it is queued (422 with the reason).

They use what the store already knows about a model (hook widths and tokenizer fingerprint, filled
by its load job or its first tokenization); when a model has not been inspected yet the worker
runs the same checks in core and the job fails with the same message.
"""

from __future__ import annotations

from mistudio.errors import InvalidInputError
from mistudio.store import LanguageModel, TokenizationRow


def _known_hooks(model: LanguageModel) -> set[str]:
    names = set(model.hook_dims or {})
    names |= set((model.architecture or {}).get("hf_hook_points", []))
    return names


def check_hooks(model: LanguageModel, hooks: list[str]) -> None:
    """Every hook must exist in the model (when its hook points are known)."""
    known = _known_hooks(model)
    if not known:
        return
    missing = [h for h in hooks if h not in known]
    if missing:
        sample = ", ".join(sorted(model.hook_dims or {})[:6])
        raise InvalidInputError(
            f"hook point {missing[0]!r} is not in model {model.name}; its hook points include "
            f"{sample}, ..."
        )


def check_width(model: LanguageModel, hook: str, d_in: int, what: str) -> None:
    """``d_in`` of an SAE must equal the width of the hook it reads."""
    width = (model.hook_dims or {}).get(hook)
    if width is not None and int(width) != d_in:
        raise InvalidInputError(
            f"{what} has d_in {d_in} but {hook} of model {model.name} has width {width}"
        )


def check_tokenizer(model: LanguageModel, tok: TokenizationRow) -> None:
    """The tokenization must come from the model's vocabulary."""
    have, want = model.tokenizer_fingerprint, tok.tokenizer_fingerprint
    if have and want and have != want:
        raise InvalidInputError(
            f"tokenization {tok.name} was made with a different tokenizer than model "
            f"{model.name}; tokenize the dataset again with the model's tokenizer"
        )
