"""Telegram end to end: the real PTB Application against a loopback fake of the Bot API.

Commands arrive as Telegram updates (long polling, or a webhook), replies and cards go out
through PTB, and the fake checks what Telegram checks (HTML, lengths, buttons, flood limits).
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import signal
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fixtures import bot_environment, connected, start_bot
from received import telegram_pmids as card_pmids
from servers.eutils import FakeEutils
from servers.own_process import telegram_in_own_process
from servers.telegram import FakeTelegram

from bot.app import App
from bot.commands import Command
from bot.config import Settings
from bot.pubmed.client import EutilsClient, RetryPolicy
from bot.pubmed.query import normalize
from handlers.telegram import TelegramChannel

ALICE, BOB, CAROL = 1001, 1002, 1003
GROUP = -100200


@pytest.fixture
def pubmed(daily_pubmed: FakeEutils) -> FakeEutils:
    daily_pubmed.reset()
    daily_pubmed.shift_dates(date(2021, 6, 7), datetime.now(UTC).date())
    return daily_pubmed


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        fake.add_private_chat(ALICE, first_name="Alice")
        fake.add_private_chat(BOB, first_name="Bob", language_code="ko")
        fake.add_private_chat(CAROL, first_name="Carol")
        fake.add_group(GROUP, admins={ALICE})
        fake.add_member(GROUP, ALICE)
        fake.add_member(GROUP, CAROL, first_name="Carol")
        yield fake
        assert fake.errors == []


def make_app(pubmed: FakeEutils, telegram: Any, tmp_path: Path, **extra: str) -> App:
    """An App on the fakes; `telegram` is a FakeTelegram or its proxy in another process."""
    token, base_url = telegram.address()
    settings = Settings.from_env(
        {
            "DATABASE_PATH": str(tmp_path / "ps.db"),
            "ALERTS_DIR": str(tmp_path / "alerts"),
            "PUBMED_EUTILS_URL": pubmed.url,
            "TELEGRAM_BOT_TOKEN": token,
            "TELEGRAM_API_URL": base_url,
            "MAX_CARDS_PER_POLL": "2",
            "BACKFILL_DAYS": "1",
            **extra,
        },
        env_file=None,
    )
    client = EutilsClient(pubmed.url, retry=RetryPolicy(attempts=3, backoff=0.01), max_rps=50)
    return App.create(settings, io.StringIO(), client=client)


@asynccontextmanager
async def running(app: App) -> AsyncIterator[TelegramChannel]:
    """The app's Telegram channel, started and connected; stopped and the app closed after."""
    async with connected(app, "telegram"):
        channel = app.channels["telegram"]
        assert isinstance(channel, TelegramChannel)
        yield channel


@pytest.fixture
async def app(pubmed: FakeEutils, telegram: FakeTelegram, tmp_path: Path) -> AsyncIterator[App]:
    application = make_app(pubmed, telegram, tmp_path)
    async with running(application):
        yield application


def texts(telegram: FakeTelegram, chat_id: int) -> list[str]:
    return [m["text"] for m in telegram.sent(chat_id)]


async def say(telegram: FakeTelegram, chat_id: int, text: str, user_id: int | None = None) -> str:
    """Send a user's message and wait for the bot's next answer in that chat."""
    before = len(telegram.sent(chat_id))
    telegram.push_text(chat_id, text, user_id=user_id)
    assert await telegram.wait_for_async(lambda: len(telegram.sent(chat_id)) > before, 20)
    return texts(telegram, chat_id)[before]


async def test_two_chats_subscribe_poll_and_each_gets_its_cards_once(
    app: App, telegram: FakeTelegram, pubmed: FakeEutils
) -> None:
    """/subscribe in two private chats, one poll: each chat gets its own papers as cards with
    buttons, no PMID twice, and neither sees the other's subscriptions."""
    first = await say(telegram, ALICE, "/subscribe crispr[tiab]")
    assert first.startswith("Subscribed #1: crispr[tiab]")
    korean = await say(telegram, BOB, "/subscribe zebrafish")
    assert korean.startswith("구독 #1 등록: zebrafish")  # Bob's Telegram client is Korean
    report, delivered = await app.poll_and_deliver()
    assert report.deliveries > 4
    assert delivered.failed == 0
    alice, bob = card_pmids(telegram, ALICE), card_pmids(telegram, BOB)
    assert len(alice) == len(set(alice))
    assert len(bob) == len(set(bob))
    assert set(alice) == set(pubmed_ids(pubmed, "crispr[tiab]"))
    assert set(bob) == set(pubmed_ids(pubmed, "zebrafish"))
    card = telegram.sent(ALICE)[1]
    rows = card["reply_markup"]["inline_keyboard"]
    assert [b["text"] for b in rows[0]] == ["👍 More like this", "👎 Less like this", "💾 Save"]
    assert rows[1][0]["url"].startswith("https://pubmed.ncbi.nlm.nih.gov/")
    listing = await say(telegram, BOB, "/list")
    assert "zebrafish" in listing
    assert "crispr" not in listing
    refused = await say(telegram, BOB, "/unsubscribe 2")
    assert "#2" in refused
    await app.poll_and_deliver()
    assert card_pmids(telegram, ALICE) == alice  # a second poll sends nothing again


def pubmed_ids(pubmed: FakeEutils, query: str) -> list[str]:
    """What the fake PubMed itself holds for `query` in a new subscription's one-day window."""
    today = datetime.now(UTC).date()
    return pubmed.ids_between(query, today - timedelta(days=1), today)


async def test_in_a_group_only_admins_change_subscriptions(
    app: App, telegram: FakeTelegram
) -> None:
    """A group member may list and ask for help but not subscribe; an administrator may."""
    refused = await say(telegram, GROUP, "/subscribe cancer", user_id=CAROL)
    assert refused == "Only group administrators can change this chat's subscriptions and settings."
    assert "no subscriptions" in await say(telegram, GROUP, "/list", user_id=CAROL)
    done = await say(telegram, GROUP, f"/subscribe@{telegram.bot_username} cancer", user_id=ALICE)
    assert done.startswith("Subscribed #1: cancer")
    assert "#1" in await say(telegram, GROUP, "/list", user_id=CAROL)


async def test_a_command_for_another_bot_is_ignored(app: App, telegram: FakeTelegram) -> None:
    """'/list@SomeOtherBot' in a group is not ours to answer."""
    telegram.push_text(GROUP, "/list@SomeOtherBot", user_id=CAROL)
    answer = await say(telegram, GROUP, "/help", user_id=CAROL)
    assert answer.startswith("Paper Surfer commands:")
    assert len(telegram.sent(GROUP)) == 1


async def test_garbage_and_oversized_commands_get_clear_answers(
    app: App, telegram: FakeTelegram
) -> None:
    """An unknown verb and a 5,000-character query are answered, briefly, not ignored."""
    assert (await say(telegram, ALICE, "/frobnicate now")).startswith(
        "Unknown command 'frobnicate'"
    )
    long = await say(telegram, ALICE, "/subscribe " + "cancer " * 715)
    assert long.startswith("Not subscribed: the query is 5,0")
    assert "Usage: subscribe QUERY" in long
    assert (await say(telegram, ALICE, "hello there")).startswith("Send a command such as /help")
    start = await say(telegram, ALICE, "/start")
    assert start.startswith("Hello! I bring you new PubMed papers")


async def test_button_presses_are_recorded_and_answered(app: App, telegram: FakeTelegram) -> None:
    """👍 and 💾 on a card are stored and answered with a short toast; a second 💾 changes
    nothing; forged data is refused. (Updates are handled concurrently, so order is free.)"""
    await say(telegram, ALICE, "/subscribe crispr[tiab]")
    await app.poll_and_deliver()
    card = next(m for m in telegram.sent(ALICE) if m.get("reply_markup"))
    pmid = card["reply_markup"]["inline_keyboard"][0][0]["callback_data"].split(":")[2]
    for data in (f"fb:up:{pmid}", f"fb:save:{pmid}", f"fb:save:{pmid}", "fb:save:1", "x" * 64):
        telegram.push_callback(ALICE, card["message_id"], data)
    assert await telegram.wait_for_async(lambda: len(telegram.answered_callbacks()) == 5, 20)
    toasts = sorted(c["text"] for c in telegram.answered_callbacks())
    expected = [
        "👍 Noted: more like this",
        "💾 Saved for this chat (see: saved)",
        "Already noted.",
        "This button no longer works.",
        "This button no longer works.",
    ]
    assert toasts == sorted(expected)
    chat = app.store.chats.find("telegram", "", str(ALICE))
    assert chat is not None
    presses = sorted(app.store.feedback.presses(chat.id))
    assert presses == [(str(ALICE), pmid, "save"), (str(ALICE), pmid, "up")]


async def test_a_blocked_chat_is_retired_and_does_not_hold_up_the_others(
    app: App, telegram: FakeTelegram
) -> None:
    """When one user has blocked the bot, that chat is deactivated and the other still gets
    every card."""
    await say(telegram, ALICE, "/subscribe crispr[tiab]")
    await say(telegram, CAROL, "/subscribe crispr[tiab]")
    telegram.block(CAROL)
    _, delivered = await app.poll_and_deliver()
    assert delivered.deactivated == 1
    carol = app.store.chats.find("telegram", "", str(CAROL))
    assert carol is not None
    assert not carol.active
    assert app.store.outbox.counts(carol.id)["pending"] == 0
    assert len(card_pmids(telegram, ALICE)) == delivered.sent


async def test_a_flood_limit_is_waited_out_and_nothing_is_sent_twice(
    app: App, telegram: FakeTelegram
) -> None:
    """A 429 with retry_after on a card is retried after the wait; the card arrives once."""
    await say(telegram, ALICE, "/subscribe crispr[tiab]")
    telegram.inject("sendMessage", "429", retry_after=1, chat_id=ALICE)
    _, delivered = await app.poll_and_deliver()
    pmids = card_pmids(telegram, ALICE)
    assert len(pmids) == len(set(pmids)) == delivered.sent
    assert telegram.throttled.get(ALICE, 0) >= 1


async def test_many_chats_at_once_keep_within_telegrams_flood_limits(
    pubmed: FakeEutils, tmp_path: Path
) -> None:
    """Cards owed to 40 chats at once go out at Telegram's 30 a second overall and one a second
    per chat without a single 429, each card once (the fake counts in a process of its own)."""
    chats = range(7001, 7041)
    with telegram_in_own_process() as telegram:
        for chat_id in chats:
            telegram.add_private_chat(chat_id, first_name=f"Reader {chat_id}")
        app = make_app(pubmed, telegram, tmp_path)
        async with running(app):
            for chat_id in chats:
                chat = app.service.chat("telegram", "", str(chat_id))
                app.store.chats.add_subscription(
                    chat.id, "crispr[tiab]", normalize("crispr[tiab]"), 50
                )
            _, delivered = await app.poll_and_deliver()
        assert delivered.messages >= 80  # well over two seconds' worth at 30 a second
        assert telegram.flood_list() == []
        assert telegram.throttled_total() == 0
        for chat_id in chats:
            pmids = card_pmids(telegram, chat_id)
            assert pmids
            assert len(pmids) == len(set(pmids))
        assert telegram.error_list() == []


async def test_the_command_menu_is_set_in_english_and_korean(
    app: App, telegram: FakeTelegram
) -> None:
    """setMyCommands lists every verb, in English by default and in Korean for Korean clients."""
    english = telegram.commands[("default", "")]
    korean = telegram.commands[("default", "ko")]
    assert [c["command"] for c in english] == [c["command"] for c in korean]
    assert "subscribe" in [c["command"] for c in english]
    assert re.search(r"[\uac00-\ud7a3]", korean[0]["description"])


async def test_webhook_mode_checks_the_secret_on_every_call(
    pubmed: FakeEutils, telegram: FakeTelegram, tmp_path: Path
) -> None:
    """With TELEGRAM_WEBHOOK_URL set, updates come by webhook; a wrong secret is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = make_app(
        pubmed,
        telegram,
        tmp_path,
        TELEGRAM_WEBHOOK_URL="https://bot.example.org/telegram-hook",
        TELEGRAM_WEBHOOK_SECRET="s3cret-token",
        TELEGRAM_WEBHOOK_PORT=str(port),
    )
    async with running(app):
        assert telegram.webhook is not None
        assert telegram.webhook["url"] == "https://bot.example.org/telegram-hook"
        local = f"http://127.0.0.1:{port}/telegram-hook"
        update = telegram.make_text_update(ALICE, "/help")
        assert await asyncio.to_thread(telegram.post_update, local, update, secret="wrong") == 403
        assert await asyncio.to_thread(telegram.post_update, local, update, secret=None) == 403
        assert telegram.sent(ALICE) == []
        assert (
            await asyncio.to_thread(telegram.post_update, local, update, secret="s3cret-token")
            == 200
        )
        assert await telegram.wait_for_async(lambda: len(telegram.sent(ALICE)) == 1, 20)
        assert telegram.sent(ALICE)[0]["text"].startswith("Paper Surfer commands:")


def raw_post(port: int, headers: dict[str, str], sent: bytes) -> int:
    """POST /telegram-hook sending its headers and `sent` (maybe far less than it declares),
    then the status answered; 0 when the server says nothing within five seconds."""
    head = "POST /telegram-hook HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(head.encode() + sent)
        try:
            status_line = connection.recv(100).split(b"\r\n", 1)[0]
        except TimeoutError:
            return 0
    return int(status_line.split()[1]) if status_line else 0


async def test_the_webhook_checks_the_secret_and_the_size_before_reading_a_body(
    pubmed: FakeEutils, telegram: FakeTelegram, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A call declaring 50 MB is refused after its first 64 kB: 403 without the secret, 413
    with it; a chunked body past 1 MB is 413, malformed JSON 400, all without a traceback;
    then a real update is still answered."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = make_app(
        pubmed,
        telegram,
        tmp_path,
        TELEGRAM_WEBHOOK_URL="https://bot.example.org/telegram-hook",
        TELEGRAM_WEBHOOK_SECRET="s3cret-token",
        TELEGRAM_WEBHOOK_PORT=str(port),
    )
    json_type = {"Content-Type": "application/json"}
    big = {**json_type, "Content-Length": str(50 * 1024 * 1024)}
    secret = {"X-Telegram-Bot-Api-Secret-Token": "s3cret-token"}
    chunk = b"x" * 65536
    with caplog.at_level(logging.DEBUG):
        async with running(app):
            for headers, expected in (
                (big, 403),
                ({**big, "X-Telegram-Bot-Api-Secret-Token": "wrong"}, 403),
                ({**big, **secret}, 413),
            ):
                assert await asyncio.to_thread(raw_post, port, headers, chunk) == expected
            chunked = {**json_type, **secret, "Transfer-Encoding": "chunked"}
            body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(20))
            assert await asyncio.to_thread(raw_post, port, chunked, body + b"0\r\n\r\n") == 413
            cut = b'{"update_id": 1, "message": {'
            malformed = {**json_type, **secret, "Content-Length": str(len(cut))}
            assert await asyncio.to_thread(raw_post, port, malformed, cut) == 400
            local = f"http://127.0.0.1:{port}/telegram-hook"
            update = telegram.make_text_update(ALICE, "/help")
            status = await asyncio.to_thread(
                telegram.post_update, local, update, secret="s3cret-token"
            )
            assert status == 200
            assert await telegram.wait_for_async(lambda: len(telegram.sent(ALICE)) == 1, 20)
    assert [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []


def test_paper_surfer_run_serves_telegram_end_to_end(
    pubmed: FakeEutils, telegram: FakeTelegram, tmp_path: Path
) -> None:
    """`paper-surfer run` with a bot token: a Telegram user subscribes, the scheduler polls,
    cards arrive in the chat, and SIGTERM stops it cleanly."""
    env = bot_environment(
        tmp_path,
        PUBMED_EUTILS_URL=pubmed.url,
        NCBI_EMAIL="dev@example.org",
        TELEGRAM_BOT_TOKEN=telegram.token,
        TELEGRAM_API_URL=telegram.base_url,
        POLL_INTERVAL_MINUTES="0.05",
        BACKFILL_DAYS="1",
        MAX_CARDS_PER_POLL="2",
    )
    process = start_bot(env, tmp_path)
    try:
        assert telegram.wait_for(
            lambda: telegram.webhook is None and bool(telegram.calls("getUpdates")), 30
        )
        telegram.push_text(ALICE, "/subscribe zebrafish")
        assert telegram.wait_for(lambda: len(telegram.sent(ALICE)) >= 1, 30)
        assert telegram.sent(ALICE)[0]["text"].startswith("Subscribed #1: zebrafish")
        assert telegram.wait_for(lambda: len(card_pmids(telegram, ALICE)) >= 2, 60)
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "channels local (cards in" in err
    assert "telegram" in err
    assert "Telegram connected as @PaperSurferBot (long polling)" in err
    assert "Traceback" not in err


async def test_export_arrives_as_a_document(app: App, telegram: FakeTelegram) -> None:
    """`/export csv` after a 💾 sends the chat a CSV document."""
    await say(telegram, ALICE, "/subscribe crispr[tiab]")
    await app.poll_and_deliver()
    card = next(m for m in telegram.sent(ALICE) if m.get("reply_markup"))
    data = card["reply_markup"]["inline_keyboard"][0][2]["callback_data"]
    telegram.push_callback(ALICE, card["message_id"], data)
    assert await telegram.wait_for_async(lambda: len(telegram.answered_callbacks()) == 1, 20)
    answer = await say(telegram, ALICE, "/export csv")
    assert answer == "Saved papers (1) as csv."
    assert await telegram.wait_for_async(lambda: len(telegram.documents(ALICE)) == 1, 20)
    [document] = telegram.documents(ALICE)
    assert document["file_name"].endswith(".csv")
    assert data.split(":")[2] in document["bytes"].decode("utf-8-sig")


async def test_a_digest_chat_gets_one_well_formed_digest(
    app: App, telegram: FakeTelegram, pubmed: FakeEutils
) -> None:
    """In digest mode, a poll sends no cards; the digest then arrives as valid HTML messages
    listing every new paper, and a second digest the same day sends nothing."""
    await say(telegram, ALICE, "/subscribe crispr[tiab]")
    assert (await say(telegram, ALICE, "/mode digest")).startswith("You will get one digest a day")
    before = len(telegram.sent(ALICE))
    _, delivered = await app.poll_and_deliver()
    assert delivered.sent == 0
    report = await app.send_digests_now()
    assert report.messages == 1
    digest = telegram.sent(ALICE)[before:]
    assert digest[0]["text"].startswith("📬 PubMed digest for ")
    linked = {
        e["url"].rstrip("/").rsplit("/", 1)[1]
        for m in digest
        for e in m.get("entities", [])
        if e.get("type") == "text_link"
    }
    assert linked == set(pubmed_ids(pubmed, "crispr[tiab]"))
    again = await app.send_digests_now()
    assert again.messages == 0


async def test_a_failing_command_gets_an_apology_and_the_bot_goes_on(
    app: App, telegram: FakeTelegram
) -> None:
    """A bug in one command is logged and answered with a short apology; the next command works."""
    channel = app.channels["telegram"]
    assert isinstance(channel, TelegramChannel)
    service = channel._service
    real = service.run_async

    async def broken(chat: object, command: Command) -> object:
        if command.name == "list":
            raise RuntimeError("a bug")
        return await real(chat, command)  # type: ignore[arg-type]

    service.run_async = broken  # type: ignore[method-assign,assignment]
    answer = await say(telegram, ALICE, "/list")
    assert answer == "Sorry, something went wrong on our side. Please try again."
    assert (await say(telegram, ALICE, "/help")).startswith("Paper Surfer commands:")
