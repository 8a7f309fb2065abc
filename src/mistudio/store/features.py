"""Feature pages: search, filter, sort and page the one-row-per-latent ``features`` table.

Search matches words (prefixes) of the label, description and top tokens, or the latent index
when the query is a number. SQLite answers it from the FTS5 table the migration keeps in sync;
PostgreSQL from the GIN-indexed ``tsvector`` expression below. Both tokenise text into words, so
``"capital"`` finds "capital letters" and "capitalised" on either backend.
"""

from __future__ import annotations

import collections
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import astuple, dataclass
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    case,
    column,
    func,
    literal_column,
    select,
    text,
)
from sqlalchemy.orm import Session

from mistudio.store.label_versions import best_score_query
from mistudio.store.like import contains
from mistudio.store.tables import Feature, LabelVersion

FeatureSort = Literal[
    "index", "frequency", "max_activation", "interpretability", "label_score", "ling_share"
]
LabelView = Literal["current", "best"]
"""Which label a list shows per latent: its current one, or its best-scored version."""
LABEL_SCORE = (
    func.coalesce(Feature.detection_score, Feature.fuzzing_score)
    + func.coalesce(Feature.fuzzing_score, Feature.detection_score)
) / 2
"""The label's own score: mean of its detection and fuzzing balanced accuracies (either one
alone when only one was run), NULL for a latent whose label was never scored. Unlike
``interpretability``, which falls back to extraction's token-concentration proxy, it ranks
only what a scorer checked."""
SORT_COLUMNS: dict[str, Any] = {
    "index": Feature.index,
    "frequency": Feature.frequency,
    "max_activation": Feature.max_activation,
    "interpretability": Feature.interpretability,
    "label_score": LABEL_SCORE,
    "ling_share": Feature.ling_share,
}
FEATURE_TSVECTOR = (
    "to_tsvector('simple', coalesce(features.label, '') || ' ' || "
    "coalesce(features.description, '') || ' ' || coalesce(features.top_tokens, ''))"
)
"""Must equal the expression of the ``ix_features_search`` index (migration 0001)."""
_WORD = re.compile(r"\w+", re.UNICODE)
_INDEX = re.compile(r"[0-9]{1,10}")
MAX_LATENT_INDEX = 2**31 - 1
"""The ``index`` column is a 32-bit integer: a longer number is searched as a word only."""
MAX_WORD_CHARS = 64
"""Longer words are cut (no token is that long, and PostgreSQL refuses words over 2 kB)."""


def _words(query: str) -> list[str]:
    return [w[:MAX_WORD_CHARS] for w in _WORD.findall(query.lower())[:8]]


def latent_index(query: str) -> int | None:
    """The latent index a search names, or None: ASCII digits only (``str.isdigit`` also accepts
    "²" and other digits ``int`` refuses) and within the column's range."""
    stripped = query.strip()
    if not _INDEX.fullmatch(stripped):
        return None
    value = int(stripped)
    return value if value <= MAX_LATENT_INDEX else None


def _search_clause(
    session: Session, query: str, drive_from_matches: bool = True
) -> ColumnElement[bool] | None:
    words = _words(query)
    if not words:
        return None
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        # Each word quoted (so FTS5 operators in user text are inert) and prefix-matched.
        match = " ".join(f'"{w}"*' for w in words)
        fts = text("SELECT rowid FROM features_fts WHERE features_fts MATCH :match").bindparams(
            match=match
        )
        # ``id IN (matches)`` makes SQLite look up every match by rowid and sort them all: best
        # for a few matches. ``id + 0`` hides the rowid, so it walks the sort index instead and
        # stops after one page: best when a common word matches a large share of the latents
        # (11 ms instead of 35 ms for 24k of 65k).
        key: Any = Feature.id if drive_from_matches else Feature.id + 0
        clause: ColumnElement[bool] = key.in_(fts.columns(column("rowid", Integer)))
    elif dialect == "postgresql":
        tsquery = " & ".join(f"{w}:*" for w in words)
        clause = literal_column(FEATURE_TSVECTOR).op("@@")(func.to_tsquery("simple", tsquery))
    else:  # any other database: a plain (slow but correct) LIKE over each word
        clause = and_(
            *[
                contains(Feature.label, w)
                | contains(Feature.description, w)
                | contains(Feature.top_tokens, w)
                for w in words
            ]
        )
    index = latent_index(query)
    if index is not None:
        clause = clause | (Feature.index == index)
    return clause


INTERPRETABLE_SCORE = 0.7
"""A label scored at least this (mean detection/fuzzing balanced accuracy, 0.5 = chance) counts
as interpretable in the browser's summary and the labelling run's breakdown ('high')."""


@dataclass(frozen=True)
class FeatureRanges:
    """Inclusive ranges on a latent's statistics and label score; None leaves an end open.

    With ``labeling_id`` only latents a labelling run labelled are kept, and the score range
    then applies to the score of that run's label (its version), not to the current label."""

    min_frequency: float | None = None
    max_frequency: float | None = None
    min_max_activation: float | None = None
    max_max_activation: float | None = None
    min_score: float | None = None
    max_score: float | None = None
    labeling_id: int | None = None
    ling_category: str | None = None
    """The dominant linguistic category (``VERB``, ``code:keyword``; exact match)."""
    min_ling_share: float | None = None
    max_ling_share: float | None = None

    @property
    def empty(self) -> bool:
        return all(v is None for v in astuple(self))

    def clauses(self) -> list[ColumnElement[bool]]:
        out: list[ColumnElement[bool]] = []
        for col, lo, hi in (
            (Feature.frequency, self.min_frequency, self.max_frequency),
            (Feature.max_activation, self.min_max_activation, self.max_max_activation),
            (Feature.ling_share, self.min_ling_share, self.max_ling_share),
        ):
            if lo is not None:
                out.append(col >= lo)
            if hi is not None:
                out.append(col <= hi)
        if self.ling_category is not None:
            out.append(Feature.ling_category == self.ling_category)
        if self.labeling_id is None:
            if self.min_score is not None:
                out.append(self.min_score <= LABEL_SCORE)
            if self.max_score is not None:
                out.append(self.max_score >= LABEL_SCORE)
            return out
        version = select(LabelVersion.id).where(
            LabelVersion.feature_id == Feature.id, LabelVersion.labeling_id == self.labeling_id
        )
        if self.min_score is not None:
            version = version.where(LabelVersion.score >= self.min_score)
        if self.max_score is not None:
            version = version.where(LabelVersion.score <= self.max_score)
        out.append(version.exists())
        return out


def feature_query(
    session: Session,
    extraction_id: int,
    search: str | None = None,
    starred: bool | None = None,
    category: str | None = None,
    drive_from_matches: bool = True,
    ranges: FeatureRanges | None = None,
) -> Select[Feature]:
    """The filtered (unsorted, unpaged) selection of an extraction's features."""
    stmt = select(Feature).where(Feature.extraction_id == extraction_id)
    if ranges is not None:
        stmt = stmt.where(*ranges.clauses())
    if starred is not None:
        stmt = stmt.where(Feature.starred.is_(starred))
    if category:
        stmt = stmt.where(Feature.category == category)
    if search and search.strip():
        clause = _search_clause(session, search, drive_from_matches)
        index = latent_index(search)
        if clause is not None:
            stmt = stmt.where(clause)
        elif index is not None:
            stmt = stmt.where(Feature.index == index)
    return stmt


# Totals are the expensive half of a searched page (a count over every match), and they only
# change when features are inserted (before an extraction is ready) or edited; cache them briefly
# per filter, dropped on edits through this process.
_COUNT_TTL = 300.0
_COUNT_MAX = 1024
_counts: collections.OrderedDict[tuple[Any, ...], tuple[float, int]] = collections.OrderedDict()
_counts_lock = threading.Lock()
FEW_MATCHES = 2000
"""Below this many matches a search drives from the matches, above it from the sort index."""


def invalidate_counts(extraction_id: int | None = None) -> None:
    """Forget cached totals (of one extraction, or all); called after feature edits."""
    with _counts_lock:
        if extraction_id is None:
            _counts.clear()
            return
        for key in [k for k in _counts if k[1] == extraction_id]:
            del _counts[key]


def _count(session: Session, key: tuple[Any, ...], stmt: Select[Any], cache: bool) -> int:
    now = time.monotonic()
    if cache:
        with _counts_lock:
            hit = _counts.get(key)
            if hit is not None and now - hit[0] < _COUNT_TTL:
                return hit[1]
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    if cache:
        with _counts_lock:
            _counts[key] = (now, total)
            _counts.move_to_end(key)
            while len(_counts) > _COUNT_MAX:
                _counts.popitem(last=False)
    return total


_ranges: dict[tuple[str, int], tuple[int, int] | None] = {}


def _fts_count(session: Session, extraction_id: int, search: str, cache: bool) -> int | None:
    """Count matches in the FTS index alone, restricted to the extraction's rowid range.

    Exact only when the extraction's feature ids are one contiguous range (they are: a job
    inserts them in one go); otherwise None and the caller counts through the join. 2 ms instead
    of ~30 ms for a word matching a third of 65k latents.
    """
    words = _words(search)
    if not words or latent_index(search) is not None:
        return None
    key = (str(session.get_bind().engine.url), extraction_id)
    bounds = _ranges.get(key) if cache else None
    if bounds is None:
        lo, hi, n = session.execute(
            select(func.min(Feature.id), func.max(Feature.id), func.count()).where(
                Feature.extraction_id == extraction_id
            )
        ).one()
        bounds = (int(lo), int(hi)) if n and hi - lo + 1 == n else None
        if cache:
            _ranges[key] = bounds
    if bounds is None:
        return None
    match = " ".join(f'"{w}"*' for w in words)
    total = session.scalar(
        text(
            "SELECT count(*) FROM features_fts WHERE features_fts MATCH :match "
            "AND rowid BETWEEN :lo AND :hi"
        ),
        {"match": match, "lo": bounds[0], "hi": bounds[1]},
    )
    return int(total or 0)


def list_features(
    session: Session,
    extraction_id: int,
    *,
    search: str | None = None,
    starred: bool | None = None,
    category: str | None = None,
    sort: FeatureSort = "index",
    descending: bool = False,
    offset: int = 0,
    limit: int = 50,
    cache_total: bool = False,
    cache_version: Any = None,
    label_view: LabelView = "current",
    ranges: FeatureRanges | None = None,
) -> tuple[Sequence[Feature], int]:
    """One page of features and the total number matching the filters.

    ``cache_total``: reuse a recent total for the same filters (only for extractions that are
    complete, whose rows no longer change except through :func:`invalidate_counts` callers).
    ``cache_version``: part of the cache key; pass something that changes when another process
    edits the rows (a labelling job bumps the extraction's ``updated_at``).
    ``label_view="best"``: the score sorts (``label_score``, ``interpretability``) rank each
    latent by its best-scored label version (:mod:`mistudio.store.label_versions`) instead of
    its current label; filters and search still read the current label.
    """
    dialect = session.get_bind().dialect.name
    searching = bool(search and search.strip())
    key = (
        str(session.get_bind().engine.url),
        extraction_id,
        search or "",
        starred,
        category or "",
        cache_version,
        ranges,
    )
    ranged = ranges if ranges is not None and not ranges.empty else None
    base = feature_query(session, extraction_id, search, starred, category, ranges=ranged)
    total = None
    if searching and dialect == "sqlite" and starred is None and not category and not ranged:
        total = _fts_count(session, extraction_id, str(search), cache_total)
    if total is None:
        total = _count(session, key, base, cache_total)
    if searching and dialect == "sqlite" and (total > FEW_MATCHES or starred):
        # Many matches, or favourites (a handful of rows): read the sort or starred index and
        # test FTS membership, instead of looking up every match by rowid.
        base = feature_query(session, extraction_id, search, starred, category, False, ranged)
    column: Any = SORT_COLUMNS[sort]
    if label_view == "best" and sort in ("label_score", "interpretability"):
        best = best_score_query(extraction_id).subquery()
        base = base.outerjoin(best, best.c.feature_id == Feature.id)
        fallback = Feature.interpretability if sort == "interpretability" else None
        column = func.coalesce(best.c.best, fallback) if fallback is not None else best.c.best
    if (searching and dialect == "postgresql") or (starred and not searching):
        # A selective filter: without this the planner may walk the sort index in order and test
        # the filter row by row until the page fills (PostgreSQL's tsvector: ~300 ms for a rare
        # word; SQLite's starred: ~85 ms). Sorting on an expression makes it take the filter's
        # index first and sort only the matches.
        column = column + 0
    # The id breaks ties in the same direction: SQLite's (extraction_id, column) index ends in
    # the rowid, so the whole ORDER BY walks the index and never sorts 65k rows per page.
    # Unscored latents (NULL) come last either way, on both databases.
    if descending:
        ordering = (column.desc().nulls_last(), Feature.id.desc())
    else:
        ordering = (column.asc().nulls_last(), Feature.id.asc())
    page = base.order_by(*ordering).offset(offset).limit(limit)
    return session.scalars(page).all(), total


def analyze_features(session: Session) -> None:
    """Refresh planner statistics after a bulk insert of feature rows.

    Without them PostgreSQL may scan all rows for a search-or-index query instead of combining
    the GIN and btree indexes (~800 ms vs ~10 ms on 65k rows); extraction jobs call this once
    after inserting an extraction's features.
    """
    dialect = session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        session.execute(text("ANALYZE features"))
    if dialect == "sqlite":
        # Fold the bulk insert's write-ahead log into the database file now: readers otherwise
        # search a large WAL for every page until a later checkpoint.
        session.commit()
        session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))


@dataclass(frozen=True)
class FeatureSummary:
    """Aggregates over an extraction's matching latents (the browser's summary strip)."""

    n: int
    """Latents matching."""
    dead: int
    """Never active over the evaluation tokens."""
    labelled: int
    """With a label (status ``labelled``)."""
    scored: int
    """With a scored label."""
    interpretable: int
    """Scored at least :data:`INTERPRETABLE_SCORE`."""
    mean_frequency: float | None
    """Mean activation rate (fraction of evaluation tokens a latent fires on)."""
    mean_score: float | None
    """Mean label score of the scored ones."""


def summarise_features(
    session: Session,
    extraction_id: int,
    *,
    search: str | None = None,
    starred: bool | None = None,
    category: str | None = None,
    ranges: FeatureRanges | None = None,
) -> FeatureSummary:
    """One aggregate query over the latents :func:`list_features` would list with these filters."""
    ranged = ranges if ranges is not None and not ranges.empty else None
    matches = feature_query(session, extraction_id, search, starred, category, ranges=ranged)
    sub = matches.subquery()
    score = (
        func.coalesce(sub.c.detection_score, sub.c.fuzzing_score)
        + func.coalesce(sub.c.fuzzing_score, sub.c.detection_score)
    ) / 2
    one: ColumnElement[int] = literal_column("1")
    row = session.execute(
        select(
            func.count(),
            func.sum(case((func.coalesce(sub.c.frequency, 0) <= 0, one), else_=0)),
            func.sum(case((sub.c.label_status == "labelled", one), else_=0)),
            func.count(score),
            func.sum(case((score >= INTERPRETABLE_SCORE, one), else_=0)),
            func.avg(sub.c.frequency),
            func.avg(score),
        ).select_from(sub)
    ).one()
    n, dead, labelled, scored, good, mean_freq, mean_score = row
    return FeatureSummary(
        n=int(n or 0),
        dead=int(dead or 0),
        labelled=int(labelled or 0),
        scored=int(scored or 0),
        interpretable=int(good or 0),
        mean_frequency=float(mean_freq) if mean_freq is not None else None,
        mean_score=float(mean_score) if mean_score is not None else None,
    )
