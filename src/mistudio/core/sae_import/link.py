"""Which registered model an imported SAE reads, and its hook under that model's names.

**Model.** SAE configs name their model in several spellings: a Hub id
(``google/gemma-2-2b``, ``HuggingFaceTB/SmolLM2-135M-Instruct``), a TransformerLens alias
(``gemma-2-2b``, ``gpt2-small``, ``pythia-70m-deduped``) or a display name. A model row is known
by its source (a Hub id, built-in name or path), its display name and the name its load recorded.
Both sides are reduced to a key (the part after the last ``/``, lower case, TransformerLens'
aliases for GPT-2 mapped to the Hub's ``gpt2`` names), and the first candidate whose key equals
the SAE's wins; no match leaves the SAE unlinked for the person to pick.

**Hook.** We run HuggingFace models and name each hook point both ways
(:class:`mistudio.core.hooks.HookPoint`: ``blocks.6.hook_resid_post`` and ``model.layers.6``),
and a loaded model's row records both lists in the same order. An SAE may name either (SAELens
configs say ``hook_name``, Gemma Scope 2 says ``hf_hook_point_in``); :func:`hook_for_model`
returns both names as that model knows them, so extraction and steering find the hook under
whichever name they use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

TL_ALIASES = {
    "gpt2-small": "gpt2",
    "gpt2-medium": "gpt2-medium",
    "gpt2-large": "gpt2-large",
    "gpt2-xl": "gpt2-xl",
}
"""TransformerLens model names whose Hub repo is named otherwise."""


def model_key(name: str | None) -> str:
    """The comparable form of a model name (see the module docstring)."""
    if not name:
        return ""
    key = str(name).strip().rstrip("/").rsplit("/", 1)[-1].lower()
    return TL_ALIASES.get(key, key)


@dataclass(frozen=True)
class ModelCandidate:
    """A registered model, by the names it is known by."""

    id: int
    names: tuple[str, ...]


def match_model(model_name: str | None, candidates: Sequence[ModelCandidate]) -> int | None:
    """Id of the first candidate known by ``model_name`` (in any spelling), else None."""
    wanted = model_key(model_name)
    if not wanted:
        return None
    for candidate in candidates:
        if any(model_key(n) == wanted for n in candidate.names if n):
            return candidate.id
    return None


@dataclass(frozen=True)
class HookNames:
    """One hook point under both naming schemes."""

    name: str | None
    """TransformerLens-style name (``blocks.6.hook_resid_post``)."""
    hf_name: str | None
    """HuggingFace module path (``model.layers.6``)."""
    known: bool
    """Whether the model has this hook point (False: names kept as the SAE gave them)."""


def hook_for_model(
    name: str | None,
    hf_name: str | None,
    tl_points: Sequence[str],
    hf_points: Sequence[str],
) -> HookNames:
    """``name``/``hf_name`` (either may be None) as the model whose hook points are
    ``tl_points`` and ``hf_points`` (same order, as a model row records them) names them."""
    if len(tl_points) == len(hf_points):
        by_tl = dict(zip(tl_points, hf_points, strict=True))
        by_hf = dict(zip(hf_points, tl_points, strict=True))
        if name and name in by_tl:
            return HookNames(name, by_tl[name], True)
        if hf_name and hf_name in by_hf:
            return HookNames(by_hf[hf_name], hf_name, True)
        if name and name in by_hf:  # an HF path given where a TL name was expected
            return HookNames(by_hf[name], name, True)
    return HookNames(name or hf_name, hf_name, False)
