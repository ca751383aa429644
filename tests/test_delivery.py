"""Delivery from the outbox: order, card budget, retries, giving up, dead chats, local files."""

from __future__ import annotations

import asyncio
import io
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from channels import RecordingChannel
from fixtures import DEFAULTS, fixture

from bot import delivery
from bot.config import Settings
from bot.delivery import deliver_pending
from bot.errors import DeliveryFailed
from bot.messages import CardMessage, ListMessage, TextMessage
from bot.models import Chat, MatchReason, Paper, Score, search_url
from bot.pubmed.parse import iter_records
from bot.status import chat_status
from handlers.local import LocalChannel, safe_name
from storage import Store

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def papers(count: int) -> list[Paper]:
    found = [
        r for r in iter_records(fixture("fatcat__pubmedsample_2019.xml")) if isinstance(r, Paper)
    ]
    return found[:count]


def owe(store: Store, chat_id: str, batch: list[Paper], *, start: float = 0.1) -> Chat:
    """Make `chat_id` owed each paper of `batch`, scores rising from `start` by 0.01."""
    store.papers.save(batch)
    chat = store.chats.get_or_create("local", "", chat_id, DEFAULTS)
    sub = store.chats.add_subscription(chat.id, f"q-{chat_id}", f"q-{chat_id}", 50)
    reasons = (MatchReason("q", ("title",)),)
    store.polls.commit_query(
        store.polls.start(),
        sub.normalized,
        date(2021, 6, 7),
        "w",
        len(batch),
        [sub],
        [(sub, p.pmid, Score(start + 0.01 * i, "low", reasons)) for i, p in enumerate(batch)],
    )
    return chat


def stopped_at(moment: datetime) -> type[datetime]:
    """A clock for the local channel that stands still at `moment`, so a card's day is known."""

    class Stopped(datetime):
        @classmethod
        def now(cls, tz: object = None) -> datetime:  # type: ignore[override]
            return moment

    return Stopped


def run(
    store: Store, channel: object, *, max_cards: int = 10, at: datetime = T0
) -> delivery.DeliveryReport:
    settings = Settings.from_env({"MAX_CARDS_PER_POLL": str(max_cards)}, env_file=None)
    return asyncio.run(
        deliver_pending(store, {"local": channel}, settings, clock=lambda: at)  # type: ignore[dict-item]
    )


def test_cards_go_best_first_and_the_rest_as_one_list(store: Store) -> None:
    """With 12 new papers and a budget of 10, the 10 best arrive as cards, then one list of 2."""
    batch = papers(12)
    owe(store, "a", batch)
    channel = RecordingChannel()
    report = run(store, channel)
    kinds = [s.kind for s in channel.sent]
    assert kinds == ["card"] * 10 + ["list"]
    best_first = [p.pmid for p in reversed(batch)]
    assert [s.pmids[0] for s in channel.sent[:10]] == best_first[:10]
    assert sorted(channel.sent[10].pmids) == sorted(best_first[10:])
    assert (report.sent, report.messages) == (12, 11)
    assert run(store, channel).sent == 0  # nothing is sent twice


def test_a_temporary_failure_is_retried_later_and_sent_once(store: Store) -> None:
    """A network error postpones the chat's papers with backoff; the retry sends each once."""
    owe(store, "a", papers(3))
    failing = {"on": True}
    channel = RecordingChannel(
        fail=lambda chat, message: DeliveryFailed("connection reset") if failing["on"] else None
    )
    first = run(store, channel)
    assert (first.sent, first.failed) == (0, 1)  # the chat stops at its first failure
    assert run(store, channel, at=T0 + timedelta(seconds=5)).sent == 0  # not due yet
    failing["on"] = False
    later = run(store, channel, at=T0 + timedelta(seconds=delivery.BASE_BACKOFF + 1))
    assert later.sent == 3
    assert sorted(channel.pmids("a")) == sorted(p.pmid for p in papers(3))


def test_a_rate_limit_waits_its_retry_after_without_counting_an_attempt(store: Store) -> None:
    """A 429-style failure retries after the platform's retry_after and never gives up for it."""
    owe(store, "a", papers(1))
    channel = RecordingChannel(fail=lambda c, m: DeliveryFailed("429", retry_after=2))
    for step in range(delivery.MAX_ATTEMPTS + 2):
        run(store, channel, at=T0 + timedelta(seconds=3 * step))
    [row] = store.outbox.all_for_chat(1)
    assert (row.state, row.attempts) == ("pending", 0)


def test_delivery_gives_up_after_the_bound(store: Store) -> None:
    """A paper that fails MAX_ATTEMPTS times is marked failed and not tried again."""
    owe(store, "a", papers(1))
    channel = RecordingChannel(fail=lambda c, m: DeliveryFailed("HTTP 502"))
    moment = T0
    for _ in range(delivery.MAX_ATTEMPTS):
        run(store, channel, at=moment)
        moment += timedelta(seconds=delivery.MAX_BACKOFF + 1)
    [row] = store.outbox.all_for_chat(1)
    assert (row.state, row.attempts) == ("failed", delivery.MAX_ATTEMPTS)
    assert store.outbox.counts(1)["failed"] == 1


def test_a_list_that_keeps_failing_ends_with_a_notice_and_loses_no_paper(store: Store) -> None:
    """A list refused on every try but the last: the last try sends one short notice instead
    (how many papers, `export csv alerts`, the PubMed search); once it is confirmed its papers
    count as delivered and are in the export, none is failed or pending."""
    owe(store, "a", papers(14))  # 10 cards, then a list of 4
    channel = RecordingChannel(
        fail=lambda c, m: DeliveryFailed("HTTP 502") if isinstance(m, ListMessage) else None
    )
    moment = T0
    for _ in range(delivery.MAX_ATTEMPTS):
        run(store, channel, at=moment)
        moment += timedelta(seconds=delivery.MAX_BACKOFF + 1)
    [notice] = [s.message for s in channel.sent if s.kind == "text"]
    assert isinstance(notice, TextMessage)
    assert notice.text.startswith(
        f"⚠️ 4 papers could not be listed here: {delivery.MAX_ATTEMPTS - 1} tries"
    )
    assert "`export csv alerts`" in notice.text
    assert search_url("q-a") in notice.text
    assert store.outbox.counts(1) == {"pending": 0, "sent": 14, "failed": 0, "cancelled": 0}


def test_when_even_the_notice_fails_the_chat_status_reports_the_papers(store: Store) -> None:
    """A platform that refuses every try, the notice too: the papers are marked failed, never
    silently dropped, and the chat's `status` says how many could not be sent."""
    chat = owe(store, "a", papers(14))
    channel = RecordingChannel(
        fail=lambda c, m: None if isinstance(m, CardMessage) else DeliveryFailed("HTTP 502")
    )
    moment = T0
    for _ in range(delivery.MAX_ATTEMPTS + 1):
        run(store, channel, at=moment)
        moment += timedelta(seconds=delivery.MAX_BACKOFF + 1)
    assert store.outbox.counts(1) == {"pending": 0, "sent": 10, "failed": 4, "cancelled": 0}
    status = chat_status(store, Settings.from_env({}, env_file=None), chat)
    assert "Could not be sent: 4." in status


def test_a_blocked_chat_is_deactivated_and_the_others_go_on(store: Store) -> None:
    """A permanent failure retires that chat and cancels what it owed; other chats get theirs."""
    blocked = owe(store, "blocked", papers(3))
    owe(store, "fine", papers(5)[3:])
    channel = RecordingChannel(
        fail=lambda chat, message: (
            DeliveryFailed("bot was blocked by the user", permanent=True)
            if chat.chat_id == "blocked"
            else None
        )
    )
    report = run(store, channel)
    assert report.deactivated == 1
    assert sorted(channel.pmids("fine")) == sorted(p.pmid for p in papers(5)[3:])
    assert not store.chats.get(blocked.id).active
    assert store.outbox.counts(blocked.id)["cancelled"] == 3


def test_a_paused_chat_waits_and_gets_its_papers_on_resume(store: Store) -> None:
    """Pausing a chat holds its papers; resuming sends them."""
    chat = owe(store, "a", papers(2))
    store.chats.update(chat.id, paused=True)
    channel = RecordingChannel()
    assert run(store, channel).sent == 0
    store.chats.update(chat.id, paused=False)
    assert run(store, channel).sent == 2


def test_local_channel_writes_one_markdown_file_per_card_in_a_day_folder(
    store: Store, tmp_path: Path
) -> None:
    """Cards land in ALERTS_DIR/<day>/<PMID>.md, the overflow in one more-<PMID>.md list file,
    and each delivery prints one line."""
    batch = papers(3)
    owe(store, "local", batch)
    out = io.StringIO()
    channel = LocalChannel(tmp_path / "alerts", out, clock=stopped_at(T0))
    run(store, channel, max_cards=2)
    day = tmp_path / "alerts" / "2026-11-26"
    best, second, rest = batch[2], batch[1], batch[0]
    assert sorted(p.name for p in day.iterdir()) == sorted(
        [f"{best.pmid}.md", f"{second.pmid}.md", f"more-{rest.pmid}.md"]
    )
    card = (day / f"{best.pmid}.md").read_text(encoding="utf-8")
    assert card.startswith(f"# {best.title}")
    assert "- **Search Keywords**: q-local" in card
    listing = (day / f"more-{rest.pmid}.md").read_text(encoding="utf-8")
    assert f"https://pubmed.ncbi.nlm.nih.gov/{rest.pmid}/" in listing
    assert len(out.getvalue().splitlines()) == 3


def test_local_channel_day_follows_the_chats_time_zone(tmp_path: Path) -> None:
    """At 23:30 UTC a chat in Asia/Seoul is already on the next day."""
    chat = Chat(1, "local", "", "local", timezone="Asia/Seoul")
    late = stopped_at(datetime(2026, 11, 26, 23, 30, tzinfo=UTC))
    channel = LocalChannel(tmp_path, io.StringIO(), clock=late)
    [paper] = papers(1)
    from bot.cards import Card

    asyncio.run(channel.send(chat, CardMessage(Card.build(paper))))
    assert (tmp_path / "2026-11-27" / f"{paper.pmid}.md").is_file()


def test_sending_the_same_card_twice_leaves_one_file(tmp_path: Path) -> None:
    """A repeat after a crash rewrites the same file: the folder shows the paper once."""
    from bot.cards import Card

    [paper] = papers(1)
    channel = LocalChannel(tmp_path, io.StringIO())
    chat = Chat(1, "local", "", "local")
    for _ in range(2):
        asyncio.run(channel.send(chat, CardMessage(Card.build(paper))))
    assert len(list(tmp_path.rglob("*.md"))) == 1
    assert not list(tmp_path.rglob(".tmp-*"))


@pytest.mark.parametrize("hostile", ["../../etc/passwd", "a/b\\c", "", "..", "\x00x", "é" * 200])
def test_file_names_are_safe_whatever_the_input(hostile: str) -> None:
    """A name can never leave ALERTS_DIR, hide itself, or grow without bound."""
    name = safe_name(hostile)
    assert re.fullmatch(r"[0-9A-Za-z_][0-9A-Za-z._-]{0,79}", name)


def test_a_list_message_is_rendered_best_first(tmp_path: Path) -> None:
    """The overflow list names every paper with its link, journal and score."""
    from bot.messages import ListItem
    from bot.models import MatchedQuery

    batch = papers(2)
    items = tuple(
        ListItem(p, (MatchedQuery(1, "q", Score(s, "medium", ())),))
        for p, s in zip(batch, (0.6, 0.5), strict=True)
    )
    channel = LocalChannel(tmp_path, io.StringIO())
    path = asyncio.run(channel.send(Chat(1, "local", "", "local"), ListMessage("en", items)))
    text = (tmp_path / path).read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line.startswith("- [")]
    assert len(lines) == 2
    assert lines[0].endswith("0.60 (medium)")
    assert f"({batch[0].url})" in lines[0]
