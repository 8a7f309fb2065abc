"""The extraction folder: per-latent arrays sliced by latent index, and the API to page them.

Layout of one SAE's extraction (``d`` = d_sae, ``K`` = top_k, ``S`` = n_samples, ``R`` =
n_random_contexts, ``C`` = context window = before + 1 + after)::

    extraction.json             ExtractionMeta: lineage (SAE folder, hook, model, tokenization,
                                N tokens, config), written last: its presence marks completion
    tokenizer/                  the model's tokenizer (save_pretrained), so pages decode offline
    stats/<column>.npy          [d] count, frequency, max_act, mean_act, interpretability_proxy,
                                n_top, n_samples; [d, 5] top_token_ids/_counts/_mass
    top_values.npy   f32 [d, K]        activation at the activating token, largest first
    top_locations.npy i64 [d, K, 2]    (sequence index, position) in the tokenization; -1 empty
    top_tokens.npy   i32 [d, K, C]     window token ids, -1 outside the sequence
    top_acts.npy     f32|f16 [d, K, C] this latent's activation at each window position
    sample_*.npy                       the same for the uniform activating sample [d, S, ...]
    sample_quantile.npy i8 [d, S]      quantile bin of each sample (of the latent's max)
    random_tokens.npy i32 [R, C], random_locations.npy i64 [R, 2]   shared random windows
    random_max.npy   f16 [d, R]        each latent's max activation over each random window
    hist_edges.npy   f64 [E]           shared log-spaced edges; hist_counts.npy i64 [d, E + 1]
                                       (underflow, E - 1 bins, overflow; sums to count)
    logit_{pos,neg}_{ids,values}.npy [d, 20]; logit_hist_counts.npy [d, B]; logit_hist_range [d, 2]
    neighbours_{index,value}.npy, pearson_{index,value}.npy, jaccard_{index,value}.npy [d, 10]

Every array is opened with ``mmap_mode="r"``; a latent's page reads row ``i`` of each, i.e. only
that latent's bytes, so a 65k-latent extraction pages as fast as a 4k one.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from mistudio.core.data import decode, decode_each
from mistudio.core.data.decoding import token_labels
from mistudio.core.data.words import Word, token_words
from mistudio.core.features.config import ExtractionConfig
from mistudio.errors import InvalidInputError, NotFoundError

_TRANSFORMERS_IMPORT = threading.Lock()
"""Serialises the first import of transformers from the API's threads (see :meth:`tokenizer`)."""

META_FILE = "extraction.json"
TOKENIZER_DIR = "tokenizer"
STATS_DIR = "stats"
FORMAT_VERSION = 1
STAT_COLUMNS = (
    "count",
    "frequency",
    "max_act",
    "mean_act",
    "interpretability_proxy",
    "n_top",
    "n_samples",
)
TOKEN_COLUMNS = ("top_token_ids", "top_token_counts", "top_token_mass")


class ExtractionMeta(BaseModel):
    """``extraction.json``: what was extracted, from what, and how."""

    format_version: int = FORMAT_VERSION
    """Version of the folder layout."""
    sae_folder: str | None
    """SAE folder it was extracted from (None for an in-memory SAE)."""
    sae_architecture: str
    """Registry name of the SAE architecture."""
    d_in: int
    """SAE input width."""
    d_sae: int
    """Number of latents."""
    hook_name: str
    """TransformerLens-style hook the SAE reads."""
    hf_hook_name: str
    """HuggingFace name of that hook."""
    model_name: str
    """Name of the model (``LoadedModel.name``)."""
    model_path: str
    """Local folder the model was loaded from."""
    tokenization_folder: str
    """Tokenization read."""
    tokenization_name: str
    """Its display name."""
    tokenizer_fingerprint: str
    """Vocabulary fingerprint shared by the model and the tokenization."""
    n_tokens: int
    """Evaluation tokens actually read (after filters)."""
    n_sequences: int
    """Tokenization sequences the stream went through."""
    config: ExtractionConfig
    """Settings used."""
    coactivation_tokens: int
    """Tokens behind the correlations."""
    coactivation_pairs: int
    """Distinct co-firing latent pairs seen in that sample."""
    seconds: float
    """Wall time of the extraction (shared LM pass included)."""
    created: datetime = Field(default_factory=lambda: datetime.now(UTC))
    """When it finished (UTC)."""


@dataclass
class Example:
    """One context window around an activating (or random) token."""

    token_ids: list[int]
    """Window token ids (positions outside the sequence dropped)."""
    acts: list[float]
    """This latent's activation at each of them."""
    center: int
    """Index (into ``token_ids``) of the token the example was chosen for."""
    value: float
    """Activation at ``center``."""
    sequence: int
    """Sequence index in the tokenization."""
    position: int
    """Position of the centre token in that sequence."""
    tokens: list[str] | None = None
    """Each token decoded on its own (when a tokenizer was given)."""
    quantile: int | None = None
    """Quantile bin (samples only): 0 lowest .. n_quantiles - 1 highest."""
    words: list[Word] | None = None
    """The tokens grouped into words with their merged text (when a tokenizer was given)."""

    @property
    def text(self) -> str:
        return "".join(self.tokens or [])


@dataclass
class LatentStats:
    """The statistics row of one latent."""

    index: int
    count: int
    """Tokens where the latent fired (> 0)."""
    frequency: float
    """count / tokens read."""
    max_act: float
    mean_act: float
    """Mean of the non-zero activations."""
    interpretability_proxy: float
    """Held-out token-type concentration of top activations (see ``summary``)."""
    n_top: int
    """Top examples stored (< top_k for rare latents)."""
    n_samples: int
    top_token_ids: list[int]
    top_token_counts: list[int]
    top_token_mass: list[float]
    top_tokens: list[str] | None = None
    """Decoded top tokens (when a tokenizer was given)."""


@dataclass
class ActivationHistogram:
    edges: np.ndarray
    """float64 [E] shared log-spaced edges."""
    counts: np.ndarray
    """int64 [E + 1]: (0, edges[0]), the E - 1 bins, [edges[-1], inf)."""


@dataclass
class LogitLens:
    positive: list[tuple[int, float]]
    """(token id, logit effect), most promoted first."""
    negative: list[tuple[int, float]]
    """(token id, logit effect), most suppressed first."""
    hist_counts: np.ndarray
    hist_range: tuple[float, float]
    positive_text: list[str] = field(default_factory=list)
    negative_text: list[str] = field(default_factory=list)


@dataclass
class Correlated:
    pearson: list[tuple[int, float]]
    """(latent, Pearson r) over the co-activation sample, best first."""
    jaccard: list[tuple[int, float]]
    """(latent, Jaccard similarity of firing sets)."""
    decoder: list[tuple[int, float]]
    """(latent, cosine of decoder rows)."""


def _pairs(index: np.ndarray, value: np.ndarray) -> list[tuple[int, float]]:
    return [(int(i), float(v)) for i, v in zip(index, value, strict=True) if i >= 0]


class ExtractionResult:
    """A completed extraction folder, memory-mapped."""

    def __init__(self, folder: Path, meta: ExtractionMeta) -> None:
        self.folder = folder
        self.meta = meta
        self._arrays: dict[str, np.ndarray] = {}
        self._tokenizer: Any = None

    @classmethod
    def open(cls, folder: str | Path) -> ExtractionResult:
        folder = Path(folder)
        path = folder / META_FILE
        if not path.is_file():
            partial = folder.parent / f".{folder.name}.partial"
            if partial.exists():
                raise InvalidInputError(
                    f"extraction {folder} is incomplete (its run was interrupted); run it again"
                )
            raise NotFoundError(f"no extraction in {folder} (no {META_FILE})")
        meta = ExtractionMeta.model_validate(json.loads(path.read_text()))
        if meta.format_version > FORMAT_VERSION:
            raise InvalidInputError(
                f"extraction {folder} has format {meta.format_version}; this miStudio reads "
                f"up to {FORMAT_VERSION}"
            )
        return cls(folder, meta)

    def __repr__(self) -> str:
        m = self.meta
        return (
            f"ExtractionResult({m.d_sae} latents of {m.hook_name} on {m.model_name}, "
            f"{m.n_tokens:,} tokens, top {m.config.top_k})"
        )

    @property
    def d_sae(self) -> int:
        return self.meta.d_sae

    def array(self, name: str) -> np.ndarray:
        """The named array, memory-mapped (``stats/`` columns as ``stats/<name>``)."""
        if name not in self._arrays:
            path = self.folder / f"{name}.npy"
            if not path.is_file():
                raise NotFoundError(f"extraction {self.folder} has no {name}.npy")
            self._arrays[name] = np.load(path, mmap_mode="r")
        return self._arrays[name]

    def _check(self, index: int) -> int:
        if not 0 <= index < self.d_sae:
            raise InvalidInputError(
                f"latent {index} does not exist; this SAE has 0..{self.d_sae - 1}"
            )
        return int(index)

    def tokenizer(self) -> Any:
        """The tokenizer saved with the extraction."""
        if self._tokenizer is None:
            path = self.folder / TOKENIZER_DIR
            if not path.is_dir():
                raise NotFoundError(f"extraction {self.folder} has no saved tokenizer")
            with _TRANSFORMERS_IMPORT:
                # deferred: a heavy library (seconds to import), needed only when this runs.
                # Under the lock: the API's threads open extractions at once (a browser asks for
                # several feature pages together), and two first imports of transformers' lazy
                # module racing in threads fail with "cannot import name 'AutoTokenizer'".
                from transformers import AutoTokenizer
            self._tokenizer = AutoTokenizer.from_pretrained(path)
        return self._tokenizer

    # ---- pages ---------------------------------------------------------------------------
    def stats(self, index: int, tokenizer: Any = None) -> LatentStats:
        i = self._check(index)
        col = {c: self.array(f"{STATS_DIR}/{c}")[i] for c in STAT_COLUMNS + TOKEN_COLUMNS}
        ids = [int(t) for t in col["top_token_ids"] if t >= 0]
        n = len(ids)
        return LatentStats(
            index=i,
            count=int(col["count"]),
            frequency=float(col["frequency"]),
            max_act=float(col["max_act"]),
            mean_act=float(col["mean_act"]),
            interpretability_proxy=float(col["interpretability_proxy"]),
            n_top=int(col["n_top"]),
            n_samples=int(col["n_samples"]),
            top_token_ids=ids,
            top_token_counts=[int(c) for c in col["top_token_counts"][:n]],
            top_token_mass=[float(m) for m in col["top_token_mass"][:n]],
            top_tokens=decode_each(tokenizer, ids) if tokenizer is not None else None,
        )

    def _examples(self, prefix: str, i: int, tokenizer: Any, limit: int | None) -> list[Example]:
        n = int(
            self.array(f"{STATS_DIR}/n_top" if prefix == "top" else f"{STATS_DIR}/n_samples")[i]
        )
        if limit is not None:
            n = min(n, limit)
        tokens = np.asarray(self.array(f"{prefix}_tokens")[i, :n])  # [n, C]
        acts = np.asarray(self.array(f"{prefix}_acts")[i, :n], dtype=np.float32)
        values = np.asarray(self.array(f"{prefix}_values")[i, :n])
        locs = np.asarray(self.array(f"{prefix}_locations")[i, :n])
        quantiles = np.asarray(self.array("sample_quantile")[i, :n]) if prefix == "sample" else None
        before = self.meta.config.context_before
        out = []
        for r in range(n):
            keep = tokens[r] >= 0
            ids = tokens[r][keep].tolist()
            out.append(
                Example(
                    token_ids=ids,
                    acts=acts[r][keep].tolist(),
                    center=int(keep[:before].sum()),
                    value=float(values[r]),
                    sequence=int(locs[r, 0]),
                    position=int(locs[r, 1]),
                    tokens=decode_each(tokenizer, ids) if tokenizer is not None else None,
                    quantile=int(quantiles[r]) if quantiles is not None else None,
                    words=token_words(tokenizer, ids) if tokenizer is not None else None,
                )
            )
        return out

    def examples(
        self, index: int, tokenizer: Any = None, limit: int | None = None
    ) -> list[Example]:
        """Top-activating examples, largest first."""
        return self._examples("top", self._check(index), tokenizer, limit)

    def samples(self, index: int, tokenizer: Any = None) -> list[Example]:
        """The uniform sample of activating tokens, largest first, each with its quantile."""
        return self._examples("sample", self._check(index), tokenizer, None)

    def random_contexts(
        self, index: int, tokenizer: Any = None, non_activating: bool = True
    ) -> list[Example]:
        """Shared random windows; with ``non_activating`` only those where this latent is 0
        everywhere in the window (the negatives of label scoring)."""
        i = self._check(index)
        window_max = np.asarray(self.array("random_max")[i], dtype=np.float32)  # [R]
        tokens = self.array("random_tokens")
        locs = self.array("random_locations")
        before = self.meta.config.context_before
        out = []
        for r in range(tokens.shape[0]):
            if locs[r, 0] < 0 or (non_activating and window_max[r] > 0):
                continue
            keep = tokens[r] >= 0
            ids = tokens[r][keep].tolist()
            out.append(
                Example(
                    token_ids=ids,
                    acts=[0.0] * len(ids) if window_max[r] == 0 else [],
                    center=int(keep[:before].sum()),
                    value=float(window_max[r]),
                    sequence=int(locs[r, 0]),
                    position=int(locs[r, 1]),
                    tokens=decode_each(tokenizer, ids) if tokenizer is not None else None,
                    words=token_words(tokenizer, ids) if tokenizer is not None else None,
                )
            )
        return out

    def histogram(self, index: int) -> ActivationHistogram:
        i = self._check(index)
        return ActivationHistogram(
            edges=np.asarray(self.array("hist_edges")),
            counts=np.asarray(self.array("hist_counts")[i]),
        )

    def logit_lens(self, index: int, tokenizer: Any = None) -> LogitLens:
        i = self._check(index)
        pos_ids = np.asarray(self.array("logit_pos_ids")[i])
        neg_ids = np.asarray(self.array("logit_neg_ids")[i])
        lo, hi = (float(v) for v in self.array("logit_hist_range")[i])
        return LogitLens(
            positive=_pairs(pos_ids, np.asarray(self.array("logit_pos_values")[i])),
            negative=_pairs(neg_ids, np.asarray(self.array("logit_neg_values")[i])),
            hist_counts=np.asarray(self.array("logit_hist_counts")[i]),
            hist_range=(lo, hi),
            # Tokens listed on their own: a lone byte of a character shows as <0xE2>, not '�'.
            positive_text=token_labels(tokenizer, pos_ids.tolist()) if tokenizer else [],
            negative_text=token_labels(tokenizer, neg_ids.tolist()) if tokenizer else [],
        )

    def correlated(self, index: int) -> Correlated:
        i = self._check(index)
        return Correlated(
            pearson=_pairs(self.array("pearson_index")[i], self.array("pearson_value")[i]),
            jaccard=_pairs(self.array("jaccard_index")[i], self.array("jaccard_value")[i]),
            decoder=_pairs(self.array("neighbours_index")[i], self.array("neighbours_value")[i]),
        )

    def table(self) -> dict[str, np.ndarray]:
        """Every latent's statistics as columns (the rows a database or a UI table holds)."""
        out: dict[str, np.ndarray] = {"index": np.arange(self.d_sae, dtype=np.int64)}
        for c in STAT_COLUMNS + TOKEN_COLUMNS:
            out[c] = np.asarray(self.array(f"{STATS_DIR}/{c}"))
        return out

    def example_text(self, example: Example, tokenizer: Any = None) -> str:
        """The window as one decoded string (pieces merged by the tokenizer)."""
        return decode(tokenizer or self.tokenizer(), example.token_ids)
