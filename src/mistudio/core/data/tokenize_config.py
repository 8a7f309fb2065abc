"""The settings of the tokenize operation (:class:`TokenizeConfig`).

It sits in its own module, beside :mod:`mistudio.core.data.tokenize` (the operation), because
both the operation and the folder reader (:mod:`mistudio.core.data.tokenized_folder`, whose
``meta.json`` records the config) need it: kept here, neither imports the other's module.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from mistudio.core.config import OperationConfig

MAX_SEQUENCE_LENGTH = 1 << 20
"""Longest sequence a tokenization may ask for (far beyond any model's context; a bound so a
number like 2**70 is refused here, not deep in numpy)."""


class TokenizeConfig(OperationConfig):
    """How to turn documents into fixed-length sequences."""

    max_length: int = Field(default=512, ge=2, le=MAX_SEQUENCE_LENGTH)
    """Sequence length in tokens, including BOS when ``prepend_bos``."""
    long_documents: Literal["windows", "truncate"] = "windows"
    """A document longer than a sequence: ``windows`` cuts it into overlapping windows ``stride``
    apart (every token kept, with context); ``truncate`` keeps its first ``max_length`` tokens
    (BOS included) and drops the rest, one sequence per document."""
    stride: int = Field(default=256, ge=1, le=MAX_SEQUENCE_LENGTH)
    """Step between the starts of overlapping windows over a long document (in document tokens;
    clamped to the window's content length so no token is skipped; unused with ``truncate``)."""
    prepend_bos: bool = True
    """Put the tokenizer's BOS token first in every sequence (ignored when it has none)."""
    pack: bool = True
    """Concatenate consecutive short documents, separated by EOS (or BOS), into one sequence."""
    min_tokens: int = Field(default=1, ge=0, le=MAX_SEQUENCE_LENGTH)
    """Drop documents with fewer tokens than this."""
    drop_special_only: bool = True
    """Drop documents that consist only of special tokens."""
    drop_if_contains: list[str] = Field(default_factory=list)
    """Drop a document whose text contains any of these strings (case-insensitive)."""
    max_documents: int | None = Field(default=None, ge=1, le=1 << 40)
    """Keep at most this many documents (after filtering), in dataset order."""
    max_tokens: int | None = Field(default=None, ge=1, le=1 << 40)
    """Stop reading documents once this many tokens are stored (whole documents, in dataset
    order): a first run tokenizes the sequences its stages read, not the whole corpus."""
    batch_documents: int = Field(default=1000, ge=1, le=1 << 20)
    """Documents per tokenizer call (fast tokenizers parallelise within a call)."""

    @model_validator(mode="after")
    def _check_stride(self) -> TokenizeConfig:
        if self.stride > self.max_length:
            raise ValueError(
                f"stride ({self.stride}) must not exceed max_length ({self.max_length})"
            )
        return self
