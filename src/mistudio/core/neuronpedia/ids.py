"""Neuronpedia's identifiers: what it accepts as a model id or a source set name, and our defaults.

The rules are Neuronpedia's own, read from its sources (``apps/webapp``):

- a **model id** (``app/api/model/new/route.tsx``): 2 to 32 characters, lowercase letters,
  digits, ``-`` and ``.``, starting with a letter, not ending with ``-`` or ``.``, no ``--`` or
  ``..`` (the Prisma schema is looser, ``[a-zA-Z0-9-_]`` lowercased, but a model made through
  its API, the only way a non-admin gets one, must pass the stricter rule);
- a **source set name** (``app/api/source-set/new/route.tsx``): lowercase letters, digits and
  ``-``, starting with a letter or digit, not ending with ``-``, no ``--``, never ``neurons``
  (Neuronpedia's name for raw-neuron layers). Its upload API lowercases both ids.
- a **source id** is ``"{layer}-{sourceSetName}"`` (``6-mistudio-res-4k``): Neuronpedia reads
  the layer back as the part before the first ``-`` and the set name as the rest up to ``__``
  (``lib/utils/source.ts``), which is why a set name may not hold ``__`` (refused above: no
  ``_`` at all).

Anything else is refused here in one line, before an export is written, rather than by
Neuronpedia's importer, which drops rows silently (``ON CONFLICT DO NOTHING``) or fails a
whole batch.

Explanation type and model names must exist in Neuronpedia's config tables
(``explanation_type.jsonl``, ``explanation_model_type.jsonl``, served from its own bucket, not
the repository): an unknown ``typeName`` or ``explanationModelName`` makes the importer's insert
fail (they are foreign keys). :data:`EXPLANATION_TYPES` and :data:`EXPLANATION_MODELS` are the
names its sources use (``batch-autointerp.py``'s ``VALID_EXPLAINER_*`` lists, the explanation
``generate`` route); a label written by a model not listed gets ``explanationModelName: null``
and names its model in ``notes``.
"""

from __future__ import annotations

import re

from mistudio.errors import InvalidInputError

DEFAULT_MODEL_ID = "smollm2-135m"
"""Neuronpedia's id of the studio's built-in model."""
DEFAULT_CREATOR_ID = "clkht01d40000jv08hvalcvly"
"""Neuronpedia's seeded default user (``prisma/seed.ts``: the ``bot`` account that owns
bulk-imported models, sources and activations)."""

_MODEL_ID = re.compile(r"^(?:[a-z][a-z0-9.-]*[a-z0-9]|[a-z])$")
_SOURCE_SET = re.compile(r"^(?:[a-z][a-z0-9-]*[a-z0-9]|[a-z0-9])$")
_CREATOR_ID = re.compile(r"^[a-z0-9]{1,64}$")
MODEL_ID_MAX = 32
SOURCE_SET_MAX = 64
"""Neuronpedia states no length limit for set names; its own are under 40 characters."""

EXPLANATION_TYPES = (
    "eleuther_acts_top20",
    "np_max-act",
    "np_max-act-logits",
    "np_acts-logits-general",
    "oai_token-act-pair",
)
"""Explanation type names Neuronpedia's config defines (for features, not attention heads)."""
DEFAULT_EXPLANATION_TYPE = "eleuther_acts_top20"
"""Our LLM labels come from a delphi-style prompt over top-activating examples with the
activating tokens marked (FORMATS §4), which is what EleutherAI's ``acts_top20`` explainer
does."""
EXPLANATION_MODELS = (
    "gpt-4o-mini",
    "gpt-4.1-nano",
    "gpt-5-nano",
    "gpt-5-nano-2025-08-07",
    "gpt-5-mini-2025-08-07",
    "gemini-2.0-flash",
    "gemini-2.0-flash-lite",
    "gemini-2.5-flash",
    "gemini-2.5-flash-lite",
    "openai/gpt-oss-120b",
    "google/gemini-2.5-flash-lite",
)
"""Explainer model names Neuronpedia's config knows (``batch-autointerp.py``)."""


def check_model_id(value: str) -> str:
    """``value`` if Neuronpedia accepts it as a model id, else InvalidInputError (one line)."""
    if (
        not 2 <= len(value) <= MODEL_ID_MAX
        or not _MODEL_ID.match(value)
        or "--" in value
        or ".." in value
    ):
        raise InvalidInputError(
            f"model id {value!r} is not a Neuronpedia model id: use 2-{MODEL_ID_MAX} lowercase "
            "letters, digits, '-' or '.', starting with a letter (e.g. smollm2-135m)"
        )
    return value


def check_source_set(value: str) -> str:
    """``value`` if Neuronpedia accepts it as a source set name, else InvalidInputError."""
    if (
        not 1 <= len(value) <= SOURCE_SET_MAX
        or not _SOURCE_SET.match(value)
        or "--" in value
        or value == "neurons"
    ):
        raise InvalidInputError(
            f"source set {value!r} is not a Neuronpedia source set name: use lowercase letters, "
            "digits and single '-' (not at the end), not 'neurons' (e.g. mistudio-res-4k)"
        )
    return value


def check_creator_id(value: str) -> str:
    """A Neuronpedia user id (a cuid: lowercase letters and digits)."""
    if not _CREATOR_ID.match(value):
        raise InvalidInputError(
            f"creator id {value!r} is not a Neuronpedia user id (lowercase letters and digits, "
            f"like {DEFAULT_CREATOR_ID})"
        )
    return value


def width_name(d_sae: int) -> str:
    """Neuronpedia's way of writing an SAE's width: 4096 -> ``4k``, 65536 -> ``65k``,
    1048576 -> ``1m`` (Gemma Scope's 16k, 65k, 131k, 1m)."""
    if d_sae < 1000:
        return str(d_sae)
    if d_sae < 1_000_000:
        return f"{d_sae // 1000}k"
    return f"{d_sae // 1_000_000}m"


def hook_kind(hook_name: str) -> str:
    """``res``, ``mlp`` or ``att``: the part of a source set name that says what the SAE reads
    (Neuronpedia's own sets: ``gemmascope-res-16k``, ``res-jb``, ``att-kk``)."""
    if "mlp" in hook_name:
        return "mlp"
    if "attn" in hook_name or "hook_z" in hook_name:
        return "att"
    return "res"


def default_source_set(hook_name: str, d_sae: int) -> str:
    """``mistudio-{res|mlp|att}-{width}``, e.g. ``mistudio-res-4k``."""
    return f"mistudio-{hook_kind(hook_name)}-{width_name(d_sae)}"


_LAYER = re.compile(r"(?:^|\.)(?:blocks|layers|h|layer)\.(\d+)(?:\.|$)")


def layer_of(hook_name: str) -> int | None:
    """The block number in a hook name (``blocks.6.hook_resid_post``, ``model.layers.6``), or
    None (``hook_embed``)."""
    found = _LAYER.search(hook_name)
    return int(found.group(1)) if found else None


def source_id(layer: int, source_set: str) -> str:
    """Neuronpedia's source id (its ``layer`` column): ``"{layer}-{sourceSetName}"``."""
    return f"{layer}-{source_set}"
