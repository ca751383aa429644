"""Retention: papers nobody needs any more are removed; the delivery history stays.

A paper goes when it was stored more than `days` ago, no poll matched it and no chat was sent
it in those days, no chat saved or rated it (ratings feed the chat's taste), and no delivery of
it is pending, nor a follow-up about it (its title is in the message). Its matches and
language-model summaries go with it.

Its `deliveries` rows stay: their unique (chat, PMID) is what keeps a paper PubMed shows again
from going to a chat a second time. A pruned paper that a poll finds again is simply fetched and
stored again, and goes only to the chats that never had it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from storage.rows import now_text, placeholders

if TYPE_CHECKING:
    from storage import Store

# Papers removed per transaction: each is short, so polls and commands never wait long for the
# write lock while a big first prune runs.
BATCH = 500


class Retention:
    def __init__(self, store: Store) -> None:
        self._store = store

    def prune(self, days: int, *, now: datetime | None = None) -> int:
        """Remove the papers no one has needed for `days` days; returns how many went."""
        cutoff = now_text((now or datetime.now(UTC)) - timedelta(days=days))
        removed = 0
        after = ("", "")
        while True:
            with self._store.transaction() as db:
                params = {
                    "cutoff": cutoff,
                    "after_at": after[0],
                    "after_pmid": after[1],
                    "limit": BATCH,
                }
                # The old papers in (stored, PMID) order from where the last batch ended, on
                # the papers_fetched index: papers kept for a reason are looked at once a
                # prune, and fresh papers (most of the file) are never read.
                found = db.execute(
                    "SELECT p.fetched_at, p.pmid FROM papers p"
                    " WHERE p.fetched_at < :cutoff"
                    " AND (p.fetched_at, p.pmid) > (:after_at, :after_pmid)"
                    " AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.pmid = p.pmid"
                    "   AND (d.state = 'pending' OR d.created_at >= :cutoff"
                    "   OR d.sent_at >= :cutoff))"
                    " AND NOT EXISTS (SELECT 1 FROM matches m WHERE m.pmid = p.pmid"
                    "   AND m.matched_at >= :cutoff)"
                    " AND p.pmid NOT IN (SELECT pmid FROM feedback)"
                    " AND NOT EXISTS (SELECT 1 FROM followups f WHERE f.pmid = p.pmid"
                    "   AND f.state = 'pending')"
                    " ORDER BY p.fetched_at, p.pmid LIMIT :limit",
                    params,
                ).fetchall()
                if not found:
                    return removed
                pmids = [pmid for _, pmid in found]
                marks = placeholders(len(pmids))
                db.execute(f"DELETE FROM matches WHERE pmid IN ({marks})", pmids)
                db.execute(f"DELETE FROM summaries WHERE pmid IN ({marks})", pmids)
                db.execute(f"DELETE FROM papers WHERE pmid IN ({marks})", pmids)
            removed += len(pmids)
            after = found[-1]
