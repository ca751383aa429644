"""The notice watch of a poll: PubMed's new retraction notices, errata and expressions of
concern, matched against the papers chats received or saved.

PubMed publishes each notice as a record of its own whose `CommentsCorrections` link names the
article it concerns (`RetractionOf`, `ErratumFor`, `ExpressionOfConcernFor`). So a poll asks
one esearch for the notices entered in its window, fetches the new ones in the poll's own
efetch batches, and the links are matched in SQL (storage/followups.py) against the papers
chats received or saved. The requests this costs depend on how many notices PubMed published,
never on how many chats, subscriptions or delivered papers there are.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from bot.errors import PubMedError
from bot.models import FollowupCheck
from bot.pubmed.client import EutilsClient
from storage import Store

log = logging.getLogger(__name__)

# The publication types of notices about another article.
NOTICE_QUERY = (
    '"retraction of publication"[pt] OR "published erratum"[pt] OR "expression of concern"[pt]'
)
CHECK = "notices"


@dataclass
class NoticeWatch:
    """One poll's look for new notices: found, then (after the poll's efetches) learnt."""

    window: tuple[date, date] | None = None  # None: not searched this poll
    pmids: tuple[str, ...] = ()
    missing: list[str] = field(default_factory=list)  # not stored yet: the poll fetches them
    error: str = ""
    requests: int = 0
    notices: int = 0
    followups: int = 0


def search(
    store: Store,
    client: EutilsClient,
    *,
    today: date,
    backfill_days: int,
    probe: str,
    unchanged: bool = False,
) -> NoticeWatch:
    """Search the notices entered since the last look (one esearch), unless PubMed said
    nothing changed since then. Nothing is searched while no chat received or saved a paper.

    `unchanged`: the poll before this one got the same answer `probe` to "what was entered or
    modified lately?", so no notice entered since it, and every paper a chat received was
    fetched as PubMed had it then (a first look waits for PubMed to change).
    """
    watch = NoticeWatch()
    if not store.followups.watched():
        return watch
    last = store.followups.check(CHECK)
    if probe and (last is None or not last.error):
        if last is not None and last.cursor == today and last.probe == probe:
            return watch  # the same answer as at the last look: no notice entered since
        if unchanged and (last is None or last.cursor == today):
            return watch
    start = today - timedelta(days=backfill_days)
    if last is not None and last.cursor is not None and not last.error:
        start = last.cursor - timedelta(days=1)  # dates have day precision: a day of overlap
    elif last is not None and last.cursor is not None:
        start = min(start, last.cursor - timedelta(days=1))
    watch.window = (min(start, today), today)
    before = client.requests_made
    term = f"({NOTICE_QUERY}) AND ({start:%Y/%m/%d}:{today:%Y/%m/%d}[edat])"
    try:
        found = client.search(term)
    except PubMedError as exc:
        watch.error = f"the notice search failed: {exc}"
        log.warning("%s (the next poll tries again)", watch.error)
        return watch
    finally:
        watch.requests = client.requests_made - before
    watch.pmids = found.pmids
    known = store.papers.known(found.pmids)
    watch.missing = [pmid for pmid in found.pmids if pmid not in known]
    return watch


def learn(
    store: Store,
    watch: NoticeWatch,
    *,
    lost: Collection[str],
    probe: str,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    """After the poll fetched and stored the notices: learn what they say, and move the
    notice cursor. `lost`: PMIDs the poll could not fetch or store (the cursor then stays, and
    the next poll looks again)."""
    if watch.window is None:
        return
    last = store.followups.check(CHECK)
    cursor = last.cursor if last else None
    if not watch.error:
        missing = set(watch.pmids) & set(lost)
        papers = store.papers.get_many(watch.pmids)
        notices = [papers[p] for p in watch.pmids if p in papers]
        if missing:
            watch.error = f"{len(missing)} notices could not be fetched"
        elif len(notices) < len(watch.pmids):
            # PubMed found them but did not send them (withdrawn meanwhile): waiting for them
            # would hold the cursor back for ever.
            log.info("%d notices found were not sent by PubMed", len(watch.pmids) - len(notices))
        _, watch.followups = store.followups.learn_notices(notices)
        watch.notices = len(notices)
        if not watch.error:
            cursor = watch.window[1]
    store.followups.checked(
        FollowupCheck(
            name=CHECK,
            cursor=cursor,
            probe=probe if not watch.error else "",
            checked_at=now(),
            requests=watch.requests,
            found=watch.notices,
            followups=watch.followups,
            error=watch.error,
        )
    )


def check_now(
    store: Store, client: EutilsClient, *, today: date, backfill_days: int
) -> NoticeWatch:
    """`paper-surfer followups`: the notice check of a poll, on its own, whatever PubMed's
    "what changed?" answer: search, fetch the notices not stored yet, learn."""
    watch = search(store, client, today=today, backfill_days=backfill_days, probe="")
    lost: set[str] = set()
    if watch.missing:
        before = client.requests_made
        try:
            store.papers.save(client.efetch(watch.missing))
        except PubMedError as exc:
            log.warning("could not fetch %d notices: %s", len(watch.missing), exc)
            lost = set(watch.missing)
        watch.requests += client.requests_made - before
    learn(store, watch, lost=lost, probe="")
    return watch
