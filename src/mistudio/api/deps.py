"""Dependencies shared by the routers: database session, bearer-token check, paging, guards."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Generic, Literal, TypeVar

from fastapi import Depends, Query, Request
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from mistudio.api.errors import ApiError
from mistudio.core.config import DocumentedModel
from mistudio.core.data.local_files import is_under
from mistudio.core.features.result import META_FILE, ExtractionResult
from mistudio.errors import NotFoundError
from mistudio.jobs.lifecycle import active_jobs_using
from mistudio.settings import get_settings
from mistudio.store import Base, remove_artifact_files, session_scope
from mistudio.store.artifacts import owned_paths

T = TypeVar("T")
M = TypeVar("M")
log = logging.getLogger(__name__)

MAX_DB_INT = 2**63 - 1
"""Largest BIGINT (SQLite's INTEGER, PostgreSQL's BIGINT): offsets, feature row ids."""
MAX_ID = 2**31 - 1
"""Largest INTEGER on PostgreSQL: artifact, template and labelling ids and job event ``seq``
are 32-bit there, and SQLAlchemy binds a compared value as ``::INTEGER`` (overflow above)."""
DbId = Annotated[int, Field(ge=1, le=MAX_ID)]
"""A row id, in a path, a query or a body: anything outside 1..2**31-1 is a 422 at the boundary
(a bigger one would otherwise reach the database and fail there with a 500)."""
BigDbId = Annotated[int, Field(ge=1, le=MAX_DB_INT)]
"""A row id of a BIGINT-keyed table (features)."""


def get_session() -> Iterator[Session]:
    """A session per request, committed when the handler returns normally (rolled back when
    it raises: FastAPI throws the handler's exception in at the ``yield``)."""
    with session_scope() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def token_ok(supplied: str | None) -> bool:
    """Constant-time comparison with ``MISTUDIO_TOKEN`` (always true when no token is set)."""
    expected = get_settings().token
    if not expected:
        return True
    return supplied is not None and hmac.compare_digest(supplied.encode(), expected.encode())


def require_token(request: Request) -> None:
    """With ``MISTUDIO_TOKEN`` set, every call needs ``Authorization: Bearer <token>``."""
    if not get_settings().token:
        return
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not token_ok(value.strip()):
        raise ApiError(401, "missing or wrong bearer token")


class Page(DocumentedModel, Generic[T]):
    """One page of a list, and how many items match in all."""

    items: list[T]
    """The items of this page."""
    total: int
    """Items matching the filters, over all pages."""
    offset: int
    """Items skipped before this page."""
    limit: int
    """Most items per page."""


class Paging(BaseModel):
    offset: int
    limit: int


def paging(
    offset: int = Query(0, ge=0, le=MAX_DB_INT, description="Items to skip"),
    limit: int = Query(50, ge=1, le=500, description="Items per page"),
) -> Paging:
    return Paging(offset=offset, limit=limit)


PagingDep = Annotated[Paging, Depends(paging)]


def page_response(
    out: type[BaseModel],
    session: Session,
    stmt: Select[Any],
    model: type[Any],
    paging: Paging,
    sort: str,
    order: str,
    allowed_sorts: tuple[str, ...],
) -> Page[Any]:
    """Sort, count and slice ``stmt`` (a ``select(model)`` with filters applied) into a
    :class:`Page` of ``out`` models: what every list endpoint returns."""
    check_sort(sort, allowed_sorts)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    column = getattr(model, sort)
    ordered = stmt.order_by(column.desc() if order == "desc" else column.asc(), model.id.desc())
    rows = session.scalars(ordered.offset(paging.offset).limit(paging.limit)).all()
    return Page(
        items=[item for item in (_validated(out, r) for r in rows) if item is not None],
        total=int(total),
        offset=paging.offset,
        limit=paging.limit,
    )


def check_sort(sort: str, allowed_sorts: tuple[str, ...]) -> None:
    """422 unless ``sort`` names one of the list's sortable columns."""
    if sort not in allowed_sorts:
        raise ApiError(422, f"cannot sort by {sort!r}; choose one of {', '.join(allowed_sorts)}")


@dataclass(frozen=True)
class Listing:
    """One list request: what it lists (``table`` rows answered as ``out``), the request's
    session, and its paging and sort order, already checked against the sortable columns;
    :meth:`page` applies the endpoint's filters and answers the page.

    Every list endpoint of the API takes ``offset``, ``limit``, ``sort`` and ``order`` the same
    way; declaring them once (:func:`listing_of`) keeps their defaults, limits and docs alike,
    and leaves each endpoint only its filters."""

    out: type[BaseModel]
    table: type[Any]
    session: Session
    paging: Paging
    sort: str
    order: str
    sortable: tuple[str, ...]

    def page(self, *where: ColumnElement[bool] | None, **equal: Any) -> Page[Any]:
        """The rows meeting every ``where`` clause (None: skipped) and, for each
        ``column=value`` in ``equal`` whose value is given (not None, not empty),
        ``table.column == value``."""
        stmt = select(self.table)
        for clause in where:
            if clause is not None:
                stmt = stmt.where(clause)
        for column, value in equal.items():
            if value is not None and value != "":
                stmt = stmt.where(getattr(self.table, column) == value)
        return page_response(
            self.out,
            self.session,
            stmt,
            self.table,
            self.paging,
            self.sort,
            self.order,
            self.sortable,
        )


def listing_of(
    out: type[BaseModel], table: type[Any], sorts: str, order: Literal["asc", "desc"] = "desc"
) -> Any:
    """The dependency (for ``Annotated[Listing, listing_of(...)]``) of a list of ``table`` rows
    answered as ``out``: it reads the paging and sort order (``sort`` is one of the columns named
    in ``sorts``, space-separated, default the first; ``order`` defaults to ``order``) and brings
    the request's session."""
    sortable = tuple(sorts.split())
    default_order = order

    def read_listing(
        session: SessionDep,
        paging: PagingDep,
        sort: str = Query(sortable[0], description=f"Sort by: {', '.join(sortable)}"),
        order: Literal["asc", "desc"] = Query(default_order, description="Sort direction"),
    ) -> Listing:
        check_sort(sort, sortable)
        return Listing(out, table, session, paging, sort, order, sortable)

    return Depends(read_listing)


def _validated(out: type[BaseModel], row: Any) -> BaseModel | None:
    """``row`` as ``out``, or None (logged) for a row an older version stored with a value the
    model refuses: one bad row must not turn the whole list into a 500."""
    try:
        return out.model_validate(row)
    except ValidationError as exc:
        log.error("skipping %s row %s in a list: %s", out.__name__, getattr(row, "id", "?"), exc)
        return None


def get_or_404(session: Session, model: type[M], item_id: Any, what: str) -> M:
    row = session.get(model, item_id)
    if row is None:
        raise NotFoundError(f"no {what} with id {item_id}")
    return row


def ensure_not_in_use(session: Session, kind: str, artifact_id: int, what: str) -> None:
    """Refuse (409) to delete an artifact that a queued or running job reads or writes."""
    jobs = active_jobs_using(session, kind, artifact_id)
    if jobs:
        ids = ", ".join(j.id for j in jobs[:3])
        raise ApiError(409, f"{what} {artifact_id} is in use by running job(s) {ids}; cancel first")


def referencing_rows(session: Session, table_name: str, row_id: int) -> dict[str, list[Any]]:
    """Ids of the rows of every other table whose foreign key points at ``table_name`` row
    ``row_id`` without ``ON DELETE CASCADE`` (rows that would block, or dangle after, a delete).

    Read from the schema, so a table added later is covered without listing it here."""
    found: dict[str, list[Any]] = {}
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table.name != table_name or (fk.ondelete or "").upper() == "CASCADE":
                continue
            ids = session.scalars(select(table.c.id).where(fk.parent == row_id)).all()
            if ids:
                found.setdefault(table.name, []).extend(ids)
    return found


def delete_artifact(
    session: Session, row: Any, kind: str, what: str, remove_files: bool = True
) -> None:
    """Delete an artifact's row, then every folder it owns (:func:`owned_paths`: its id's folder,
    also when a failed job never recorded a ``path``; its upload). ``remove_files=False`` keeps
    whatever ``row.path`` points at (a model in the Hub cache, an imported SAE's folder).

    Refuses (409) while a queued or running job uses it, or while other rows still point at it
    (listed, to delete first). The delete is flushed before any file goes, so a database error
    leaves the files of a row that still exists.
    """
    ensure_not_in_use(session, kind, row.id, what)
    users = referencing_rows(session, row.__tablename__, row.id)
    if users:
        listed = "; ".join(f"{name.replace('_', ' ')} {ids}" for name, ids in users.items())
        raise ApiError(409, f"{what} {row.id} is used by {listed}; delete them first")
    paths = owned_paths(kind, row, include_path=remove_files)
    session.delete(row)
    session.flush()
    for path in paths:
        remove_artifact_files(path)


def check_import_path(path: str | Path) -> Path:
    """A local path the API may read, resolved (symlinks followed): under one of
    ``MISTUDIO_IMPORT_ROOTS`` (else 403), then existing (else 404).

    Every refused path gets the same 403 whether it exists or not, naming only the path as
    given: a caller cannot probe which files exist outside the roots, or where a link leads.
    """
    roots = get_settings().import_root_paths
    try:
        candidate = Path(str(path)).expanduser()
    except RuntimeError:  # "~someone" with no such user: refused like any other path
        candidate = Path(str(path))
    if not is_under(candidate, roots):
        raise ApiError(
            403,
            f"{path} is outside the folders the studio may import from "
            f"({', '.join(str(r) for r in roots)}); set MISTUDIO_IMPORT_ROOTS to allow it",
        )
    resolved = candidate.resolve()
    if not resolved.exists():
        raise NotFoundError(f"{path} does not exist")
    return resolved


@lru_cache(maxsize=8)
def _opened(path: str, stamp: int) -> ExtractionResult:
    del stamp  # part of the cache key only
    return ExtractionResult.open(path)


def open_extraction(path: str) -> ExtractionResult:
    """An extraction folder's result, kept open for the next requests (opening memory-maps its
    arrays and loads its tokenizer). Keyed by the path and its ``extraction.json``'s change time,
    so a folder written afresh at the same path is opened afresh, never served stale."""
    try:
        stamp = (Path(path) / META_FILE).stat().st_mtime_ns
    except OSError:
        stamp = -1  # let open() say what is missing
    return _opened(path, stamp)
