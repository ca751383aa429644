"""Poll runs: what each poll did, committed query by query, and read back for `status`; and
each query's cursor, which only this module reads and writes (it moves with the matches)."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from bot.models import PollResult, PollRun, QueryState, Score, Subscription
from storage.rows import moment, now_text, one, placeholders, rows, stamp

if TYPE_CHECKING:
    from storage import Store


@dataclass(frozen=True, slots=True)
class QueryOutcome:
    """What committing one query's results created."""

    new_matches: int
    new_deliveries: int
    # Papers the commit needed that were gone (pruned while the poll ran): nothing was written.
    vanished: int = 0


class Polls:
    def __init__(self, store: Store) -> None:
        self._store = store

    def start(self, started_at: datetime | None = None) -> int:
        with self._store.transaction() as db:
            cursor = db.execute(
                "INSERT INTO poll_runs (started_at) VALUES (?)", [now_text(started_at)]
            )
        return int(cursor.lastrowid or 0)

    def unchanged_since(self, run: int, probe: str) -> int | None:
        """The first of the polls just before `run` that all got PubMed's answer `probe` to
        "what was entered or modified lately?", or None when the poll before got another answer
        (or none: its question failed, or it never finished)."""
        if not probe:
            return None
        other = self._store.db.execute(
            "SELECT COALESCE(MAX(id), 0) FROM poll_runs WHERE id < ? AND probe != ?", [run, probe]
        ).fetchone()[0]
        first = self._store.db.execute(
            "SELECT MIN(id) FROM poll_runs WHERE id > ? AND id < ? AND probe = ?",
            [other, run, probe],
        ).fetchone()[0]
        return int(first) if first is not None else None

    def last_full_at(self, run: int) -> datetime | None:
        """When the last poll before `run` that searched every query started (None if none)."""
        found = self._store.db.execute(
            "SELECT MAX(started_at) FROM poll_runs WHERE id < ? AND full = 1 AND finished_at != ''",
            [run],
        ).fetchone()[0]
        return moment(found)

    def mark_skipped(self, run: int, queries: Collection[str]) -> None:
        """These queries were not searched in `run`: nothing had changed in PubMed since their
        last search. Their cursors stay; `status` says so."""
        wanted = list(queries)
        with self._store.transaction() as db:
            for start in range(0, len(wanted), 900):
                chunk = wanted[start : start + 900]
                db.execute(
                    f"UPDATE query_state SET skipped_run = ? WHERE normalized IN"
                    f" ({placeholders(len(chunk))})",
                    [run, *chunk],
                )

    def coverage(self, subscription_ids: Sequence[int]) -> dict[int, str]:
        """The earliest window each subscription was searched over (its first look back), as
        'YYYY/MM/DD-YYYY/MM/DD'; subscriptions never searched are left out."""
        found: dict[int, str] = {}
        ids = list(subscription_ids)
        for start in range(0, len(ids), 900):
            chunk = ids[start : start + 900]
            cursor = self._store.db.execute(
                "SELECT subscription, MIN(window) FROM poll_results"
                f" WHERE subscription IN ({placeholders(len(chunk))}) GROUP BY subscription",
                chunk,
            )
            found.update((int(row[0]), str(row[1])) for row in cursor)
        return found

    def run(self, run: int) -> PollRun | None:
        row = one(self._store.db.execute("SELECT * FROM poll_runs WHERE id = ?", [run]))
        return _poll_run(row) if row else None

    def latest(self) -> PollRun | None:
        """The newest poll run, finished or not; None before the first poll."""
        row = one(self._store.db.execute("SELECT * FROM poll_runs ORDER BY id DESC LIMIT 1"))
        return _poll_run(row) if row else None

    # --- query cursors -------------------------------------------------------------------------

    def query_state(self, normalized: str) -> QueryState | None:
        row = one(
            self._store.db.execute("SELECT * FROM query_state WHERE normalized = ?", [normalized])
        )
        return _query_state(row) if row else None

    def query_states(self) -> list[QueryState]:
        cursor = self._store.db.execute("SELECT * FROM query_state ORDER BY normalized")
        return [_query_state(row) for row in rows(cursor)]

    def mark_idle_queries(self, polled: Iterable[str]) -> None:
        """Queries nobody polls any more are idle: when they come back, they do not reach back
        across the whole idle time (a resumed subscription is not flooded with old papers)."""
        active = list(polled)
        with self._store.transaction() as db:
            if active:
                db.execute(
                    "UPDATE query_state SET idle = 1 WHERE idle = 0 AND normalized NOT IN"
                    f" ({placeholders(len(active))})",
                    active,
                )
            else:
                db.execute("UPDATE query_state SET idle = 1 WHERE idle = 0")

    def first_look_backs(self) -> dict[int, str]:
        """Active subscriptions no poll has yet searched for without an error, each with the
        window its first failed poll tried ('' if none was tried).

        Each is owed its first look back of BACKFILL_DAYS, even on a query other chats already
        follow; and polls that fail must not shrink that look back day by day.
        """
        cursor = self._store.db.execute(
            "SELECT s.id, COALESCE(MIN(r.window), '') FROM subscriptions s"
            " LEFT JOIN poll_results r ON r.subscription = s.id"
            " WHERE s.status = 'active' AND NOT EXISTS"
            " (SELECT 1 FROM poll_results ok WHERE ok.subscription = s.id AND ok.error = '')"
            " GROUP BY s.id"
        )
        return {row[0]: row[1] for row in cursor}

    def finish(self, run: int, **figures: int | str) -> None:
        allowed = {
            "queries",
            "failed_queries",
            "requests",
            "new_papers",
            "matches",
            "deliveries",
            "probe",
            "full",
            "skipped",
        }
        names = [n for n in figures if n in allowed]
        assignments = "".join(f", {n} = ?" for n in names)
        with self._store.transaction() as db:
            db.execute(
                f"UPDATE poll_runs SET finished_at = ?{assignments} WHERE id = ?",
                [now_text(), *(figures[n] for n in names), run],
            )

    def commit_query(
        self,
        run: int,
        normalized: str,
        cursor: date,
        window: str,
        found: int,
        subscriptions: Sequence[Subscription],
        matches: Iterable[tuple[Subscription, str, Score]],
        required: Collection[str] = (),
    ) -> QueryOutcome:
        """Store one query's matches and owed deliveries, and advance its cursor: all at once.

        One transaction: if anything fails, neither the matches nor the cursor move, and the
        next poll searches the same window again. The same happens when a paper of `required`
        (those the matches were scored on) is no longer stored: the daily prune removed it
        meanwhile, and the next poll fetches it again instead of losing it.
        """
        now = now_text()
        ids = [sub.id for sub in subscriptions]
        marks = placeholders(len(ids))
        # One Score is shared by every subscription of a query: encode it once. The entry holds
        # the Score, so its id cannot be reused while the cache lives.
        reasons: dict[int, tuple[Score, str]] = {}

        def reasons_json(score: Score) -> str:
            key = id(score)
            if key not in reasons:
                encoded = json.dumps([[r.term, list(r.fields)] for r in score.reasons])
                reasons[key] = (score, encoded)
            return reasons[key][1]

        rows = [
            (sub.id, pmid, score.value, score.category, reasons_json(score), run, now)
            for sub, pmid, score in matches
        ]
        # Set-based SQL: a first poll can match hundreds of thousands of (subscription, paper)
        # pairs, and one statement per pair made committing slower than searching.
        new_here = f"m.poll_run = ? AND m.subscription IN ({marks})"
        with self._store.transaction() as db:
            wanted = list(dict.fromkeys(required))
            stored = sum(
                db.execute(
                    f"SELECT COUNT(*) FROM papers WHERE pmid IN ({placeholders(len(chunk))})",
                    chunk,
                ).fetchone()[0]
                for chunk in (wanted[i : i + 900] for i in range(0, len(wanted), 900))
            )
            if stored < len(wanted):
                return QueryOutcome(0, 0, vanished=len(wanted) - stored)
            db.conn.executemany(
                "INSERT OR IGNORE INTO matches (subscription, pmid, score, category, reasons,"
                " poll_run, matched_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            # One delivery per chat and PMID, however many of the chat's subscriptions matched.
            owed = db.execute(
                "INSERT OR IGNORE INTO deliveries (chat, pmid, state, score, poll_run, created_at)"
                " SELECT s.chat, m.pmid, 'pending', MAX(m.score), ?, ? FROM matches m"
                f" JOIN subscriptions s ON s.id = m.subscription WHERE {new_here}"
                " GROUP BY s.chat, m.pmid",
                [run, now, run, *ids],
            ).rowcount
            # Already owed through another subscription and not yet planned: keep the best score.
            # CROSS JOIN fixes the order (SQLite's rule): driven from this commit's new matches
            # through the (chat, pmid) index, its cost follows the matches; left to the planner
            # it scanned every pending delivery instead (6 s on a first poll's outbox).
            db.execute(
                "UPDATE deliveries SET score = (SELECT MAX(m2.score) FROM matches m2"
                " JOIN subscriptions s2 ON s2.id = m2.subscription"
                " WHERE s2.chat = deliveries.chat AND m2.pmid = deliveries.pmid)"
                " WHERE id IN (SELECT d.id FROM matches m"
                " CROSS JOIN subscriptions s CROSS JOIN deliveries d"
                f" WHERE {new_here} AND s.id = m.subscription AND d.chat = s.chat"
                " AND d.pmid = m.pmid AND d.state = 'pending' AND d.kind = ''"
                " AND d.score < m.score)",
                [run, *ids],
            )
            new_matches = dict(
                db.execute(
                    f"SELECT m.subscription, COUNT(*) FROM matches m WHERE {new_here}"
                    " GROUP BY m.subscription",
                    [run, *ids],
                ).fetchall()
            )
            new_deliveries = dict(
                db.execute(
                    "SELECT m.subscription, COUNT(*) FROM matches m"
                    " JOIN subscriptions s ON s.id = m.subscription"
                    " JOIN deliveries d ON d.chat = s.chat AND d.pmid = m.pmid AND d.poll_run = ?"
                    f" WHERE {new_here} GROUP BY m.subscription",
                    [run, run, *ids],
                ).fetchall()
            )
            for sub in subscriptions:
                if new_matches.get(sub.id):
                    db.execute(
                        "UPDATE subscriptions SET last_paper_at = ? WHERE id = ?", [now, sub.id]
                    )
                db.execute(
                    "INSERT OR REPLACE INTO poll_results (poll_run, subscription, window, found,"
                    " new_matches, new_deliveries) VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        run,
                        sub.id,
                        window,
                        found,
                        new_matches.get(sub.id, 0),
                        new_deliveries.get(sub.id, 0),
                    ],
                )
            db.execute(
                "INSERT INTO query_state (normalized, cursor, idle, last_success_at, last_error,"
                " success_run) VALUES (?, ?, 0, ?, '', ?) ON CONFLICT (normalized) DO UPDATE SET"
                " cursor = excluded.cursor, idle = 0, last_success_at = excluded.last_success_at,"
                " last_error = '', success_run = excluded.success_run",
                [normalized, cursor.isoformat(), now, run],
            )
        return QueryOutcome(sum(new_matches.values()), owed)

    def matched(
        self, subscription_ids: Sequence[int], pmids: Iterable[str]
    ) -> set[tuple[int, str]]:
        """Which (subscription, PMID) pairs are already matched: the overlap of the window."""
        wanted = list(dict.fromkeys(pmids))
        if not subscription_ids or not wanted:
            return set()
        found: set[tuple[int, str]] = set()
        for start in range(0, len(wanted), 800):
            chunk = wanted[start : start + 800]
            cursor = self._store.db.execute(
                "SELECT subscription, pmid FROM matches"
                f" WHERE subscription IN ({placeholders(len(subscription_ids))})"
                f" AND pmid IN ({placeholders(len(chunk))})",
                [*subscription_ids, *chunk],
            )
            found.update((row[0], row[1]) for row in cursor.fetchall())
        return found

    def record_failure(
        self,
        run: int,
        normalized: str,
        window: str,
        subscriptions: Sequence[Subscription],
        error: str,
    ) -> None:
        """A query that failed this poll: say so for `status`; its cursor stays where it was."""
        now = now_text()
        with self._store.transaction() as db:
            for sub in subscriptions:
                db.execute(
                    "INSERT OR REPLACE INTO poll_results (poll_run, subscription, window, error)"
                    " VALUES (?, ?, ?, ?)",
                    [run, sub.id, window, error],
                )
            db.execute(
                "INSERT INTO query_state (normalized, last_error, last_error_at) VALUES (?, ?, ?)"
                " ON CONFLICT (normalized) DO UPDATE SET last_error = excluded.last_error,"
                " last_error_at = excluded.last_error_at",
                [normalized, error, now],
            )

    def latest_results(self, subscription_ids: Sequence[int]) -> dict[int, PollResult]:
        """The most recent poll result of each subscription, with its run's time and sends."""
        if not subscription_ids:
            return {}
        cursor = self._store.db.execute(
            "SELECT r.*, p.started_at, p.finished_at, s.chat,"
            " (SELECT COUNT(*) FROM deliveries d JOIN matches m ON m.pmid = d.pmid"
            "   AND m.subscription = r.subscription"
            "   WHERE d.chat = s.chat AND d.poll_run = r.poll_run AND d.state = 'sent') AS sent"
            " FROM poll_results r JOIN poll_runs p ON p.id = r.poll_run"
            " JOIN subscriptions s ON s.id = r.subscription"
            f" WHERE r.subscription IN ({placeholders(len(subscription_ids))})"
            " AND r.poll_run = (SELECT MAX(poll_run) FROM poll_results"
            "   WHERE subscription = r.subscription)",
            list(subscription_ids),
        )
        return {row["subscription"]: _poll_result(row) for row in rows(cursor)}


def _query_state(row: dict[str, Any]) -> QueryState:
    return QueryState(
        normalized=row["normalized"],
        cursor=date.fromisoformat(row["cursor"]) if row["cursor"] else None,
        idle=bool(row["idle"]),
        last_success_at=moment(row["last_success_at"]),
        last_error=row["last_error"],
        last_error_at=moment(row["last_error_at"]),
        success_run=row["success_run"],
        skipped_run=row["skipped_run"],
    )


def _poll_run(row: dict[str, Any]) -> PollRun:
    return PollRun(
        id=row["id"],
        started_at=stamp(row["started_at"]),
        finished_at=moment(row["finished_at"]),
        queries=row["queries"],
        failed_queries=row["failed_queries"],
        requests=row["requests"],
        new_papers=row["new_papers"],
        matches=row["matches"],
        deliveries=row["deliveries"],
        probe=row["probe"],
        full=bool(row["full"]),
        skipped=row["skipped"],
    )


def _poll_result(row: dict[str, Any]) -> PollResult:
    return PollResult(
        poll_run=row["poll_run"],
        subscription=row["subscription"],
        chat=row["chat"],
        window=row["window"],
        started_at=stamp(row["started_at"]),
        finished_at=moment(row["finished_at"]),
        found=row["found"],
        new_matches=row["new_matches"],
        new_deliveries=row["new_deliveries"],
        sent=row["sent"],
        error=row["error"],
    )
