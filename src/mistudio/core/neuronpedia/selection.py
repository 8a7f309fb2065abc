"""Which latents an export carries: ``all``, ``extracted``, ``starred``, ``labelled`` or ranges.

``all`` is every latent of the SAE; ``extracted`` those the extraction saw fire (they have top
examples: a dead latent has nothing for Neuronpedia to show); a list or ranges such as
``0-99,512`` those indices. ``starred`` and ``labelled`` live in the studio's database (stars)
or beside the extraction (labels): core never reads either, so whoever runs the export resolves
them and passes the indices (:func:`resolve_latents` refuses them without). Ranges are checked
against ``d_sae`` before anything is expanded, so ``0-999999999999`` is a one-line error, not
a memory blow-up.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from mistudio.errors import InvalidInputError

NAMED = ("all", "extracted", "starred", "labelled")
"""Selections by name; anything else is read as a list of indices and ranges."""
RESOLVED_BY_CALLER = ("starred", "labelled")
"""Named selections core cannot resolve (they live in the studio's database or label files)."""
MAX_PARTS = 10_000
"""Most comma-separated parts a list may have (a request body is bounded anyway)."""
_PART = re.compile(r"^(\d+)(?:\s*-\s*(\d+))?$")


def check_selection(text: str) -> str:
    """``text`` normalised (a name, or the list without spaces) if it is a valid selection's
    syntax; bounds are checked later against the SAE (:func:`parse_ranges`)."""
    value = text.strip().lower()
    if value in NAMED:
        return value
    parse_ranges(value, None)
    return value.replace(" ", "")


def parse_ranges(text: str, d_sae: int | None) -> list[int]:
    """``"0-99,512"`` -> sorted unique indices (ranges inclusive), each in ``0..d_sae-1``."""
    parts = [p.strip() for p in text.split(",")]
    if not any(parts):
        raise InvalidInputError(
            "no latents selected; use all, extracted, starred, labelled or e.g. 0-99,512"
        )
    if len(parts) > MAX_PARTS:
        raise InvalidInputError(f"latent list has more than {MAX_PARTS} parts; use ranges")
    spans: list[tuple[int, int]] = []
    for part in parts:
        if not part:
            continue
        found = _PART.match(part)
        if found is None:
            raise InvalidInputError(
                f"bad latent {part!r}; use all, extracted, starred, labelled or e.g. 0-99,512"
            )
        lo = int(found.group(1))
        hi = int(found.group(2)) if found.group(2) is not None else lo
        if hi < lo:
            raise InvalidInputError(f"bad latent range {part!r}: it ends before it starts")
        if d_sae is not None and hi >= d_sae:
            raise InvalidInputError(f"latent {hi} does not exist; this SAE has 0..{d_sae - 1}")
        spans.append((lo, hi))
    if d_sae is None:
        return []
    keep = np.zeros(d_sae, dtype=bool)
    for lo, hi in spans:
        keep[lo : hi + 1] = True
    return np.flatnonzero(keep).tolist()


def resolve_latents(
    selection: str,
    d_sae: int,
    fired: np.ndarray | None = None,
    indices: Sequence[int] | None = None,
) -> list[int]:
    """The latent indices of ``selection``. ``fired`` (bool [d_sae]) resolves ``extracted``;
    ``indices`` (already resolved by the caller) is what ``starred`` and ``labelled`` mean."""
    value = check_selection(selection)
    if value == "all":
        return list(range(d_sae))
    if value == "extracted":
        if fired is None:
            raise InvalidInputError("'extracted' needs the extraction's statistics")
        return np.flatnonzero(np.asarray(fired, dtype=bool)).tolist()
    if value in RESOLVED_BY_CALLER:
        if indices is None:
            raise InvalidInputError(f"'{value}' latents are not known here; pass their indices")
        out = sorted({int(i) for i in indices})
        bad = [i for i in out if not 0 <= i < d_sae]
        if bad:
            raise InvalidInputError(f"latent {bad[0]} does not exist; this SAE has 0..{d_sae - 1}")
        return out
    return parse_ranges(value, d_sae)
