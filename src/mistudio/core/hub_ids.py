"""What a HuggingFace Hub repo id looks like, checked before any request.

A Hub id is ``name`` or ``namespace/name``: the Hub's canonical repos have no namespace (``gpt2``,
``bert-base-uncased``, ``wikitext``), so a check that asks for exactly one ``/`` refuses real ids.
The rule is huggingface_hub's own client-side one (``utils.validate_repo_id``): letters, digits,
``-``, ``_`` and ``.``; each part at most 96 characters, not starting or ending with ``-`` or ``.``;
no ``--`` or ``..``; not ending in ``.git``. It is restated here rather than imported because model
and dataset sources are classified on every request and huggingface_hub takes a while to import;
``tests/unit/test_hub_ids.py`` checks the two agree. The studio's form uses the same rule
(``frontend/src/lib/hubId.ts``).
"""

from __future__ import annotations

import re

_PART = r"(?!-|\.)[\w.-]{1,96}(?<!-|\.)"
_HUB_ID = re.compile(rf"(?:{_PART}/)?{_PART}")

HUB_ID_FORMS = "name or namespace/name, e.g. gpt2 or HuggingFaceTB/SmolLM2-135M"
"""How a Hub id is spelled, for messages that refuse one."""


def hub_id_problem(text: str) -> str | None:
    """Why ``text`` cannot be a Hub repo id, or None when it can."""
    if not text:
        return "a Hub id is empty"
    if text.count("/") > 1:
        return f"{text!r} has more than one '/' (a Hub id is {HUB_ID_FORMS})"
    if not _HUB_ID.fullmatch(text):
        return (
            f"{text!r} is not a Hub id: use letters, digits, '-', '_' and '.', not starting or "
            "ending with '-' or '.', at most 96 characters a part"
        )
    if "--" in text or ".." in text:
        return f"{text!r} is not a Hub id: it has '--' or '..'"
    if text.endswith(".git"):
        return f"{text!r} is not a Hub id: it ends with '.git'"
    return None


def is_hub_id(text: str) -> bool:
    """Whether ``text`` is spelled as a Hub repo id (``name`` or ``namespace/name``)."""
    return hub_id_problem(text) is None
