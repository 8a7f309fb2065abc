"""Built-in sources registered at start-up so a fresh studio shows something to work with.

The model ``smollm2-135m`` and the corpora ``python-stdlib`` and ``kjv`` get rows with status
``available``: listed, but nothing is dequantized or imported until a researcher asks (a load or
import job then fills the same row). The default labelling prompt is seeded as a
``labeling_prompt`` template.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from mistudio.core.data import BUILTIN_CORPORA
from mistudio.core.labeling import PromptTemplate
from mistudio.core.language_models import BUILTIN_MODELS
from mistudio.store.tables import Dataset, LanguageModel, Template

DEFAULT_LABELING_PROMPT = "delphi-default"


def register_builtins(session: Session) -> None:
    """Insert the built-in model and corpora once (idempotent)."""

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
    _seed_labeling_prompt(session)
    session.flush()


def _seed_labeling_prompt(session: Session) -> None:
    """The default explanation prompt as an editable ``labeling_prompt`` template (once)."""

    exists = session.scalar(
        select(Template.id).where(
            Template.kind == "labeling_prompt", Template.name == DEFAULT_LABELING_PROMPT
        )
    )
    if exists is None:
        session.add(
            Template(
                kind="labeling_prompt",
                name=DEFAULT_LABELING_PROMPT,
                description="delphi's explainer prompt (EleutherAI 2024): marked examples, top "
                "tokens, logit lens; the default of every labelling method.",
                config=PromptTemplate(name=DEFAULT_LABELING_PROMPT).model_dump(mode="json"),
                favourite=False,
                usage_count=0,
            )
        )
