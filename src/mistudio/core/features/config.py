"""The one config object of a feature extraction (every field documented, validated on build)."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from mistudio.core.config import OperationConfig
from mistudio.errors import InvalidInputError


class ExtractionConfig(OperationConfig):
    """How to extract feature statistics and examples from an LM + SAE(s) over evaluation tokens."""

    n_tokens: int = Field(default=1_000_000, gt=0)
    """Evaluation tokens to read (after the token filters); fewer if the tokenization ends."""
    top_k: int = Field(default=100, gt=0)
    """Top-activating examples kept per latent."""
    context_before: int = Field(default=32, ge=0)
    """Tokens of context kept before each example's activating token."""
    context_after: int = Field(default=8, ge=0)
    """Tokens of context kept after each example's activating token."""
    n_samples: int = Field(default=40, ge=0)
    """Uniform sample of activating tokens kept per latent (labels are scored on these; the
    result groups them into activation quantiles)."""
    n_quantiles: int = Field(default=5, gt=0)
    """Quantile bins (of the latent's max activation) the samples are grouped into."""
    n_random_contexts: int = Field(default=200, ge=0)
    """Random context windows shared by all latents (non-activating examples for scoring)."""
    batch_size: int = Field(default=8, gt=0)
    """Sequences per LM forward pass."""
    activation_threshold: float = Field(default=0.0, ge=0.0)
    """A latent fires on a token only when its activation is above this value: smaller ones count
    as zero everywhere (count, frequency, mean, histogram, examples, samples, co-activation, and
    the activations shown inside example windows). 0 keeps every positive activation."""
    exclude_special_tokens: bool = True
    """Do not measure BOS, EOS, padding and other special-token positions (see
    ``exclude_tokens`` for what not measuring means)."""
    exclude_stop_words: bool = False
    """Do not measure positions whose token is an English stop word ("the", "of", "and", ...;
    :mod:`mistudio.core.features.token_exclusion`)."""
    exclude_tokens: list[str] = Field(default_factory=list, max_length=10_000)
    """Do not measure positions whose token is one of these words (compared stripped and
    lower-cased with the token's own text). A position not measured adds to no statistic and
    is never an example, and ``n_tokens`` counts measured tokens only; the model still reads it
    and it shows as context in other examples' windows."""
    min_document_tokens: int = Field(default=0, ge=0)
    """Skip tokens of documents shorter than this many tokens."""
    dedupe_overlap: bool = True
    """Count each document token once: skip the positions a window shares with the previous
    window of the same document (kept there, where they have more context)."""
    hist_bins_per_decade: int = Field(default=8, gt=0)
    """Resolution of the log-spaced activation histogram."""
    hist_decades: int = Field(default=7, gt=0)
    """Range of the histogram: from its top edge down this many decades."""
    hist_max: float | None = Field(default=None, gt=0)
    """Top edge of the histogram; ``None`` calibrates it from the first batch (next power of 10
    above 10x its largest activation)."""
    coactivation_tokens: int = Field(default=65_536, ge=0)
    """Tokens (the first ones read) over which co-activation (Pearson, Jaccard) is measured."""
    coactivation_latents_per_token: int = Field(default=16, gt=0)
    """Only each token's this many largest latents enter co-activation (bounds pair counts)."""
    n_correlated: int = Field(default=10, gt=0)
    """Correlated latents and decoder neighbours kept per latent."""
    n_logits: int = Field(default=20, gt=0)
    """Top and bottom logit-lens tokens kept per latent."""
    logit_hist_bins: int = Field(default=40, gt=0)
    """Bins of the per-latent histogram of logit effects."""
    acts_dtype: str = Field(default="float32", pattern="^(float32|float16)$")
    """dtype of stored per-token example activations."""
    seed: int = 0
    """Seeds the samples and the random contexts."""

    @model_validator(mode="after")
    def _check(self) -> ExtractionConfig:
        if self.top_k > self.n_tokens:
            raise InvalidInputError(
                f"top_k ({self.top_k}) is larger than the tokens to read ({self.n_tokens})"
            )
        return self

    @field_validator("exclude_tokens")
    @classmethod
    def _words(cls, words: list[str]) -> list[str]:
        kept = [w for w in words if w.strip()]
        if len(kept) != len(words):
            raise InvalidInputError("exclude_tokens holds an empty word")
        return kept

    @property
    def context(self) -> int:
        """Window length: before + the activating token + after."""
        return self.context_before + 1 + self.context_after
