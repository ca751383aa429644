"""The scheduler: APScheduler's AsyncIOScheduler on the bot's event loop.

Jobs are rebuilt from settings and the database every time the program starts; nothing the
scheduler holds in memory is needed after a restart.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.models import Chat
from bot.weekdays import CRON

POLL_JOB = "poll"
DELIVERY_JOB = "deliver"
DELIVERY_INTERVAL_SECONDS = 30  # how soon failed sends are retried once they are due
PRUNE_JOB = "prune"
# The daily prune's first run after a start: late enough to leave the start-up poll alone,
# early enough that a bot restarted every day still prunes.
PRUNE_DELAY = timedelta(minutes=10)


def build_scheduler(
    poll: Callable[[], Awaitable[object]],
    deliver: Callable[[], Awaitable[object]],
    poll_interval_minutes: float,
) -> AsyncIOScheduler:
    """A scheduler with the poll job (first run now) and the delivery retry job."""
    scheduler = AsyncIOScheduler(timezone=UTC)
    interval = poll_interval_minutes * 60
    scheduler.add_job(
        poll,
        IntervalTrigger(seconds=interval, timezone=UTC),
        id=POLL_JOB,
        name="poll PubMed and deliver",
        next_run_time=datetime.now(UTC),
        coalesce=True,  # after a long pause (laptop asleep) run once, not once per missed slot
        max_instances=1,  # a slow poll is never overlapped by the next one
        misfire_grace_time=max(60, int(interval)),
    )
    scheduler.add_job(
        deliver,
        IntervalTrigger(seconds=DELIVERY_INTERVAL_SECONDS, timezone=UTC),
        id=DELIVERY_JOB,
        name="retry due deliveries",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=DELIVERY_INTERVAL_SECONDS,
    )
    return scheduler


def schedule_prune(scheduler: AsyncIOScheduler, prune: Callable[[], Awaitable[object]]) -> None:
    """Add the daily retention job: old papers nobody needs are removed (storage/retention.py)."""
    scheduler.add_job(
        prune,
        IntervalTrigger(days=1, timezone=UTC),
        id=PRUNE_JOB,
        name="prune old papers",
        next_run_time=datetime.now(UTC) + PRUNE_DELAY,
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=3600,
    )


def digest_job_id(chat: Chat) -> str:
    return f"digest-{chat.id}"


def digest_trigger(chat: Chat) -> CronTrigger:
    """Every day (a weekly chat: its weekday) at the chat's digest time in its own zone; the
    zone handles daylight saving, and the weekday is the chat's local one."""
    hour, minute = (int(part) for part in chat.digest_time.split(":"))
    day = "*" if chat.digest_day is None else CRON[chat.digest_day]
    return CronTrigger(day_of_week=day, hour=hour, minute=minute, timezone=ZoneInfo(chat.timezone))


def schedule_digest(
    scheduler: AsyncIOScheduler, chat: Chat, send: Callable[[int], Awaitable[object]]
) -> None:
    """Add, move or remove the chat's digest job to match its settings (safe from any thread)."""
    job_id = digest_job_id(chat)
    if chat.active and chat.mode == "digest":
        scheduler.add_job(
            send,
            digest_trigger(chat),
            args=[chat.id],
            id=job_id,
            name=f"digest for {chat.label}",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=6 * 3600,  # a bot down at 08:00 still sends the day's digest
        )
        return
    with contextlib.suppress(JobLookupError):  # it was not in digest mode
        scheduler.remove_job(job_id)
