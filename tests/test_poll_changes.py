"""PubMed changing under the poller: papers that match only once indexed with MeSH headings,
and polls that ask PubMed one question first and skip the searches when nothing changed.

Real SQLite, the real client, the loopback E-utilities serving a slice of a daily update file
in which the fake holds a record's headings back the way PubMed does (most records enter
without them and get them days later, their Entrez date unchanged).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from channels import RecordingChannel
from fixtures import DAILY, fixture
from servers.eutils import FakeEutils
from test_poller import (
    client_for,
    deliver,
    expected,
    searches,
    settings_for,
    subscribe,
    window_of,
)

from bot.config import Settings
from bot.poller import PollReport, poll_cycle
from bot.status import chat_status
from storage import Store

# "Giant breast fibroadenoma in pregnancy.", entered 2021-05-22; its only paper with the MeSH
# heading Fibroadenoma in the slice.
LATE = "34020558"
ENTERED = date(2021, 5, 22)


@pytest.fixture
def fake() -> Iterator[FakeEutils]:
    """A fresh PubMed per test: the tests change records."""
    with FakeEutils(rate_limit=None) as server:
        server.load(fixture(DAILY))
        yield server


def at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def poll(
    store: Store, fake: FakeEutils, settings: Settings, day: date, hour: int = 12
) -> PollReport:
    """One poll on `day` at `hour` UTC."""
    fake.today = day
    moment = at(day, hour)
    return poll_cycle(store, client_for(fake), settings, today=lambda: day, now=lambda: moment)


def test_a_paper_indexed_three_days_after_it_entered_reaches_its_mesh_subscriber_once(
    fake: FakeEutils, store: Store
) -> None:
    """A `[mh]` subscription gets a paper whose headings PubMed added three days after it
    entered, once; the stored copy, fetched without headings for another chat, is fetched
    again; and the chat that already had the paper does not get it twice."""
    settings = settings_for(fake)
    fake.withhold_headings([LATE])
    subscribe(store, "a", "fibroadenoma[mh]")
    subscribe(store, "b", "fibroadenoma[ti]")
    subscribe(store, "b", "fibroadenoma[mh]")
    channel = RecordingChannel()
    for day in (ENTERED, ENTERED + timedelta(days=1), ENTERED + timedelta(days=2)):
        poll(store, fake, settings, day)
        deliver(store, settings, channel)
    assert channel.pmids("a") == []
    assert channel.pmids("b") == [LATE]  # by its title, the day it entered
    stale = store.papers.get(LATE)
    assert stale is not None
    assert stale.mesh_terms == ()

    indexed = ENTERED + timedelta(days=3)
    fake.add_headings([LATE], on=indexed)
    fake.reset()
    poll(store, fake, settings, indexed)
    deliver(store, settings, channel)
    [search] = [s for s in searches(fake) if s.params["term"].startswith("(fibroadenoma[mh])")]
    start, end = window_of(search)
    # Its Entrez date is outside the window: searched by Entrez date only, it was missed.
    assert LATE not in expected(fake, "fibroadenoma[mh]", start, end)
    fetched = [
        i for r in fake.requests if r.endpoint == "efetch" for i in r.params["id"].split(",")
    ]
    assert LATE in fetched  # the stored record was stale
    fresh = store.papers.get(LATE)
    assert fresh is not None
    assert "Fibroadenoma" in fresh.mesh_terms

    for day in (indexed, indexed + timedelta(days=1), indexed + timedelta(days=2)):
        poll(store, fake, settings, day)
        deliver(store, settings, channel)
    assert channel.pmids("a") == [LATE]
    assert channel.pmids("b") == [LATE]


def test_a_paper_modified_before_a_subscription_began_is_not_news_to_it(
    fake: FakeEutils, store: Store
) -> None:
    """A paper entered before a subscription's first look back is not sent to it when PubMed
    indexes it later; a subscriber who was there when it entered gets it."""
    settings = settings_for(fake)
    fake.withhold_headings([LATE])
    subscribe(store, "old", "fibroadenoma[mh]")
    poll(store, fake, settings, ENTERED)
    poll(store, fake, settings, ENTERED + timedelta(days=19))
    later = ENTERED + timedelta(days=20)
    subscribe(store, "new", "fibroadenoma[mh]")
    fake.reset()
    poll(store, fake, settings, later)
    [search] = searches(fake)
    assert window_of(search)[0] == "2021/06/04"  # the new subscriber's first look back
    fake.add_headings([LATE], on=later + timedelta(days=1))
    channel = RecordingChannel()
    poll(store, fake, settings, later + timedelta(days=1))
    deliver(store, settings, channel)
    assert channel.pmids("old") == [LATE]
    assert LATE not in channel.pmids("new")


def test_a_poll_after_no_change_makes_one_request_and_status_says_so(
    fake: FakeEutils, store: Store
) -> None:
    """When PubMed reports nothing entered or modified since the last poll, the next poll makes
    exactly one request, the cursors stay, and `status` tells each chat, in its language."""
    settings = settings_for(fake)
    chat = subscribe(store, "a", "crispr[tiab]")
    korean = subscribe(store, "b", "zebrafish")
    store.chats.update(korean.id, language="ko")
    day = date(2021, 6, 7)
    first = poll(store, fake, settings, day)
    assert first.skipped == 0
    assert first.requests > 3
    cursors = store.polls.query_states()

    fake.reset()
    second = poll(store, fake, settings, day, 13)
    assert second.requests == 1
    assert len(fake.requests) == 1
    assert fake.requests[0].params["retmax"] == "1"
    assert second.skipped == 2
    assert second.deliveries == 0
    assert store.polls.query_states() == [
        replace(state, skipped_run=second.run) for state in cursors
    ]
    english = chat_status(store, settings, store.chats.get(chat.id))
    assert "then polled 2021-06-07 13:00 UTC: nothing new, PubMed had no paper entered" in english
    assert "다시 검색하지 않았습니다" in chat_status(store, settings, store.chats.get(korean.id))


@pytest.mark.parametrize("change", ["new record", "modification"])
def test_a_change_in_pubmed_makes_the_full_poll_happen(
    fake: FakeEutils, store: Store, change: str
) -> None:
    """A record entered, or one indexed, since the last poll changes PubMed's answer: every
    query is searched again and the change is delivered, with two requests more than the
    searches and fetches themselves (what changed, and which notices entered)."""
    settings = settings_for(fake)
    subscribe(store, "a", "fibroadenoma[mh]")
    subscribe(store, "a", "crispr[tiab]")
    fake.visible_until = ENTERED  # nothing else enters meanwhile
    if change == "new record":
        day = ENTERED
        fake.hidden = {LATE}  # PubMed adds it later that day
    else:
        day = ENTERED + timedelta(days=3)  # it entered three days ago, without headings
        fake.withhold_headings([LATE])
    channel = RecordingChannel()
    poll(store, fake, settings, day)
    assert poll(store, fake, settings, day, 13).skipped == 2
    deliver(store, settings, channel)
    before = channel.pmids("a")

    if change == "new record":
        fake.hidden = set()
    else:
        fake.add_headings([LATE])
    fake.reset()
    report = poll(store, fake, settings, day, 14)
    deliver(store, settings, channel)
    assert report.skipped == 0
    assert len(searches(fake)) == 2
    efetches = [r for r in fake.requests if r.endpoint == "efetch"]
    notices = [r for r in fake.requests if "[pt]" in r.params.get("term", "")]
    assert len(notices) == 1
    assert report.requests == 1 + len(searches(fake)) + len(notices) + len(efetches)
    got = channel.pmids("a")[len(before) :]
    assert got == [LATE]


@pytest.mark.parametrize("hours", ["6", "0"])
def test_full_poll_hours_forces_a_full_poll(fake: FakeEutils, store: Store, hours: str) -> None:
    """With PubMed unchanged, polls skip the searches until FULL_POLL_HOURS have passed since
    the last full poll; then every query is searched. 0 searches at every poll."""
    settings = settings_for(fake, FULL_POLL_HOURS=hours)
    subscribe(store, "a", "crispr[tiab]")
    day = date(2021, 6, 7)
    skipped = []
    for hour in (0, 1, 5, 6, 7, 11, 12):
        fake.reset()
        report = poll(store, fake, settings, day, 6 + hour)
        skipped.append(report.skipped)
        questions = [r for r in fake.requests if r.params.get("retmax") == "1"]
        assert len(questions) == 1
        assert len(searches(fake)) == (0 if report.skipped else 1)
    if hours == "6":
        assert skipped == [0, 1, 1, 0, 1, 1, 0]
    else:
        assert skipped == [0] * 7


def test_a_failed_question_means_a_full_poll_without_retries(
    fake: FakeEutils, store: Store
) -> None:
    """If PubMed fails the poll's question of what changed, it is not asked again: the poll
    searches every query, as it would have without the question."""
    settings = settings_for(fake)
    subscribe(store, "a", "crispr[tiab]")
    day = date(2021, 6, 7)
    poll(store, fake, settings, day)
    fake.reset()
    fake.inject("status", endpoint="esearch", status=503)
    report = poll(store, fake, settings, day, 13)
    assert report.skipped == 0
    assert report.probe == ""
    assert report.failures == []
    assert [r.status for r in fake.requests if r.endpoint == "esearch"] == [503, 200]
