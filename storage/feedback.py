"""What readers said about papers with the buttons on cards."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from bot.models import FEEDBACK_KINDS, FeedbackKind
from storage.rows import now_text

if TYPE_CHECKING:
    from storage import Store


class Feedback:
    def __init__(self, store: Store) -> None:
        self._store = store

    def show(self, chat: int, pmids: list[str]) -> None:
        """Remember that a chat was shown these papers' cards (outside the outbox)."""
        with self._store.transaction() as db:
            db.conn.executemany(
                "INSERT OR IGNORE INTO shown (chat, pmid, shown_at) VALUES (?, ?, ?)",
                [(chat, pmid, now_text()) for pmid in pmids],
            )

    def was_shown(self, chat: int, pmid: str) -> bool:
        """Did this chat get a card of the paper (delivered, owed, or shown by `search`)?"""
        row = self._store.db.execute(
            "SELECT EXISTS (SELECT 1 FROM deliveries WHERE chat = ? AND pmid = ?)"
            " OR EXISTS (SELECT 1 FROM shown WHERE chat = ? AND pmid = ?)",
            [chat, pmid, chat, pmid],
        ).fetchone()
        return bool(row[0])

    def record(self, chat: int, user: str, pmid: str, kind: FeedbackKind) -> bool:
        """Store one press; False when it changes nothing (pressed before). 👍 replaces 👎 and
        the other way round: a person has one opinion of a paper."""
        if kind not in FEEDBACK_KINDS:
            raise ValueError(kind)
        with self._store.transaction() as db:
            if kind in ("up", "down"):
                opposite = "down" if kind == "up" else "up"
                db.execute(
                    "DELETE FROM feedback WHERE chat = ? AND user = ? AND pmid = ? AND kind = ?",
                    [chat, user, pmid, opposite],
                )
            added = db.execute(
                "INSERT OR IGNORE INTO feedback (chat, user, pmid, kind, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                [chat, user, pmid, kind, now_text()],
            ).rowcount
        return bool(added)

    def presses(self, chat: int) -> list[tuple[str, str, FeedbackKind]]:
        """(user, pmid, kind) of a chat's presses, oldest first."""
        cursor = self._store.db.execute(
            "SELECT user, pmid, kind FROM feedback WHERE chat = ? ORDER BY id", [chat]
        )
        return [(row[0], row[1], row[2]) for row in cursor.fetchall()]

    def opinions(self, chat: int) -> list[tuple[str, Literal["up", "down"]]]:
        """(pmid, "up"|"down") of every opinion given in the chat."""
        cursor = self._store.db.execute(
            "SELECT pmid, kind FROM feedback WHERE chat = ? AND kind IN ('up', 'down') ORDER BY id",
            [chat],
        )
        return [(row[0], row[1]) for row in cursor.fetchall()]

    def chats_with_opinions(self) -> list[int]:
        cursor = self._store.db.execute(
            "SELECT DISTINCT chat FROM feedback WHERE kind IN ('up', 'down')"
        )
        return [row[0] for row in cursor.fetchall()]

    def saved(self, chat: int) -> list[str]:
        """PMIDs saved in the chat, most recent first (each once)."""
        cursor = self._store.db.execute(
            "SELECT pmid FROM feedback WHERE chat = ? AND kind = 'save'"
            " GROUP BY pmid ORDER BY MAX(id) DESC",
            [chat],
        )
        return [row[0] for row in cursor.fetchall()]
