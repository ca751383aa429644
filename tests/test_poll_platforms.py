"""`paper-surfer poll` and `paper-surfer digest` deliver on Telegram and Slack without `run`.

Each command is a child process, as cron would start it, against loopback fakes of PubMed,
Telegram and Slack. It connects to send only: no long polling, no webhook, no Socket Mode, no
listening port; and it closes its connections before it exits.
"""

from __future__ import annotations

import io
import signal
import socket
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fixtures import bot_environment, fixture, paper_surfer, start_bot, wait_until
from received import slack_pmids, telegram_pmids
from servers.eutils import FakeEutils
from servers.slack import FakeSlack
from servers.telegram import FakeTelegram

from bot.app import App
from bot.config import Settings

SAMPLE = "fatcat__pubmedsample_2019.xml"
CORPUS_DAY = date(2018, 11, 15)  # the sample's newest Entrez date, served as today
ALICE, BOB = 1001, 1002
TEAM = "T0001"
SECRET = "signing-secret-for-tests"
BACKFILL_DAYS = 1000  # the sample's dates are sparse: six papers for each query below


@pytest.fixture(scope="module")
def pubmed() -> Iterator[FakeEutils]:
    with FakeEutils(rate_limit=None) as fake:
        fake.load(fixture(SAMPLE))
        fake.shift_dates(CORPUS_DAY, datetime.now(UTC).date())
        yield fake


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        fake.add_private_chat(ALICE, first_name="Alice")
        fake.add_private_chat(BOB, first_name="Bob")
        yield fake
        assert fake.errors == []


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack(team_id=TEAM) as fake:
        fake.add_channel("C0001", name="liver")
        fake.add_channel("C0002", name="crispr")
        yield fake
        assert fake.errors == []


@pytest.fixture
def held_port() -> Iterator[int]:
    """A port this test listens on: a listener `poll` opened there would fail to start."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        yield int(held.getsockname()[1])


def environment(
    folder: Path,
    pubmed: FakeEutils,
    telegram: FakeTelegram,
    slack: FakeSlack,
    slack_port: int,
    **extra: str,
) -> dict[str, str]:
    """Both platforms configured, Slack in HTTP mode on `slack_port`; `extra` adds or
    overrides settings."""
    settings = {
        "PUBMED_EUTILS_URL": pubmed.url,
        "NCBI_EMAIL": "dev@example.org",
        "TELEGRAM_BOT_TOKEN": telegram.token,
        "TELEGRAM_API_URL": telegram.base_url,
        "SLACK_BOT_TOKEN": slack.token,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.api_url,
        "SLACK_PORT": str(slack_port),
        "BACKFILL_DAYS": str(BACKFILL_DAYS),
        "MAX_CARDS_PER_POLL": "2",
        "LOG_LEVEL": "INFO",
        # Show what Python hides by default: an unclosed socket or file at exit.
        "PYTHONWARNINGS": "default::ResourceWarning",
    }
    return bot_environment(folder, **{**settings, **extra})


def subscribe(
    env: dict[str, str], chats: list[tuple[str, str, str, str]], *, digest: bool = False
) -> None:
    """Subscribe each (platform, workspace, chat id, query) as its user's command would."""
    settings = Settings.from_env(
        {key: env[key] for key in ("DATABASE_PATH", "PUBMED_EUTILS_URL")}, env_file=None
    )
    app = App.create(settings, io.StringIO())
    try:
        for platform, workspace, chat_id, query in chats:
            chat = app.service.chat(platform, workspace, chat_id)
            commands = [f"subscribe {query}"] + (["mode digest"] if digest else [])
            for command in commands:
                reply = app.service.run(chat, command)
                assert reply.ok, reply.text
    finally:
        app.close()


def expected(pubmed: FakeEutils, query: str, days: int = BACKFILL_DAYS) -> set[str]:
    """What PubMed holds for a new subscription's first window."""
    today = datetime.now(UTC).date()
    return set(pubmed.ids_between(query, today - timedelta(days=days), today))


def states(env: dict[str, str]) -> dict[str, int]:
    with sqlite3.connect(env["DATABASE_PATH"]) as db:
        return dict(db.execute("SELECT state, COUNT(*) FROM deliveries GROUP BY state"))


def assert_clean(result: subprocess.CompletedProcess[str]) -> None:
    """Exit 0, and no traceback or unclosed connection in the log."""
    assert result.returncode == 0, result.stderr
    for sign in ("Traceback", "Unclosed", "ResourceWarning", "could not"):
        assert sign not in result.stderr, result.stderr


def assert_sent_only(telegram: FakeTelegram, slack: FakeSlack) -> None:
    """The bot checked its tokens and sent; it never listened for updates or commands."""
    assert telegram.calls("getMe")
    for method in ("getUpdates", "setWebhook", "deleteWebhook", "setMyCommands"):
        assert telegram.calls(method) == [], method
    assert slack.calls_to("auth.test")
    assert slack.calls_to("apps.connections.open") == []
    assert slack.socket_connections == 0


def test_poll_delivers_to_telegram_and_slack_once_without_run(
    pubmed: FakeEutils, telegram: FakeTelegram, slack: FakeSlack, held_port: int, tmp_path: Path
) -> None:
    """With no `run` process, `poll` brings each Telegram chat and Slack channel its cards,
    reports them all sent and none failed, opens no listener; a second `poll` sends nothing."""
    env = environment(tmp_path, pubmed, telegram, slack, held_port)
    subscribe(env, [("telegram", "", str(ALICE), "humans[mh]"), ("slack", TEAM, "C0001", "study")])
    result = paper_surfer(env, tmp_path, "poll")
    assert_clean(result)
    alice, channel = telegram_pmids(telegram, ALICE), slack_pmids(slack, "C0001")
    assert sorted(alice) == sorted(expected(pubmed, "humans[mh]"))
    assert sorted(channel) == sorted(expected(pubmed, "study"))
    assert f"  deliveries: {len(alice) + len(channel)} sent, 0 failed\n" in result.stdout
    assert "Telegram connected as @PaperSurferBot (sending only)" in result.stderr
    assert_sent_only(telegram, slack)
    messages = len(telegram.all_sent()), len(slack.all_posted())

    again = paper_surfer(env, tmp_path, "poll")
    assert_clean(again)
    assert "  deliveries: 0 sent, 0 failed\n" in again.stdout
    assert (len(telegram.all_sent()), len(slack.all_posted())) == messages
    assert states(env) == {"sent": len(alice) + len(channel)}


def test_digest_delivers_each_digest_chat_its_digest_without_run(
    pubmed: FakeEutils, telegram: FakeTelegram, slack: FakeSlack, held_port: int, tmp_path: Path
) -> None:
    """Digest-mode chats get nothing from `poll`; `digest` then sends each its one digest on
    Telegram and Slack, with Telegram's webhook and Slack's Socket Mode configured and unused."""
    env = environment(
        tmp_path,
        pubmed,
        telegram,
        slack,
        held_port,
        TELEGRAM_WEBHOOK_URL="https://bot.example.org/telegram-hook",
        TELEGRAM_WEBHOOK_SECRET="s3cret-token",
        TELEGRAM_WEBHOOK_PORT=str(held_port),
        SLACK_APP_TOKEN=slack.app_token,
    )
    subscribe(
        env,
        [("telegram", "", str(BOB), "humans[mh]"), ("slack", TEAM, "C0002", "study")],
        digest=True,
    )
    polled = paper_surfer(env, tmp_path, "poll")
    assert_clean(polled)
    assert "  deliveries: 0 sent, 0 failed\n" in polled.stdout
    assert telegram.sent(BOB) == []
    assert slack.posted("C0002") == []

    result = paper_surfer(env, tmp_path, "digest")
    assert_clean(result)
    assert result.stdout == "Digests: 2 sent, 0 failed\n"
    assert telegram.sent(BOB)[0]["text"].startswith("📬 PubMed digest for ")
    assert set(telegram_pmids(telegram, BOB)) == expected(pubmed, "humans[mh]")
    [posted] = slack.posted("C0002")
    assert posted["blocks"][0]["text"]["text"].startswith("📬 PubMed digest for ")
    assert set(slack_pmids(slack, "C0002")) == expected(pubmed, "study")
    assert_sent_only(telegram, slack)


def test_refused_tokens_keep_the_cards_for_a_later_poll(
    pubmed: FakeEutils, telegram: FakeTelegram, slack: FakeSlack, held_port: int, tmp_path: Path
) -> None:
    """When Telegram and Slack refuse their tokens, `poll` says so in one line each, reports the
    sends as failed and gives nothing up; a later poll with good tokens delivers every card."""
    env = environment(tmp_path, pubmed, telegram, slack, held_port)
    subscribe(env, [("telegram", "", str(ALICE), "humans[mh]"), ("slack", TEAM, "C0001", "study")])
    slack.revoke()
    refused = paper_surfer({**env, "TELEGRAM_BOT_TOKEN": "999:WRONG"}, tmp_path, "poll")
    assert refused.returncode == 0, refused.stderr  # as documented: 1 only for a failed query
    for sign in ("Traceback", "Unclosed", "ResourceWarning"):
        assert sign not in refused.stderr, refused.stderr
    errors = [line for line in refused.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 2, refused.stderr
    assert "Telegram refused TELEGRAM_BOT_TOKEN (check it with BotFather)" in errors[0] + errors[1]
    assert "Slack refused SLACK_BOT_TOKEN (invalid_auth)" in errors[0] + errors[1]
    assert "  deliveries: 0 sent, 2 failed\n" in refused.stdout  # each chat's first card
    assert telegram.all_sent() == []
    assert slack.all_posted() == []
    owed = len(expected(pubmed, "humans[mh]")) + len(expected(pubmed, "study"))
    assert states(env) == {"pending": owed}
    assert attempts(env) == 0  # a refused token is not the papers' fault

    slack.restore()
    wait_until_due(env)  # as a later cron run would find them
    delivered = paper_surfer(env, tmp_path, "poll")
    assert_clean(delivered)
    assert f"  deliveries: {owed} sent, 0 failed\n" in delivered.stdout
    assert sorted(telegram_pmids(telegram, ALICE)) == sorted(expected(pubmed, "humans[mh]"))
    assert sorted(slack_pmids(slack, "C0001")) == sorted(expected(pubmed, "study"))


def attempts(env: dict[str, str]) -> int:
    with sqlite3.connect(env["DATABASE_PATH"]) as db:
        return int(db.execute("SELECT COALESCE(SUM(attempts), 0) FROM deliveries").fetchone()[0])


def wait_until_due(env: dict[str, str]) -> None:
    """Wait until every pending row's next attempt is due (a refused send waits seconds)."""
    with sqlite3.connect(env["DATABASE_PATH"]) as db:
        (latest,) = db.execute(
            "SELECT MAX(next_attempt_at) FROM deliveries WHERE state = 'pending'"
        ).fetchone()
    due = datetime.fromisoformat(latest)
    assert wait_until(lambda: datetime.now(UTC) > due, 30)


def test_run_and_poll_at_once_never_send_the_same_card(
    pubmed: FakeEutils, telegram: FakeTelegram, slack: FakeSlack, tmp_path: Path
) -> None:
    """While `run` is delivering to Telegram and Slack, a `poll` from cron sends some of the
    same chats' cards; each card arrives once, and every card arrives."""
    # Two processes sending to one chat together can exceed Telegram's one message a second
    # in a chat; its 429s are waited out (tests/test_telegram.py), and here they would only
    # keep `poll` from the chats this test needs it to share with `run`.
    telegram.enforce_limits = False
    with socket.socket() as probe:  # `run` listens for Slack here
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    env = environment(
        tmp_path,
        pubmed,
        telegram,
        slack,
        port,
        BACKFILL_DAYS="3650",
        MAX_CARDS_PER_POLL="20",  # every paper a card: a long delivery at one a second a chat
        POLL_INTERVAL_MINUTES="0.1",
    )
    chats = [
        ("telegram", "", str(ALICE), "humans[mh]"),
        ("telegram", "", str(BOB), "humans[mh]"),
        ("slack", TEAM, "C0001", "humans[mh]"),
        ("slack", TEAM, "C0002", "humans[mh]"),
    ]
    subscribe(env, chats)
    papers = expected(pubmed, "humans[mh]", days=3650)
    assert len(papers) > 10

    def received() -> list[list[str]]:
        return [
            telegram_pmids(telegram, ALICE),
            telegram_pmids(telegram, BOB),
            slack_pmids(slack, "C0001"),
            slack_pmids(slack, "C0002"),
        ]

    bot = start_bot(env, tmp_path)
    try:
        assert wait_until(lambda: all(received()), 60), "run delivered nothing"
        polled = paper_surfer(env, tmp_path, "poll")
        assert polled.returncode == 0, polled.stderr
        assert "Traceback" not in polled.stderr
        assert wait_until(lambda: all(set(r) == papers for r in received()), 120)
    finally:
        bot.send_signal(signal.SIGTERM)
        _, log = bot.communicate(timeout=60)
    assert bot.returncode == 0, log
    for pmids in received():
        assert sorted(pmids) == sorted(papers)  # none twice
    with sqlite3.connect(env["DATABASE_PATH"]) as db:
        senders = {
            owner
            for (owner,) in db.execute(
                "SELECT DISTINCT lease_owner FROM deliveries WHERE state = 'sent'"
            )
        }
    assert f"{socket.gethostname()}:{bot.pid}" in senders
    assert len(senders) == 2  # `poll` sent some of them too
