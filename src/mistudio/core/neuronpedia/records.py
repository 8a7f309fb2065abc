"""One latent's records, read from an extraction's memory-mapped arrays.

:class:`LatentReader` reads a latent through the same :class:`ExtractionResult` methods the
feature detail API uses (``stats``, ``examples``, ``samples``, ``histogram``, ``logit_lens``,
``correlated``), so the archive's ``features/<i>.json`` holds what the studio shows for that
latent, by construction. Only the latent's own rows are read (and its decoder row, sliced from
``sae_weights.safetensors``), so memory stays flat however many latents an export carries.

Token strings come from the extraction's saved tokenizer, each distinct id decoded once per
export with ``decode_each`` (per-token decoding is context-free: it decodes every id on its
own) and then looked up (:meth:`LatentReader.texts`), instead of once per appearance: a
65k-latent export shows tens of millions of tokens drawn from a vocabulary of 50k. The logit
lens goes through :class:`CachedPieces`, a cache in front of the tokenizer, so its labels are
made exactly as the detail API makes them. Examples are rounded once and shared by both forms;
dataclasses are copied shallowly (``asdict``'s deep copies cost more than the rest together).

From one :class:`LatentPage` three kinds of record are made:

- :func:`archive_feature`: the archive's ``features/<index>.json``, the detail API's fields;
- :func:`np_feature`, :func:`np_activations`, :func:`np_explanation`: rows of Neuronpedia's
  ``Neuron``, ``Activation`` and ``Explanation`` tables with exactly the keys and JSON types of
  FORMATS §3. Every row of one table has the same keys: Neuronpedia's importer takes the column
  list from the first line of each batch file, so a key missing from the first line is dropped
  for the whole batch.

Numbers: activation values, logit effects, cosines, correlations and frequencies are rounded to
5 decimals, as SAEDashboard writes them. Histogram bar positions are rounded to 5 significant
digits instead: our activation bins are log-spaced down to ``top / 1e7``, and 5 decimals would
collapse the lowest decades to 0.

Text: Neuronpedia replaces ``\\u0000`` with a space before its PostgreSQL insert (which refuses
NUL); we do the same, and in labels also replace every other control character but tab and
newline, and lone surrogates (not encodable as UTF-8) with U+FFFD, so the file is valid UTF-8
JSON that reads back as it was written.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open

from mistudio.core.data import decode_each
from mistudio.core.data.words import token_words
from mistudio.core.features.result import (
    ActivationHistogram,
    Correlated,
    Example,
    ExtractionResult,
    LatentStats,
    LogitLens,
)
from mistudio.core.formats import read_sae
from mistudio.core.neuronpedia.config import LatentLabel, NeuronpediaExportConfig
from mistudio.core.neuronpedia.ids import EXPLANATION_MODELS

DECIMALS = 5
"""Decimals kept for values (SAEDashboard's ``round_list``)."""
NEURON_ALIGNMENT_ROWS = 3
"""Neurons listed per latent in ``neuron_alignment_*`` (SAEDashboard's feature table default)."""
REMAP_EVERY = 2048
"""Latents between two re-mappings of the extraction's arrays (see :meth:`LatentReader._remap`)."""
LLM_METHODS = ("local", "ollama", "openai")
"""Label methods whose labels are explanations by a model (get ``explanation_type``)."""

_LABEL_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def clean_token(text: str) -> str:
    """A token string Neuronpedia can store: NUL -> space (as its importer does), lone
    surrogates -> U+FFFD. Newlines, tabs and other whitespace tokens stay what they are."""
    if "\x00" in text:
        text = text.replace("\x00", " ")
    return _SURROGATE.sub("\ufffd", text)


def clean_text(text: str | None) -> str | None:
    """A label or description: NUL and other control characters (not tab or newline) -> space,
    lone surrogates -> U+FFFD, outer whitespace stripped."""
    if text is None:
        return None
    return _SURROGATE.sub("\ufffd", _LABEL_CONTROL.sub(" ", text)).strip()


def r5(value: float) -> float:
    """``value`` rounded to 5 decimals; NaN and infinities (never valid JSON) become 0."""
    v = float(value)
    return round(v, DECIMALS) if math.isfinite(v) else 0.0


_FINITE = 1e300


def round_list(values: Any) -> list[float]:
    """Floats rounded to 5 decimals; NaN and infinities become 0. A plain comprehension: the
    lists are short (a window, 20 logits), where numpy's per-call overhead costs more."""
    if isinstance(values, np.ndarray):
        if values.size > 64:  # a decoder row: one numpy call beats a long comprehension
            finite = np.nan_to_num(values.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
            out: list[float] = np.round(finite, DECIMALS).tolist()
            return out
        values = values.tolist()
    return [round(v, DECIMALS) if -_FINITE < v < _FINITE else 0.0 for v in values]


def sig5(values: Any) -> list[float]:
    """Floats rounded to 5 significant digits (histogram positions spanning many decades)."""
    return [float(f"{v:.5g}") for v in np.asarray(values, dtype=np.float64).tolist()]


class CachedPieces:
    """A tokenizer stand-in for :func:`~mistudio.core.data.decode_each`: ``batch_decode`` of
    single-id lists answered from a cache filled by the real tokenizer (each id once)."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self.cache: dict[int, str] = {}

    def batch_decode(self, sequences: Sequence[Sequence[int]], **kwargs: Any) -> list[str]:
        ids = [int(s[0]) for s in sequences]
        missing = sorted({i for i in ids if i not in self.cache})
        if missing:
            texts = self.tokenizer.batch_decode([[i] for i in missing], **kwargs)
            self.cache.update(zip(missing, texts, strict=True))
        return [self.cache[i] for i in ids]

    def decode(self, ids: Sequence[int], **kwargs: Any) -> str:
        text: str = self.tokenizer.decode(list(ids), **kwargs)
        return text

    def __getattr__(self, name: str) -> Any:
        # Anything else (convert_ids_to_tokens for byte labels, special token ids) is the
        # real tokenizer's, so the pages read exactly as the detail API's.
        return getattr(self.tokenizer, name)


class DecoderRows:
    """Decoder rows ``W_dec[i]`` of an SAE folder, read on demand.

    A SAELens ``sae_weights.safetensors`` is sliced in place (only the rows asked for are read);
    any other folder is read whole once with the format registry."""

    WEIGHTS = "sae_weights.safetensors"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._file: Any = None
        self._matrix: torch.Tensor | None = None
        path = folder / self.WEIGHTS
        if path.is_file():
            handle = safe_open(str(path), framework="pt")
            if "W_dec" in handle.keys():  # noqa: SIM118 - safe_open has keys(), not __contains__
                self._file = handle
        if self._file is None:
            self._matrix = read_sae(folder).sae.W_dec.detach().float()

    def release(self) -> None:
        """Unmap the weights file (its pages read so far stop counting as this process's
        memory); the next :meth:`rows` maps it again."""
        if self._file is not None:
            self._file = safe_open(str(self.folder / self.WEIGHTS), framework="pt")

    def rows(self, start: int, stop: int) -> np.ndarray:
        """float32 [stop - start, d_out]."""
        if self._matrix is not None:
            return self._matrix[start:stop].numpy()
        block: torch.Tensor = self._file.get_slice("W_dec")[start:stop]
        return block.float().numpy()


@dataclass
class LatentPage:
    """Everything an export says about one latent."""

    index: int
    stats: LatentStats
    examples: list[Example]
    samples: list[Example]
    histogram: ActivationHistogram | None
    logit_lens: LogitLens | None
    correlated: Correlated
    vector: np.ndarray | None
    """float32 [d_out] decoder row."""
    label: LatentLabel | None
    n_quantiles: int


class LatentReader:
    """Reads :class:`LatentPage` s of an extraction, one latent at a time."""

    def __init__(
        self,
        result: ExtractionResult,
        config: NeuronpediaExportConfig,
        decoder: DecoderRows | None,
        labels: dict[int, LatentLabel],
        tokenizer: Any,
    ) -> None:
        self.result = result
        self.config = config
        self.decoder = decoder
        self.labels = labels
        self.pieces = CachedPieces(tokenizer)
        self.tokenizer = tokenizer
        self._texts: dict[int, str] = {}
        self.has_samples = (result.folder / "sample_tokens.npy").is_file()
        self._block: tuple[int, int, np.ndarray] | None = None

    def _vector(self, index: int) -> np.ndarray | None:
        if self.decoder is None or not self.config.include_vectors:
            return None
        # Decoder rows are read in blocks of 256 neighbours: one slice per block, not per row.
        if self._block is None or not self._block[0] <= index < self._block[1]:
            start = index - index % 256
            stop = min(start + 256, self.result.d_sae)
            self._block = (start, stop, self.decoder.rows(start, stop))
        return self._block[2][index - self._block[0]]

    def texts(self, ids: list[int]) -> list[str]:
        """Each id's text as ``decode_each`` gives it (cleaned for Neuronpedia), each distinct
        id decoded once per export."""
        cache = self._texts
        missing = [i for i in ids if i not in cache]
        if missing:
            missing = list(dict.fromkeys(missing))
            decoded = decode_each(self.tokenizer, missing)
            cache.update(zip(missing, (clean_token(t) for t in decoded), strict=True))
        return [cache[i] for i in ids]

    def _with_tokens(self, examples: list[Example]) -> list[Example]:
        """Token texts filled in and values rounded, once for both forms."""
        for e in examples:
            e.tokens = self.texts(e.token_ids)
            e.words = token_words(self.tokenizer, e.token_ids)  # the archive's pages only
            e.acts = round_list(e.acts)
            e.value = r5(e.value)
        return examples

    def page(self, index: int) -> LatentPage:
        r, c = self.result, self.config
        samples: list[Example] = []
        if c.include_samples and self.has_samples and c.examples > 0:
            samples = self._with_tokens(r.samples(index))
        stats = r.stats(index)
        if c.include_top_tokens:
            stats.top_tokens = self.texts(stats.top_token_ids)
        else:
            stats.top_token_ids, stats.top_token_counts, stats.top_token_mass = [], [], []
        examples = r.examples(index, limit=c.examples) if c.examples else []
        return LatentPage(
            index=index,
            stats=stats,
            examples=self._with_tokens(examples),
            samples=samples,
            histogram=r.histogram(index) if c.include_histograms else None,
            logit_lens=r.logit_lens(index, self.pieces) if c.include_logit_lens else None,
            correlated=r.correlated(index),
            vector=self._vector(index),
            label=self.labels.get(index) if c.include_explanations else None,
            n_quantiles=r.meta.config.n_quantiles,
        )

    def pages(self, indices: Sequence[int]) -> Iterator[LatentPage]:
        for n, index in enumerate(indices, start=1):
            yield self.page(index)
            if n % REMAP_EVERY == 0:
                self._remap()

    def _remap(self) -> None:
        """Drop the memory maps and map afresh. A page of a memory-mapped array, once read,
        stays in the process's resident set as long as the map lives: without this an export
        of every latent would end with the whole extraction (and decoder) counted as its
        memory, though the kernel may reclaim those pages at any time."""
        self.result = ExtractionResult(self.result.folder, self.result.meta)
        if self.decoder is not None:
            self.decoder.release()


# ---- the archive ------------------------------------------------------------------------------
def _example_json(e: Example) -> dict[str, Any]:
    # Example is flat (lists of numbers and strings): a shallow copy is asdict without its
    # deep copies, which cost more than everything else an export does.
    out = dict(vars(e))
    out["words"] = [dict(vars(w)) for w in e.words or []]
    return out


def label_json(label: LatentLabel) -> dict[str, Any]:
    """A label as the archive keeps it (``explanations/explanations.json`` and the feature)."""
    return {
        "index": label.index,
        "label": clean_text(label.label),
        "description": clean_text(label.description),
        "category": clean_text(label.category),
        "method": label.method,
        "model": label.model,
        "confidence": label.confidence,
        "scores": {"detection": label.detection, "fuzzing": label.fuzzing},
        "labeled_at": label.labeled_at.isoformat() if label.labeled_at else None,
    }


def archive_feature(page: LatentPage) -> dict[str, Any]:
    """``features/<index>.json``: the fields of ``GET /features/{id}/detail`` (stats, examples,
    histogram, logit lens, correlated latents) plus the quantile samples and the label."""
    stats = dict(vars(page.stats))
    if stats.get("top_tokens") is None:
        stats.pop("top_tokens", None)
    lens = page.logit_lens
    return {
        "index": page.index,
        "stats": stats,
        "examples": [_example_json(e) for e in page.examples],
        "samples": [_example_json(e) for e in page.samples],
        "histogram": (
            {"edges": page.histogram.edges.tolist(), "counts": page.histogram.counts.tolist()}
            if page.histogram is not None
            else None
        ),
        "logit_lens": (
            {
                "positive": [[t, r5(v)] for t, v in lens.positive],
                "negative": [[t, r5(v)] for t, v in lens.negative],
                "positive_text": [clean_token(t) for t in lens.positive_text],
                "negative_text": [clean_token(t) for t in lens.negative_text],
                "hist_counts": lens.hist_counts.tolist(),
                "hist_range": [float(v) for v in lens.hist_range],
            }
            if lens is not None
            else None
        ),
        "correlated": {
            k: [[i, r5(v)] for i, v in getattr(page.correlated, k)]
            for k in ("pearson", "jaccard", "decoder")
        },
        "label": label_json(page.label) if page.label is not None else None,
    }


# ---- Neuronpedia's tables ---------------------------------------------------------------------
@dataclass(frozen=True)
class SourceIds:
    """The ids every row of one export carries."""

    model_id: str
    source_id: str
    source_set: str
    creator_id: str
    hook_name: str
    """Hook of the decoder vectors (the output hook of a transcoder)."""
    explanation_type: str


def _activation_bars(h: ActivationHistogram) -> tuple[list[float], list[float]]:
    """(heights, positions) of the activation histogram, empty bins at either end trimmed;
    positions are the geometric centres of the log-spaced bins (the underflow bin's upper edge
    and the overflow bin's lower edge stand for those two)."""
    counts = np.asarray(h.counts, dtype=np.float64)
    edges = np.asarray(h.edges, dtype=np.float64)
    centres = np.concatenate([[edges[0]], np.sqrt(edges[:-1] * edges[1:]), [edges[-1]]])
    nz = np.flatnonzero(counts)
    if nz.size == 0:
        return [], []
    span = slice(int(nz[0]), int(nz[-1]) + 1)
    return counts[span].tolist(), sig5(centres[span])


def _logit_bars(lens: LogitLens) -> tuple[list[float], list[float]]:
    counts = np.asarray(lens.hist_counts, dtype=np.float64)
    lo, hi = lens.hist_range
    width = (hi - lo) / max(len(counts), 1)
    centres = lo + width * (np.arange(len(counts)) + 0.5)
    return counts.tolist(), round_list(centres)


def _neuron_alignment(vector: np.ndarray | None) -> tuple[list[int], list[float], list[float]]:
    """The decoder row's largest entries and their share of its L1 norm (SAEDashboard's
    neuron alignment table)."""
    if vector is None or vector.size == 0:
        return [], [], []
    k = min(NEURON_ALIGNMENT_ROWS, vector.size)
    top = np.argsort(-vector, kind="stable")[:k]
    l1 = float(np.abs(vector).sum()) or 1.0
    return top.tolist(), round_list(vector[top]), round_list(np.abs(vector[top]) / l1)


def np_feature(page: LatentPage, ids: SourceIds) -> dict[str, Any]:
    """A row of Neuronpedia's ``Neuron`` table."""
    s, lens, corr = page.stats, page.logit_lens, page.correlated
    freq_heights, freq_values = _activation_bars(page.histogram) if page.histogram else ([], [])
    logit_heights, logit_values = _logit_bars(lens) if lens is not None else ([], [])
    align_idx, align_val, align_l1 = _neuron_alignment(page.vector)
    max_act = r5(s.max_act)
    return {
        "modelId": ids.model_id,
        "layer": ids.source_id,
        "index": str(page.index),
        "creatorId": ids.creator_id,
        "sourceSetName": ids.source_set,
        "maxActApprox": max_act,
        "frac_nonzero": r5(s.frequency),
        "hasVector": page.vector is not None,
        "vector": round_list(page.vector) if page.vector is not None else [],
        "vectorLabel": None,
        # SAEDashboard's converter steers at the latent's largest activation by default.
        "vectorDefaultSteerStrength": max_act if max_act > 0 else 10.0,
        "hookName": ids.hook_name,
        "topkCosSimIndices": [i for i, _ in corr.decoder],
        "topkCosSimValues": [r5(v) for _, v in corr.decoder],
        "neuron_alignment_indices": align_idx,
        "neuron_alignment_values": align_val,
        "neuron_alignment_l1": align_l1,
        "correlated_neurons_indices": [],
        "correlated_neurons_pearson": [],
        "correlated_neurons_l1": [],
        "correlated_features_indices": [i for i, _ in corr.pearson],
        "correlated_features_pearson": [r5(v) for _, v in corr.pearson],
        # SAEDashboard fills this with the cosine of activations, which we do not measure.
        "correlated_features_l1": [],
        "pos_str": [clean_token(t) for t in lens.positive_text] if lens else [],
        "pos_values": [r5(v) for _, v in lens.positive] if lens else [],
        "neg_str": [clean_token(t) for t in lens.negative_text] if lens else [],
        "neg_values": [r5(v) for _, v in lens.negative] if lens else [],
        "freq_hist_data_bar_heights": freq_heights,
        "freq_hist_data_bar_values": freq_values,
        "logits_hist_data_bar_heights": logit_heights,
        "logits_hist_data_bar_values": logit_values,
        "decoder_weights_dist": [],
    }


def _activation(
    e: Example, page: LatentPage, ids: SourceIds, row_id: str, bin_: tuple[float, float, float]
) -> dict[str, Any]:
    values = e.acts  # rounded by the reader
    top = max(values) if values else 0.0
    return {
        "id": row_id,
        "modelId": ids.model_id,
        "layer": ids.source_id,
        "index": str(page.index),
        "creatorId": ids.creator_id,
        "tokens": e.tokens or [],
        "values": values,
        "maxValue": top,
        "maxValueTokenIndex": values.index(top) if values else 0,
        "minValue": min(values) if values else 0.0,
        "binMin": bin_[0],
        "binMax": bin_[1],
        "binContains": bin_[2],
        "qualifyingTokenIndex": e.center,
    }


def np_activations(
    page: LatentPage, ids: SourceIds, next_id: Iterator[str]
) -> list[dict[str, Any]]:
    """Rows of Neuronpedia's ``Activation`` table: the top examples (``binMin`` -1,
    ``binContains`` -1, ``binMax`` the latent's max, as SAEDashboard writes them), then the
    quantile samples (``binMin``/``binMax`` the quantile's activation range, ``binContains``
    the share of the uniform sample in it, an estimate of the share of firing tokens)."""
    top = r5(page.stats.max_act)
    rows = [_activation(e, page, ids, next(next_id), (-1.0, top, -1.0)) for e in page.examples]
    if page.samples:
        n = len(page.samples)
        q = max(page.n_quantiles, 1)
        counts = np.bincount([e.quantile or 0 for e in page.samples], minlength=q)
        for e in page.samples:
            b = e.quantile or 0
            lo, hi = r5(page.stats.max_act * b / q), r5(page.stats.max_act * (b + 1) / q)
            rows.append(_activation(e, page, ids, next(next_id), (lo, hi, r5(counts[b] / n))))
    return rows


def np_explanation(page: LatentPage, ids: SourceIds, row_id: str) -> dict[str, Any] | None:
    """A row of Neuronpedia's ``Explanation`` table, or None when the latent has no label.

    ``typeName`` is the configured explanation type for a label an LLM wrote, none for rules
    or a hand edit (as Neuronpedia stores a hand-written explanation); ``explanationModelName``
    only when Neuronpedia's config knows the model (else the insert fails), the rest in
    ``notes``."""
    label = page.label
    if label is None:
        return None
    text = clean_text(label.label) or ""
    if not text:
        return None
    llm = label.method in LLM_METHODS
    model = label.model if llm and label.model in EXPLANATION_MODELS else None
    notes = [f"miStudio {label.method or 'label'}"]
    if label.model:
        notes[0] += f" ({label.model})"
    if label.category:
        notes.append(f"category: {clean_text(label.category)}")
    if label.detection is not None:
        notes.append(f"detection {label.detection:.3f}")
    if label.fuzzing is not None:
        notes.append(f"fuzzing {label.fuzzing:.3f}")
    if label.description:
        notes.append(clean_text(label.description) or "")
    return {
        "id": row_id,
        "modelId": ids.model_id,
        "layer": ids.source_id,
        "index": str(page.index),
        "authorId": ids.creator_id,
        "description": text,
        "typeName": ids.explanation_type if llm else None,
        "explanationModelName": model,
        "notes": "; ".join(n for n in notes if n),
    }
