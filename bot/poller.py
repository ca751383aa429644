"""One poll cycle: search each distinct query once, fetch only unknown papers, commit per query.

1. esearch once per distinct normalised query of the active subscriptions, over the Entrez-date
   window from its cursor (minus a day of overlap: EDAT has day precision) to today; a query
   with a subscription not yet polled looks back at least BACKFILL_DAYS from that
   subscription's first try, so a new subscriber to a query others follow gets the same first
   look back as the first subscriber, and failed first polls do not shrink it. A window with
   more hits than PubMed lets us page through is split.
2. efetch (POST, 200 ids a request) the union of PMIDs not stored yet, shared by all queries,
   as soon as a full batch has gathered, while the searches go on.
3. Per query, as soon as its papers are stored, in one transaction: matches, owed deliveries
   (one per chat and PMID) and the cursor. A query that failed anywhere keeps its cursor and is
   searched again next cycle, without holding the others back.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

from bot.config import Settings
from bot.errors import PubMedError
from bot.models import Paper, Score, SearchResult, Subscription
from bot.pubmed import query as pubmed_query
from bot.pubmed.client import EFETCH_BATCH, ESEARCH_CAP, EutilsClient
from bot.scoring import score
from storage import Store

log = logging.getLogger(__name__)

WORKERS = 6  # enough to keep NCBI's rate busy despite network latency; the limiter caps the rate
# How long found papers wait for the last searches of a poll to add to their efetch. An answer
# takes well under a second at NCBI's pace; a search that takes longer must not hold back the
# papers of queries already answered.
LINGER = 1.0


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

    @classmethod
    def parse(cls, text: str) -> Window:
        """The window `str()` wrote."""
        start, end = (datetime.strptime(d, "%Y/%m/%d").date() for d in text.split("-"))
        return cls(start, end)


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
    first = store.polls.first_look_backs()
    windows = {
        q: _window(
            store, q, end, settings.backfill_days, [first[s.id] for s in subs if s.id in first]
        )
        for q, subs in by_query.items()
    }

    # Queries with the most subscribers first: theirs are the biggest commits, and searched
    # early, their papers come in the first efetches, so they commit while the rest is searched.
    order = sorted(by_query, key=lambda q: len(by_query[q]), reverse=True)
    _Cycle(store, client, settings, report, by_query, windows).run(order)

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


def _window(
    store: Store, normalized: str, today: date, backfill_days: int, first_tries: Sequence[str]
) -> Window:
    """The query's Entrez-date window for this poll.

    `first_tries` has one entry per subscription of the query not yet polled: the window its
    first failed poll tried, or '' if none was tried.
    """
    earliest = today - timedelta(days=backfill_days)
    # A new subscription looks back BACKFILL_DAYS from its first poll, however many failed since.
    starts = [Window.parse(w).start if w else earliest for w in first_tries]
    state = store.papers.query_state(normalized)
    if state is not None and state["cursor"]:
        starts.append(date.fromisoformat(state["cursor"]) - timedelta(days=1))
    start = min(starts, default=earliest)
    if state is not None and state["idle"]:
        start = max(start, earliest)  # nobody polled it for a while: do not flood a resumed chat
    return Window(min(start, today), today)


class _Cycle:
    """Searches, fetches and commits of one poll, overlapped.

    Up to WORKERS requests are in flight at once (the client's limiter sets the rate). New PMIDs
    are fetched as soon as a full batch of 200 has gathered, so the number of efetches stays
    ceil(new papers / 200), and each query is scored and committed as soon as all its papers are
    stored: the CPU work of a first poll happens while the remaining searches wait for their turn
    at NCBI's rate, not after them. One writer thread does every write, in order: a request
    thread that waited for SQLite's write lock behind a big commit would leave NCBI's rate unused.
    """

    def __init__(
        self,
        store: Store,
        client: EutilsClient,
        settings: Settings,
        report: PollReport,
        by_query: dict[str, list[Subscription]],
        windows: dict[str, Window],
    ) -> None:
        self.store, self.client, self.settings, self.report = store, client, settings, report
        self.by_query, self.windows = by_query, windows
        self.pending: list[str] = []  # PMIDs to fetch, in the order the searches found them
        self.requested: set[str] = set()  # pending, being fetched or fetched
        self.fetched: set[str] = set()  # in a batch PubMed answered
        self.unfetched: set[str] = set()  # in a batch PubMed failed to send
        self.waiting: dict[str, set[str]] = {}  # query -> its PMIDs not fetched yet
        self.results: dict[str, SearchResult] = {}
        self.commits: list[Future[None]] = []
        # Written and read on the writer thread only: PMIDs whose save failed, and why.
        self.unsaved: set[str] = set()
        self.save_error = ""

    def run(self, order: Sequence[str]) -> None:
        searches = deque(order)
        in_flight: dict[Future[Any], tuple[str, Any]] = {}
        with (
            ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="poll") as pool,
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="poll-commit") as writer,
        ):
            self.writer = writer
            lingered = False
            while True:
                searching = any(kind == "search" for kind, _ in in_flight.values())
                while len(in_flight) < WORKERS:
                    # A partial batch only when no search will add to it soon: one efetch per
                    # 200 papers, yet a search PubMed is slow to answer holds nobody else back.
                    if len(self.pending) >= EFETCH_BATCH or (
                        self.pending and not searches and (not searching or lingered)
                    ):
                        batch = self.pending[:EFETCH_BATCH]
                        del self.pending[:EFETCH_BATCH]
                        fetch = pool.submit(_fetch, self.client, batch)
                        in_flight[fetch] = ("fetch", batch)
                    elif searches:
                        normalized = searches.popleft()
                        window = self.windows[normalized]
                        search = pool.submit(_search, self.client, normalized, window, self.report)
                        in_flight[search] = ("search", normalized)
                        searching = True
                    else:
                        break
                if not in_flight:
                    break
                lingering = bool(self.pending) and not searches
                done, _ = wait(
                    in_flight, timeout=LINGER if lingering else None, return_when=FIRST_COMPLETED
                )
                lingered = not done
                for future in done:
                    kind, what = in_flight.pop(future)
                    if kind == "search":
                        self.searched(what, future.result())
                    else:
                        self.fetched_batch(what, future.result())
            for commit in self.commits:
                commit.result()  # a failed commit is a bug: let it be seen

    def searched(self, normalized: str, outcome: SearchResult | str) -> None:
        if isinstance(outcome, str):
            self.fail(normalized, outcome)
            return
        self.results[normalized] = outcome
        missing = set(outcome.pmids) - self.store.papers.known(outcome.pmids)
        need = missing - self.fetched
        if need & self.unfetched:
            self.fail(normalized, _lost(len(need & self.unfetched)))
            return
        new = [p for p in dict.fromkeys(outcome.pmids) if p in need and p not in self.requested]
        self.requested.update(new)
        self.pending += new
        if need:
            self.waiting[normalized] = need
        else:
            self.commit(normalized)

    def fetched_batch(self, batch: list[str], papers: list[Paper] | None) -> None:
        got = set(batch)
        if papers is None:
            self.unfetched |= got
        else:
            self.fetched |= got
            # Stored by the writer, before any commit that needs them (it works in order).
            self.commits.append(self.writer.submit(self._save, papers))
        for normalized, need in list(self.waiting.items()):
            if not need & got:
                continue
            if papers is None:
                del self.waiting[normalized]
                self.fail(normalized, _lost(len(need & got)))
                continue
            need -= got
            if not need:
                del self.waiting[normalized]
                self.commit(normalized)

    def commit(self, normalized: str) -> None:
        self.commits.append(self.writer.submit(self._commit_or_fail, normalized))

    def fail(self, normalized: str, error: str) -> None:
        subs, window = self.by_query[normalized], self.windows[normalized]
        self.commits.append(
            self.writer.submit(_fail, self.store, self.report, normalized, window, subs, error)
        )

    def _save(self, papers: list[Paper]) -> None:
        try:
            self.report.new_papers += self.store.papers.save(papers)
        except Exception as exc:  # a full disk, a broken file: no query may move past them
            log.error("could not store %d fetched papers: %s", len(papers), exc)
            self.unsaved.update(paper.pmid for paper in papers)
            self.save_error = str(exc)

    def _commit_or_fail(self, normalized: str) -> None:
        try:
            self._commit(normalized)
        except Exception as exc:  # rolled back, cursor included: the query is searched again
            error = f"could not be stored: {exc}"
            log.error("query %r %s", normalized, error)
            self.report.failures.append((normalized, error))

    def _commit(self, normalized: str) -> None:
        subs, window = self.by_query[normalized], self.windows[normalized]
        outcome = self.results[normalized]
        lost = self.unsaved.intersection(outcome.pmids)
        if lost:
            # Its cursor stays: the next poll searches the same window and fetches them again.
            error = f"{len(lost)} of its papers could not be stored: {self.save_error}"
            _fail(self.store, self.report, normalized, window, subs, error)
            return
        already = self.store.polls.matched([s.id for s in subs], outcome.pmids)
        fresh = [p for p in outcome.pmids if any((s.id, p) not in already for s in subs)]
        papers = self.store.papers.get_many(fresh)
        # Stored when searched (not fetched by this poll) yet gone now: the daily prune removed
        # them meanwhile. Committing without them would lose them; the next poll fetches them.
        vanished = sum(1 for p in fresh if p not in papers and p not in self.fetched)
        if vanished:
            _fail(self.store, self.report, normalized, window, subs, _pruned(vanished))
            return
        committed = self.store.polls.commit_query(
            self.report.run,
            normalized,
            cursor=window.end.isoformat(),
            window=str(window),
            found=len(outcome.pmids),
            subscriptions=subs,
            matches=_matches(normalized, subs, papers.values(), already, self.settings),
            required=papers.keys(),
        )
        if committed.vanished:  # the same, pruned between reading and committing
            _fail(self.store, self.report, normalized, window, subs, _pruned(committed.vanished))
            return
        self.report.matches += committed.new_matches
        self.report.deliveries += committed.new_deliveries


def _pruned(count: int) -> str:
    return f"{count} of its papers were pruned while this poll ran; they are fetched again"


def _lost(count: int) -> str:
    return f"PubMed failed while sending {count} of its papers"


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


def _fetch(client: EutilsClient, batch: Sequence[str]) -> list[Paper] | None:
    """One batch of papers, or None when PubMed failed to send it."""
    try:
        return client.efetch(batch)
    except PubMedError as exc:
        log.warning("efetch of %d papers failed: %s", len(batch), exc)
        return None


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
