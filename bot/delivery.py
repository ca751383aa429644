"""Delivery: pending outbox rows go out through their chat's channel, in order, exactly once.

A row is marked sent only after its channel confirmed it; in a list or digest, which takes up
to three messages (bot/overflow.py), as soon as the message carrying it was confirmed, so a
retry goes on with the papers not yet confirmed. A temporary failure (rate limit, network, 5xx)
counts an attempt and retries later with backoff; the last of MAX_ATTEMPTS tries of a list or
digest sends one short notice instead (how many papers, where to see them), and after it the
rows left are marked failed. A permanent failure (the bot was blocked, the chat deleted)
deactivates the chat and cancels what it was owed. One chat's trouble never holds up the others.

A digest also carries the chat's follow-ups planned into it (bot/digest.py): they are leased,
confirmed message by message, retried and given up with its papers (storage/outbox.py), so
they go out inside the digest, once. A digest holding only follow-ups is sent as well.

A pass reads what it needs once: for each chat its taste (what its 👍 and 👎 say), and for all
the papers it is owed the papers and its matching subscriptions, one query each; each paper's
best score is moved by the taste once, and the digest, list and card builders get plain data.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot import collected, digest, feedback, overflow
from bot.config import Settings
from bot.errors import DeliveryFailed
from bot.feedback import Taste
from bot.messages import (
    CardMessage,
    Channel,
    DigestMessage,
    ListItem,
    ListMessage,
    Message,
    TextMessage,
)
from bot.metrics import Metrics
from bot.models import Chat, Delivery, Followup, MatchedQuery, Paper
from bot.summary import Summarize, summarize
from storage import Store

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BASE_BACKOFF = 30.0  # seconds before the first retry; doubles with each attempt
MAX_BACKOFF = 3600.0
# Chats served at once. Each gets at most a message a second (the platforms' pace), so it takes
# 30 or more to use Telegram's overall rate; and a chat keeps its place until its queue is done,
# so with few chats in flight the last ones trail at one a second while the rest of the rate goes
# unused (64 gave 88.5% of Telegram's rate, 256 gave 96.3%: bench/README.md, Telegram). The bound
# keeps a claimed card's wait for its turn short (256 / 29 a second: under 9 s).
CONCURRENT_CHATS = 256
# How long a send may take before another process may assume its sender died and send again.
# A sender that died on this host is noticed at once (its pid is gone), not after this.
LEASE_SECONDS = 300
SENDER = f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class DeliveryReport:
    sent: int = 0  # papers confirmed by their platform
    failed: int = 0  # failed attempts (retried later, or given up)
    messages: int = 0  # messages sent (a list message carries several papers)
    deactivated: int = 0
    followups: int = 0  # follow-up messages sent (bot/followups.py)


async def deliver_pending(
    store: Store,
    channels: Mapping[str, Channel],
    settings: Settings,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    summarizer: Summarize = summarize,
    metrics: Metrics | None = None,
) -> DeliveryReport:
    """Send everything due now; returns what happened (and counts it in `metrics`)."""
    run = _Pass(store, channels, settings, clock, summarizer, metrics)
    await asyncio.to_thread(release_dead_leases, store)
    run.loaded = await asyncio.to_thread(_rescore, store, settings)
    await asyncio.to_thread(store.outbox.plan, settings.max_cards_per_poll)
    due = await asyncio.to_thread(store.outbox.due, clock())
    # FOLLOWUPS=off: what was planned into digests is cancelled by deliver_followups.
    notes = (
        await asyncio.to_thread(store.followups.in_digests, clock()) if settings.followups else []
    )
    by_chat: dict[int, tuple[list[Delivery], list[Followup]]] = {}
    for row in due:
        by_chat.setdefault(row.chat, ([], []))[0].append(row)
    for note in notes:
        by_chat.setdefault(note.chat, ([], []))[1].append(note)
    limit = asyncio.Semaphore(CONCURRENT_CHATS)

    async def one_chat(chat_id: int, rows: list[Delivery], notes: list[Followup]) -> None:
        async with limit:
            await _deliver_chat(run, chat_id, rows, notes)

    await asyncio.gather(*(one_chat(c, rows, notes) for c, (rows, notes) in by_chat.items()))
    return run.report


@dataclass
class _Unit:
    """What one message carries (a list or digest: up to MAX_MESSAGES): a card's paper, or a
    list's or digest's papers, and a digest's follow-ups."""

    kind: str  # card, list or digest
    batch: str
    rows: list[Delivery] = field(default_factory=list)
    notes: list[Followup] = field(default_factory=list)

    @property
    def ids(self) -> list[int]:
        return [d.id for d in self.rows]

    @property
    def note_ids(self) -> list[int]:
        return [f.id for f in self.notes]

    @property
    def attempts(self) -> int:
        return max([d.attempts for d in self.rows] + [f.attempts for f in self.notes])


@dataclass
class _Pass:
    """What the chats' deliveries of one pass share."""

    store: Store
    channels: Mapping[str, Channel]
    settings: Settings
    clock: Callable[[], datetime]
    summarizer: Summarize
    metrics: Metrics | None
    report: DeliveryReport = field(default_factory=DeliveryReport)
    # What planning already read of instant-mode chats (their taste, papers and matches), so
    # their delivery does not read it again; taken out by the chat's delivery.
    loaded: dict[int, _Owed] = field(default_factory=dict)


@dataclass
class _Owed:
    """What one chat is owed in a pass, read once: the chat, its taste, and for each paper the
    paper and the chat's subscriptions that matched it, best first, the best moved by the
    taste (adjusted once). A paper no longer stored keeps its matches, unadjusted."""

    chat: Chat
    taste: Taste
    papers: dict[str, Paper] = field(default_factory=dict)
    matched: dict[str, tuple[MatchedQuery, ...]] = field(default_factory=dict)

    def load(self, store: Store, settings: Settings, pmids: Iterable[str]) -> None:
        """Read the papers and matches of `pmids` not read yet: one read of each for all."""
        missing = [pmid for pmid in dict.fromkeys(pmids) if pmid not in self.matched]
        if not missing:
            return
        papers = store.papers.get_many(missing)
        found = store.outbox.matched_queries_many(self.chat.id, missing)
        for pmid in missing:
            matched = tuple(found.get(pmid, ()))
            if matched and pmid in papers:
                moved = feedback.adjust(
                    self.taste,
                    papers[pmid],
                    matched[0].score,
                    self.chat.language,
                    high=settings.score_high,
                    medium=settings.score_medium,
                )
                matched = (replace(matched[0], score=moved), *matched[1:])
            self.matched[pmid] = matched
        self.papers.update(papers)


async def _deliver_chat(
    run: _Pass, chat_id: int, rows: list[Delivery], notes: list[Followup]
) -> None:
    store, report, metrics = run.store, run.report, run.metrics
    owed = run.loaded.pop(chat_id, None)
    chat = owed.chat if owed else await asyncio.to_thread(store.chats.get, chat_id)

    def count(outcome: str, papers: int) -> None:
        if metrics is not None:
            metrics.delivered(chat.platform, outcome, papers)

    channel = run.channels.get(chat.platform)
    if channel is None:  # the platform is not configured now: keep the rows for later
        log.warning("%d papers wait for %s: its platform is not configured", len(rows), chat.label)
        return
    if owed is None:
        owed = _Owed(chat, await asyncio.to_thread(chat_taste, store, chat))
    units = _units(rows, notes)
    for index, unit in enumerate(units):
        now = run.clock()
        lease = now + timedelta(seconds=LEASE_SECONDS)
        claimed = await asyncio.to_thread(
            store.outbox.claim, unit.ids, now, lease, SENDER, followups=unit.note_ids
        )
        if not claimed:
            return  # another process is delivering to this chat right now
        progress = _Progress(store, chat.id, unit)
        try:
            # The first unit reads what every unit of the chat needs; the others find it read.
            message = await asyncio.to_thread(_message, run, owed, rows, unit, run.clock())
            parted = isinstance(message, ListMessage | DigestMessage)
            message_id = await channel.send(chat, message, progress.part_sent if parted else None)
        except DeliveryFailed as exc:
            report.sent += progress.confirmed
            count("sent", progress.confirmed)
            rest = progress.rest()
            if exc.permanent:
                cancelled = await asyncio.to_thread(store.chats.deactivate, chat.id, str(exc))
                log.warning(
                    "deactivated %s: %s (%d pending deliveries cancelled)",
                    chat.label,
                    exc,
                    cancelled,
                )
                report.deactivated += 1
                count("chat_gone", len(rest))
                return
            next_at, outcome = await _retry_later(
                run, rest, progress.rest_notes(), str(exc), exc.retry_after
            )
            count(outcome, len(rest))
            # Keep the chat's order and spare a struggling platform: the rest waits as well.
            waiting = [i for later in units[index + 1 :] for i in later.ids]
            waiting_notes = [i for later in units[index + 1 :] for i in later.note_ids]
            if waiting or waiting_notes:
                await asyncio.to_thread(
                    store.outbox.postpone, waiting, "waiting", next_at, followups=waiting_notes
                )
            report.failed += len(rest)
            return
        except Exception as exc:
            # A bug in rendering one paper must not stop the other papers or chats.
            log.exception(
                "delivering PMIDs %s to %s failed", [d.pmid for d in unit.rows], chat.label
            )
            report.sent += progress.confirmed
            count("sent", progress.confirmed)
            rest = progress.rest()
            error = f"{type(exc).__name__}: {exc}"
            _, outcome = await _retry_later(run, rest, progress.rest_notes(), error, None)
            count(outcome, len(rest))
            report.failed += len(rest)
            continue
        # What the channel did not confirm message by message (a card, a local file, a notice)
        # is sent with the whole.
        rest, rest_notes = progress.rest(), progress.rest_notes()
        if rest or rest_notes:
            await asyncio.to_thread(
                store.outbox.mark_sent, [d.id for d in rest], message_id, followups=rest_notes
            )
        report.sent += progress.confirmed + len(rest)
        report.messages += 1
        count("sent", progress.confirmed + len(rest))


class _Progress:
    """The papers of a unit not confirmed yet. A list or digest is confirmed message by
    message: each message's papers are recorded as sent as soon as the platform took it, so a
    failure part way leaves only the rest for the retry, and a crash repeats at most the one
    message in flight."""

    def __init__(self, store: Store, chat: int, unit: _Unit) -> None:
        self._store = store
        self._chat = chat
        self._batch = unit.batch
        self._owed = {d.pmid: d for d in unit.rows}
        self._notes = {digest.update_key(f.id): f.id for f in unit.notes}
        self.confirmed = 0

    async def part_sent(self, pmids: tuple[str, ...], message_id: str) -> None:
        ids = [self._owed.pop(pmid).id for pmid in pmids if pmid in self._owed]
        notes = [self._notes.pop(key) for key in pmids if key in self._notes]
        self.confirmed += await asyncio.to_thread(
            self._store.outbox.confirm_part,
            self._chat,
            self._batch,
            ids,
            message_id,
            followups=notes,
        )

    def rest(self) -> list[Delivery]:
        return list(self._owed.values())

    def rest_notes(self) -> list[int]:
        """The digest's follow-ups not confirmed yet."""
        return list(self._notes.values())


def release_dead_leases(store: Store) -> int:
    """Take back leases of senders on this host whose process is gone (a crash or SIGKILL):
    their unconfirmed messages go out again now, not when the lease runs out."""
    released = sum(
        store.outbox.release(owner) for owner in dead_senders(store.outbox.lease_owners())
    )
    if released:
        log.warning("took back %d deliveries from a sender that died before confirming", released)
    return released


def dead_senders(owners: Iterable[str]) -> list[str]:
    """The lease owners ("host:pid") that are other processes on this host, no longer running."""
    host = socket.gethostname()
    dead = []
    for owner in owners:
        owner_host, _, pid = owner.rpartition(":")
        if owner_host == host and owner != SENDER and pid.isdigit() and not _alive(int(pid)):
            dead.append(owner)
    return dead


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _units(rows: Sequence[Delivery], notes: Sequence[Followup]) -> list[_Unit]:
    """Cards one by one (best first), then each list or digest batch as one message, a
    digest's follow-ups with it (a digest may hold only follow-ups)."""
    cards = [_Unit("card", "", [r]) for r in rows if r.kind == "card"]
    batches: dict[str, _Unit] = {}
    for row in rows:
        if row.kind in ("list", "digest"):
            batches.setdefault(row.batch, _Unit(row.kind, row.batch)).rows.append(row)
    for note in notes:
        batches.setdefault(note.batch, _Unit("digest", note.batch)).notes.append(note)
    return cards + list(batches.values())


def _message(run: _Pass, owed: _Owed, rows: list[Delivery], unit: _Unit, now: datetime) -> Message:
    """The message carrying `unit`, one of the chat's due `rows`."""
    owed.load(run.store, run.settings, [d.pmid for d in rows])
    chat = owed.chat
    if unit.kind in ("list", "digest") and unit.attempts >= MAX_ATTEMPTS - 1:
        return _gave_up_notice(chat, unit, owed.matched)
    if unit.kind == "card":
        paper = owed.papers[unit.rows[0].pmid]
        matched = owed.matched[paper.pmid]
        local_now = now.astimezone(ZoneInfo(chat.timezone)).replace(tzinfo=None)
        queries = [m.query for m in matched]
        best = matched[0].score if matched else None
        return CardMessage(
            collected.card(paper, chat.language, local_now, queries, best, run.summarizer),
            matched,
        )
    progress = run.store.outbox.progress(chat.id, unit.batch)
    if unit.kind == "digest":
        # bot.followups imports this module's retry constants, so it is imported here.
        from bot.followups import message_for

        return digest.build(
            chat,
            unit.rows,
            now,
            papers=owed.papers,
            matched=owed.matched,
            summarizer=run.summarizer,
            progress=progress,
            updates=[
                (digest.update_key(f.id), message_for(run.store, chat, f)) for f in unit.notes
            ],
        )
    items = tuple(ListItem(owed.papers[d.pmid], owed.matched[d.pmid]) for d in unit.rows)
    ordered = sorted(
        items, key=lambda i: (-(i.matched[0].score.value if i.matched else 0), i.paper.pmid)
    )
    messages_sent = progress[0]
    return ListMessage(
        chat.language,
        tuple(ordered),
        continued=messages_sent > 0,
        max_messages=max(1, overflow.MAX_MESSAGES - messages_sent),
    )


def _gave_up_notice(
    chat: Chat, unit: _Unit, matched: Mapping[str, tuple[MatchedQuery, ...]]
) -> TextMessage:
    """The last try of a list or digest: one short message saying how many papers (and
    follow-ups) could not be listed and where to see them all; once it is confirmed they count
    as delivered."""
    found = [matched.get(d.pmid, ()) for d in unit.rows]
    by = [(m[0].number, m[0].query) if m else None for m in found] + [None] * len(unit.notes)
    left = overflow.left_out(by)
    text = overflow.gave_up(
        chat.language, left, attempts=MAX_ATTEMPTS - 1, digest=unit.kind == "digest"
    )
    return TextMessage(text)


def chat_taste(store: Store, chat: Chat) -> Taste:
    """What the chat's 👍 and 👎 say it likes."""
    opinions = store.feedback.opinions(chat.id)
    if not opinions:
        return Taste()
    papers = store.papers.get_many(pmid for pmid, _ in opinions)
    return feedback.taste([(papers[p], kind) for p, kind in opinions if p in papers])


def _rescore(store: Store, settings: Settings) -> dict[int, _Owed]:
    """Before planning, order each chat's new papers by their score *for that chat*. Returns
    what it read of instant-mode chats, whose papers go out in this pass."""
    loaded: dict[int, _Owed] = {}
    for chat_id in store.feedback.chats_with_opinions():
        rows = store.outbox.unplanned(chat_id)
        if not rows:
            continue
        chat = store.chats.get(chat_id)
        owed = _Owed(chat, chat_taste(store, chat))
        owed.load(store, settings, [r.pmid for r in rows])
        store.outbox.rescore(
            [
                (row.id, owed.matched[row.pmid][0].score.value)
                for row in rows
                if row.pmid in owed.papers and owed.matched[row.pmid]
            ]
        )
        if chat.mode == "instant":  # a digest-mode chat's papers wait for its digest
            loaded[chat_id] = owed
    return loaded


async def _retry_later(
    run: _Pass, unit: list[Delivery], notes: list[int], error: str, retry_after: float | None
) -> tuple[datetime, str]:
    """Schedule the next attempt of the unit's papers and follow-ups (ids) not confirmed;
    returns when that is, and the outcome for the metrics (postponed, retry or gave_up)."""
    store, now = run.store, run.clock()
    if not unit and not notes:  # everything was confirmed before the failure: nothing to retry
        return now, "sent"
    ids = [d.id for d in unit]
    if retry_after is not None:
        # The platform said when: a rate limit is not a failure and does not count an attempt.
        next_at = now + timedelta(seconds=retry_after)
        await asyncio.to_thread(store.outbox.postpone, ids, error, next_at, followups=notes)
        return next_at, "postponed"
    # A digest's follow-ups are retried with its papers: its papers' attempts count, or, in a
    # digest of follow-ups only, theirs (read from the store: they are not in `unit`).
    if unit:
        attempts = max(d.attempts for d in unit) + 1
    else:
        attempts = await asyncio.to_thread(store.followups.attempts, notes) + 1
    give_up = attempts >= MAX_ATTEMPTS
    delay = min(MAX_BACKOFF, BASE_BACKOFF * 2 ** (attempts - 1))
    next_at = now + timedelta(seconds=delay)
    await asyncio.to_thread(
        store.outbox.mark_attempt_failed, ids, error, next_at, give_up=give_up, followups=notes
    )
    pmids = [d.pmid for d in unit]
    if give_up:
        log.error("gave up on PMIDs %s after %d attempts: %s", pmids, attempts, error)
    else:
        log.warning(
            "delivery of PMIDs %s failed (%s); retrying at %s",
            pmids,
            error,
            next_at.astimezone(UTC).isoformat(timespec="seconds"),
        )
    return next_at, "gave_up" if give_up else "retry"
