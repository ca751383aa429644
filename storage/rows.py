"""Small helpers shared by the storage modules: timestamps and rows as dicts."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Any

# SQLite allows 32,766 bound parameters; an IN (...) list stays well below it.
CHUNK = 900


def now_text(moment: datetime | None = None) -> str:
    """Timestamps are stored as UTC ISO text, which sorts in time order."""
    return (moment or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")


def moment(text: str | None) -> datetime | None:
    """A stored timestamp back as an aware datetime; None for '' (not happened yet)."""
    if not text:
        return None
    found = datetime.fromisoformat(text)
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def stamp(text: str) -> datetime:
    """A timestamp the row always has (a NOT NULL column written with now_text)."""
    found = moment(text)
    if found is None:
        raise ValueError("a stored timestamp is empty")
    return found


def rows(cursor: sqlite3.Cursor) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def one(cursor: sqlite3.Cursor) -> dict[str, Any] | None:
    found = rows(cursor)
    return found[0] if found else None


def placeholders(count: int) -> str:
    """'?, ?, ?' for an IN (...) list of bound parameters."""
    return ", ".join("?" * count)
