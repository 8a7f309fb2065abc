"""Semantic search over labels: embed "label. description" once, rank by cosine to a query.

The embedding model is all-MiniLM-L6-v2 from :mod:`mistudio.core.embeddings` (offline, shared
with the steering metrics). Full-text search over the same fields is
the service database's job (FTS5 / tsvector).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mistudio.core.embeddings import TextEmbedder, load_embedder
from mistudio.core.labeling.records import FeatureLabel
from mistudio.errors import NotFoundError


def default_embedder() -> TextEmbedder:
    """The shared offline MiniLM embedder, or a clear error when it cannot load."""
    embedder, reason = load_embedder("cpu")
    if embedder is None:
        raise NotFoundError(f"semantic search needs the embedding model: {reason}")
    return embedder


def _embed(embedder: Any, texts: Sequence[str]) -> np.ndarray:
    """float32 [n, dim] unit rows from any embedder returning a tensor or an array."""
    vectors = embedder.embed(list(texts))
    return np.asarray(vectors.numpy() if isinstance(vectors, torch.Tensor) else vectors)


def label_text(label: FeatureLabel) -> str:
    parts = [label.label, label.category, label.description]
    return ". ".join(p.strip().rstrip(".") for p in parts if p and p.strip()) + "."


@dataclass
class SearchHit:
    index: int
    """Latent index."""
    similarity: float
    """Cosine similarity to the query."""
    label: FeatureLabel


class SemanticIndex:
    """Labels and their embeddings; ``search`` ranks them by meaning."""

    def __init__(self, labels: list[FeatureLabel], vectors: np.ndarray, embedder: Any) -> None:
        self.labels = labels
        self.vectors = vectors  # [n, dim], unit rows
        self.embedder = embedder

    @classmethod
    def build(cls, labels: Sequence[FeatureLabel], embedder: Any = None) -> SemanticIndex:
        """Embed the labelled (not failed / unclear) labels."""
        embedder = embedder or default_embedder()
        kept = [lab for lab in labels if lab.status == "labelled"]
        return cls(kept, _embed(embedder, [label_text(lab) for lab in kept]), embedder)

    def search(self, query: str, k: int = 10) -> list[SearchHit]:
        if not self.labels:
            return []
        q = _embed(self.embedder, [query])[0]
        sims = self.vectors @ q  # [n]
        order = np.argsort(-sims)[:k]
        return [SearchHit(self.labels[j].index, float(sims[j]), self.labels[j]) for j in order]

    def save(self, folder: str | Path) -> None:
        """``embeddings.npy`` (rows in ``labels.jsonl`` order of the labelled records)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / "embeddings.npy", self.vectors.astype(np.float32))
        (folder / "embedded_labels.jsonl").write_text(
            "".join(lab.model_dump_json() + "\n" for lab in self.labels)
        )

    @classmethod
    def load(cls, folder: str | Path, embedder: Any = None) -> SemanticIndex:
        folder = Path(folder)
        labels = [
            FeatureLabel.model_validate_json(line)
            for line in (folder / "embedded_labels.jsonl").read_text().splitlines()
            if line.strip()
        ]
        vectors = np.load(folder / "embeddings.npy")
        return cls(labels, vectors, embedder or default_embedder())
