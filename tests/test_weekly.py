"""Weekly digests: one digest a week on the chat's own weekday and time, covering the week, once.

The clock is the test's: digest times come from the chat's cron trigger as APScheduler computes
them, and planning and delivery are handed the moment. Calendar facts written by hand: Monday
2026-11-30 07:30 in Seoul (UTC+9, no daylight saving) is Sunday 2026-11-29 22:30 UTC.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from channels import RecordingChannel
from fixtures import fixture

from bot import digest
from bot.commands import Context, execute
from bot.config import Settings
from bot.delivery import deliver_pending
from bot.messages import DigestMessage
from bot.models import Chat, MatchReason, Paper, Score
from bot.overview import chats_text
from bot.plain import digest_markdown
from bot.pubmed.client import EutilsClient
from bot.pubmed.parse import iter_records
from bot.scheduler import digest_job_id, digest_trigger, schedule_digest
from storage import Store

SEOUL = ZoneInfo("Asia/Seoul")
# Seoul chat, weekly on Monday at 07:30 local time.
WEEKLY = {"language": "en", "timezone": "Asia/Seoul", "mode": "digest", "digest_time": "07:30"}
WEDNESDAY = datetime(2026, 11, 25, 0, 0, tzinfo=UTC)
FIRST_DIGEST = datetime(2026, 11, 29, 22, 30, tzinfo=UTC)  # Monday 2026-11-30 07:30 in Seoul


def seoul_chat(digest_day: int | None) -> Chat:
    """A Seoul chat in digest mode at 07:30, weekly on `digest_day` (None: daily)."""
    return Chat(
        7,
        "local",
        "",
        "a",
        timezone="Asia/Seoul",
        mode="digest",
        digest_time="07:30",
        digest_day=digest_day,
    )


def papers(count: int, offset: int = 0) -> list[Paper]:
    found = [
        r for r in iter_records(fixture("fatcat__pubmedsample_2019.xml")) if isinstance(r, Paper)
    ]
    return found[offset : offset + count]


def weekly_chat(store: Store, chat_id: str = "a", day: int = 0, **settings: str) -> Chat:
    chat = store.chats.get_or_create("local", "", chat_id, {**WEEKLY, **settings})
    return store.chats.update(chat.id, digest_day=day)


def owe(store: Store, chat: Chat, batch: list[Paper]) -> None:
    """The chat's one subscription matched `batch` in a poll."""
    store.papers.save(batch)
    existing = store.chats.subscriptions(chat.id)
    sub = existing[0] if existing else store.chats.add_subscription(chat.id, "q", "q", 50)
    store.polls.commit_query(
        store.polls.start(),
        "q",
        date(2026, 11, 26),
        "w",
        len(batch),
        [sub],
        [(sub, p.pmid, Score(0.5, "medium", (MatchReason("q", ("title",)),))) for p in batch],
    )


def deliver(store: Store, channel: RecordingChannel, at: datetime) -> None:
    """One delivery pass at `at` (what the 30-second delivery job does)."""
    settings = Settings.from_env({}, env_file=None)
    asyncio.run(deliver_pending(store, {"local": channel}, settings, clock=lambda: at))


def fires(chat: Chat, start: datetime, end: datetime) -> Iterator[datetime]:
    """The chat's digest times in [start, end), as APScheduler computes them."""
    cron = digest_trigger(chat)
    previous, moment = None, start
    while True:
        fire = cron.get_next_fire_time(previous, moment)
        if fire is None or fire >= end:
            return
        yield fire
        previous, moment = fire, fire + timedelta(seconds=1)


def digests(channel: RecordingChannel) -> list[DigestMessage]:
    return [s.message for s in channel.sent if isinstance(s.message, DigestMessage)]


def test_a_weekly_digest_fires_on_its_local_weekday_across_the_date_line() -> None:
    """Monday 07:30 in Seoul is Sunday 22:30 UTC, once a week and on no other day; a Friday
    chat fires on Fridays."""
    monday = seoul_chat(digest_day=0)
    times = list(fires(monday, WEDNESDAY, WEDNESDAY + timedelta(days=21)))
    assert [t.astimezone(UTC).strftime("%a %m-%d %H:%M") for t in times] == [
        "Sun 11-29 22:30",
        "Sun 12-06 22:30",
        "Sun 12-13 22:30",
    ]
    assert {t.astimezone(SEOUL).strftime("%A %H:%M") for t in times} == {"Monday 07:30"}
    friday = replace(monday, digest_day=4, timezone="UTC")
    assert [t.strftime("%a %m-%d") for t in fires(friday, WEDNESDAY, FIRST_DIGEST)] == ["Fri 11-27"]


async def test_the_scheduler_job_of_a_weekly_chat_runs_on_its_day() -> None:
    """The job the bot schedules for a Friday chat next runs on a Friday at its time; the daily
    chat of the same time runs within a day."""
    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.start()
    try:

        async def job(chat_id: int) -> None:
            return None

        weekly = seoul_chat(digest_day=4)
        schedule_digest(scheduler, weekly, job)
        planned = scheduler.get_job(digest_job_id(weekly))
        assert planned is not None
        local = planned.next_run_time.astimezone(SEOUL)
        assert local.strftime("%A %H:%M") == "Friday 07:30"
        daily = seoul_chat(digest_day=None)
        schedule_digest(scheduler, daily, job)
        again = scheduler.get_job(digest_job_id(daily))
        assert again is not None
        assert again.next_run_time - datetime.now(UTC) <= timedelta(days=1)
    finally:
        scheduler.shutdown(wait=False)


def test_a_weekly_chat_gets_nothing_all_week_then_one_digest_of_the_week(store: Store) -> None:
    """Papers owed Thursday to Sunday wait (daily delivery passes send nothing); at Monday 07:30
    Seoul time one digest holds all of them, says it covers the week to Monday, and a paper
    owed after it waits for the next Monday."""
    chat = weekly_chat(store)
    channel = RecordingChannel()
    week = papers(9)
    moment = WEDNESDAY
    for day, batch in enumerate((week[:3], week[3:6], week[6:9]), start=1):
        owe(store, chat, batch)
        moment = WEDNESDAY + timedelta(days=day, hours=12)
        for fire in fires(store.chats.get(chat.id), WEDNESDAY, moment):
            digest.plan(store, chat, fire)  # never: no Monday before Saturday noon
        deliver(store, channel, moment)
    assert channel.sent == []

    [fire] = list(fires(store.chats.get(chat.id), moment, moment + timedelta(days=2)))
    assert fire == FIRST_DIGEST
    assert digest.plan(store, store.chats.get(chat.id), fire) == 9
    deliver(store, channel, fire)
    [weekly] = digests(channel)
    assert len(channel.sent) == 1
    assert weekly.day == "2026-11-30"  # Seoul's Monday, while UTC is still on Sunday
    assert weekly.total == 9
    assert sorted(i.paper.pmid for s in weekly.sections for i in s.items) == sorted(
        p.pmid for p in week
    )
    assert weekly.header() == (
        "📬 PubMed weekly digest, week to 2026-11-30 — new papers: 9, subscriptions: 1"
    )
    assert digest_markdown(weekly).startswith("# 📬 PubMed weekly digest, week to 2026-11-30")

    late = papers(1, offset=9)
    owe(store, chat, late)
    deliver(store, channel, fire + timedelta(hours=1))
    assert len(channel.sent) == 1
    after = fire + timedelta(seconds=1)
    [second] = list(fires(store.chats.get(chat.id), after, after + timedelta(days=8)))
    assert second == FIRST_DIGEST + timedelta(days=7)
    digest.plan(store, store.chats.get(chat.id), second)
    deliver(store, channel, second)
    assert [d.total for d in digests(channel)] == [9, 1]
    assert digests(channel)[1].sections[0].items[0].paper.pmid == late[0].pmid


def test_a_restart_on_the_day_does_not_repeat_the_weekly_digest(store: Store) -> None:
    """A bot restarted an hour after Monday's digest schedules the next one a week later, and
    even a second run of the day's digest (a misfire, or `paper-surfer digest`) sends nothing."""
    chat = weekly_chat(store)
    channel = RecordingChannel()
    owe(store, chat, papers(4))
    digest.plan(store, chat, FIRST_DIGEST)
    deliver(store, channel, FIRST_DIGEST)
    assert len(digests(channel)) == 1

    restart = FIRST_DIGEST + timedelta(hours=1)
    # What APScheduler computes when the restarted bot adds the chat's job.
    following = digest_trigger(store.chats.get(chat.id)).get_next_fire_time(None, restart)
    assert following == FIRST_DIGEST + timedelta(days=7)
    assert digest.plan(store, store.chats.get(chat.id), restart) == 0
    deliver(store, channel, restart)
    assert len(channel.sent) == 1


def test_a_weekly_digest_in_korean_says_it_covers_the_week(store: Store) -> None:
    """A Korean weekly chat's header names the week in Korean."""
    chat = weekly_chat(store, language="ko")
    channel = RecordingChannel()
    owe(store, chat, papers(2))
    digest.plan(store, chat, FIRST_DIGEST)
    deliver(store, channel, FIRST_DIGEST)
    [weekly] = digests(channel)
    assert weekly.header() == "📬 2026-11-30까지 한 주의 PubMed 요약 — 새 논문 2편, 구독 1개"


def test_switching_a_weekly_chat_to_instant_or_daily(store: Store) -> None:
    """Leaving weekly mode mid-week: `mode instant` sends what waited as cards at the next pass;
    `mode digest` brings the next digest on the next morning, not the next Monday."""
    settings = Settings.from_env({}, env_file=None)
    context = Context(settings, store, EutilsClient("http://127.0.0.1:9"))  # never called
    chat = weekly_chat(store)
    channel = RecordingChannel()
    owe(store, chat, papers(2))
    thursday = WEDNESDAY + timedelta(days=1, hours=12)
    deliver(store, channel, thursday)
    assert channel.sent == []
    assert execute(context, store.chats.get(chat.id), "mode instant").ok
    deliver(store, channel, thursday)
    assert sorted(s.pmids[0] for s in channel.sent if s.kind == "card") == sorted(
        p.pmid for p in papers(2)
    )

    other = weekly_chat(store, "b")
    owe(store, other, papers(2, offset=2))
    assert execute(context, store.chats.get(other.id), "mode digest").ok
    daily = store.chats.get(other.id)
    [next_fire] = list(fires(daily, thursday, thursday + timedelta(days=1)))
    assert next_fire.astimezone(SEOUL).strftime("%a %m-%d %H:%M") == "Fri 11-27 07:30"
    digest.plan(store, daily, next_fire)
    deliver(store, channel, next_fire)
    [message] = [s.message for s in channel.sent if s.chat == "b"]
    assert isinstance(message, DigestMessage)
    assert message.total == 2
    assert message.header().startswith("📬 PubMed digest for 2026-11-27")


def test_the_operators_chat_overview_names_the_weekly_day(store: Store) -> None:
    """`paper-surfer chats` shows a weekly chat as weekly on its day at its time."""
    weekly_chat(store, day=2)
    [overview] = store.admin.chats()
    assert overview.digest_day == 2
    assert "(en, Asia/Seoul, weekly on Wednesday at 07:30) active" in chats_text([overview])
