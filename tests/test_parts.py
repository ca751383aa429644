"""Long lists and digests on Telegram and Slack: at most three messages each, recorded message by
message, and resumed where a failure stopped them; every paper delivered exactly once.

Real SQLite, the real delivery code and the real clients, against the loopback fakes, which
inject a 502 or 500 after a given number of messages.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from fixtures import DAILY, connected, fixture, free_port
from received import left_out, slack_linked, telegram_linked
from servers.slack import FakeSlack, validate_blocks
from servers.telegram import FakeTelegram

from bot import digest
from bot.app import App
from bot.config import Settings
from bot.delivery import BASE_BACKOFF, DeliveryReport, deliver_pending
from bot.models import MatchReason, Paper, Score, search_url
from bot.overflow import MAX_MESSAGES
from bot.pubmed.parse import iter_records
from storage import Store

SAMPLE = "fatcat__pubmedsample_2019.xml"  # 176 papers: a list of three messages and a notice
CHAT = 4001
CHANNEL = "C4001"
QUERY = "sepsis AND (shock OR <failure>)"
DIGEST_MODE = {"language": "en", "timezone": "UTC", "mode": "digest", "digest_time": "08:00"}
INSTANT = {**DIGEST_MODE, "mode": "instant"}


@cache
def records(name: str) -> tuple[Paper, ...]:
    """The papers of a fixture, each PMID once (a daily file may revise a record)."""
    papers = {r.pmid: r for r in iter_records(fixture(name)) if isinstance(r, Paper)}
    return tuple(papers.values())


def owe(
    path: Path, platform: str, chat_key: str, papers: tuple[Paper, ...], mode: str
) -> list[str]:
    """A database where the chat is owed `papers` from one subscription, scores falling in the
    order given; returns the PMIDs best first, as the chat sees them (scores to four places,
    ties by PMID; in a digest, notices and commentary last)."""
    store = Store(path)
    store.papers.save(papers)
    chat = store.chats.get_or_create(
        platform,
        "T0001" if platform == "slack" else "",
        chat_key,
        DIGEST_MODE if mode == "digest" else INSTANT,
    )
    sub = store.chats.add_subscription(chat.id, QUERY, QUERY, 50)
    reasons = (MatchReason("sepsis", ("title",)),)
    step = 0.5 / len(papers)
    scores = {p.pmid: 0.99 - step * i for i, p in enumerate(papers)}
    store.polls.commit_query(
        store.polls.start(),
        QUERY,
        date(2026, 11, 26),
        "w",
        len(papers),
        [sub],
        [(sub, p.pmid, Score(scores[p.pmid], "high", reasons)) for p in papers],
    )
    if mode == "digest":
        digest.plan(store, chat, datetime.now(UTC))
    store.close()
    # A digest shows notices and commentary after the studies and reviews (bot/digest.py).
    last = {p.pmid for p in papers if mode == "digest" and p.kind in ("notice", "commentary")}
    return sorted(scores, key=lambda pmid: (pmid in last, -round(scores[pmid], 4), pmid))


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        fake.add_private_chat(CHAT)
        yield fake
        assert fake.errors == []


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        fake.add_channel(CHANNEL)
        yield fake
        assert fake.errors == []


@asynccontextmanager
async def running(tmp_path: Path, platform: str, fake: Any) -> AsyncIterator[App]:
    """The bot on `platform`'s fake, connected; one card per poll, so the rest is a list."""
    env = {"DATABASE_PATH": str(tmp_path / "ps.db"), "MAX_CARDS_PER_POLL": "1"}
    if platform == "telegram":
        env |= {"TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_API_URL": fake.base_url}
    else:
        env |= {
            "SLACK_BOT_TOKEN": "xoxb-test-token",
            "SLACK_SIGNING_SECRET": "s",
            "SLACK_API_URL": fake.api_url,
            "SLACK_PORT": str(free_port()),
        }
    async with connected(
        App.create(Settings.from_env(env, env_file=None), io.StringIO()), platform
    ) as app:
        yield app


async def deliver(app: App, at: datetime) -> DeliveryReport:
    return await deliver_pending(app.store, app.channels, app.settings, clock=lambda: at)


def check_once(messages: list[list[str]], notice: str, order: list[str]) -> list[str]:
    """Every paper of `order` delivered exactly once: listed once, in order, by the messages
    together, and the rest counted in the notice. Returns what was listed."""
    listed = [pmid for message in messages for pmid in message]
    assert len(listed) == len(set(listed))
    assert listed == order[: len(listed)]  # no paper skipped, none out of place
    assert len(listed) + left_out(notice) == len(order)
    return listed


# --- a list resumes where it stopped -------------------------------------------------------------


async def test_a_telegram_list_resumes_at_the_failed_message_and_lists_each_paper_once(
    tmp_path: Path, telegram: FakeTelegram
) -> None:
    """A 502 on the list's second message: the retry starts at that message, marked
    'continued', never repeats the first; three messages in all, each paper listed once or
    counted in the notice, nothing left pending."""
    papers = records(SAMPLE)
    order = owe(tmp_path / "ps.db", "telegram", str(CHAT), papers, "instant")
    async with running(tmp_path, "telegram", telegram) as app:
        telegram.inject("sendMessage", "status", status=502, chat_id=CHAT, after=2)
        now = datetime.now(UTC)
        first = await deliver(app, now)
        before = telegram.sent(CHAT)
        assert len(before) == 2  # the card, the list's first message; its second failed
        assert first.sent == 1 + len(telegram_linked(before[1]))  # recorded message by message
        await deliver(app, now + timedelta(seconds=BASE_BACKOFF + 1))
        counts = app.store.outbox.counts()
    sent = telegram.sent(CHAT)
    the_list = sent[1:]
    assert len(the_list) == MAX_MESSAGES
    assert the_list[0]["text"].startswith("More new papers (175), best first:")
    assert the_list[1]["text"].startswith("More new papers, continued (")
    check_once([telegram_linked(m) for m in the_list], the_list[-1]["text"], order[1:])
    assert "export csv alerts" in the_list[-1]["text"]
    searches = [e["url"] for e in the_list[-1]["entities"] if "?term=" in e.get("url", "")]
    assert searches == [search_url(QUERY)]
    assert counts == {"pending": 0, "sent": len(papers), "failed": 0, "cancelled": 0}


async def test_a_slack_list_resumes_at_the_failed_message_and_lists_each_paper_once(
    tmp_path: Path, slack: FakeSlack
) -> None:
    """The same on Slack with a 500 on the list's second message: valid blocks, three messages,
    the retry starts where it failed, each paper listed once or counted in the notice."""
    papers = records(SAMPLE)
    order = owe(tmp_path / "ps.db", "slack", CHANNEL, papers, "instant")
    async with running(tmp_path, "slack", slack) as app:
        slack.inject("chat.postMessage", "status", status=500, channel=CHANNEL, after=2)
        now = datetime.now(UTC)
        await deliver(app, now)
        assert len(slack.posted(CHANNEL)) == 2
        await deliver(app, now + timedelta(seconds=BASE_BACKOFF + 1))
        counts = app.store.outbox.counts()
    the_list = slack.posted(CHANNEL)[1:]
    assert len(the_list) == MAX_MESSAGES
    for message in the_list:
        assert validate_blocks(message["blocks"]) == []
    assert "continued" in the_list[1]["blocks"][0]["text"]["text"]
    notice = the_list[-1]["blocks"][-1]["text"]["text"]
    check_once([slack_linked(m) for m in the_list], notice, order[1:])
    assert f"<{search_url(QUERY)}|#1 " in notice
    assert counts == {"pending": 0, "sent": len(papers), "failed": 0, "cancelled": 0}


async def test_a_lost_answer_repeats_only_the_message_in_flight(
    tmp_path: Path, telegram: FakeTelegram
) -> None:
    """Telegram takes the list's second message but its answer is lost (as in a crash right
    after sending): only that message's papers come twice, never the first message's."""
    papers = records(SAMPLE)
    order = owe(tmp_path / "ps.db", "telegram", str(CHAT), papers, "instant")
    async with running(tmp_path, "telegram", telegram) as app:
        telegram.inject("sendMessage", "disconnect", deliver=True, chat_id=CHAT, after=2)
        now = datetime.now(UTC)
        await deliver(app, now)
        await deliver(app, now + timedelta(seconds=BASE_BACKOFF + 1))
        counts = app.store.outbox.counts()
    sent = telegram.sent(CHAT)[1:]
    first, in_flight, *retry = [telegram_linked(m) for m in sent]
    again = [pmid for message in retry for pmid in message]
    assert again[0] == in_flight[0]  # the retry starts with the unconfirmed message's papers
    check_once([first, again], sent[-1]["text"], order[1:])  # the first is never repeated
    assert counts == {"pending": 0, "sent": len(papers), "failed": 0, "cancelled": 0}


# --- a digest resumes likewise -------------------------------------------------------------------


async def test_a_telegram_digest_resumes_at_the_failed_message(
    tmp_path: Path, telegram: FakeTelegram
) -> None:
    """A 176-paper digest takes three messages; a 502 on the second: the retry starts there
    ('continued'), the first is not repeated, and each paper is in it once."""
    papers = records(SAMPLE)
    order = owe(tmp_path / "ps.db", "telegram", str(CHAT), papers, "digest")
    async with running(tmp_path, "telegram", telegram) as app:
        telegram.inject("sendMessage", "status", status=502, chat_id=CHAT, after=1)
        now = datetime.now(UTC)
        await deliver(app, now)
        assert len(telegram.sent(CHAT)) == 1
        report = await deliver(app, now + timedelta(seconds=BASE_BACKOFF + 1))
        counts = app.store.outbox.counts()
    sent = telegram.sent(CHAT)
    assert len(sent) == MAX_MESSAGES
    assert sent[0]["text"].startswith("📬 PubMed digest for ")
    assert "continued" in sent[1]["text"].splitlines()[0]
    check_once([telegram_linked(m) for m in sent], sent[-1]["text"], order)
    assert report.messages == 1
    assert counts == {"pending": 0, "sent": len(papers), "failed": 0, "cancelled": 0}


# --- thousands of papers -------------------------------------------------------------------------


async def test_a_list_of_thousands_of_papers_takes_three_telegram_messages(
    tmp_path: Path, telegram: FakeTelegram
) -> None:
    """A day of PubMed (3,400 papers) for one chat: a card, then a list of at most three
    messages whose last counts the rest and links the search; every paper delivered once."""
    papers = records(DAILY)
    order = owe(tmp_path / "ps.db", "telegram", str(CHAT), papers, "instant")
    async with running(tmp_path, "telegram", telegram) as app:
        report = await deliver(app, datetime.now(UTC))
        counts = app.store.outbox.counts()
    the_list = telegram.sent(CHAT)[1:]
    assert len(the_list) == MAX_MESSAGES
    check_once([telegram_linked(m) for m in the_list], the_list[-1]["text"], order[1:])
    assert left_out(the_list[-1]["text"]) > 3000
    assert report.sent == len(papers)
    assert counts["sent"] == len(papers)


async def test_a_digest_of_thousands_of_papers_takes_at_most_three_slack_messages(
    tmp_path: Path, slack: FakeSlack
) -> None:
    """A digest of a day of PubMed on Slack: at most three messages of valid blocks, the ten
    best in full, the rest linked until the last message counts what is left."""
    papers = records(DAILY)
    order = owe(tmp_path / "ps.db", "slack", CHANNEL, papers, "digest")
    async with running(tmp_path, "slack", slack) as app:
        await deliver(app, datetime.now(UTC))
        counts = app.store.outbox.counts()
    posted = slack.posted(CHANNEL)
    assert 1 <= len(posted) <= MAX_MESSAGES
    for message in posted:
        assert validate_blocks(message["blocks"]) == []
    notice = posted[-1]["blocks"][-1]["text"]["text"]
    check_once([slack_linked(m) for m in posted], notice, order)
    assert left_out(notice) > 0
    assert counts["sent"] == len(papers)
