"""Built-in sources registered at start-up so a fresh studio shows something to work with.

The model ``smollm2-135m`` and the corpora ``python-stdlib`` and ``kjv`` get rows with status
``available``: listed, but nothing is dequantized or imported until a researcher asks (a load or
import job then fills the same row).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from mistudio.store.models import Dataset, LanguageModel


def register_builtins(session: Session) -> None:
    """Insert the built-in model and corpora once (idempotent)."""
    from mistudio.core.data import BUILTIN_CORPORA
    from mistudio.core.models import BUILTIN_MODELS

    for name in BUILTIN_MODELS:
        exists = session.scalar(
            select(LanguageModel.id).where(
                LanguageModel.builtin.is_(True), LanguageModel.source == name
            )
        )
        if exists is None:
            session.add(
                LanguageModel(
                    name=name,
                    source=name,
                    source_kind="builtin",
                    builtin=True,
                    status="available",
                    lineage={"origin": "built-in"},
                )
            )
    for name, corpus in BUILTIN_CORPORA.items():
        exists = session.scalar(
            select(Dataset.id).where(Dataset.builtin.is_(True), Dataset.name == name)
        )
        if exists is None:
            session.add(
                Dataset(
                    name=name,
                    source_kind="builtin",
                    source={"kind": "builtin", "builtin": name},
                    builtin=True,
                    status="available",
                    info={"description": getattr(corpus, "description", "")},
                    lineage={"origin": "built-in"},
                )
            )
    session.flush()
