"""Literal substring search for name filters (``?q=``): one place that escapes LIKE wildcards.

``%`` and ``_`` are wildcards in SQL ``LIKE``; passed through unescaped, ``q=%`` matches every
row and ``q=a_c`` matches "abc". :func:`contains` escapes them (and the escape character itself)
so a search finds exactly the text typed, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement

ESCAPE = "\\"


def like_literal(text: str) -> str:
    """``text`` with ``\\``, ``%`` and ``_`` escaped for a ``LIKE ... ESCAPE '\\'`` pattern."""
    return text.replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")


def contains(column: Any, text: str) -> ColumnElement[bool]:
    """Case-insensitive "``column`` contains ``text``", every character of ``text`` literal."""
    clause: ColumnElement[bool] = column.ilike(f"%{like_literal(text)}%", escape=ESCAPE)
    return clause
