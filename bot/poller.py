"""One poll cycle: ask PubMed what changed, search each distinct query once, fetch only unknown
or changed papers, commit per query.

0. One esearch (`retmax=1`) asks how many records were entered or modified (Entrez, MeSH or
   modification date) yesterday or today, and which was entered last. When the answer is the
   one the polls since a query's last search got, nothing that query could find has changed:
   its search is skipped and its cursor stays. At least every FULL_POLL_HOURS every query is
   searched anyway, so nothing rests on that one answer for long.
1. esearch once per distinct normalised query of the active subscriptions, for records entered
   in the window from its cursor (minus a day of overlap: dates have day precision) to today, or
   indexed with MeSH headings or modified in that window: `(QUERY) AND (W[edat] OR W[mhda] OR
   W[mdat])`. Most records enter PubMed without headings and get them days or weeks later while
   their Entrez date stays, so a `[mh]` query (or a word PubMed maps to a heading) matches them
   only then. The Entrez-date limits (datetype/mindate/maxdate) keep the modified ones to those
   entered since the first look back of the query's subscribers: an old record corrected today
   is not news. A query with a subscription not yet polled looks back at least BACKFILL_DAYS
   from that subscription's first try, so a new subscriber to a query others follow gets the
   same first look back as the first subscriber, and failed first polls do not shrink it. A
   window with more hits than PubMed lets us page through is split.
2. efetch (POST, 200 ids a request) the union of PMIDs not stored yet, and of stored ones that a
   query searched before now finds for the first time (PubMed changed the record: the stored
   copy is stale), shared by all queries, as soon as a full batch has gathered, while the
   searches go on.
3. Per query, as soon as its papers are stored, in one transaction: matches, owed deliveries
   (one per chat and PMID) and the cursor. A subscription is matched only to papers entered
   since its own first look back. A query that failed anywhere keeps its cursor and is searched
   again next cycle, without holding the others back.
"""

from __future__ import annotations

import logging
import re
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

from bot import notices, recheck
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
    # Queries not searched: PubMed reported nothing entered or modified since their last search.
    skipped: int = 0
    # PubMed's answer to "what was entered or modified lately?" ('' when it could not be asked).
    probe: str = ""
    requests: int = 0
    new_papers: int = 0
    matches: int = 0
    deliveries: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    sent: int = 0
    send_failures: int = 0
    # The notice watch (bot/notices.py): notices read this poll; follow-ups this poll owed.
    notices: int = 0
    followups: int = 0
    rechecked: int = 0  # saved papers fetched again by the weekly re-check (bot/recheck.py)


@dataclass(frozen=True, slots=True)
class Window:
    start: date
    end: date

    def __str__(self) -> str:
        return f"{self.start:%Y/%m/%d}-{self.end:%Y/%m/%d}"

    @property
    def range(self) -> str:
        """The window in PubMed's search syntax, before a date tag: 2021/06/01:2021/06/08."""
        return f"{self.start:%Y/%m/%d}:{self.end:%Y/%m/%d}"

    def changed(self) -> str:
        """Records entered, indexed with MeSH headings or otherwise modified in the window."""
        return f"{self.range}[edat] OR {self.range}[mhda] OR {self.range}[mdat]"

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
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> PollReport:
    """Search, fetch, score and queue deliveries for every active subscription."""
    requests_before = client.requests_made
    owed_before = store.followups.last_id()
    started = now()
    report = PollReport(run=store.polls.start(started))
    by_query: dict[str, list[Subscription]] = {}
    for sub in store.chats.active_subscriptions():
        by_query.setdefault(sub.normalized, []).append(sub)
    store.polls.mark_idle_queries(by_query)
    report.queries = len(by_query)
    end = today()
    first = store.polls.first_look_backs()
    if by_query:
        report.probe = _what_changed(client, end)
    unchanged = _unchanged(store, settings, report, by_query, first, end, started)
    searched = {q: subs for q, subs in by_query.items() if q not in unchanged}
    report.skipped = len(unchanged)
    windows = {
        q: _window(
            store, q, end, settings.backfill_days, [first[s.id] for s in subs if s.id in first]
        )
        for q, subs in searched.items()
    }
    coverage = _coverage(store, searched, windows)

    # Queries with the most subscribers first: theirs are the biggest commits, and searched
    # early, their papers come in the first efetches, so they commit while the rest is searched.
    order = sorted(searched, key=lambda q: len(searched[q]), reverse=True)
    cycle = _Cycle(store, client, settings, report, searched, windows, coverage)
    watch = None
    if settings.followups:
        watch = notices.search(
            store,
            client,
            today=end,
            backfill_days=settings.backfill_days,
            probe=report.probe,
            unchanged=bool(report.probe)
            and store.polls.unchanged_since(report.run, report.probe) is not None,
        )
        cycle.also_fetch(watch.missing)  # in the poll's own efetch batches
    cycle.run(order)
    if watch is not None:
        notices.learn(store, watch, lost=cycle.unfetched | cycle.unsaved, probe=report.probe)
        report.notices = watch.notices
        if watch.error:
            report.warnings.append(watch.error)
        if recheck.due(store, now()):  # once a week: PubMed's record of every saved paper
            checked = recheck.recheck_saved(store, client, now=now)
            report.rechecked = checked.found
            if checked.error:
                report.warnings.append(checked.error)
    # From the notices, the re-check, and papers fetched again with a new link.
    report.followups = store.followups.owed_since(owed_before)
    if unchanged:
        store.polls.mark_skipped(report.run, unchanged)

    report.requests = client.requests_made - requests_before
    store.polls.finish(
        report.run,
        queries=report.queries,
        failed_queries=len(report.failures),
        requests=report.requests,
        new_papers=report.new_papers,
        matches=report.matches,
        deliveries=report.deliveries,
        probe=report.probe,
        full=int(not unchanged),
        skipped=report.skipped,
    )
    log.info(
        "poll %d: %d queries (%d failed, %d skipped: nothing changed in PubMed), %d requests,"
        " %d new papers, %d matches, %d deliveries; %d notices read, %d follow-ups owed",
        report.run,
        report.queries,
        len(report.failures),
        report.skipped,
        report.requests,
        report.new_papers,
        report.matches,
        report.deliveries,
        report.notices,
        report.followups,
    )
    return report


def _what_changed(client: EutilsClient, today: date) -> str:
    """PubMed's answer to "how many records were entered or modified yesterday or today, and
    which one was entered last?" as one comparable text, or '' if it could not be asked.

    One request (`retmax=1`: the count and the first id of esearch's order, the most recently
    entered record), never retried: if it fails, the poll searches every query, as it would
    have anyway. Yesterday too, because PubMed dates its records in US Eastern time.
    """
    window = Window(today - timedelta(days=1), today)
    try:
        answer = client.esearch(window.changed(), retmax=1, attempts=1)
    except PubMedError as exc:
        log.info("could not ask PubMed what changed, so every query is searched: %s", exc)
        return ""
    return f"{window} {answer.count} {answer.pmids[0] if answer.pmids else '-'}"


def _unchanged(
    store: Store,
    settings: Settings,
    report: PollReport,
    by_query: dict[str, list[Subscription]],
    first: dict[int, str],
    today: date,
    started: datetime,
) -> set[str]:
    """The queries this poll need not search: PubMed gave the same answer to "what changed?"
    at every poll since each was last searched without an error, over a window ending today.

    None when the last full poll (every query searched) is FULL_POLL_HOURS old or more: the
    answer counts records by day and so cannot see a record modified twice the same day.
    Queries owed a first look back or just resumed are searched whatever the answer.
    """
    if not report.probe or settings.full_poll_hours <= 0:
        return set()
    since = store.polls.unchanged_since(report.run, report.probe)
    last_full = store.polls.last_full_at(report.run)
    if since is None or last_full is None:
        return set()
    if started - last_full >= timedelta(hours=settings.full_poll_hours):
        return set()
    states = {state.normalized: state for state in store.polls.query_states()}
    unchanged = set()
    for normalized, subs in by_query.items():
        state = states.get(normalized)
        if (
            state is not None
            and not state.idle
            and state.cursor == today
            and not state.last_error
            and state.success_run >= since
            and not any(sub.id in first for sub in subs)
        ):
            unchanged.add(normalized)
    return unchanged


def _coverage(
    store: Store, by_query: dict[str, list[Subscription]], windows: dict[str, Window]
) -> dict[int, date]:
    """The first Entrez date each subscription is owed: the start of its first look back (for
    one never searched, this poll's window, which reaches back to it)."""
    ids = [sub.id for subs in by_query.values() for sub in subs]
    known = {sub: Window.parse(text).start for sub, text in store.polls.coverage(ids).items()}
    return {
        sub.id: known.get(sub.id, windows[q].start) for q, subs in by_query.items() for sub in subs
    }


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
    state = store.polls.query_state(normalized)
    if state is not None and state.cursor:
        starts.append(state.cursor - timedelta(days=1))
    start = min(starts, default=earliest)
    if state is not None and state.idle:
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
        coverage: dict[int, date],
    ) -> None:
        self.store, self.client, self.settings, self.report = store, client, settings, report
        self.by_query, self.windows, self.coverage = by_query, windows, coverage
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
        self.extra: set[str] = set()  # fetched for the notice watch, not for a query

    def also_fetch(self, pmids: Sequence[str]) -> None:
        """Papers no query waits for (the notice watch's) fetched in the same batches."""
        new = [p for p in dict.fromkeys(pmids) if p not in self.requested]
        self.requested.update(new)
        self.extra.update(new)
        self.pending += new

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
                        since = min(
                            [window.start]
                            + [self.coverage[s.id] for s in self.by_query[normalized]]
                        )
                        search = pool.submit(
                            _search, self.client, normalized, window, since, self.report
                        )
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
        known = self.store.papers.known(outcome.pmids)
        missing = set(outcome.pmids) - known
        need = (missing | self._changed(normalized, known)) - self.fetched
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

    def _changed(self, normalized: str, known: set[str]) -> set[str]:
        """Stored papers this query, searched before, finds for the first time: PubMed changed
        them since (added MeSH headings, corrected the text), so the stored record is stale and
        is fetched again. A new query's first look takes the stored records as they are."""
        state = self.store.polls.query_state(normalized)
        if not known or state is None or not state.cursor:
            return set()
        ids = [sub.id for sub in self.by_query[normalized]]
        seen = {pmid for _, pmid in self.store.polls.matched(ids, known)}
        return known - seen

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
            # What the notice watch fetched is not news for any query.
            found = [p for p in papers if p.pmid not in self.extra]
            self.report.new_papers += self.store.papers.save(found)
            self.store.papers.save([p for p in papers if p.pmid in self.extra])
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
            cursor=window.end,
            window=str(window),
            found=len(outcome.pmids),
            subscriptions=subs,
            matches=_matches(
                normalized, subs, papers.values(), already, self.settings, self.coverage
            ),
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
    client: EutilsClient, normalized: str, window: Window, since: date, report: PollReport
) -> SearchResult | str:
    """All PMIDs of a query entered, indexed or modified in a window (those entered since
    `since`), or the error that stopped it."""
    try:
        return _search_window(client, normalized, window, Window(since, window.end), report)
    except PubMedError as exc:
        return str(exc)


def _search_window(
    client: EutilsClient, normalized: str, window: Window, entered: Window, report: PollReport
) -> SearchResult:
    # The date tags go in the term: esearch's datetype takes one kind of date, and PubMed ANDs
    # its mindate/maxdate with the term, which here keeps the records entered in `entered`.
    result = client.search(
        f"({normalized}) AND ({window.changed()})",
        mindate=entered.start,
        maxdate=entered.end,
        datetype="edat",
    )
    if result.phrases_not_found and _only_dates(result.query_translation):
        # PubMed leaves out what it cannot find and searches the rest: with none of the query
        # left, the rest is the dates, every record of the window. The query finds nothing.
        return SearchResult(
            count=0,
            pmids=(),
            query_translation=result.query_translation,
            phrases_not_found=result.phrases_not_found,
            warnings=result.warnings,
        )
    if result.count <= ESEARCH_CAP:
        return result
    # Too many hits to page through: split the window in two and search each half; a window of
    # one day (a day PubMed modified many records) by the Entrez dates of its records.
    if window.start < window.end:
        halves = [(half, entered) for half in _halves(window)]
    elif entered.start < entered.end:
        halves = [(window, half) for half in _halves(entered)]
    else:
        # One day with more hits than PubMed will page through: take what it gives, and say so.
        message = (
            f"{normalized!r} has {result.count:,} papers on {window.start}; got {ESEARCH_CAP:,}"
        )
        log.warning(message)
        report.warnings.append(message)
        return result
    first, second = (_search_window(client, normalized, w, e, report) for w, e in halves)
    return SearchResult(
        count=first.count + second.count,
        pmids=tuple(dict.fromkeys(first.pmids + second.pmids)),
        query_translation=result.query_translation,
        phrases_not_found=result.phrases_not_found,
        warnings=result.warnings,
    )


_DATE_TAGS = frozenset({"edat", "mhda", "mdat", "lr", "crdt", "pdat", "dp", "dcom", "cdat"})


def _only_dates(translation: str) -> bool:
    """Whether PubMed's translation of a search holds date terms only: [Date - Entry], [EDAT]."""
    tags = (tag.strip().lower() for tag in re.findall(r"\[([^\]]*)\]", translation))
    return all(tag.startswith("date") or tag in _DATE_TAGS for tag in tags)


def _halves(window: Window) -> tuple[Window, Window]:
    middle = window.start + (window.end - window.start) // 2
    return Window(window.start, middle), Window(middle + timedelta(days=1), window.end)


def _fetch(client: EutilsClient, batch: Sequence[str]) -> list[Paper] | None:
    """One batch of papers, or None when PubMed failed to send it."""
    try:
        return client.efetch(batch)
    except PubMedError as exc:
        log.warning("efetch of %d papers failed: %s", len(batch), exc)
        return None


@lru_cache(maxsize=1024)
def _parsed(query: str, translation: str = "") -> pubmed_query.Expr | None:
    return pubmed_query.with_translation(pubmed_query.parse(query), translation)


def _matches(
    normalized: str,
    subs: Sequence[Subscription],
    papers: Iterable[Paper],
    already: set[tuple[int, str]],
    settings: Settings,
    coverage: dict[int, date],
) -> list[tuple[Subscription, str, Score]]:
    """New (subscription, PMID, score) triples; the score is computed once per paper, since
    every subscription of a normalised query reads it the same way. A paper entered before a
    subscription's first look back is not news to it, even if PubMed modified it lately.
    Untagged words count what PubMed translated them to, as stored by the oldest subscription
    of the query that has a translation (the same query text, so the same translation)."""
    translation = next((s.translation for s in subs if s.translation), "")
    expr = _parsed(normalized, translation)
    found = []
    for paper in papers:
        value = score(expr, paper, high=settings.score_high, medium=settings.score_medium)
        found += [
            (sub, paper.pmid, value)
            for sub in subs
            if (sub.id, paper.pmid) not in already
            and not (paper.entrez_date and paper.entrez_date < coverage[sub.id].isoformat())
        ]
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
