"""One poll cycle: search each distinct query once, fetch only unknown papers, commit per query.

1. esearch once per distinct normalised query of the active subscriptions, over the Entrez-date
   window from its cursor (minus a day of overlap: EDAT has day precision) to today; a new query
   looks back BACKFILL_DAYS. A window with more hits than PubMed lets us page through is split.
2. efetch (POST, 200 ids a request) the union of PMIDs not stored yet, shared by all queries.
3. Per query, in one transaction: matches, owed deliveries (one per chat and PMID) and the
   cursor. A query that failed anywhere keeps its cursor and is searched again next cycle,
   without holding the others back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from bot.config import Settings
from bot.errors import PubMedError
from bot.models import Paper, Score, SearchResult, Subscription
from bot.pubmed import query as pubmed_query
from bot.pubmed.client import EFETCH_BATCH, ESEARCH_CAP, EutilsClient
from bot.scoring import score
from storage import Store

log = logging.getLogger(__name__)

WORKERS = 6  # enough to keep NCBI's rate busy despite network latency; the limiter caps the rate


@dataclass
class PollReport:
    """What one cycle did, for `paper-surfer poll` and the logs."""

    run: int
    queries: int = 0
    requests: int = 0
    new_papers: int = 0
    matches: int = 0
    deliveries: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    sent: int = 0
    send_failures: int = 0


@dataclass(frozen=True, slots=True)
class Window:
    start: date
    end: date

    def __str__(self) -> str:
        return f"{self.start:%Y/%m/%d}-{self.end:%Y/%m/%d}"


def poll_cycle(
    store: Store,
    client: EutilsClient,
    settings: Settings,
    *,
    today: Callable[[], date] = lambda: datetime.now(UTC).date(),
) -> PollReport:
    """Search, fetch, score and queue deliveries for every active subscription."""
    requests_before = client.requests_made
    report = PollReport(run=store.polls.start())
    by_query: dict[str, list[Subscription]] = {}
    for sub in store.chats.active_subscriptions():
        by_query.setdefault(sub.normalized, []).append(sub)
    store.papers.mark_idle_queries(by_query)
    report.queries = len(by_query)
    end = today()
    windows = {q: _window(store, q, end, settings.backfill_days) for q in by_query}

    with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="poll") as pool:
        searches = dict(
            zip(
                by_query,
                pool.map(lambda q: _search(client, q, windows[q], report), by_query),
                strict=True,
            )
        )
        found = {q: r for q, r in searches.items() if isinstance(r, SearchResult)}
        wanted = sorted({pmid for r in found.values() for pmid in r.pmids})
        missing = sorted(set(wanted) - store.papers.known(wanted))
        batches = [missing[i : i + EFETCH_BATCH] for i in range(0, len(missing), EFETCH_BATCH)]
        unfetched: set[str] = set()
        for batch, fetched in zip(
            batches, pool.map(lambda b: _fetch(client, store, b), batches), strict=True
        ):
            if fetched is None:
                unfetched.update(batch)
            else:
                report.new_papers += fetched

    for normalized, subs in by_query.items():
        outcome = searches[normalized]
        window = windows[normalized]
        if isinstance(outcome, str):
            _fail(store, report, normalized, window, subs, outcome)
            continue
        lost = unfetched.intersection(outcome.pmids)
        if lost:
            error = f"PubMed failed while sending {len(lost)} of its papers"
            _fail(store, report, normalized, window, subs, error)
            continue
        already = store.polls.matched([s.id for s in subs], outcome.pmids)
        fresh = [p for p in outcome.pmids if any((s.id, p) not in already for s in subs)]
        papers = store.papers.get_many(fresh)
        committed = store.polls.commit_query(
            report.run,
            normalized,
            cursor=window.end.isoformat(),
            window=str(window),
            found=len(outcome.pmids),
            subscriptions=subs,
            matches=_matches(normalized, subs, papers.values(), already, settings),
        )
        report.matches += committed.new_matches
        report.deliveries += committed.new_deliveries

    report.requests = client.requests_made - requests_before
    store.polls.finish(
        report.run,
        queries=report.queries,
        failed_queries=len(report.failures),
        requests=report.requests,
        new_papers=report.new_papers,
        matches=report.matches,
        deliveries=report.deliveries,
    )
    log.info(
        "poll %d: %d queries (%d failed), %d requests, %d new papers, %d matches, %d deliveries",
        report.run,
        report.queries,
        len(report.failures),
        report.requests,
        report.new_papers,
        report.matches,
        report.deliveries,
    )
    return report


def _window(store: Store, normalized: str, today: date, backfill_days: int) -> Window:
    earliest = today - timedelta(days=backfill_days)
    state = store.papers.query_state(normalized)
    if state is None or not state["cursor"]:
        return Window(earliest, today)
    start = date.fromisoformat(state["cursor"]) - timedelta(days=1)
    if state["idle"]:  # nobody polled it for a while: do not flood a resumed subscription
        start = max(start, earliest)
    return Window(min(start, today), today)


def _search(
    client: EutilsClient, normalized: str, window: Window, report: PollReport
) -> SearchResult | str:
    """All PMIDs of a query in a window, or the error that stopped it."""
    try:
        return _search_window(client, normalized, window, report)
    except PubMedError as exc:
        return str(exc)


def _search_window(
    client: EutilsClient, normalized: str, window: Window, report: PollReport
) -> SearchResult:
    result = client.search(normalized, mindate=window.start, maxdate=window.end, datetype="edat")
    if result.count <= ESEARCH_CAP:
        return result
    if window.start >= window.end:
        # One day with more hits than PubMed will page through: take what it gives, and say so.
        message = (
            f"{normalized!r} has {result.count:,} papers on {window.start}; got {ESEARCH_CAP:,}"
        )
        log.warning(message)
        report.warnings.append(message)
        return result
    # Too many hits to page through: split the window in two and search each half.
    middle = window.start + (window.end - window.start) // 2
    first = _search_window(client, normalized, Window(window.start, middle), report)
    second = _search_window(
        client, normalized, Window(middle + timedelta(days=1), window.end), report
    )
    return SearchResult(
        count=first.count + second.count,
        pmids=tuple(dict.fromkeys(first.pmids + second.pmids)),
        query_translation=result.query_translation,
        phrases_not_found=result.phrases_not_found,
        warnings=result.warnings,
    )


def _fetch(client: EutilsClient, store: Store, batch: Sequence[str]) -> int | None:
    """Fetch and store one batch; the number of papers stored, or None when PubMed failed."""
    try:
        papers = client.efetch(batch)
    except PubMedError as exc:
        log.warning("efetch of %d papers failed: %s", len(batch), exc)
        return None
    return store.papers.save(papers)


@lru_cache(maxsize=1024)
def _parsed(query: str) -> pubmed_query.Expr | None:
    return pubmed_query.parse(query)


def _matches(
    normalized: str,
    subs: Sequence[Subscription],
    papers: Iterable[Paper],
    already: set[tuple[int, str]],
    settings: Settings,
) -> list[tuple[Subscription, str, Score]]:
    """New (subscription, PMID, score) triples; the score is computed once per paper, since
    every subscription of a normalised query reads it the same way."""
    expr = _parsed(normalized)
    found = []
    for paper in papers:
        value = score(expr, paper, high=settings.score_high, medium=settings.score_medium)
        found += [(sub, paper.pmid, value) for sub in subs if (sub.id, paper.pmid) not in already]
    return found


def _fail(
    store: Store,
    report: PollReport,
    normalized: str,
    window: Window,
    subs: Sequence[Subscription],
    error: str,
) -> None:
    log.warning("query %r failed this poll (will retry next poll): %s", normalized, error)
    report.failures.append((normalized, error))
    store.polls.record_failure(report.run, normalized, str(window), subs, error)
