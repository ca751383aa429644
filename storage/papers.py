"""Papers, kept once by PMID with their whole record."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING

from bot.models import Paper
from storage.followups import learn, links_of
from storage.rows import CHUNK, now_text, placeholders

if TYPE_CHECKING:
    from storage import Store


class Papers:
    def __init__(self, store: Store) -> None:
        self._store = store

    def known(self, pmids: Iterable[str]) -> set[str]:
        """Which of these PMIDs are already stored."""
        wanted = list(dict.fromkeys(pmids))
        found: set[str] = set()
        for start in range(0, len(wanted), CHUNK):
            chunk = wanted[start : start + CHUNK]
            cursor = self._store.db.execute(
                f"SELECT pmid FROM papers WHERE pmid IN ({placeholders(len(chunk))})",
                chunk,
            )
            found.update(row[0] for row in cursor.fetchall())
        return found

    def save(self, papers: Iterable[Paper]) -> int:
        """Store papers (a PMID is kept once); returns how many were new.

        A PMID already stored gets the record just fetched: PubMed changed it (MeSH headings
        added, a corrected title or abstract), which is why it was fetched again. Its links to a
        retraction, erratum or PMC copy are learnt (storage/followups.py): a link new to a
        paper some chat already received owes that chat a follow-up.
        """
        fetched_at = now_text()
        added = 0
        with self._store.transaction() as db:
            for paper in papers:
                values = [
                    json.dumps(paper.to_record(), ensure_ascii=False),
                    paper.entrez_date,
                    fetched_at,
                    paper.pmid,
                ]
                cursor = db.execute(
                    "INSERT OR IGNORE INTO papers (record, entrez_date, fetched_at, pmid)"
                    " VALUES (?, ?, ?, ?)",
                    values,
                )
                if cursor.rowcount:
                    added += 1
                else:
                    db.execute(
                        "UPDATE papers SET record = ?, entrez_date = ?, fetched_at = ?"
                        " WHERE pmid = ?",
                        values,
                    )
                learn(db, links_of(paper))
        return added

    def get_many(self, pmids: Iterable[str]) -> dict[str, Paper]:
        wanted = list(dict.fromkeys(pmids))
        found: dict[str, Paper] = {}
        for start in range(0, len(wanted), CHUNK):
            chunk = wanted[start : start + CHUNK]
            cursor = self._store.db.execute(
                f"SELECT pmid, record FROM papers WHERE pmid IN ({placeholders(len(chunk))})",
                chunk,
            )
            for pmid, record in cursor.fetchall():
                found[pmid] = Paper.from_record(json.loads(record))
        return found

    def get(self, pmid: str) -> Paper | None:
        return self.get_many([pmid]).get(pmid)

    def count(self) -> int:
        return int(self._store.db.execute("SELECT COUNT(*) FROM papers").fetchone()[0])
