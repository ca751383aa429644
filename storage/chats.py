"""Chats and their subscriptions. Every subscription query is scoped by its chat."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.models import Chat, Subscription, SubscriptionStatus
from storage.errors import DuplicateSubscription, NoSuchChat, SubscriptionLimit
from storage.rows import moment, now_text, one, rows

if TYPE_CHECKING:
    from storage import Store

_CHAT_FIELDS = ("language", "timezone", "mode", "digest_time", "digest_day", "active", "paused")


class Chats:
    def __init__(self, store: Store) -> None:
        self._store = store

    # --- chats ---------------------------------------------------------------------------------

    def get_or_create(
        self, platform: str, workspace: str, chat_id: str, defaults: dict[str, str]
    ) -> Chat:
        """The chat with this identity, created with `defaults` the first time it is seen."""
        known = self.find(platform, workspace, chat_id)
        if known is not None:  # the usual case: no write, so no wait for the write lock
            return known
        with self._store.transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO chats (platform, workspace, chat_id, language, timezone,"
                " mode, digest_time, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    platform,
                    workspace,
                    chat_id,
                    defaults["language"],
                    defaults["timezone"],
                    defaults["mode"],
                    defaults["digest_time"],
                    now_text(),
                ],
            )
            row = one(
                db.execute(
                    "SELECT * FROM chats WHERE platform = ? AND workspace = ? AND chat_id = ?",
                    [platform, workspace, chat_id],
                )
            )
        assert row is not None
        return _chat(row)

    def find(self, platform: str, workspace: str, chat_id: str) -> Chat | None:
        row = one(
            self._store.db.execute(
                "SELECT * FROM chats WHERE platform = ? AND workspace = ? AND chat_id = ?",
                [platform, workspace, chat_id],
            )
        )
        return _chat(row) if row else None

    def get(self, chat: int) -> Chat:
        row = one(self._store.db.execute("SELECT * FROM chats WHERE id = ?", [chat]))
        if row is None:
            raise NoSuchChat(chat)
        return _chat(row)

    def all(self, *, active_only: bool = True) -> list[Chat]:
        sql = "SELECT * FROM chats" + (" WHERE active = 1" if active_only else "") + " ORDER BY id"
        return [_chat(r) for r in rows(self._store.db.execute(sql))]

    def update(self, chat: int, **fields: Any) -> Chat:
        """Change settings of a chat (language, timezone, mode, digest_time, digest_day, paused,
        active)."""
        unknown = set(fields) - set(_CHAT_FIELDS)
        if unknown:
            raise ValueError(f"not chat settings: {sorted(unknown)}")
        assignments = ", ".join(f"{name} = ?" for name in fields)
        values = [int(v) if isinstance(v, bool) else v for v in fields.values()]
        with self._store.transaction() as db:
            db.execute(f"UPDATE chats SET {assignments} WHERE id = ?", [*values, chat])
        return self.get(chat)

    def deactivate(self, chat: int, reason: str) -> int:
        """A chat that can no longer receive messages: stop it and cancel what it was owed."""
        with self._store.transaction() as db:
            db.execute(
                "UPDATE chats SET active = 0, deactivated_reason = ? WHERE id = ?", [reason, chat]
            )
            cursor = db.execute(
                "UPDATE deliveries SET state = 'cancelled', last_error = ?"
                " WHERE chat = ? AND state = 'pending'",
                [f"chat deactivated: {reason}", chat],
            )
            db.execute("DELETE FROM delivery_parts WHERE chat = ?", [chat])
            db.execute(
                "UPDATE followups SET state = 'cancelled', last_error = ?"
                " WHERE chat = ? AND state = 'pending'",
                [f"chat deactivated: {reason}", chat],
            )
        return cursor.rowcount

    def reactivate(self, chat: int) -> None:
        """A deactivated chat that talks to the bot again is live again."""
        with self._store.transaction() as db:
            db.execute(
                "UPDATE chats SET active = 1, deactivated_reason = '' WHERE id = ? AND active = 0",
                [chat],
            )

    def migrate(self, chat: int, new_chat_id: str) -> None:
        """A Telegram group upgraded to a supergroup has a new id; keep its subscriptions."""
        with self._store.transaction() as db:
            db.execute("UPDATE chats SET chat_id = ? WHERE id = ?", [new_chat_id, chat])

    # --- subscriptions -------------------------------------------------------------------------

    def subscriptions(self, chat: int, *, include_removed: bool = False) -> list[Subscription]:
        sql = "SELECT * FROM subscriptions WHERE chat = ?"
        if not include_removed:
            sql += " AND status != 'removed'"
        return [
            _subscription(r) for r in rows(self._store.db.execute(sql + " ORDER BY number", [chat]))
        ]

    def subscription(self, chat: int, number: int) -> Subscription | None:
        """The chat's subscription with this number; another chat's numbers are invisible."""
        row = one(
            self._store.db.execute(
                "SELECT * FROM subscriptions WHERE chat = ? AND number = ? AND status != 'removed'",
                [chat, number],
            )
        )
        return _subscription(row) if row else None

    def add_subscription(
        self, chat: int, query: str, normalized: str, limit: int, *, translation: str = ""
    ) -> Subscription:
        """Store a new subscription, numbered after the chat's highest number so far, with
        PubMed's `translation` of its query (what scoring reads untagged words as).

        Raises `DuplicateSubscription` when the chat already has the query, and
        `SubscriptionLimit` when the chat is at `limit` subscriptions; both checks run in the
        same transaction as the insert, so two concurrent commands cannot slip past them.
        """
        with self._store.transaction() as db:
            existing = one(
                db.execute(
                    "SELECT * FROM subscriptions WHERE chat = ? AND normalized = ?"
                    " AND status != 'removed'",
                    [chat, normalized],
                )
            )
            if existing:
                raise DuplicateSubscription(_subscription(existing))
            count = db.execute(
                "SELECT COUNT(*) FROM subscriptions WHERE chat = ? AND status != 'removed'", [chat]
            ).fetchone()[0]
            if count >= limit:
                raise SubscriptionLimit(count, limit)
            number = (
                db.execute(
                    "SELECT COALESCE(MAX(number), 0) FROM subscriptions WHERE chat = ?", [chat]
                ).fetchone()[0]
                + 1
            )
            cursor = db.execute(
                "INSERT INTO subscriptions"
                " (chat, number, query, normalized, status, created_at, translation)"
                " VALUES (?, ?, ?, ?, 'active', ?, ?)",
                [chat, number, query, normalized, now_text(), translation],
            )
            row = one(db.execute("SELECT * FROM subscriptions WHERE id = ?", [cursor.lastrowid]))
        assert row is not None
        return _subscription(row)

    def set_status(self, chat: int, number: int, status: SubscriptionStatus) -> Subscription | None:
        """Pause, resume or remove one of the chat's subscriptions; None if it has no such id."""
        with self._store.transaction() as db:
            cursor = db.execute(
                "UPDATE subscriptions SET status = ? WHERE chat = ? AND number = ?"
                " AND status != 'removed'",
                [status, chat, number],
            )
        if cursor.rowcount == 0:
            return None
        row = one(
            self._store.db.execute(
                "SELECT * FROM subscriptions WHERE chat = ? AND number = ?", [chat, number]
            )
        )
        return _subscription(row) if row else None

    def active_subscriptions(self) -> list[Subscription]:
        """Subscriptions to poll: active, in an active chat that is not paused."""
        cursor = self._store.db.execute(
            "SELECT s.* FROM subscriptions s JOIN chats c ON c.id = s.chat"
            " WHERE s.status = 'active' AND c.active = 1 AND c.paused = 0 ORDER BY s.id"
        )
        return [_subscription(r) for r in rows(cursor)]


def _chat(row: dict[str, Any]) -> Chat:
    return Chat(
        id=row["id"],
        platform=row["platform"],
        workspace=row["workspace"],
        chat_id=row["chat_id"],
        language=row["language"],
        timezone=row["timezone"],
        mode=row["mode"],
        digest_time=row["digest_time"],
        digest_day=row["digest_day"],
        active=bool(row["active"]),
        paused=bool(row["paused"]),
    )


def _subscription(row: dict[str, Any]) -> Subscription:
    return Subscription(
        id=row["id"],
        chat=row["chat"],
        number=row["number"],
        query=row["query"],
        normalized=row["normalized"],
        status=row["status"],
        created_at=moment(row["created_at"]),
        last_paper_at=moment(row["last_paper_at"]),
        translation=row["translation"],
    )
