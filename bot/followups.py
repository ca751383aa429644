"""Sending follow-ups: a paper a chat received or saved was retracted, got an expression of
concern or an erratum, or became free in PubMed Central.

What is owed is decided in storage (storage/followups.py) when the news is learnt; this sends
it, through the chat's channel, like a card: leased while in flight, marked sent only once the
platform confirmed it (so a crash repeats at most the one message in flight and loses none), a
rate limit waited out without counting an attempt, other failures retried with backoff, and a
chat that is gone retired with what it was owed. The message replies to the paper's card
(Telegram reply, Slack thread, a file next to the local card).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.config import Settings
from bot.delivery import (
    BASE_BACKOFF,
    CONCURRENT_CHATS,
    LEASE_SECONDS,
    MAX_ATTEMPTS,
    SENDER,
    dead_senders,
)
from bot.errors import DeliveryFailed
from bot.messages import Channel, FollowupMessage
from bot.models import Chat, Followup
from storage import Store

log = logging.getLogger(__name__)

MAX_BACKOFF = 3600.0


@dataclass
class FollowupReport:
    sent: int = 0
    failed: int = 0
    cancelled: int = 0  # FOLLOWUPS=off: what was owed is dropped


async def deliver_followups(
    store: Store,
    channels: Mapping[str, Channel],
    settings: Settings,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> FollowupReport:
    """Send every follow-up due now, each chat's in order, chats side by side."""
    report = FollowupReport()
    if not settings.followups:
        report.cancelled = await asyncio.to_thread(store.followups.cancel_all, "FOLLOWUPS=off")
        return report
    await asyncio.to_thread(_release_dead_leases, store)
    due = await asyncio.to_thread(store.followups.due, clock())
    by_chat: dict[int, list[Followup]] = {}
    for row in due:
        by_chat.setdefault(row.chat, []).append(row)
    limit = asyncio.Semaphore(CONCURRENT_CHATS)

    async def one_chat(chat_id: int, rows: list[Followup]) -> None:
        async with limit:
            await _deliver_chat(store, channels, clock, report, chat_id, rows)

    await asyncio.gather(*(one_chat(c, rows) for c, rows in by_chat.items()))
    return report


async def _deliver_chat(
    store: Store,
    channels: Mapping[str, Channel],
    clock: Callable[[], datetime],
    report: FollowupReport,
    chat_id: int,
    rows: list[Followup],
) -> None:
    chat = await asyncio.to_thread(store.chats.get, chat_id)
    channel = channels.get(chat.platform)
    if channel is None:  # the platform is not configured now: keep them for later
        return
    for index, row in enumerate(rows):
        now = clock()
        lease = now + timedelta(seconds=LEASE_SECONDS)
        if not await asyncio.to_thread(store.followups.claim, row.id, now, lease, SENDER):
            return  # another process is sending to this chat
        try:
            message = await asyncio.to_thread(message_for, store, chat, row)
            message_id = await channel.send(chat, message)
        except DeliveryFailed as exc:
            if exc.permanent:
                cancelled = await asyncio.to_thread(store.chats.deactivate, chat.id, str(exc))
                log.warning("deactivated %s: %s (%d owed cancelled)", chat.label, exc, cancelled)
                return
            if exc.retry_after is not None:
                at = clock() + timedelta(seconds=exc.retry_after)
                await asyncio.to_thread(
                    store.followups.retry_later, row.id, str(exc), at, attempt=False
                )
            else:
                at = await _failed(store, clock, row, str(exc))
            report.failed += 1
            # The rest of the chat's follow-ups wait as long: the chat's order is kept, and a
            # struggling platform is spared.
            for later in rows[index + 1 :]:
                await asyncio.to_thread(
                    store.followups.retry_later, later.id, "waiting", at, attempt=False
                )
            return
        except Exception as exc:  # a bug with one follow-up must not stop the others
            log.exception("follow-up %d to %s failed", row.id, chat.label)
            await _failed(store, clock, row, f"{type(exc).__name__}: {exc}")
            report.failed += 1
            continue
        await asyncio.to_thread(store.followups.mark_sent, row.id, message_id)
        report.sent += 1


async def _failed(
    store: Store, clock: Callable[[], datetime], row: Followup, error: str
) -> datetime:
    """Count a failed attempt: retry with backoff, or give up after MAX_ATTEMPTS; when next."""
    attempts = row.attempts + 1
    give_up = attempts >= MAX_ATTEMPTS
    at = clock() + timedelta(seconds=min(MAX_BACKOFF, BASE_BACKOFF * 2 ** (attempts - 1)))
    await asyncio.to_thread(
        store.followups.retry_later, row.id, error, at, attempt=True, give_up=give_up
    )
    if give_up:
        log.error("gave up on the follow-up of PMID %s after %d attempts", row.pmid, attempts)
    return at


def message_for(store: Store, chat: Chat, row: Followup) -> FollowupMessage:
    """The follow-up as the chat reads it: its language, its local date of receipt."""
    paper = store.papers.get(row.pmid)
    when = row.received_at or row.saved_at
    day = when.astimezone(ZoneInfo(chat.timezone)).date().isoformat() if when else ""
    return FollowupMessage(
        language=chat.language,
        kind=row.kind,
        pmid=row.pmid,
        title=(paper.title or paper.vernacular_title) if paper else "",
        notice=row.notice,
        day=day,
        saved=row.received_at is None,
        subscriptions=row.subscriptions,
        reply_to=row.reply_to,
    )


def _release_dead_leases(store: Store) -> int:
    """Take back leases of senders on this host whose process is gone."""
    followups = store.followups
    return sum(followups.release_leases(owner) for owner in dead_senders(followups.lease_owners()))
