"""Linguistic analysis of what a latent fires on (issue 19, part 1).

:func:`analyse_extraction` reads every latent's top examples from an extraction: prose windows
with spaCy (part of speech, lemma, entity type, stop word, punctuation, number), code windows with
Python's own :mod:`tokenize` (keyword, builtin, identifier, operator, string, comment, number),
aligning model tokens to words by character offsets; it writes one :class:`LinguisticSummary`
per latent beside the extraction's arrays, which :class:`Linguistics` reads back one latent at a
time. Labellers take a summary as optional context; the feature list filters on its dominant
category and share. Each module's docstring gives the decisions behind it.
"""

from mistudio.core.linguistics.alignment import AlignedWindow, align_window
from mistudio.core.linguistics.analyze import (
    LinguisticConfig,
    Linguistics,
    LinguisticsInterrupted,
    LinguisticsMeta,
    analyse_extraction,
    write_summaries,
)
from mistudio.core.linguistics.code_tokens import (
    CODE_CLASSES,
    classify_generic,
    classify_python,
    looks_like_code,
)
from mistudio.core.linguistics.prose import (
    SpacyMissing,
    WordReading,
    installed_pipeline,
    load_pipeline,
)
from mistudio.core.linguistics.summary import (
    LinguisticSummary,
    TokenReading,
    category_name,
    summarise,
    summary_line,
)

__all__ = [
    "CODE_CLASSES",
    "AlignedWindow",
    "LinguisticConfig",
    "LinguisticSummary",
    "Linguistics",
    "LinguisticsInterrupted",
    "LinguisticsMeta",
    "SpacyMissing",
    "TokenReading",
    "WordReading",
    "align_window",
    "analyse_extraction",
    "category_name",
    "installed_pipeline",
    "classify_generic",
    "classify_python",
    "load_pipeline",
    "looks_like_code",
    "summarise",
    "summary_line",
    "write_summaries",
]
