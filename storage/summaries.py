"""Summaries written by a language model, kept so the model is never asked twice."""

from __future__ import annotations

from typing import TYPE_CHECKING

from storage.rows import now_text, one

if TYPE_CHECKING:
    from storage import Store


class Summaries:
    def __init__(self, store: Store) -> None:
        self._store = store

    def get(self, pmid: str, language: str, model: str) -> tuple[str, str] | None:
        """(text, error) of an earlier answer, or None when the model was never asked."""
        row = one(
            self._store.db.execute(
                "SELECT text, error FROM summaries WHERE pmid = ? AND language = ? AND model = ?",
                [pmid, language, model],
            )
        )
        return (row["text"], row["error"]) if row else None

    def put(self, pmid: str, language: str, model: str, text: str, error: str = "") -> None:
        with self._store.transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO summaries (pmid, language, model, text, error, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [pmid, language, model, text, error[:500], now_text()],
            )
