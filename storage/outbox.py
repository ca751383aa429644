"""The delivery outbox: one row per chat and PMID, pending until the platform confirms it.

A row is marked sent only after the send returned, so a crash in between leaves it pending and
it is sent again after the restart: nothing is lost, and the worst case is one repeat.

A digest also carries the chat's follow-ups planned into it (storage/followups.py, `batch`):
they are leased, confirmed, retried and given up with the digest's papers, in the same
transactions, so they share its guarantees.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.models import DELIVERY_STATES, Delivery, DeliveryState, MatchedQuery, MatchReason, Score
from storage.followups import plan_into_digest
from storage.rows import CHUNK, moment, now_text, placeholders, rows

if TYPE_CHECKING:
    from sqlite_utils import Database

    from storage import Store


class Outbox:
    def __init__(self, store: Store) -> None:
        self._store = store

    def plan(self, max_cards: int) -> int:
        """Decide how unplanned rows of instant-mode chats go out: the best `max_cards` of each
        chat as cards, the rest together as one list message. Stored, so a retry after a crash
        sends the same grouping."""
        planned = 0
        with self._store.transaction() as db:
            unplanned = rows(
                db.execute(
                    "SELECT d.id, d.chat FROM deliveries d JOIN chats c ON c.id = d.chat"
                    " WHERE d.state = 'pending' AND d.kind = '' AND c.mode = 'instant'"
                    " AND c.active = 1 ORDER BY d.chat, d.score DESC, d.pmid"
                )
            )
            by_chat: dict[int, list[int]] = {}
            for row in unplanned:
                by_chat.setdefault(row["chat"], []).append(row["id"])
            for ids in by_chat.values():
                cards, rest = ids[:max_cards], ids[max_cards:]
                db.execute(
                    f"UPDATE deliveries SET kind = 'card' WHERE id IN ({placeholders(len(cards))})",
                    cards,
                )
                if rest:
                    db.execute(
                        "UPDATE deliveries SET kind = 'list', batch = ?"
                        f" WHERE id IN ({placeholders(len(rest))})",
                        [f"list-{rest[0]}", *rest],
                    )
                planned += len(ids)
        return planned

    def unplanned(self, chat: int) -> list[Delivery]:
        cursor = self._store.db.execute(
            "SELECT * FROM deliveries WHERE chat = ? AND state = 'pending' AND kind = ''", [chat]
        )
        return [_delivery(r) for r in rows(cursor)]

    def rescore(self, scores: Sequence[tuple[int, float]]) -> None:
        """Set the ordering score of still-unplanned rows (the chat's feedback moved them)."""
        with self._store.transaction() as db:
            db.conn.executemany(
                "UPDATE deliveries SET score = ? WHERE id = ? AND kind = ''",
                [(value, row_id) for row_id, value in scores],
            )

    def sent_since(self, chat: int, since: datetime) -> list[str]:
        """PMIDs delivered to the chat since `since`, most recent first."""
        cursor = self._store.db.execute(
            "SELECT pmid FROM deliveries WHERE chat = ? AND state = 'sent' AND sent_at >= ?"
            " ORDER BY sent_at DESC, id DESC",
            [chat, now_text(since)],
        )
        return [row[0] for row in cursor.fetchall()]

    def plan_digest(self, chat: int, batch: str) -> int:
        """Put everything the chat is owed and not yet planned into one digest batch, its
        waiting follow-ups included (one transaction). Returns papers and follow-ups planned."""
        with self._store.transaction() as db:
            papers = db.execute(
                "UPDATE deliveries SET kind = 'digest', batch = ? WHERE chat = ?"
                " AND state = 'pending' AND kind = ''",
                [batch, chat],
            ).rowcount
            return int(papers) + plan_into_digest(db, chat, batch)

    def due(self, now: datetime, *, chat: int | None = None) -> list[Delivery]:
        """Planned, pending rows of active, unpaused chats whose next attempt is due."""
        # Planned rows go out whatever the chat's mode is now: a switch of mode never strands
        # what was already planned. Unplanned rows of digest-mode chats wait for the digest.
        sql = (
            "SELECT d.* FROM deliveries d JOIN chats c ON c.id = d.chat"
            " WHERE d.state = 'pending' AND d.kind IN ('card', 'list', 'digest') AND c.active = 1"
            " AND c.paused = 0 AND d.next_attempt_at <= ? AND d.lease_until <= ?"
        )
        params: list[Any] = [now_text(now), now_text(now)]
        if chat is not None:
            sql += " AND d.chat = ?"
            params.append(chat)
        sql += " ORDER BY d.chat, d.kind, d.score DESC, d.pmid"
        return [_delivery(r) for r in rows(self._store.db.execute(sql, params))]

    def matched_queries(self, chat: int, pmid: str) -> list[MatchedQuery]:
        """The chat's subscriptions that matched this paper, best score first."""
        return self.matched_queries_many(chat, [pmid]).get(pmid, [])

    def matched_queries_many(
        self, chat: int, pmids: Iterable[str]
    ) -> dict[str, list[MatchedQuery]]:
        """For each of these PMIDs the chat's subscriptions matched, those subscriptions, best
        score first: one query for a whole delivery (per CHUNK PMIDs)."""
        wanted = list(dict.fromkeys(pmids))
        found: dict[str, list[MatchedQuery]] = {}
        for start in range(0, len(wanted), CHUNK):
            chunk = wanted[start : start + CHUNK]
            cursor = self._store.db.execute(
                "SELECT m.pmid, s.number, s.query, m.score, m.category, m.reasons FROM matches m"
                " JOIN subscriptions s ON s.id = m.subscription"
                f" WHERE s.chat = ? AND m.pmid IN ({placeholders(len(chunk))})"
                " ORDER BY m.pmid, m.score DESC, s.number",
                [chat, *chunk],
            )
            for row in rows(cursor):
                found.setdefault(row["pmid"], []).append(_matched(row))
        return found

    def claim(
        self,
        ids: Sequence[int],
        now: datetime,
        until: datetime,
        owner: str = "",
        *,
        followups: Sequence[int] = (),
    ) -> bool:
        """Lease rows (and a digest's follow-ups) for sending; False when another sender holds
        any of them (or sent them)."""
        now_at, until_at = now_text(now), now_text(until)
        with self._store.transaction() as db:
            claimed = 0
            for table, some in (("deliveries", ids), ("followups", followups)):
                if some:
                    claimed += db.execute(
                        f"UPDATE {table} SET lease_until = ?, lease_owner = ?"
                        f" WHERE id IN ({placeholders(len(some))})"
                        " AND state = 'pending' AND lease_until <= ?",
                        [until_at, owner, *some, now_at],
                    ).rowcount
            if claimed != len(ids) + len(followups):
                # Someone else has part of it: give back what we took and let them finish.
                for table, some in (("deliveries", ids), ("followups", followups)):
                    if some:
                        db.execute(
                            f"UPDATE {table} SET lease_until = ''"
                            f" WHERE id IN ({placeholders(len(some))}) AND lease_until = ?",
                            [*some, until_at],
                        )
                return False
        return True

    def lease_owners(self) -> list[str]:
        """Who holds leases right now (host:pid of each sender)."""
        cursor = self._store.db.execute(
            "SELECT DISTINCT lease_owner FROM deliveries WHERE state = 'pending'"
            " AND lease_until != '' AND lease_owner != ''"
        )
        return [row[0] for row in cursor.fetchall()]

    def release(self, owner: str) -> int:
        """Give back the leases of a sender that is gone (it died before confirming), those of
        the follow-ups it was sending in a digest too."""
        with self._store.transaction() as db:
            db.execute(
                "UPDATE followups SET lease_until = '', lease_owner = ''"
                " WHERE lease_owner = ? AND state = 'pending' AND batch != ''",
                [owner],
            )
            return int(
                db.execute(
                    "UPDATE deliveries SET lease_until = '', lease_owner = ''"
                    " WHERE lease_owner = ? AND state = 'pending'",
                    [owner],
                ).rowcount
            )

    def mark_sent(
        self, ids: Sequence[int], message_id: str, *, followups: Sequence[int] = ()
    ) -> None:
        with self._store.transaction() as db:
            db.execute(
                "UPDATE deliveries SET state = 'sent', message_id = ?, sent_at = ?, last_error = ''"
                f" WHERE id IN ({placeholders(len(ids))}) AND state = 'pending'",
                [message_id, now_text(), *ids],
            )
            units = _units_of(db, ids, followups)
            _followups_sent(db, followups, message_id)
            for chat, batch in units:
                _forget_finished(db, chat, batch)

    def progress(self, chat: int, batch: str) -> tuple[int, int]:
        """(messages, papers) of a list or digest that the platform already confirmed."""
        found = self._store.db.execute(
            "SELECT parts, papers FROM delivery_parts WHERE chat = ? AND batch = ?", [chat, batch]
        ).fetchone()
        return (int(found[0]), int(found[1])) if found else (0, 0)

    def confirm_part(
        self,
        chat: int,
        batch: str,
        ids: Sequence[int],
        message_id: str,
        *,
        followups: Sequence[int] = (),
    ) -> int:
        """One message of a list or digest was confirmed: its papers (and a digest's follow-ups)
        are sent, and the unit's progress counts it (forgotten once nothing of the unit is
        pending). Returns how many papers it marked."""
        with self._store.transaction() as db:
            _followups_sent(db, followups, message_id)
            marked = 0
            if ids:
                marked = db.execute(
                    "UPDATE deliveries SET state = 'sent', message_id = ?, sent_at = ?,"
                    f" last_error = '' WHERE id IN ({placeholders(len(ids))})"
                    " AND state = 'pending'",
                    [message_id, now_text(), *ids],
                ).rowcount
            db.execute(
                "INSERT INTO delivery_parts (chat, batch, parts, papers) VALUES (?, ?, 1, ?)"
                " ON CONFLICT (chat, batch) DO UPDATE SET parts = parts + 1,"
                " papers = papers + excluded.papers",
                [chat, batch, marked],
            )
            _forget_finished(db, chat, batch)
        return int(marked)

    def mark_attempt_failed(
        self,
        ids: Sequence[int],
        error: str,
        next_attempt_at: datetime,
        *,
        give_up: bool,
        followups: Sequence[int] = (),
    ) -> None:
        """Count a failed attempt; retry at `next_attempt_at`, or mark failed when giving up."""
        state: DeliveryState = "failed" if give_up else "pending"
        with self._store.transaction() as db:
            units = _units_of(db, ids, followups)
            for table, some in (("deliveries", ids), ("followups", followups)):
                if some:
                    db.execute(
                        f"UPDATE {table} SET attempts = attempts + 1, last_error = ?,"
                        " lease_until = '', next_attempt_at = ?, state = ?"
                        f" WHERE id IN ({placeholders(len(some))}) AND state = 'pending'",
                        [error[:500], now_text(next_attempt_at), state, *some],
                    )
            for chat, batch in units:
                _forget_finished(db, chat, batch)

    def postpone(
        self,
        ids: Sequence[int],
        reason: str,
        next_attempt_at: datetime,
        *,
        followups: Sequence[int] = (),
    ) -> None:
        """Try again at `next_attempt_at` without counting an attempt (a platform rate limit)."""
        with self._store.transaction() as db:
            for table, some in (("deliveries", ids), ("followups", followups)):
                if some:
                    db.execute(
                        f"UPDATE {table} SET last_error = ?, next_attempt_at = ?,"
                        f" lease_until = '' WHERE id IN ({placeholders(len(some))})"
                        " AND state = 'pending'",
                        [reason[:500], now_text(next_attempt_at), *some],
                    )

    def counts(self, chat: int | None = None) -> dict[DeliveryState, int]:
        sql = "SELECT state, COUNT(*) FROM deliveries"
        params: list[Any] = []
        if chat is not None:
            sql += " WHERE chat = ?"
            params.append(chat)
        found = dict(self._store.db.execute(sql + " GROUP BY state", params).fetchall())
        return {s: int(found.get(s, 0)) for s in DELIVERY_STATES}

    def pending_count(self) -> int:
        """Rows owed and not sent yet, every chat (an index lookup, cheap at any size)."""
        sql = "SELECT COUNT(*) FROM deliveries WHERE state = 'pending'"
        return int(self._store.db.execute(sql).fetchone()[0])

    def all_for_chat(self, chat: int) -> list[Delivery]:
        cursor = self._store.db.execute(
            "SELECT * FROM deliveries WHERE chat = ? ORDER BY id", [chat]
        )
        return [_delivery(r) for r in rows(cursor)]


def _forget_finished(db: Database, chat: int, batch: str) -> None:
    """A unit with nothing pending (papers or follow-ups) is done: its progress goes (a later
    digest of the same day reuses the batch name and starts afresh)."""
    db.execute(
        "DELETE FROM delivery_parts WHERE chat = ? AND batch = ? AND NOT EXISTS"
        " (SELECT 1 FROM deliveries WHERE chat = ? AND batch = ? AND state = 'pending')"
        " AND NOT EXISTS"
        " (SELECT 1 FROM followups WHERE chat = ? AND batch = ? AND state = 'pending')",
        [chat, batch, chat, batch, chat, batch],
    )


def _units_of(db: Database, ids: Sequence[int], followups: Sequence[int]) -> set[tuple[int, str]]:
    """The (chat, batch) units these deliveries and follow-ups belong to."""
    units: set[tuple[int, str]] = set()
    for table, some in (("deliveries", ids), ("followups", followups)):
        if some:
            units.update(
                db.execute(
                    f"SELECT DISTINCT chat, batch FROM {table}"
                    f" WHERE id IN ({placeholders(len(some))}) AND batch != ''",
                    list(some),
                ).fetchall()
            )
    return units


def _followups_sent(db: Database, followups: Sequence[int], message_id: str) -> None:
    """A digest's follow-ups went out in the message `message_id`."""
    if followups:
        db.execute(
            "UPDATE followups SET state = 'sent', message_id = ?, sent_at = ?, last_error = ''"
            f" WHERE id IN ({placeholders(len(followups))}) AND state = 'pending'",
            [message_id, now_text(), *followups],
        )


def _matched(row: dict[str, Any]) -> MatchedQuery:
    reasons = tuple(MatchReason(term, tuple(fields)) for term, fields in json.loads(row["reasons"]))
    return MatchedQuery(row["number"], row["query"], Score(row["score"], row["category"], reasons))


def _delivery(row: dict[str, Any]) -> Delivery:
    return Delivery(
        id=row["id"],
        chat=row["chat"],
        pmid=row["pmid"],
        state=row["state"],
        kind=row["kind"],
        batch=row["batch"],
        attempts=row["attempts"],
        score=row["score"],
        created_at=moment(row["created_at"]),
        poll_run=row["poll_run"],
    )
