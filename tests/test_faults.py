"""Faults under pressure: PubMed and the chat platforms misbehave at random for many rounds,
then recover; nothing is lost, nothing arrives twice, no cursor skips an unfinished window."""

from __future__ import annotations

import asyncio
import io
import random
import socket
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from channels import RecordingChannel
from fixtures import DEFAULTS, fixture
from servers.eutils import FakeEutils
from servers.slack import FakeSlack
from servers.telegram import FakeTelegram

from bot.app import App
from bot.config import Settings
from bot.delivery import MAX_BACKOFF, deliver_pending
from bot.poller import poll_cycle
from bot.pubmed import query as pubmed_query
from bot.pubmed.client import EutilsClient, RetryPolicy
from storage import Store

QUERIES = {"a": "crispr[tiab]", "b": "zebrafish", "c": "sepsis", "d": "microbiome"}
PUBMED_FAULTS = [
    ("429", {"retry_after": 0}),
    ("status", {"status": 500}),
    ("status", {"status": 502}),
    ("status", {"status": 503}),
    ("slow", {"seconds": 1.0}),
    ("truncate", {}),
    ("cut_xml", {}),
    ("disconnect", {}),
    ("html", {}),
]


def closed_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/"


def expected(fake: FakeEutils, query: str, start: date, end: date) -> set[str]:
    """What PubMed itself says matches `query` between two Entrez dates."""
    return set(fake.ids_between(pubmed_query.normalize(query), start, end))


def test_random_pubmed_faults_over_many_polls_lose_nothing(
    daily_pubmed: FakeEutils, tmp_path: Path
) -> None:
    """Twelve polls over a week of PubMed days with random 429s, 5xx, timeouts, truncated and
    malformed answers and an unreachable host: failed queries keep their cursors, and once
    PubMed recovers every chat has every paper of the period, once."""
    chance = random.Random(11)
    store = Store(tmp_path / "ps.db")
    settings = Settings.from_env(
        {"PUBMED_EUTILS_URL": daily_pubmed.url, "BACKFILL_DAYS": "2", "MAX_CARDS_PER_POLL": "1000"},
        env_file=None,
    )
    for chat_id, query in QUERIES.items():
        chat = store.chats.get_or_create("local", "", chat_id, DEFAULTS)
        store.chats.add_subscription(chat.id, query, pubmed_query.normalize(query), 50)
    good = EutilsClient(
        daily_pubmed.url, retry=RetryPolicy(attempts=2, backoff=0.01), max_rps=100, timeout=(1, 0.5)
    )
    dead = EutilsClient(closed_url(), retry=RetryPolicy(attempts=2, backoff=0.01))
    channel = RecordingChannel()
    days = [date(2021, 6, 1) + timedelta(days=i // 2) for i in range(12)]
    failures = 0
    for poll, day in enumerate(days):
        daily_pubmed.reset()
        daily_pubmed.visible_until = day
        daily_pubmed.today = day
        for _ in range(chance.randint(1, 4)):
            kind, options = chance.choice(PUBMED_FAULTS)
            daily_pubmed.inject(kind, endpoint=chance.choice(["esearch", "efetch"]), **options)
        before = {s.normalized: s.cursor for s in store.polls.query_states()}
        client = dead if poll == 5 else good
        report = poll_cycle(store, client, settings, today=lambda d=day: d)
        failures += len(report.failures)
        after = {s.normalized: s.cursor for s in store.polls.query_states()}
        for query, _ in report.failures:  # a failed query's cursor never moves
            assert after.get(query) == before.get(query)
        asyncio.run(deliver_pending(store, {"local": channel}, settings))
    assert failures >= 4  # the faults really bit
    daily_pubmed.reset()
    daily_pubmed.visible_until = None
    daily_pubmed.today = days[-1]
    healthy = poll_cycle(store, good, settings, today=lambda: days[-1])
    assert healthy.failures == []
    asyncio.run(deliver_pending(store, {"local": channel}, settings))
    for chat_id, query in QUERIES.items():
        wanted = expected(daily_pubmed, query, days[0] - timedelta(days=2), days[-1])
        got = channel.pmids(chat_id)
        assert set(got) == wanted, chat_id
        assert len(got) == len(set(got)), chat_id
    store.close()


# --- the platforms -------------------------------------------------------------------------------

CHATS = (3001, 3002, 3003, 3004)


def platform_store(path: Path, platform: str, papers: int) -> tuple[Store, list[str]]:
    """A database owing each of four chats `papers` real papers."""
    from bot.models import MatchReason, Paper, Score
    from bot.pubmed.parse import iter_records

    store = Store(path)
    batch = [
        r for r in iter_records(fixture("fatcat__pubmedsample_2019.xml")) if isinstance(r, Paper)
    ][:papers]
    store.papers.save(batch)
    for chat_id in CHATS:
        chat_key = str(chat_id) if platform == "telegram" else f"C{chat_id}"
        chat = store.chats.get_or_create(
            platform, "T0001" if platform == "slack" else "", chat_key, DEFAULTS
        )
        sub = store.chats.add_subscription(chat.id, "q", "q", 50)
        store.polls.commit_query(
            store.polls.start(),
            "q",
            date(2021, 6, 7),
            "w",
            len(batch),
            [sub],
            [(sub, p.pmid, Score(0.5, "medium", (MatchReason("q", ("title",)),))) for p in batch],
        )
    return store, [p.pmid for p in batch]


async def drain(app: App, deadline_rounds: int = 40) -> None:
    """Deliver as the scheduler would, with the clock jumping past every backoff."""
    moment = datetime.now(UTC)
    for _ in range(deadline_rounds):
        await deliver_pending(app.store, app.channels, app.settings, clock=lambda m=moment: m)
        if app.store.outbox.counts()["pending"] == 0:
            return
        moment += timedelta(seconds=MAX_BACKOFF + 1)


async def test_telegram_faults_during_delivery_lose_nothing(tmp_path: Path) -> None:
    """429s, 5xx, timeouts and dropped connections on sendMessage: every card reaches every
    chat; a repeat happens only where the message was delivered but its answer lost."""
    with FakeTelegram() as telegram:
        for chat_id in CHATS:
            telegram.add_private_chat(chat_id)
        store, pmids = platform_store(tmp_path / "ps.db", "telegram", 6)
        store.close()
        settings = Settings.from_env(
            {
                "DATABASE_PATH": str(tmp_path / "ps.db"),
                "TELEGRAM_BOT_TOKEN": telegram.token,
                "TELEGRAM_API_URL": telegram.base_url,
                "MAX_CARDS_PER_POLL": "100",
            },
            env_file=None,
        )
        app = App.create(settings, io.StringIO())
        channel = app.channels["telegram"]
        await channel.start()
        await asyncio.wait_for(channel.ready.wait(), 20)  # type: ignore[attr-defined]
        chance = random.Random(5)
        lost_answers = 0
        for _ in range(8):
            kind = chance.choice(["429", "status", "status", "disconnect", "slow"])
            options: dict[str, object] = {"chat_id": chance.choice(CHATS)}
            if kind == "status":
                options["status"] = chance.choice([500, 502])
            if kind == "slow":
                options["seconds"] = 0.1
            if kind == "disconnect" and chance.random() < 0.5:
                options["deliver"] = True
                lost_answers += 1
            telegram.inject("sendMessage", kind, **options)
        try:
            await drain(app)
        finally:
            await channel.stop()
            app.close()
        for chat_id in CHATS:
            got = [
                b["callback_data"].split(":")[2]
                for m in telegram.sent(chat_id)
                for row in m["reply_markup"]["inline_keyboard"]
                for b in row
                if b.get("callback_data", "").startswith("fb:save:")
            ]
            assert set(got) == set(pmids)
            assert len(got) - len(set(got)) <= lost_answers


async def test_slack_faults_and_a_revoked_token_lose_nothing(tmp_path: Path) -> None:
    """Rate limits, 5xx, dropped connections and a token revoked for a while: nothing is lost,
    no channel is retired for it, and the cards go out once the token works again."""
    with FakeSlack() as slack:
        for chat_id in CHATS:
            slack.add_channel(f"C{chat_id}")
        store, pmids = platform_store(tmp_path / "ps.db", "slack", 5)
        store.close()
        settings = Settings.from_env(
            {
                "DATABASE_PATH": str(tmp_path / "ps.db"),
                "SLACK_BOT_TOKEN": "xoxb-test-token",
                "SLACK_SIGNING_SECRET": "s",
                "SLACK_API_URL": slack.api_url,
                "SLACK_PORT": str(free_port()),
                "MAX_CARDS_PER_POLL": "100",
            },
            env_file=None,
        )
        app = App.create(settings, io.StringIO())
        channel = app.channels["slack"]
        await channel.start()
        await asyncio.wait_for(channel.ready.wait(), 20)  # type: ignore[attr-defined]
        try:
            slack.revoke()
            moment = datetime.now(UTC)
            report = await deliver_pending(
                app.store, app.channels, app.settings, clock=lambda: moment
            )
            assert report.sent == 0
            assert all(c.active for c in app.store.chats.all(active_only=False))
            slack.restore()  # the token works again
            slack.inject("chat.postMessage", "ratelimited", retry_after=1)
            slack.inject("chat.postMessage", "status", status=503)
            slack.inject("chat.postMessage", "disconnect")
            await drain(app)
        finally:
            await channel.stop()
            app.close()
        for chat_id in CHATS:
            got = [
                e["value"].split(":")[2]
                for m in slack.posted(f"C{chat_id}")
                for b in m["blocks"]
                for e in b.get("elements", [])
                if str(e.get("value", "")).startswith("fb:save:")
            ]
            assert set(got) == set(pmids)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
