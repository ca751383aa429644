"""Log lines: LOG_FORMAT=json writes one JSON object a line, both formats keep secrets out, and
control characters from outside reach no terminal raw."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fixtures import bot_environment
from servers.eutils import FakeEutils

from bot import logs
from bot.cli import main

SECRET = "ncbi-key-0123456789abcdef"
# What a hostile or broken service or user might send: ESC sequences (clear screen, set the
# window title), BEL, vertical tab, record separator, the 8-bit CSI, a newline that would
# forge a line of its own, a right-to-left override.
HOSTILE = "\x1b[2J\x1b]0;owned\x07 \x0b\x1e\x9b31m\nERROR forged line \u202e"
RAW = ("\x1b", "\x07", "\x0b", "\x1e", "\x9b", "\u202e")


@pytest.fixture
def pubmed(sample_pubmed: FakeEutils) -> FakeEutils:
    sample_pubmed.reset()
    # The sample's newest papers appear as this week's, so the bot's real clock finds them.
    sample_pubmed.shift_dates(date(2018, 11, 15), datetime.now(UTC).date())
    return sample_pubmed


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The program's own log handler, writing to a string; removed afterwards."""
    stream = io.StringIO()
    yield stream
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "stream", None) is stream:
            root.removeHandler(handler)


def subscribed(pubmed: FakeEutils, folder: Path) -> dict[str, str]:
    """The environment of a bot with an NCBI key and one subscription stored."""
    env = bot_environment(
        folder,
        PUBMED_EUTILS_URL=pubmed.url,
        NCBI_EMAIL="dev@example.org",
        NCBI_API_KEY=SECRET,
        BACKFILL_DAYS="3650",
    )
    assert main(["cmd", "subscribe cells"], environ=env) == 0
    return env


def run_poll(env: dict[str, str], folder: Path) -> subprocess.CompletedProcess[str]:
    """`paper-surfer poll` in a child process."""
    return subprocess.run(
        [str(Path(sys.executable).with_name("paper-surfer")), "poll"],
        capture_output=True,
        text=True,
        env=env,
        cwd=folder,
        timeout=120,
        check=False,
    )


def json_lines(stderr: str) -> list[dict[str, str]]:
    """Every stderr line as a JSON object with the promised keys (fails on any other line)."""
    records = [json.loads(line) for line in stderr.splitlines()]
    for record in records:
        assert {"time", "level", "logger", "message"} <= set(record), record
        moment = datetime.fromisoformat(record["time"])
        assert moment.utcoffset() == timedelta(0)
        assert abs(datetime.now(UTC) - moment) < timedelta(minutes=10)
    return records


def test_json_logs_are_one_object_a_line_and_never_show_the_api_key(
    pubmed: FakeEutils, tmp_path: Path
) -> None:
    """A poll at LOG_LEVEL=DEBUG with LOG_FORMAT=json writes only JSON lines on stderr, and the
    NCBI key that every request URL carries is replaced by *** in them."""
    env = subscribed(pubmed, tmp_path) | {"LOG_FORMAT": "json", "LOG_LEVEL": "DEBUG"}
    pubmed.inject("status", endpoint="esearch", status=502)  # a warning line as well
    result = run_poll(env, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    records = json_lines(result.stderr)
    levels = {r["level"] for r in records}
    assert {"DEBUG", "INFO", "WARNING"} <= levels
    assert any(r["logger"] == "bot.poller" and r["message"].startswith("poll ") for r in records)
    assert SECRET not in result.stderr
    assert SECRET not in result.stdout
    assert "***" in result.stderr  # the URLs that urllib3 logs at DEBUG were redacted


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_control_characters_from_pubmed_are_escaped_in_every_line(
    pubmed: FakeEutils, tmp_path: Path, log_format: str
) -> None:
    """PubMed's error text with ESC, BEL, a newline and friends is written escaped, on one
    line, in the log, the poll report and the final error line."""
    env = subscribed(pubmed, tmp_path) | {"LOG_FORMAT": log_format}
    body = json.dumps({"error": f"bad query {HOSTILE}"})
    pubmed.inject("status", endpoint="esearch", term="cells", status=400, body=body)
    result = run_poll(env, tmp_path)
    assert result.returncode == 1
    for raw in RAW:
        assert raw not in result.stderr
        assert raw not in result.stdout
    escaped = r"bad query \x1b[2J\x1b]0;owned\x07 "
    assert escaped in result.stdout  # "failed: cells: ..." of the poll report
    if log_format == "text":
        failed = [line for line in result.stderr.splitlines() if "failed this poll" in line]
        assert len(failed) == 1
        assert escaped in failed[0]
        assert r"\nERROR forged line \u202e" in failed[0]
        assert not any(line.startswith("ERROR forged") for line in result.stderr.splitlines())
        assert result.stderr.splitlines()[-1].startswith("paper-surfer: 1 of 1 queries failed")
    else:
        records = json_lines(result.stderr)
        failed = [r for r in records if "failed this poll" in r["message"]]
        assert len(failed) == 1
        assert escaped in failed[0]["message"]  # escaped text, not a raw ESC once decoded
        assert records[-1]["level"] == "ERROR"
        assert records[-1]["message"].startswith("1 of 1 queries failed")


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_users_text_is_escaped_and_a_traceback_keeps_its_lines(
    captured: io.StringIO, log_format: str
) -> None:
    """A chat title with control characters logs as one escaped line; a traceback keeps its
    lines, with secrets redacted and control characters escaped in it too."""
    logs.setup("INFO", [SECRET], captured, log_format=log_format)
    log = logging.getLogger("handlers.telegram")
    log.warning("deactivated %s: the bot was blocked", f"group {HOSTILE}")
    try:
        raise ValueError(f"token {SECRET} refused for {HOSTILE}")
    except ValueError:
        log.exception("Telegram update failed")
    output = captured.getvalue()
    for raw in RAW:
        assert raw not in output
    assert SECRET not in output
    if log_format == "text":
        lines = output.splitlines()
        assert lines[0].endswith(
            r"WARNING handlers.telegram: deactivated group \x1b[2J\x1b]0;owned\x07 \x0b\x1e"
            r"\x9b31m\nERROR forged line \u202e: the bot was blocked"
        )
        assert lines[1].endswith("ERROR handlers.telegram: Telegram update failed")
        assert lines[2] == "Traceback (most recent call last):"
        assert lines[-2].startswith(r"ValueError: token *** refused for \x1b[2J")
        assert lines[-1] == r"ERROR forged line \u202e"  # the exception's own line, escaped
    else:
        first, second = json_lines(output)
        assert first["message"] == (
            r"deactivated group \x1b[2J\x1b]0;owned\x07 \x0b\x1e\x9b31m\nERROR forged line "
            r"\u202e: the bot was blocked"
        )
        assert (first["level"], first["logger"]) == ("WARNING", "handlers.telegram")
        assert "exception" not in first
        assert second["exception"].startswith("Traceback (most recent call last):\n")
        assert r"ValueError: token *** refused for \x1b[2J" in second["exception"]


def test_a_refused_command_echoes_the_users_text_escaped() -> None:
    """The one-line refusal on stderr shows a control character the user typed as an escape."""
    err = io.StringIO()
    code = main(["cmd", "unsubscribe \x1b[31mred"], environ={"DATABASE_PATH": "ps.db"}, stderr=err)
    assert code == 1
    assert err.getvalue() == (
        "paper-surfer: '\\x1b[31mred' is not a subscription id. Usage: unsubscribe ID\n"
    )
