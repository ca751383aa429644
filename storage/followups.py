"""Follow-ups: what PubMed says happened to stored papers, and the messages that owes chats.

A link (a paper's retraction notice, expression of concern, erratum, or its PMC copy) is learnt
once: `paper_links` holds every one already known, from the stored records and from notices.
When a link is learnt for the first time, in the same transaction, every active chat that
already received the paper (its card, list or digest went out) or saved it is owed one
follow-up (a PMC copy: the chats that saved it only). A chat whose card is still pending gets no
follow-up: its card is built later from the stored record, which carries the new link. A paper
that came in already retracted has its link learnt before any chat received it, so no chat is
ever told twice. The follow-ups form an outbox of their own (leases, attempts, retries), one
row per chat, paper and notice. A digest-mode chat's follow-ups other than retractions are
planned into its next digest (`batch`, `plan_into_digest`) and from then on are leased,
confirmed and retried with the digest's papers (storage/outbox.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from bot.models import (
    FOLLOWUP_LINKS,
    NOTICE_LINKS,
    Correction,
    Followup,
    FollowupCheck,
    Paper,
)
from storage.rows import moment, now_text, one, placeholders, rows

if TYPE_CHECKING:
    from sqlite_utils import Database

    from storage import Store

# (paper PMID, link type of FOLLOWUP_LINKS, the notice's PMID or the PMC id)
Link = tuple[str, str, str]


def links_of(paper: Paper) -> list[Link]:
    """The follow-up links a paper's own record carries, and the one its `UpdateOf` puts on the
    earlier version (PubMed links a published article to its preprint that way)."""
    found = [(paper.pmid, c.type, c.pmid) for c in paper.corrections if c.type in FOLLOWUP_LINKS]
    found += [(c.pmid, "UpdateIn", paper.pmid) for c in paper.links("UpdateOf")]
    if paper.pmcid:
        found.append((paper.pmid, "PMC", paper.pmcid))
    return [link for link in found if link[2]]


def learn(db: Database, links: Iterable[Link]) -> int:
    """Record links; for each one not known before, owe its follow-up to the chats that
    received or saved the paper. Call inside a transaction. Returns the follow-ups owed."""
    owed = 0
    learnt_at = now_text()
    for pmid, link_type, other in dict.fromkeys(links):
        new = db.execute(
            "INSERT OR IGNORE INTO paper_links (pmid, type, other, learnt_at) VALUES (?, ?, ?, ?)",
            [pmid, link_type, other, learnt_at],
        ).rowcount
        if not new:
            continue
        kind = FOLLOWUP_LINKS[link_type]
        # A free copy matters to those who kept the paper; the rest to whoever received it too.
        params = {"pmid": pmid, "other": other, "kind": kind, "at": learnt_at}
        if kind == "free":
            owed += db.execute(
                "INSERT OR IGNORE INTO followups (chat, pmid, notice, kind, state, created_at)"
                " SELECT c.id, :pmid, :other, :kind, 'pending', :at FROM chats c"
                " WHERE c.active = 1"
                " AND c.id IN (SELECT chat FROM feedback WHERE pmid = :pmid AND kind = 'save')",
                params,
            ).rowcount
        else:
            owed += db.execute(
                "INSERT OR IGNORE INTO followups (chat, pmid, notice, kind, state, created_at)"
                " SELECT c.id, :pmid, :other, :kind, 'pending', :at FROM chats c"
                " WHERE c.active = 1"
                " AND c.id IN (SELECT chat FROM deliveries WHERE pmid = :pmid AND state = 'sent'"
                " UNION SELECT chat FROM feedback WHERE pmid = :pmid AND kind = 'save')",
                params,
            ).rowcount
    return owed


class Followups:
    def __init__(self, store: Store) -> None:
        self._store = store

    # --- learning ----------------------------------------------------------------------------

    def learn_notices(self, notices: Iterable[Paper]) -> tuple[int, int]:
        """What notices say about the papers they concern: each link learnt (once), the
        concerned paper's stored record given the link (so a card not sent yet shows it), and
        the follow-ups owed. Returns (links new, follow-ups owed)."""
        links: list[tuple[Link, Correction]] = []
        for notice in notices:
            for link in notice.corrections:
                if link.type in NOTICE_LINKS and link.pmid:
                    back = NOTICE_LINKS[link.type]
                    correction = Correction(back, notice.pmid, _citation(notice))
                    links.append(((link.pmid, back, notice.pmid), correction))
        if not links:
            return 0, 0
        with self._store.transaction() as db:
            known = _known(db, [link for link, _ in links])
            fresh = [(link, c) for link, c in links if link not in known]
            _add_to_records(db, fresh)
            owed = learn(db, [link for link, _ in fresh])
        return len(fresh), owed

    def learn_papers(self, papers: Iterable[Paper]) -> int:
        """The links on papers just fetched again (the saved-paper re-check); follow-ups owed."""
        with self._store.transaction() as db:
            return learn(db, [link for paper in papers for link in links_of(paper)])

    # --- the outbox --------------------------------------------------------------------------

    def due(self, now: datetime, *, chat: int | None = None) -> list[Followup]:
        """Pending follow-ups of active, unpaused chats whose next attempt is due, each sent on
        its own. A digest-mode chat gets a retraction at once and the others inside its next
        digest (`plan_into_digest`, `in_digests`). `released` rows were let out by an older
        version to go on their own after a digest: they still do."""
        sql = (
            "SELECT f.* FROM followups f JOIN chats c ON c.id = f.chat"
            " WHERE f.state = 'pending' AND c.active = 1 AND c.paused = 0 AND f.batch = ''"
            " AND f.next_attempt_at <= :now AND f.lease_until <= :now"
            " AND (f.kind = 'retracted' OR c.mode = 'instant' OR f.released = 1)"
        )
        params: dict[str, Any] = {"now": now_text(now)}
        if chat is not None:
            sql += " AND f.chat = :chat"
            params["chat"] = chat
        found = rows(self._store.db.execute(sql + " ORDER BY f.chat, f.id", params))
        return [self._detailed(row) for row in found]

    def in_digests(self, now: datetime) -> list[Followup]:
        """Pending follow-ups planned into a digest (`batch`), of active, unpaused chats, due
        now: they go out inside that digest's messages (bot/delivery.py)."""
        found = rows(
            self._store.db.execute(
                "SELECT f.* FROM followups f JOIN chats c ON c.id = f.chat"
                " WHERE f.state = 'pending' AND f.batch != '' AND c.active = 1 AND c.paused = 0"
                " AND f.next_attempt_at <= :now AND f.lease_until <= :now ORDER BY f.chat, f.id",
                {"now": now_text(now)},
            )
        )
        return [self._detailed(row) for row in found]

    def cancel_all(self, reason: str) -> int:
        """FOLLOWUPS=off: nothing owed piles up to arrive when it is turned on again."""
        with self._store.transaction() as db:
            return int(
                db.execute(
                    "UPDATE followups SET state = 'cancelled', last_error = ?"
                    " WHERE state = 'pending'",
                    [reason],
                ).rowcount
            )

    def claim(self, row: int, now: datetime, until: datetime, owner: str) -> bool:
        with self._store.transaction() as db:
            return bool(
                db.execute(
                    "UPDATE followups SET lease_until = ?, lease_owner = ? WHERE id = ?"
                    " AND state = 'pending' AND lease_until <= ?",
                    [now_text(until), owner, row, now_text(now)],
                ).rowcount
            )

    def mark_sent(self, row: int, message_id: str) -> None:
        with self._store.transaction() as db:
            db.execute(
                "UPDATE followups SET state = 'sent', message_id = ?, sent_at = ?,"
                " last_error = '' WHERE id = ? AND state = 'pending'",
                [message_id, now_text(), row],
            )

    def retry_later(
        self, row: int, error: str, at: datetime, *, attempt: bool, give_up: bool = False
    ) -> None:
        """Try again at `at`; `attempt`: count it (a rate limit does not); or give up."""
        with self._store.transaction() as db:
            db.execute(
                "UPDATE followups SET attempts = attempts + ?, last_error = ?, lease_until = '',"
                " next_attempt_at = ?, state = ? WHERE id = ? AND state = 'pending'",
                [int(attempt), error[:500], now_text(at), "failed" if give_up else "pending", row],
            )

    def release_leases(self, owner: str) -> int:
        with self._store.transaction() as db:
            return int(
                db.execute(
                    "UPDATE followups SET lease_until = '', lease_owner = ''"
                    " WHERE lease_owner = ? AND state = 'pending'",
                    [owner],
                ).rowcount
            )

    def lease_owners(self) -> list[str]:
        cursor = self._store.db.execute(
            "SELECT DISTINCT lease_owner FROM followups WHERE state = 'pending'"
            " AND lease_until != '' AND lease_owner != ''"
        )
        return [row[0] for row in cursor.fetchall()]

    def attempts(self, ids: Sequence[int]) -> int:
        """The most failed attempts of these follow-ups (0 for none)."""
        if not ids:
            return 0
        found = self._store.db.execute(
            "SELECT COALESCE(MAX(attempts), 0) FROM followups"
            f" WHERE id IN ({placeholders(len(ids))})",
            list(ids),
        ).fetchone()
        return int(found[0])

    def for_chat(self, chat: int) -> list[Followup]:
        cursor = self._store.db.execute(
            "SELECT * FROM followups WHERE chat = ? ORDER BY id", [chat]
        )
        return [self._detailed(row) for row in rows(cursor)]

    def last_id(self) -> int:
        """The newest follow-up's id (0 when none): what a poll owed is what comes after."""
        return int(
            self._store.db.execute("SELECT COALESCE(MAX(id), 0) FROM followups").fetchone()[0]
        )

    def owed_since(self, last_id: int) -> int:
        """Follow-ups owed after `last_id`."""
        found = self._store.db.execute("SELECT COUNT(*) FROM followups WHERE id > ?", [last_id])
        return int(found.fetchone()[0])

    def counts(self) -> dict[str, int]:
        found = self._store.db.execute("SELECT state, COUNT(*) FROM followups GROUP BY state")
        return {state: int(count) for state, count in found.fetchall()}

    def chat_counts(self, chat: int) -> dict[str, int]:
        """The chat's follow-ups by state."""
        found = self._store.db.execute(
            "SELECT state, COUNT(*) FROM followups WHERE chat = ? GROUP BY state", [chat]
        )
        return {state: int(count) for state, count in found.fetchall()}

    def _detailed(self, row: dict[str, Any]) -> Followup:
        """The row with what its message says: where and when the chat got the paper."""
        db = self._store.db
        got = db.execute(
            "SELECT message_id, sent_at FROM deliveries WHERE chat = ? AND pmid = ?"
            " AND state = 'sent'",
            [row["chat"], row["pmid"]],
        ).fetchone()
        saved = db.execute(
            "SELECT MIN(created_at) FROM feedback WHERE chat = ? AND pmid = ? AND kind = 'save'",
            [row["chat"], row["pmid"]],
        ).fetchone()[0]
        subs = db.execute(
            "SELECT s.number, s.query FROM matches m JOIN subscriptions s ON s.id = m.subscription"
            " WHERE s.chat = ? AND m.pmid = ? ORDER BY m.score DESC, s.number",
            [row["chat"], row["pmid"]],
        ).fetchall()
        return Followup(
            id=row["id"],
            chat=row["chat"],
            pmid=row["pmid"],
            notice=row["notice"],
            kind=row["kind"],
            state=row["state"],
            attempts=row["attempts"],
            reply_to=got[0] if got else "",
            received_at=moment(got[1]) if got else None,
            saved_at=moment(saved),
            subscriptions=tuple((int(n), str(q)) for n, q in subs),
            batch=row["batch"],
        )

    # --- the checks --------------------------------------------------------------------------

    def check(self, name: str) -> FollowupCheck | None:
        found = one(self._store.db.execute("SELECT * FROM followup_checks WHERE name = ?", [name]))
        if found is None:
            return None
        return FollowupCheck(
            name=found["name"],
            cursor=date.fromisoformat(found["cursor"]) if found["cursor"] else None,
            probe=found["probe"],
            checked_at=moment(found["checked_at"]),
            requests=found["requests"],
            found=found["found"],
            followups=found["followups"],
            error=found["error"],
        )

    def checked(self, result: FollowupCheck) -> None:
        """Record what a check did (a failed one keeps the cursor it had)."""
        with self._store.transaction() as db:
            db.execute(
                "INSERT INTO followup_checks (name, cursor, probe, checked_at, requests, found,"
                " followups, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE"
                " SET cursor = excluded.cursor, probe = excluded.probe,"
                " checked_at = excluded.checked_at, requests = excluded.requests,"
                " found = excluded.found, followups = excluded.followups, error = excluded.error",
                [
                    result.name,
                    result.cursor.isoformat() if result.cursor else "",
                    result.probe,
                    now_text(result.checked_at),
                    result.requests,
                    result.found,
                    result.followups,
                    result.error,
                ],
            )

    def watched(self) -> bool:
        """Whether any chat received or saved a paper: else there is nothing to follow up."""
        found = self._store.db.execute(
            "SELECT EXISTS (SELECT 1 FROM deliveries WHERE state = 'sent')"
            " OR EXISTS (SELECT 1 FROM feedback WHERE kind = 'save')"
        ).fetchone()
        return bool(found[0])

    def saved_pmids(self) -> list[str]:
        """Every PMID some active chat saved, each once, in PMID order."""
        cursor = self._store.db.execute(
            "SELECT DISTINCT f.pmid FROM feedback f JOIN chats c ON c.id = f.chat"
            " WHERE f.kind = 'save' AND c.active = 1 ORDER BY f.pmid"
        )
        return [row[0] for row in cursor.fetchall()]


def plan_into_digest(db: Database, chat: int, batch: str) -> int:
    """The chat's waiting follow-ups (all but retractions, which go at once) join the digest
    `batch`. Call inside the transaction that plans the digest's papers. Returns how many."""
    return int(
        db.execute(
            "UPDATE followups SET batch = ? WHERE chat = ? AND state = 'pending' AND batch = ''"
            " AND released = 0 AND kind != 'retracted'",
            [batch, chat],
        ).rowcount
    )


def _citation(notice: Paper) -> str:
    """How PubMed cites a notice in a CommentsCorrections link, near enough: journal, date."""
    parts = [notice.journal_abbrev or notice.journal, notice.pub_date_text or notice.pub_date]
    return ". ".join(p for p in parts if p)


def _known(db: Database, links: Sequence[Link]) -> set[Link]:
    found: set[Link] = set()
    for pmid, link_type, other in links:
        row = db.execute(
            "SELECT 1 FROM paper_links WHERE pmid = ? AND type = ? AND other = ?",
            [pmid, link_type, other],
        ).fetchone()
        if row:
            found.add((pmid, link_type, other))
    return found


def _add_to_records(db: Database, fresh: Sequence[tuple[Link, Correction]]) -> None:
    """Give each concerned paper, when stored, the link its notice puts on it (PubMed adds it
    to the paper's record too, but a stored copy is not fetched again)."""
    for (pmid, _, _), correction in fresh:
        found = db.execute("SELECT record FROM papers WHERE pmid = ?", [pmid]).fetchone()
        if found is None:
            continue
        record = json.loads(found[0])
        paper = Paper.from_record(record)
        if any(c.type == correction.type and c.pmid == correction.pmid for c in paper.corrections):
            continue
        updated = replace(paper, corrections=(*paper.corrections, correction))
        db.execute(
            "UPDATE papers SET record = ? WHERE pmid = ?",
            [json.dumps(updated.to_record(), ensure_ascii=False), pmid],
        )
