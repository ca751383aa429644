"""Summaries written by a language model, kept so the model is not asked twice: an answer for
good, a failure until the caller decides it is old enough to try again."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from storage.rows import now_text, one

if TYPE_CHECKING:
    from storage import Store


class Summaries:
    def __init__(self, store: Store) -> None:
        self._store = store

    def get(
        self, pmid: str, language: str, model: str, *, failures_after: datetime | None = None
    ) -> tuple[str, str] | None:
        """(text, error) of an earlier answer, or None when the model was never asked, or when
        it failed before `failures_after` (time to ask again)."""
        row = one(
            self._store.db.execute(
                "SELECT text, error, created_at FROM summaries"
                " WHERE pmid = ? AND language = ? AND model = ?",
                [pmid, language, model],
            )
        )
        if row is None:
            return None
        if row["error"] and failures_after and row["created_at"] < now_text(failures_after):
            return None
        return row["text"], row["error"]

    def put(
        self,
        pmid: str,
        language: str,
        model: str,
        text: str,
        error: str = "",
        *,
        at: datetime | None = None,
    ) -> None:
        """Keep an answer or a failure; a later one replaces a failure, never an answer."""
        with self._store.transaction() as db:
            db.execute(
                "INSERT INTO summaries (pmid, language, model, text, error, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (pmid, language, model) DO UPDATE SET text = excluded.text,"
                " error = excluded.error, created_at = excluded.created_at"
                " WHERE summaries.error != ''",
                [pmid, language, model, text, error[:500], now_text(at)],
            )
