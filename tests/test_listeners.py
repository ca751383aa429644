"""BIND_ADDRESS: where `paper-surfer run` listens (Slack's HTTP mode, Telegram's webhook, /healthz
and /metrics): this machine only unless told otherwise, and a bad address stops it in one line.

Linux answers on every 127.x.y.z address, so 127.0.0.2 stands for "another interface" while
the suite stays on loopback.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fixtures import bot_environment, free_port, paper_surfer, start_bot, wait_until
from servers.slack import FakeSlack
from servers.telegram import FakeTelegram

LISTENERS = ("HEALTH_PORT", "SLACK_PORT", "TELEGRAM_WEBHOOK_PORT")


@pytest.fixture
def platforms() -> Iterator[tuple[FakeTelegram, FakeSlack]]:
    with FakeTelegram() as telegram, FakeSlack() as slack:
        yield telegram, slack


def every_listener(
    folder: Path, telegram: FakeTelegram, slack: FakeSlack, **settings: str
) -> dict[str, str]:
    """A bot environment with all three listeners on free ports."""
    return bot_environment(
        folder,
        PUBMED_EUTILS_URL="http://127.0.0.1:9/",
        TELEGRAM_BOT_TOKEN=telegram.token,
        TELEGRAM_API_URL=telegram.base_url,
        TELEGRAM_WEBHOOK_URL="https://bot.example.org/telegram-hook",
        TELEGRAM_WEBHOOK_SECRET="s3cret-token",
        SLACK_BOT_TOKEN=slack.token,
        SLACK_SIGNING_SECRET="signing-secret",
        SLACK_API_URL=slack.api_url,
        **{name: str(free_port()) for name in LISTENERS},
        **settings,
    )


def accepts(host: str, port: str) -> bool:
    """Whether something accepts a TCP connection on host:port."""
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            return True
    except OSError:
        return False


@pytest.mark.parametrize(
    ("setting", "reached", "refused"),
    [(None, "127.0.0.1", "127.0.0.2"), ("127.0.0.2", "127.0.0.2", "127.0.0.1")],
)
def test_the_listeners_accept_connections_on_bind_address_only(
    platforms: tuple[FakeTelegram, FakeSlack],
    tmp_path: Path,
    setting: str | None,
    reached: str,
    refused: str,
) -> None:
    """By default Slack's endpoint, the Telegram webhook and /healthz answer on 127.0.0.1 and
    nowhere else; with BIND_ADDRESS they answer there instead; the image's health check
    finds /healthz either way."""
    env = every_listener(tmp_path, *platforms)
    if setting is not None:
        env["BIND_ADDRESS"] = setting
    bot = start_bot(env, tmp_path)
    try:
        for name in LISTENERS:  # Slack and Telegram open theirs once connected
            assert wait_until(lambda name=name: accepts(reached, env[name]), 30), name
            assert not accepts(refused, env[name]), name
        check = subprocess.run(
            [sys.executable, "-m", "bot.healthcheck"],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=30,
            check=False,
        )
        assert (check.returncode, check.stdout) == (0, "")
    finally:
        bot.send_signal(signal.SIGTERM)
        _, log = bot.communicate(timeout=60)
    assert bot.returncode == 0, log
    assert "Traceback" not in log
    assert f"Slack listening for POST /slack/events on {reached}:{env['SLACK_PORT']}" in log
    assert f"(webhook on {reached}:{env['TELEGRAM_WEBHOOK_PORT']})" in log


@pytest.mark.parametrize(
    ("value", "line"),
    [
        ("localhost", "'localhost' is not an IPv4 or IPv6 address such as 127.0.0.1"),
        ("127.0.0.256", "'127.0.0.256' is not an IPv4 or IPv6 address such as 127.0.0.1"),
        ("203.0.113.7", "cannot listen on 203.0.113.7: "),  # a documentation address
    ],
)
def test_a_bind_address_the_bot_cannot_use_stops_it_with_one_line(
    tmp_path: Path, value: str, line: str
) -> None:
    """A host name, a malformed address or one no interface of this machine has: `run` exits
    1 at start with one line naming BIND_ADDRESS."""
    env = bot_environment(
        tmp_path,
        BIND_ADDRESS=value,
        HEALTH_PORT=str(free_port()),
        PUBMED_EUTILS_URL="http://127.0.0.1:9/",
    )
    result = paper_surfer(env, tmp_path, "run", timeout=60)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1].startswith(f"paper-surfer: BIND_ADDRESS: {line}")
    assert "Traceback" not in result.stderr
