"""Slack end to end: the real Bolt app served over HTTP on loopback, signed requests in, the real
AsyncWebClient out to a loopback fake of the Slack Web API that validates what Slack validates.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import socket
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import urlencode

import pytest
import requests
from fixtures import connected
from received import slack_pmids as card_pmids
from servers.eutils import FakeEutils
from servers.slack import (
    FakeSlack,
    block_actions_body,
    block_actions_payload,
    event_body,
    signed_request_headers,
    slash_command_body,
    slash_command_payload,
    validate_blocks,
)

from bot.app import App
from bot.config import Settings
from bot.pubmed.client import EutilsClient, RetryPolicy
from handlers.slack import SlackChannel

SECRET = "signing-secret-for-tests"
TEAM, OTHER_TEAM = "T0001", "T0002"


@pytest.fixture
def pubmed(daily_pubmed: FakeEutils) -> FakeEutils:
    daily_pubmed.reset()
    daily_pubmed.shift_dates(date(2021, 6, 7), datetime.now(UTC).date())
    return daily_pubmed


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack(team_id=TEAM) as fake:
        fake.add_user("U0001", name="ada")
        fake.add_user("U0002", name="bob")
        fake.add_channel("C0001", name="liver")
        fake.add_channel("C0002", name="crispr")
        fake.add_channel("C0003", name="archive")
        yield fake
        assert fake.errors == []


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def make_app(pubmed: FakeEutils, slack: FakeSlack, tmp_path: Path, **extra: str) -> App:
    settings = Settings.from_env(
        {
            "DATABASE_PATH": str(tmp_path / "ps.db"),
            "ALERTS_DIR": str(tmp_path / "alerts"),
            "PUBMED_EUTILS_URL": pubmed.url,
            "SLACK_BOT_TOKEN": "xoxb-test-token",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": slack.api_url,
            "SLACK_PORT": str(free_port()),
            "MAX_CARDS_PER_POLL": "2",
            "BACKFILL_DAYS": "1",
            **extra,
        },
        env_file=None,
    )
    client = EutilsClient(pubmed.url, retry=RetryPolicy(attempts=3, backoff=0.01), max_rps=50)
    return App.create(settings, io.StringIO(), client=client)


@pytest.fixture
async def app(pubmed: FakeEutils, slack: FakeSlack, tmp_path: Path) -> AsyncIterator[App]:
    async with connected(make_app(pubmed, slack, tmp_path), "slack") as application:
        yield application


def endpoint(app: App) -> str:
    channel = app.channels["slack"]
    assert isinstance(channel, SlackChannel)
    return f"http://127.0.0.1:{channel.port}/slack/events"


async def post(
    app: App, body: str, *, secret: str = SECRET, timestamp: int | None = None
) -> requests.Response:
    headers = signed_request_headers(secret, body, timestamp)
    return await asyncio.to_thread(
        requests.post, endpoint(app), data=body.encode(), headers=headers, timeout=10
    )


async def command(
    app: App,
    slack: FakeSlack,
    text: str,
    *,
    channel: str = "C0001",
    team: str = TEAM,
    key: str = "",
) -> tuple[requests.Response, float]:
    body = slash_command_body(
        "/papers",
        text,
        response_url=slack.response_url(key or f"{channel}-{text}"),
        channel_id=channel,
        team_id=team,
    )
    started = time.monotonic()
    answer = await post(app, body)
    return answer, time.monotonic() - started


def ack_text(answer: requests.Response) -> str:
    return str(answer.json().get("text", "")) if answer.content else ""


async def later(slack: FakeSlack, key: str) -> str:
    """The text of the first answer that came back through response_url `key`."""
    assert await slack.wait_for_async(lambda: len(slack.responses(key)) > 0, 20)
    return str(slack.responses(key)[0].get("text", ""))


async def test_two_channels_subscribe_poll_and_get_valid_cards_once(
    app: App, slack: FakeSlack
) -> None:
    """/papers subscribe in two channels is acknowledged at once and previewed later; a poll posts
    each channel its own cards, valid Block Kit, no PMID twice; the channels stay apart."""
    for channel, query in (("C0001", "zebrafish"), ("C0002", "crispr[tiab]")):
        answer, took = await command(app, slack, f"subscribe {query}", channel=channel, key=channel)
        assert answer.status_code == 200
        assert took < 3
        assert ack_text(answer) == "⏳ Asking PubMed…"
        assert (await later(slack, channel)).startswith(f"Subscribed #1: {query}")
    _, delivered = await app.poll_and_deliver()
    assert delivered.sent > 4
    assert delivered.failed == 0
    for channel in ("C0001", "C0002"):
        pmids = card_pmids(slack, channel)
        assert pmids
        assert len(pmids) == len(set(pmids))
        for message in slack.posted(channel):
            assert validate_blocks(message["blocks"]) == []
            assert message["text"]
    listing, _ = await command(app, slack, "list", channel="C0002")
    assert "crispr" in ack_text(listing)
    assert "zebrafish" not in ack_text(listing)
    other, _ = await command(app, slack, "list", channel="C0001", team=OTHER_TEAM)
    assert "no subscriptions" in ack_text(other)  # same channel id, another workspace


async def test_requests_with_a_bad_or_stale_signature_are_refused(
    app: App, slack: FakeSlack
) -> None:
    """Bolt answers 401 to a wrong signature and to a timestamp older than five minutes."""
    body = slash_command_body("/papers", "help", response_url=slack.response_url("sig"))
    assert (await post(app, body, secret="not-the-secret")).status_code == 401
    assert (await post(app, body, timestamp=int(time.time()) - 6 * 60)).status_code == 401
    good = await post(app, body)
    assert good.status_code == 200
    assert ack_text(good).startswith("Paper Surfer commands:")


def raw_post(port: int, path: str, headers: dict[str, str], sent: bytes) -> int:
    """POST that sends its headers and `sent` (maybe far less than it declares), then reads
    the status line; 0 when the server says nothing within five seconds (still reading)."""
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(head.encode() + sent)
        try:
            status_line = connection.recv(100).split(b"\r\n", 1)[0]
        except TimeoutError:
            return 0
    return int(status_line.split()[1]) if status_line else 0


async def test_a_signed_payload_that_is_not_slack_json_is_refused_without_a_traceback(
    app: App, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    """Malformed JSON, in a form's payload or as the body, signed or not, is a 400 (401 when
    unsigned), one warning line at most, no traceback and no chat; the bot answers after."""
    bodies = [
        urlencode({"payload": '{"type": "block_actions", "team": {"id": "T0001"'}),
        urlencode({"payload": "[1, 2]"}),
        '{"type": "event_callback", "team_id": ',
    ]
    with caplog.at_level(logging.DEBUG):
        for body in bodies:
            assert (await post(app, body)).status_code == 400, body
            assert (await post(app, body, secret="not-the-secret")).status_code == 401, body
    assert [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []
    assert app.store.chats.all() == []
    good = await post(app, slash_command_body("/papers", "help", response_url=slack.response_url()))
    assert ack_text(good).startswith("Paper Surfer commands:")


async def test_a_command_press_or_event_without_workspace_or_channel_makes_no_chat(
    app: App, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    """A signed command or button press with an empty team or channel, or an event without a
    team, is refused with 400 before it reaches a chat: no row with empty ids is created."""
    url = slack.response_url("nowhere")
    bodies = [
        slash_command_body("/papers", "subscribe zebrafish", response_url=url, team_id=""),
        slash_command_body("/papers", "list", response_url=url, channel_id=""),
        block_actions_body("fb_save:30000001", "save:30000001", response_url=url, team_id=""),
        block_actions_body("fb_save:30000001", "save:30000001", response_url=url, channel_id=""),
        event_body("app_home_opened", user_id="U0002", team_id=""),
    ]
    with caplog.at_level(logging.DEBUG):
        for body in bodies:
            assert (await post(app, body)).status_code == 400, body
    assert [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []
    assert app.store.chats.all() == []
    assert slack.responses("nowhere") == []
    assert slack.home_views == {}


async def test_a_body_declared_over_a_megabyte_is_refused_before_it_is_read(app: App) -> None:
    """POST /slack/events declaring 50 MB gets 413 after its first 64 kB, signed or not."""
    channel = app.channels["slack"]
    assert isinstance(channel, SlackChannel)
    body = b"x" * 65536
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    headers["Content-Length"] = str(50 * 1024 * 1024)
    answer = await asyncio.to_thread(raw_post, channel.port, "/slack/events", headers, body)
    assert answer == 413


ADMINS_ONLY = (
    "Only workspace admins and the channel's creator can change this channel's subscriptions "
    "and settings."
)


async def test_with_slack_changes_by_admins_only_admins_and_the_creator_change_a_channel(
    pubmed: FakeEutils, slack: FakeSlack, tmp_path: Path
) -> None:
    """SLACK_CHANGES_BY=admins: a member's `subscribe` in a channel is refused at once while
    `list` works; a workspace admin, the channel's creator and anyone in their own DM may
    change; users.info is asked once for a burst of commands."""
    slack.add_user("U0003", name="carol", is_admin=True)
    slack.add_channel("C0004", name="mine", creator="U0001")
    slack.add_channel("D0001", is_im=True, user="U0001")
    application = make_app(pubmed, slack, tmp_path, SLACK_CHANGES_BY="admins")
    channel = application.channels["slack"]
    assert isinstance(channel, SlackChannel)
    await channel.start()
    try:
        await asyncio.wait_for(channel.ready.wait(), timeout=20)

        async def say(text: str, where: str, user: str, key: str) -> str:
            body = slash_command_body(
                "/papers",
                text,
                response_url=slack.response_url(key),
                channel_id=where,
                user_id=user,
            )
            answer = await post(application, body)
            assert answer.status_code == 200
            first = ack_text(answer)
            return first if first != "⏳ Asking PubMed…" else await later(slack, key)

        assert await say("subscribe zebrafish", "C0001", "U0001", "member") == ADMINS_ONLY
        assert await say("pause", "C0001", "U0001", "member2") == ADMINS_ONLY
        assert "no subscriptions" in await say("list", "C0001", "U0001", "member3")
        assert (await say("subscribe zebrafish", "C0001", "U0003", "admin")).startswith(
            "Subscribed #1: zebrafish"
        )
        assert (await say("subscribe zebrafish", "C0004", "U0001", "creator")).startswith(
            "Subscribed #1: zebrafish"
        )
        assert (await say("subscribe zebrafish", "D0001", "U0001", "dm")).startswith(
            "Subscribed #1: zebrafish"
        )
        asked = [call.params.get("user") for call in slack.calls_to("users.info")]
        assert sorted(asked) == ["U0001", "U0003"]  # each user once, then remembered
    finally:
        await channel.stop()
        application.close()


async def test_the_acknowledgement_holds_while_pubmed_is_slow(
    app: App, slack: FakeSlack, pubmed: FakeEutils
) -> None:
    """Even when PubMed takes five seconds, Slack hears back within three; the answer follows."""
    pubmed.inject("slow", endpoint="esearch", seconds=5)
    try:
        answer, took = await command(app, slack, "search zebrafish", key="slow")
        assert answer.status_code == 200
        assert took < 3
        assert (await later(slack, "slow")).startswith("Top ")
    finally:
        pubmed.reset()


async def test_a_button_press_is_recorded_and_answered(app: App, slack: FakeSlack) -> None:
    """💾 on a card posted to the channel saves the paper and answers the presser privately."""
    await command(app, slack, "subscribe zebrafish", key="sub")
    await later(slack, "sub")
    await app.poll_and_deliver()
    card = next(
        m for m in slack.posted("C0001") if any(b["type"] == "actions" for b in m["blocks"])
    )
    save = next(
        e["action_id"]
        for b in card["blocks"]
        for e in b.get("elements", [])
        if e.get("action_id", "").startswith("fb_save:")
    )
    payload = block_actions_payload(save, message=card, response_url=slack.response_url("press"))
    answer = await post(app, urlencode({"payload": json.dumps(payload)}))
    assert answer.status_code == 200
    assert (await later(slack, "press")) == "💾 Saved for this chat (see: saved)"
    chat = app.store.chats.find("slack", TEAM, "C0001")
    assert chat is not None
    pmid = save.split(":")[1]
    assert app.store.feedback.presses(chat.id) == [("U0001", pmid, "save")]


async def test_the_app_home_shows_help_and_the_users_subscriptions(
    app: App, slack: FakeSlack
) -> None:
    """Opening the app's Home tab publishes help and the subscriptions of the user's DM."""
    answer = await post(app, event_body("app_home_opened", user_id="U0002", team_id=TEAM))
    assert answer.status_code == 200
    assert await slack.wait_for_async(lambda: "U0002" in slack.home_views, 20)
    view = slack.home_views["U0002"]
    text = json.dumps(view, ensure_ascii=False)
    assert "no subscriptions" in text
    assert "subscribe QUERY" in text
    assert slack.calls_to("conversations.open")  # the user's DM with the app, opened for it


async def test_a_gone_channel_is_retired_and_the_others_keep_their_cards(
    app: App, slack: FakeSlack
) -> None:
    """An archived channel is deactivated with its pending cards cancelled; another gets all."""
    for channel in ("C0001", "C0003"):
        await command(app, slack, "subscribe zebrafish", channel=channel, key=f"gone-{channel}")
        await later(slack, f"gone-{channel}")
    slack.archive("C0003")
    _, delivered = await app.poll_and_deliver()
    assert delivered.deactivated == 1
    gone = app.store.chats.find("slack", TEAM, "C0003")
    assert gone is not None
    assert not gone.active
    assert app.store.outbox.counts(gone.id)["pending"] == 0
    assert len(card_pmids(slack, "C0001")) == delivered.sent


async def test_a_rate_limit_is_waited_out_without_duplicates(app: App, slack: FakeSlack) -> None:
    """A 429 on chat.postMessage is retried after Retry-After; each card is posted once."""
    await command(app, slack, "subscribe zebrafish", key="rl")
    await later(slack, "rl")
    slack.inject("chat.postMessage", "ratelimited", retry_after=1)
    _, delivered = await app.poll_and_deliver()
    pmids = card_pmids(slack, "C0001")
    assert len(pmids) == len(set(pmids))
    assert delivered.failed == 0


async def test_a_refused_token_stops_slack_with_one_line(
    pubmed: FakeEutils, slack: FakeSlack, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """invalid_auth at start: one clear error line, Slack stays off, nothing crashes."""
    slack.revoke()
    application = make_app(pubmed, slack, tmp_path)
    channel = application.channels["slack"]
    assert isinstance(channel, SlackChannel)
    with caplog.at_level(logging.ERROR):
        await channel.start()
        assert channel._starter is not None
        await channel._starter
    assert not channel.ready.is_set()
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [
        "Slack refused SLACK_BOT_TOKEN (invalid_auth); Slack is off, the other channels keep "
        "running"
    ]
    await channel.stop()
    application.close()


async def test_socket_mode_answers_commands_over_the_socket(
    pubmed: FakeEutils, slack: FakeSlack, tmp_path: Path
) -> None:
    """With SLACK_APP_TOKEN the app connects out; a slash command envelope is acked with the
    reply."""
    application = make_app(pubmed, slack, tmp_path, SLACK_APP_TOKEN="xapp-test-token")
    channel = application.channels["slack"]
    assert isinstance(channel, SlackChannel)
    await channel.start()
    try:
        await asyncio.wait_for(channel.ready.wait(), timeout=20)
        assert await slack.wait_for_socket_async(20)
        payload = slash_command_payload("/papers", "help", response_url=slack.response_url("sock"))
        envelope = await slack.send_socket_event_async("slash_commands", payload)
        assert await slack.wait_for_async(lambda: slack.socket_acks(envelope) is not None, 20)
        ack = slack.socket_acks(envelope) or {}
        assert str((ack.get("payload") or {}).get("text", "")).startswith("Paper Surfer commands:")
    finally:
        await channel.stop()
        application.close()


async def test_export_is_uploaded_to_the_channel(app: App, slack: FakeSlack) -> None:
    """`/papers export bibtex` with alerts but nothing saved uploads a .bib file to the channel."""
    await command(app, slack, "subscribe zebrafish", key="exp")
    await later(slack, "exp")
    await app.poll_and_deliver()
    answer, _ = await command(app, slack, "export bibtex", key="exp2")
    assert ack_text(answer).startswith("No saved papers, so the alerts of the last 30 days")
    assert await slack.wait_for_async(lambda: len(slack.uploads) == 1, 20)
    [upload] = slack.uploads
    assert upload["filename"].endswith(".bib")
    assert b"@article{" in upload["bytes"]


async def test_a_digest_channel_gets_its_digest_as_valid_blocks(app: App, slack: FakeSlack) -> None:
    """In digest mode a channel gets no cards from a poll, then one digest in valid Block Kit
    naming every new paper."""
    await command(app, slack, "subscribe zebrafish", key="dg")
    await later(slack, "dg")
    mode, _ = await command(app, slack, "mode digest", key="dg2")
    assert ack_text(mode).startswith("You will get one digest a day")
    _, delivered = await app.poll_and_deliver()
    assert delivered.sent == 0
    assert (await app.send_digests_now()).messages == 1
    posted = slack.posted("C0001")
    assert posted
    for message in posted:
        assert validate_blocks(message["blocks"]) == []
    assert posted[0]["blocks"][0]["text"]["text"].startswith("📬 PubMed digest for ")
    assert len(card_pmids(slack, "C0001")) == app.store.outbox.counts()["sent"]
