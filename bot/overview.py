"""The operator's overview as text: `paper-surfer stats` and `paper-surfer chats`.

Both read the dataclasses `store.admin` returns (`--format json` prints the same ones), so the
text and the JSON never disagree.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.models import ChatOverview, PollRun, Stats
from bot.weekdays import ENGLISH


def stats_text(stats: Stats, now: datetime | None = None) -> str:
    """A short screen: one line per subject."""
    now = now or datetime.now(UTC)
    size = stats.database
    chats = "; ".join(
        f"{platform} {counts.active} active"
        + (f", {counts.retired} retired" if counts.retired else "")
        for platform, counts in stats.chats.items()
    )
    subs = stats.subscriptions
    sent = stats.deliveries
    lines = [
        f"Database: {size.path}, {_size(size.bytes)}"
        f" ({_size(size.file_bytes)} file + {_size(size.wal_bytes)} write-ahead log)",
        f"Chats: {chats or 'none'}",
        f"Subscriptions: {subs.active} active, {subs.paused} paused;"
        f" distinct queries polled: {stats.queries}",
        f"Papers stored: {stats.papers:,}",
        f"Deliveries: {sent['pending']:,} pending, {sent['sent']:,} sent,"
        f" {sent['failed']:,} given up, {sent['cancelled']:,} cancelled",
    ]
    oldest = stats.oldest_pending
    if oldest:
        lines.append(f"Oldest pending delivery: {_when(oldest)} ({_ago(oldest, now)})")
    lines.append("Last poll: " + _last_poll(stats.last_poll, now))
    return "\n".join(lines) + "\n"


def chats_text(chats: list[ChatOverview]) -> str:
    """Each chat on a line with its settings, its subscriptions indented below it."""
    lines = []
    for chat in chats:
        where = f"{chat.workspace}/{chat.chat_id}" if chat.workspace else chat.chat_id
        mode = "digest at " + chat.digest_time if chat.mode == "digest" else chat.mode
        if chat.mode == "digest" and chat.digest_day is not None:
            mode = f"weekly on {ENGLISH[chat.digest_day].title()} at {chat.digest_time}"
        state = "active" if chat.active else "retired"
        if chat.active and chat.paused:
            state += ", paused"
        if not chat.active and chat.retired_because:
            state += f": {chat.retired_because}"
        lines.append(f"{chat.platform} {where} ({chat.language}, {chat.timezone}, {mode}) {state}")
        for sub in chat.subscriptions:
            lines.append(f"  #{sub.id} {sub.query}" + (" (paused)" if sub.paused else ""))
        if not chat.subscriptions:
            lines.append("  no subscriptions")
    count = sum(len(chat.subscriptions) for chat in chats)
    lines.append(f"{len(chats)} chats, {count} subscriptions")
    return "\n".join(lines) + "\n"


def _last_poll(poll: PollRun | None, now: datetime) -> str:
    if poll is None:
        return "none yet"
    started = f"#{poll.id} at {_when(poll.started_at)} ({_ago(poll.started_at, now)})"
    if poll.finished_at is None:
        return f"{started}, not finished (running now, or stopped before it finished)"
    result = "ok" if not poll.failed_queries else f"{poll.failed_queries} queries failed"
    return (
        f"{started}, {result}: {poll.queries} queries, {poll.new_papers} new papers,"
        f" {poll.matches} matches, {poll.deliveries} deliveries queued"
    )


def _when(moment: datetime) -> str:
    """'2025-06-01 08:00 UTC'."""
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _ago(moment: datetime, now: datetime) -> str:
    seconds = max(0, int((now - moment).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return "just now"


def _size(count: int) -> str:
    if count < 1000:
        return f"{count} bytes"
    value = count / 1000
    for unit in ("kB", "MB"):
        if value < 1000:
            return f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"
