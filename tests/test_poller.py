"""The poll engine end to end: real SQLite, the real client, a loopback PubMed serving a real day.

The fake E-utilities server is the yardstick: what each chat should receive is asked of it
directly (one esearch over the whole period), never derived from the poller's own records.
"""

from __future__ import annotations

import asyncio
import re
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from channels import RecordingChannel
from fixtures import DAILY, DEFAULTS, fixture, wait_until
from servers.eutils import FakeEutils, Recorded

from bot.config import Settings
from bot.delivery import LEASE_SECONDS, deliver_pending
from bot.models import Chat
from bot.notices import NOTICE_QUERY
from bot.poller import poll_cycle
from bot.pubmed import query as pubmed_query
from bot.pubmed.client import EutilsClient, RetryPolicy
from bot.status import chat_status
from storage import Store


@pytest.fixture
def fake(daily_pubmed: FakeEutils) -> FakeEutils:
    daily_pubmed.reset()
    daily_pubmed.visible_until = None
    daily_pubmed.hidden = set()
    return daily_pubmed


def settings_for(fake: FakeEutils, **extra: str) -> Settings:
    values = {"PUBMED_EUTILS_URL": fake.url, "BACKFILL_DAYS": "7", "MAX_CARDS_PER_POLL": "1000"}
    return Settings.from_env({**values, **extra}, env_file=None)


def client_for(fake: FakeEutils) -> EutilsClient:
    return EutilsClient(fake.url, retry=RetryPolicy(attempts=3, backoff=0.01), max_rps=100)


def subscribe(store: Store, chat_id: str, query: str) -> Chat:
    chat = store.chats.get_or_create("local", "", chat_id, DEFAULTS)
    store.chats.add_subscription(chat.id, query, pubmed_query.normalize(query), 50)
    return chat


def expected(fake: FakeEutils, query: str, start: str, end: str) -> set[str]:
    """What PubMed itself says matches `query` between two Entrez dates (YYYY/MM/DD)."""
    first, last = (datetime.strptime(d, "%Y/%m/%d").date() for d in (start, end))
    return set(fake.ids_between(pubmed_query.normalize(query), first, last))


def searches(fake: FakeEutils) -> list[Recorded]:
    """The per-query esearches the fake received, without each poll's question of what
    changed (the one with retmax=1) and its search for new notices (tests/test_followups.py)."""
    return [
        r
        for r in fake.requests
        if r.endpoint == "esearch"
        and r.params["retmax"] != "1"
        and not r.params["term"].startswith(f"({NOTICE_QUERY})")
    ]


def window_of(search: Recorded) -> tuple[str, str]:
    """The Entrez-date window a poll's search asked for (it is in the term, OR-ed with the same
    window as MeSH date and modification date)."""
    found = re.search(r"(\d{4}/\d\d/\d\d):(\d{4}/\d\d/\d\d)\[edat\]", search.params["term"])
    assert found, search.params["term"]
    return found.group(1), found.group(2)


def run_poll(store: Store, fake: FakeEutils, settings: Settings, day: date) -> object:
    fake.today = day
    return poll_cycle(store, client_for(fake), settings, today=lambda: day)


def deliver(store: Store, settings: Settings, channel: RecordingChannel) -> object:
    return asyncio.run(deliver_pending(store, {"local": channel}, settings))


def test_three_polls_deliver_each_matching_paper_exactly_once_per_chat(
    fake: FakeEutils, store: Store
) -> None:
    """Across three polls as PubMed grows, each chat gets each matching PMID once, and the third
    poll, with nothing new, asks PubMed only what changed, sends nothing and status says why."""
    settings = settings_for(fake)
    a = subscribe(store, "a", "crispr[tiab]")
    subscribe(store, "a", "cas9")  # overlaps the first: still one card per paper
    b = subscribe(store, "b", "CRISPR[tiab]")  # same query, other chat: one esearch for both
    channel = RecordingChannel()

    fake.visible_until = date(2021, 6, 4)
    first = run_poll(store, fake, settings, date(2021, 6, 4))
    deliver(store, settings, channel)
    assert first.queries == 2  # type: ignore[attr-defined]
    assert len(searches(fake)) == 2
    fetched_first = {
        i for r in fake.requests if r.endpoint == "efetch" for i in r.params["id"].split(",")
    }

    fake.reset()
    fake.visible_until = date(2021, 6, 7)
    run_poll(store, fake, settings, date(2021, 6, 7))
    deliver(store, settings, channel)
    fetched_second = {
        i for r in fake.requests if r.endpoint == "efetch" for i in r.params["id"].split(",")
    }
    assert not fetched_first & fetched_second  # nothing stored is fetched again

    fake.reset()
    third = run_poll(store, fake, settings, date(2021, 6, 7))
    sent_before = len(channel.sent)
    deliver(store, settings, channel)
    assert third.deliveries == 0  # type: ignore[attr-defined]
    assert len(channel.sent) == sent_before
    assert len(fake.requests) == 1  # PubMed had not changed: no search, no efetch

    crispr = expected(fake, "crispr[tiab]", "2021/05/28", "2021/06/07")
    cas9 = expected(fake, "cas9", "2021/05/28", "2021/06/07")
    assert crispr  # the period really has papers, so the test can fail
    assert sorted(channel.pmids("a")) == sorted(crispr | cas9)
    assert sorted(channel.pmids("b")) == sorted(crispr)
    status = chat_status(store, settings, store.chats.get(a.id))
    assert "nothing new, PubMed had no paper entered or changed since" in status
    assert "not searched again" in chat_status(store, settings, store.chats.get(b.id))


def test_efetches_come_in_full_batches_of_200_while_the_searches_go_on(
    fake: FakeEutils, store: Store
) -> None:
    """New papers are fetched 200 at a time as soon as that many have been found, never twice,
    with one partial batch at the end: ceil(new papers / 200) efetches for the whole poll."""
    settings = settings_for(fake)
    queries = ["cancer", "covid-19", "inflammation[tiab]", "apoptosis", "microbiome"]
    queries += ["zebrafish", "crispr[tiab]", "cas9", "ferroptosis", "autophagy", "obesity"]
    subscribe(store, "x", "cancer")  # the most subscribed query is searched first
    for query in queries:
        subscribe(store, "a", query)
    # The last query's answer is held back until a first efetch has come.
    answer = threading.Event()
    fake.inject("slow", endpoint="esearch", term="obesity", seconds=60, until=answer)
    poll = threading.Thread(target=run_poll, args=(store, fake, settings, date(2021, 6, 7)))
    poll.start()
    try:
        # "cancer" alone finds more than 200 new papers: their efetch does not wait for the rest.
        early = wait_until(lambda: any(r.endpoint == "efetch" for r in fake.requests))
    finally:
        answer.set()
        poll.join(timeout=60)
    assert early
    seen = list(fake.requests)  # the poll's requests only
    assert len(searches(fake)) == len(queries)

    wanted: set[str] = set()
    for query in queries:
        wanted |= expected(fake, query, "2021/05/31", "2021/06/07")
    assert len(wanted) > 200  # several batches, so the test can fail
    efetches = [r for r in seen if r.endpoint == "efetch"]
    batches = [r.params["id"].split(",") for r in efetches]
    fetched = [pmid for batch in batches for pmid in batch]
    assert sorted(fetched) == sorted(wanted)  # each new paper exactly once
    assert len(efetches) == -(-len(wanted) // 200)
    assert sum(1 for batch in batches if len(batch) != 200) == (1 if len(wanted) % 200 else 0)


def test_a_slow_search_does_not_hold_back_the_other_queries_papers(
    fake: FakeEutils, store: Store, tmp_path: Path
) -> None:
    """While PubMed is slow to answer one query, the others' papers are already stored and owed
    to their chats; the slow query's come when PubMed answers."""
    settings = settings_for(fake)
    subscribe(store, "a", "crispr[tiab]")
    subscribe(store, "b", "zebrafish")
    answer = threading.Event()
    fake.inject("slow", endpoint="esearch", term="zebrafish", seconds=60, until=answer)
    poll = threading.Thread(target=run_poll, args=(store, fake, settings, date(2021, 6, 7)))
    poll.start()
    try:
        other = Store(tmp_path / "ps.db")  # what a delivery job would see meanwhile
        a, b = other.chats.get(1), other.chats.get(2)
        crispr = expected(fake, "crispr[tiab]", "2021/05/31", "2021/06/07")
        assert crispr

        def owed(chat: Chat) -> set[str]:
            return {d.pmid for d in other.outbox.all_for_chat(chat.id)}

        assert wait_until(lambda: owed(a) == crispr)
        assert owed(b) == set()
        assert poll.is_alive()  # zebrafish has not been answered yet
    finally:
        answer.set()
        poll.join(timeout=30)
    assert not poll.is_alive()
    assert owed(b) == expected(fake, "zebrafish", "2021/05/31", "2021/06/07")
    other.close()


def test_a_paper_added_later_on_the_cursor_day_is_still_found(
    fake: FakeEutils, store: Store
) -> None:
    """Entrez dates have day precision: a paper PubMed adds after a poll, dated that same day,
    is caught by the next poll's one-day overlap."""
    settings = settings_for(fake)
    subscribe(store, "a", "crispr[tiab]")
    late = sorted(expected(fake, "crispr[tiab]", "2021/06/07", "2021/06/07"))[:3]
    assert late
    fake.hidden = set(late)
    channel = RecordingChannel()
    run_poll(store, fake, settings, date(2021, 6, 7))
    deliver(store, settings, channel)
    assert not set(late) & set(channel.pmids("a"))
    fake.hidden = set()
    run_poll(store, fake, settings, date(2021, 6, 8))
    deliver(store, settings, channel)
    got = channel.pmids("a")
    assert set(late) <= set(got)
    assert len(got) == len(set(got))


def test_a_pubmed_failure_mid_poll_loses_nothing(fake: FakeEutils, store: Store) -> None:
    """One query's search failing and an efetch failing leave those queries' cursors in place;
    the next poll delivers everything, once, while the healthy query went ahead."""
    settings = settings_for(fake)
    subscribe(store, "a", "crispr[tiab]")
    subscribe(store, "a", "zebrafish")
    subscribe(store, "b", "microbiome")
    channel = RecordingChannel()
    # One query's esearch fails on every attempt; every efetch fails.
    fake.inject("status", endpoint="esearch", term="zebrafish", status=503, times=3)
    fake.inject("status", endpoint="efetch", status=500, times=100)
    report = run_poll(store, fake, settings, date(2021, 6, 7))
    deliver(store, settings, channel)
    assert len(report.failures) == 3  # type: ignore[attr-defined]
    assert channel.sent == []
    assert all(s.cursor is None for s in store.polls.query_states())

    fake.reset()  # PubMed is back
    healthy = run_poll(store, fake, settings, date(2021, 6, 7))
    deliver(store, settings, channel)
    assert healthy.failures == []  # type: ignore[attr-defined]
    for chat, queries in (("a", ["crispr[tiab]", "zebrafish"]), ("b", ["microbiome"])):
        wanted: set[str] = set()
        for q in queries:
            wanted |= expected(fake, q, "2021/05/31", "2021/06/07")
        assert wanted
        got = channel.pmids(chat)
        assert sorted(got) == sorted(wanted)


def test_one_failing_query_does_not_hold_back_the_others(fake: FakeEutils, store: Store) -> None:
    """A query PubMed keeps rejecting is reported; the other query's papers still go out."""
    settings = settings_for(fake)
    subscribe(store, "a", "crispr[tiab]")
    subscribe(store, "a", "zebrafish")
    fake.inject(
        "error",
        endpoint="esearch",
        term="zebrafish",
        message="Search Backend failed: timed out",
        times=3,
    )
    channel = RecordingChannel()
    report = run_poll(store, fake, settings, date(2021, 6, 7))
    deliver(store, settings, channel)
    assert [q for q, _ in report.failures] == ["zebrafish"]  # type: ignore[attr-defined]
    assert set(channel.pmids("a")) == expected(fake, "crispr[tiab]", "2021/05/31", "2021/06/07")
    state = store.polls.query_state("zebrafish")
    assert state is not None
    assert state.cursor is None
    assert "timed out" in state.last_error
    status = chat_status(store, settings, store.chats.get(1))
    assert "PubMed error" in status


def test_a_crash_between_sending_and_marking_sent_repeats_at_most_that_message(
    fake: FakeEutils, store: Store, tmp_path: Path
) -> None:
    """If the process dies after the platform accepted a card but before the outbox recorded it,
    that one card is sent again once its lease runs out (the platform cannot tell us it already
    has it); every other paper still arrives exactly once, and none is lost."""
    settings = settings_for(fake)
    subscribe(store, "a", "zebrafish")
    run_poll(store, fake, settings, date(2021, 6, 7))
    channel = RecordingChannel()

    class Crash(BaseException):
        """Stands for SIGKILL: nothing after it runs, not even exception handlers."""

    real_mark_sent = store.outbox.mark_sent
    calls = {"n": 0}

    def dying_mark_sent(ids: list[int], message_id: str, **more: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise Crash
        real_mark_sent(ids, message_id, **more)

    store.outbox.mark_sent = dying_mark_sent  # type: ignore[method-assign]
    with pytest.raises(Crash):
        deliver(store, settings, channel)
    store.close()

    restarted = Store(tmp_path / "ps.db")
    deliver(restarted, settings, channel)
    wanted = expected(fake, "zebrafish", "2021/05/31", "2021/06/07")
    assert set(channel.pmids("a")) == wanted  # the unconfirmed card was sent once already
    assert len(channel.pmids("a")) == len(wanted)
    # The dead sender's lease on the unconfirmed card runs out; then it goes out again.
    later = datetime.now(UTC) + timedelta(seconds=LEASE_SECONDS + 1)
    asyncio.run(deliver_pending(restarted, {"local": channel}, settings, clock=lambda: later))
    got = channel.pmids("a")
    assert set(got) == wanted
    repeats = [p for p in set(got) if got.count(p) > 1]
    assert len(repeats) == 1  # exactly the card whose confirmation the crash cut off
    assert len(got) == len(wanted) + 1
    restarted.close()


def test_a_crash_in_the_middle_of_a_poll_is_repaired_by_the_next(
    fake: FakeEutils, store: Store, tmp_path: Path
) -> None:
    """Dying after one query committed and before the next: the next poll redoes only what was
    not committed, and no chat gets a paper twice."""
    settings = settings_for(fake)
    subscribe(store, "a", "crispr[tiab]")
    subscribe(store, "a", "cas9")

    class Crash(BaseException):
        pass

    real_commit = store.polls.commit_query
    commits = {"n": 0}

    def dying_commit(*args: object, **kwargs: object) -> object:
        commits["n"] += 1
        if commits["n"] == 2:
            raise Crash
        return real_commit(*args, **kwargs)  # type: ignore[arg-type]

    store.polls.commit_query = dying_commit  # type: ignore[method-assign]
    with pytest.raises(Crash):
        run_poll(store, fake, settings, date(2021, 6, 7))
    store.close()

    restarted = Store(tmp_path / "ps.db")
    states = {s.normalized: s.cursor for s in restarted.polls.query_states()}
    assert list(states.values()) == [date(2021, 6, 7)]  # one query committed, one did not
    channel = RecordingChannel()
    run_poll(restarted, fake, settings, date(2021, 6, 7))
    deliver(restarted, settings, channel)
    got = channel.pmids("a")
    wanted = expected(fake, "crispr[tiab]", "2021/05/31", "2021/06/07") | expected(
        fake, "cas9", "2021/05/31", "2021/06/07"
    )
    assert sorted(got) == sorted(wanted)
    restarted.close()


def test_a_window_too_big_to_page_through_is_split(store: Store) -> None:
    """A query matching more than PubMed's 9,999-id cap in one window is searched in halves,
    so no paper of a busy week is silently dropped."""
    with FakeEutils(rate_limit=None) as busy:
        busy.load(fixture(DAILY))
        for copy in (1, 2, 3):  # the slice's records four times over: a busier PubMed
            busy.echo(copy * 100_000_000)
        settings = settings_for(busy, BACKFILL_DAYS="3650")
        subscribe(store, "a", "all[sb]")
        report = run_poll(store, busy, settings, date(2021, 6, 7))
        start = date(2021, 6, 7).replace(year=2011)
        in_window = {
            pmid
            for pmid in busy.pmids
            if (edat := busy.entrez_date(pmid)) is not None and start <= edat <= date(2021, 6, 7)
        }
        assert len(in_window) > 9_999  # more than one esearch can page through
        assert report.warnings == []  # type: ignore[attr-defined]
        assert store.papers.known(busy.pmids) == in_window


def test_papers_that_could_not_be_stored_keep_their_querys_cursor(
    fake: FakeEutils, store: Store
) -> None:
    """When saving fetched papers fails (here SQLite itself refuses every new paper, as on a
    full disk), the poll reports the query as failed without a traceback, its cursor stays, and
    the next poll, days later, still owes the chat every paper of the first window."""
    settings = settings_for(fake)
    chat = subscribe(store, "a", "crispr[tiab]")
    with store.transaction() as db:
        db.execute(
            "CREATE TRIGGER full BEFORE INSERT ON papers"
            " BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END"
        )
    report = run_poll(store, fake, settings, date(2021, 6, 3))
    [(query, error)] = report.failures  # type: ignore[attr-defined]
    assert query == "crispr[tiab]"
    assert "could not be stored: database or disk is full" in error
    state = store.polls.query_state("crispr[tiab]")
    assert state is None or not state.cursor
    assert "database or disk is full" in chat_status(store, settings, chat)

    with store.transaction() as db:
        db.execute("DROP TRIGGER full")
    later = run_poll(store, fake, settings, date(2021, 6, 7))
    assert later.failures == []  # type: ignore[attr-defined]
    owed = {pmid for (pmid,) in store.db.execute("SELECT pmid FROM deliveries").fetchall()}
    assert expected(fake, "crispr[tiab]", "2021/05/27", "2021/06/03") <= owed


@pytest.mark.parametrize("first_poll_fails", [False, True])
def test_a_resumed_subscription_is_not_flooded_with_the_paused_weeks(
    fake: FakeEutils, store: Store, first_poll_fails: bool
) -> None:
    """A query nobody polled while its only subscription was paused looks back at most
    BACKFILL_DAYS when resumed, not across the whole pause, nor to a first poll that failed."""
    settings = settings_for(fake)
    chat = subscribe(store, "a", "crispr[tiab]")
    if first_poll_fails:
        fake.inject("status", endpoint="esearch", term="crispr[tiab]", status=503, times=3)
    report = run_poll(store, fake, settings, date(2021, 5, 20))
    assert bool(report.failures) == first_poll_fails  # type: ignore[attr-defined]
    store.chats.set_status(chat.id, 1, "paused")
    run_poll(store, fake, settings, date(2021, 5, 30))
    store.chats.set_status(chat.id, 1, "active")
    fake.reset()
    run_poll(store, fake, settings, date(2021, 6, 7))
    [search] = searches(fake)
    assert window_of(search) == ("2021/05/31", "2021/06/07")


def test_a_new_subscriber_to_a_followed_query_gets_its_own_backfill(
    fake: FakeEutils, store: Store
) -> None:
    """A chat subscribing to a query another chat already follows still gets the last
    BACKFILL_DAYS the first time, while the first chat gets nothing twice."""
    settings = settings_for(fake)
    subscribe(store, "a", "crispr[tiab]")
    channel = RecordingChannel()
    fake.visible_until = date(2021, 6, 4)
    run_poll(store, fake, settings, date(2021, 6, 4))
    deliver(store, settings, channel)

    subscribe(store, "b", "CRISPR[tiab]")  # the same query once normalised
    fake.reset()
    fake.visible_until = date(2021, 6, 7)
    run_poll(store, fake, settings, date(2021, 6, 7))
    deliver(store, settings, channel)
    [search] = searches(fake)
    assert window_of(search)[0] == "2021/05/31"  # 7 days back, not the cursor's 06/03
    assert expected(fake, "crispr[tiab]", "2021/05/31", "2021/06/02")  # so the test can fail
    assert sorted(channel.pmids("b")) == sorted(
        expected(fake, "crispr[tiab]", "2021/05/31", "2021/06/07")
    )
    assert sorted(channel.pmids("a")) == sorted(
        expected(fake, "crispr[tiab]", "2021/05/28", "2021/06/07")
    )

    fake.reset()  # b has had its look back: the next poll starts from the cursor again
    run_poll(store, fake, settings, date(2021, 6, 8))
    [search] = searches(fake)
    assert window_of(search)[0] == "2021/06/06"


def test_a_new_subscription_whose_first_polls_fail_keeps_its_whole_look_back(
    fake: FakeEutils, store: Store
) -> None:
    """When PubMed fails on a new subscription's first polls, the first good one still reaches
    BACKFILL_DAYS before the first try, not before its own day."""
    settings = settings_for(fake)
    subscribe(store, "a", "crispr[tiab]")
    channel = RecordingChannel()
    fake.inject("status", endpoint="esearch", status=503, times=9)
    for day in (date(2021, 6, 4), date(2021, 6, 5)):
        assert run_poll(store, fake, settings, day).failures  # type: ignore[attr-defined]
    fake.reset()
    run_poll(store, fake, settings, date(2021, 6, 7))
    deliver(store, settings, channel)
    [search] = searches(fake)
    assert window_of(search)[0] == "2021/05/28"  # the first try, 06/04, minus 7 days
    assert expected(fake, "crispr[tiab]", "2021/05/28", "2021/05/30")  # so the test can fail
    assert sorted(channel.pmids("a")) == sorted(
        expected(fake, "crispr[tiab]", "2021/05/28", "2021/06/07")
    )


def test_an_outage_longer_than_the_backfill_still_loses_nothing(
    fake: FakeEutils, store: Store
) -> None:
    """When PubMed failed for two weeks, the next good poll reaches back to the last success."""
    settings = settings_for(fake)
    subscribe(store, "a", "crispr[tiab]")
    run_poll(store, fake, settings, date(2021, 5, 20))
    fake.inject("status", endpoint="esearch", status=503, times=9)
    run_poll(store, fake, settings, date(2021, 5, 27))
    run_poll(store, fake, settings, date(2021, 6, 3))
    fake.reset()
    run_poll(store, fake, settings, date(2021, 6, 7))
    [search] = searches(fake)
    assert window_of(search)[0] == "2021/05/19"  # the last success minus one day


# `immunization` as PubMed's automatic term mapping searches it (the form of its Search Details:
# the word, its forms, and the MeSH headings it maps to), within the subscribe preview's dates.
IMMUNIZATION = (
    '("immunisation"[All Fields] OR "immunization"[MeSH Terms] OR "immunization"[All Fields] OR '
    '"immunizations"[All Fields] OR "vaccination"[MeSH Terms] OR "vaccination"[All Fields]) AND '
    "2021/05/28:2021/06/04[Date - Entry]"
)


def test_a_stored_translation_scores_words_as_pubmed_searched_them(
    fake: FakeEutils, store: Store
) -> None:
    """34052507 says "immunization" in its abstract and keywords and "vaccination" in its title:
    with the subscription's stored translation, where PubMed searched `immunization` as
    "vaccination" too, the title counts: (1 - 0.4*0.65*0.6) / 0.922 = 0.9154, high, instead of
    the abstract and keywords alone, (1 - 0.65*0.6) / 0.922 = 0.6616, medium."""
    settings = settings_for(fake)
    chat = store.chats.get_or_create("local", "", "t", DEFAULTS)
    store.chats.add_subscription(
        chat.id, "immunization", "immunization", 50, translation=IMMUNIZATION
    )
    fake.visible_until = date(2021, 6, 4)
    run_poll(store, fake, settings, date(2021, 6, 4))
    row = store.db.execute(
        "SELECT score, category, reasons FROM matches WHERE pmid = '34052507'"
    ).fetchone()
    assert row is not None
    assert row[0] == pytest.approx(0.844 / 0.922, abs=1e-4)
    assert row[1] == "high"
    assert "title" in row[2]
