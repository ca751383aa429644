"""The weekly re-check of saved papers: PubMed's current record of every paper a chat saved.

A saved paper is one a reader meant to come back to, so it is worth asking PubMed about it
again even when no notice of ours mentioned it: its record may have gained a `RetractionIn`,
`ErratumIn` or `ExpressionOfConcernIn` link, or a PMC id (free full text). Once a week the
saved papers are fetched again, 200 a request (10,000 saved papers: 50 requests a week), and
stored; storing learns the new links and owes the follow-ups (storage/followups.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot.errors import PubMedError
from bot.models import FollowupCheck
from bot.pubmed.client import EFETCH_BATCH, EutilsClient
from storage import Store

log = logging.getLogger(__name__)

CHECK = "saved"
EVERY = timedelta(days=7)


def due(store: Store, now: datetime) -> bool:
    """Whether a week has passed since the last re-check that went through (or none ran)."""
    last = store.followups.check(CHECK)
    return (
        last is None
        or last.checked_at is None
        or bool(last.error)
        or (now - last.checked_at >= EVERY)
    )


def recheck_saved(
    store: Store,
    client: EutilsClient,
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> FollowupCheck:
    """Fetch every saved paper again, batch by batch; what it found and owed. A batch PubMed
    failed to send is tried again at the next re-check (the check is recorded as failed)."""
    before = client.requests_made
    pmids = store.followups.saved_pmids()
    owed, checked, error = 0, 0, ""
    for start in range(0, len(pmids), EFETCH_BATCH):
        batch = pmids[start : start + EFETCH_BATCH]
        try:
            papers = client.efetch(batch)
        except PubMedError as exc:
            error = f"the saved-paper re-check failed: {exc}"
            log.warning("%s (tried again at the next poll)", error)
            continue
        # Counted here; storing them then learns nothing new, and keeps the fresh records.
        owed += store.followups.learn_papers(papers)
        store.papers.save(papers)
        checked += len(papers)
    result = FollowupCheck(
        name=CHECK,
        checked_at=now(),
        requests=client.requests_made - before,
        found=checked,
        followups=owed,
        error=error,
    )
    store.followups.checked(result)
    return result
