"""One chat flooding the bot cannot stall the others (issue 12.4), on Telegram and Slack.

The real PTB Application and the real Bolt app against the loopback fakes, PubMed at NCBI's
3 requests a second (the bot's client from its settings, no API key). A flooding chat gets a
few answers and one polite refusal; a quiet chat is answered within seconds while it floods.
Before, 330 /help made another chat's /list wait 73 s, and 60 searches another's search 42 s.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import aiohttp
import pytest
from fixtures import DAILY, connected, fixture, free_port
from servers.eutils import FakeEutils
from servers.slack import FakeSlack, signed_request_headers, slash_command_body
from servers.telegram import FakeTelegram

from bot.app import App
from bot.config import Settings
from bot.limits import COMMAND_BURST
from handlers.slack import SlackChannel

FLOODER, QUIET = 1002, 1003  # Telegram private chats; the flooder's client is in Korean
SECRET = "signing-secret-for-tests"
TEAM = "T0001"
NOTHING = "zzqxv[tiab]"  # no paper has it: one esearch and a one-line answer
ANSWERED_WITHIN = 5.0  # seconds: a behaviour bound (it took 20-70 s before), not a benchmark
SLOW_DOWN = {
    "en": "Too many commands from this chat",
    "ko": "이 대화방에서 명령이 너무 많이 왔습니다",
}


@pytest.fixture(scope="module")
def pubmed() -> Iterator[FakeEutils]:
    with FakeEutils(rate_limit=3.0) as fake:
        fake.load(fixture(DAILY))
        fake.shift_dates(date(2021, 6, 7), datetime.now(UTC).date())
        yield fake


def settings(pubmed: FakeEutils, tmp_path: Path, **platform: str) -> Settings:
    return Settings.from_env(
        {
            "DATABASE_PATH": str(tmp_path / "ps.db"),
            "ALERTS_DIR": str(tmp_path / "alerts"),
            "PUBMED_EUTILS_URL": pubmed.url,
            **platform,
        },
        env_file=None,
    )


# --- Telegram ------------------------------------------------------------------------------------


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        fake.add_private_chat(FLOODER, first_name="Bob", language_code="ko")
        fake.add_private_chat(QUIET, first_name="Carol")
        yield fake
        assert fake.errors == []


@pytest.fixture
async def telegram_app(
    pubmed: FakeEutils, telegram: FakeTelegram, tmp_path: Path
) -> AsyncIterator[App]:
    token, base_url = telegram.address()
    app = App.create(
        settings(pubmed, tmp_path, TELEGRAM_BOT_TOKEN=token, TELEGRAM_API_URL=base_url),
        io.StringIO(),
    )
    async with connected(app, "telegram"):
        yield app


def texts(telegram: FakeTelegram, chat_id: int) -> list[str]:
    return [m["text"] for m in telegram.sent(chat_id)]


async def answer_within(telegram: FakeTelegram, chat_id: int, text: str) -> str:
    """Send a user's message; the bot's first answer, which must come within the bound."""
    before = len(telegram.sent(chat_id))
    telegram.push_text(chat_id, text)
    answered = await telegram.wait_for_async(
        lambda: len(telegram.sent(chat_id)) > before, ANSWERED_WITHIN
    )
    assert answered, f"{text!r} was not answered within {ANSWERED_WITHIN} s"
    return texts(telegram, chat_id)[before]


def refusals(said: list[str], language: str) -> int:
    return sum(text.startswith(SLOW_DOWN[language]) for text in said)


async def test_a_chat_sending_330_help_does_not_hold_up_another_chats_list(
    telegram_app: App, telegram: FakeTelegram
) -> None:
    """330 /help from one chat: another chat's /list is answered within seconds; the flooder
    gets a burst of answers and one polite refusal in Korean, its client's language, and a
    /subscribe refused in the flood stores nothing."""
    for number in range(330):
        telegram.push_text(FLOODER, "/subscribe zebrafish" if number == COMMAND_BURST else "/help")
    listing = await answer_within(telegram, QUIET, "/list")
    assert listing.startswith("This chat has no subscriptions")

    def helps() -> int:
        return sum(text.startswith("Paper Surfer 명령:") for text in texts(telegram, FLOODER))

    assert await telegram.wait_for_async(
        lambda: helps() >= COMMAND_BURST and refusals(texts(telegram, FLOODER), "ko") > 0, 30
    )
    assert helps() <= COMMAND_BURST + 2  # and maybe a command or two earned meanwhile
    assert len(texts(telegram, FLOODER)) == helps() + 1  # the rest were dropped without a word
    chat = telegram_app.store.chats.find("telegram", "", str(FLOODER))
    assert chat is not None
    assert telegram_app.store.chats.subscriptions(chat.id) == []
    assert refusals(texts(telegram, FLOODER), "ko") == 1


async def test_a_chat_sending_60_searches_does_not_hold_up_another_chats_search(
    telegram_app: App, telegram: FakeTelegram, pubmed: FakeEutils
) -> None:
    """60 /search from one chat, PubMed at 3 requests a second: another chat's /search is
    answered within seconds, not behind the flood; the flooder is told once to slow down."""
    asked = len(pubmed.requests)
    for _ in range(60):
        telegram.push_text(FLOODER, f"/search {NOTHING}")
    assert await telegram.wait_for_async(lambda: len(pubmed.requests) > asked, 10)
    header = await answer_within(telegram, QUIET, "/search crispr[tiab]")
    assert header.startswith("Top 5 of ")
    nothing_found = "최근 30일 동안 다음 검색식에 맞는 논문이 없습니다"

    def flood_answered() -> bool:
        said = texts(telegram, FLOODER)
        return sum(nothing_found in text for text in said) >= COMMAND_BURST

    assert await telegram.wait_for_async(flood_answered, 60)
    said = texts(telegram, FLOODER)
    assert refusals(said, "ko") == 1
    assert len(said) <= COMMAND_BURST + 3
    assert await telegram.wait_for_async(lambda: len(telegram.sent(QUIET)) == 6, 30)  # 5 cards


# --- Slack ---------------------------------------------------------------------------------------


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack(team_id=TEAM) as fake:
        fake.add_channel("C0001", name="flood")
        fake.add_channel("C0002", name="quiet")
        yield fake
        assert fake.errors == []


@pytest.fixture
async def slack_app(pubmed: FakeEutils, slack: FakeSlack, tmp_path: Path) -> AsyncIterator[App]:
    app = App.create(
        settings(
            pubmed,
            tmp_path,
            SLACK_BOT_TOKEN="xoxb-test-token",
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=slack.api_url,
            SLACK_PORT=str(free_port()),
        ),
        io.StringIO(),
    )
    async with connected(app, "slack"):
        yield app


async def slash_command(
    session: aiohttp.ClientSession, app: App, slack: FakeSlack, channel: str, text: str, key: str
) -> str:
    """POST a signed `/papers` command; the text of its acknowledgement ('' when empty)."""
    slack_channel = app.channels["slack"]
    assert isinstance(slack_channel, SlackChannel)
    body = slash_command_body(
        "/papers", text, response_url=slack.response_url(key), channel_id=channel, team_id=TEAM
    )
    async with session.post(
        f"http://127.0.0.1:{slack_channel.port}/slack/events",
        data=body.encode(),
        headers=signed_request_headers(SECRET, body),
    ) as answer:
        assert answer.status == 200
        content = await answer.read()
        return str((await answer.json()).get("text", "")) if content else ""


async def test_a_slack_channel_sending_60_searches_does_not_hold_up_another_channel(
    slack_app: App, slack: FakeSlack
) -> None:
    """60 `/papers search` from one channel at once: another channel's search is answered
    within seconds; the flooding channel is told once to slow down, then acknowledged silently."""
    async with aiohttp.ClientSession() as session:
        acks = await asyncio.gather(
            *(
                slash_command(session, slack_app, slack, "C0001", f"search {NOTHING}", f"f{i}")
                for i in range(60)
            )
        )
        assert await slash_command(
            session, slack_app, slack, "C0002", "search crispr[tiab]", "quiet"
        ) == ("⏳ Asking PubMed…")
    assert await slack.wait_for_async(lambda: slack.responses("quiet") != [], ANSWERED_WITHIN), (
        f"the quiet channel's search was not answered within {ANSWERED_WITHIN} s"
    )
    assert slack.responses("quiet")[0]["text"].startswith("Top 5 of ")
    assert refusals(acks, "en") == 1
    working = acks.count("⏳ Asking PubMed…")
    assert COMMAND_BURST <= working <= COMMAND_BURST + 2
    assert acks.count("") == 60 - working - 1
    assert await slack.wait_for_async(
        lambda: sum(bool(slack.responses(f"f{i}")) for i in range(60)) == working, 30
    )
