"""How alike two continuations are: sentence embeddings offline, token Jaccard as a fallback.

When the embedding model is missing or fails to load, similarity falls back to the Jaccard index
of the two continuations' token-id sets, which the result names, so no one mistakes one number
for the other. The embedder itself lives in :mod:`mistudio.core.embeddings`.
"""

from __future__ import annotations

from collections.abc import Sequence

from mistudio.core.embeddings import EMBEDDING_NAME, TextEmbedder, load_embedder

__all__ = ["EMBEDDING_NAME", "TextEmbedder", "cosine_similarity", "load_embedder", "token_jaccard"]


def token_jaccard(a: Sequence[int], b: Sequence[int]) -> float:
    """|A & B| / |A | B| of the two token-id sets (1 when both are empty)."""
    sa, sb = set(a), set(b)
    union = sa | sb
    return len(sa & sb) / len(union) if union else 1.0


def cosine_similarity(embedder: TextEmbedder, a: str, b: str) -> float:
    """Cosine of the two texts' embeddings (their dot product: they are unit norm)."""
    e = embedder.embed([a, b])  # [2, 384]
    return float((e[0] * e[1]).sum())
