"""The fake Slack itself, checked with the real slack_sdk clients (and slack-bolt on top).

Every Web API call goes through `AsyncWebClient(token, base_url=fake.api_url)`: if slack_sdk
accepts an answer here, it accepts it from the fake when the project's code makes the call.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from servers.slack import (
    Call,
    FakeSlack,
    block_actions_body,
    event_body,
    mrkdwn_problem,
    signed_request_headers,
    slash_command_body,
    slash_command_payload,
)
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

GENERAL = "C0001"
ADA = "U0001"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    """A running fake with #general (the bot is in it) and Ada."""
    with FakeSlack() as server:
        server.add_channel(GENERAL, name="general")
        server.add_user(ADA, name="ada")
        yield server
        assert server.errors == []


@pytest.fixture
def client(fake: FakeSlack) -> AsyncWebClient:
    """The real slack_sdk async client, pointed at the fake."""
    return AsyncWebClient(token=fake.token, base_url=fake.api_url)


def last(fake: FakeSlack, method: str) -> Call:
    return fake.calls_to(method)[-1]


def section(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


def button(action_id: str, text: str = "Like", **extra: Any) -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": text},
        **extra,
    }


def card() -> list[dict[str, Any]]:
    return [
        {"type": "header", "text": {"type": "plain_text", "text": "New paper"}},
        section("*<https://pubmed.ncbi.nlm.nih.gov/1/|Liver &amp; gut>* for <@U0001>"),
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "PMID 1 &lt;2024&gt;"}]},
        {
            "type": "actions",
            "block_id": "paper:1",
            "elements": [button("like", value="1"), button("hide", "Hide", value="1")],
        },
    ]


# --- auth ---------------------------------------------------------------------------------------


async def test_auth_test(fake: FakeSlack, client: AsyncWebClient) -> None:
    """auth.test answers the bot's identity with Slack's fields and x-oauth-scopes."""
    response = await client.auth_test()
    assert response.data == {
        "ok": True,
        "url": "https://lab.slack.com/",
        "team": "Lab",
        "user": "paper_surfer",
        "team_id": "T0001",
        "user_id": "U0BOT",
        "bot_id": "B0BOT",
        "is_enterprise_install": False,
    }
    assert "chat:write" in response.headers["x-oauth-scopes"]
    assert last(fake, "auth.test").headers["authorization"] == f"Bearer {fake.token}"


async def test_missing_wrong_and_misplaced_tokens(fake: FakeSlack) -> None:
    """No token is not_authed, another is invalid_auth, the app token on a bot method is refused."""
    cases = [(None, "not_authed"), ("xoxb-other", "invalid_auth")]
    cases.append((fake.app_token, "not_allowed_token_type"))
    for token, error in cases:
        with pytest.raises(SlackApiError) as caught:
            await AsyncWebClient(token=token, base_url=fake.api_url).auth_test()
        assert caught.value.response["error"] == error
        assert caught.value.response.status_code == 200


async def test_token_as_form_parameter(fake: FakeSlack) -> None:
    """A `token` form field authenticates like the header, and form-encoded blocks are decoded."""
    anonymous = AsyncWebClient(base_url=fake.api_url)
    blocks = '[{"type": "divider"}]'
    await anonymous.api_call(
        "chat.postMessage",
        data={"token": fake.token, "channel": GENERAL, "text": "hi", "blocks": blocks},
    )
    assert last(fake, "chat.postMessage").params["blocks"] == [{"type": "divider"}]
    assert fake.posted(GENERAL)[0]["blocks"] == [{"type": "divider"}]


async def test_revoked_token_is_invalid_auth_everywhere(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    """After revoke(), every method answers invalid_auth, Socket Mode's included."""
    await client.auth_test()
    fake.revoke()
    calls = [
        client.auth_test(),
        client.chat_postMessage(channel=GENERAL, text="hi"),
        client.conversations_open(users=ADA),
        client.apps_connections_open(app_token=fake.app_token),
    ]
    for call in calls:
        with pytest.raises(SlackApiError) as caught:
            await call
        assert caught.value.response["error"] == "invalid_auth"
    assert fake.posted(GENERAL) == []


# --- chat.postMessage ---------------------------------------------------------------------------


async def test_post_message_with_blocks(fake: FakeSlack, client: AsyncWebClient) -> None:
    """A valid card is posted; the answer carries ts and the message with Slack's block ids."""
    response = await client.chat_postMessage(
        channel=GENERAL, text="New paper", blocks=card(), unfurl_links=False, unfurl_media=False
    )

    assert response["channel"] == GENERAL
    assert response["message"]["text"] == "New paper"
    answered = response["message"]["blocks"]
    assert [b["block_id"] for b in answered][3] == "paper:1"
    assert all(b["block_id"] for b in answered)
    [posted] = fake.posted(GENERAL)
    assert posted["ts"] == response["ts"]
    assert posted["blocks"] == card()  # kept as sent
    assert (posted["unfurl_links"], posted["unfurl_media"], posted["ephemeral"]) == (
        False,
        False,
        False,
    )
    call = last(fake, "chat.postMessage")
    assert call.headers["content-type"].startswith("application/json")  # slack_sdk sends JSON
    assert call.params["blocks"] == card()
    assert fake.accepted[GENERAL] == 1


async def test_timestamps_increase(fake: FakeSlack) -> None:
    """Message ts values are strictly increasing strings of seconds and six digits."""
    fake.enforce_limits = False
    client = AsyncWebClient(token=fake.token, base_url=fake.api_url)
    stamps = [(await client.chat_postMessage(channel=GENERAL, text=str(i)))["ts"] for i in range(5)]
    assert stamps == sorted(stamps, key=float)
    assert len(set(stamps)) == 5
    assert all(len(ts.split(".")[1]) == 6 for ts in stamps)


def too_many(n: int) -> list[dict[str, Any]]:
    return [{"type": "divider"} for _ in range(n)]


INVALID_BLOCKS = {
    "more than 50 blocks": (too_many(51), "no more than 50 items allowed [json-pointer:/blocks]"),
    "unknown block type": ([{"type": "banner"}], "unsupported block type: banner"),
    "header in mrkdwn": (
        [{"type": "header", "text": {"type": "mrkdwn", "text": "x"}}],
        "must be a valid enum value [json-pointer:/blocks/0/text/type]",
    ),
    "header over 150": (
        [{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}],
        "must be less than 151 characters [json-pointer:/blocks/0/text/text]",
    ),
    "section over 3000": (
        [section("x" * 3001)],
        "must be less than 3001 characters [json-pointer:/blocks/0/text/text]",
    ),
    "section without text": (
        [{"type": "section"}],
        "must provide either text or fields [json-pointer:/blocks/0]",
    ),
    "more than 10 fields": (
        [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}],
        "no more than 10 items allowed [json-pointer:/blocks/0/fields]",
    ),
    "field over 2000": (
        [{"type": "section", "fields": [{"type": "plain_text", "text": "f" * 2001}]}],
        "must be less than 2001 characters [json-pointer:/blocks/0/fields/0/text]",
    ),
    "context over 10": (
        [{"type": "context", "elements": [{"type": "plain_text", "text": "c"}] * 11}],
        "no more than 10 items allowed [json-pointer:/blocks/0/elements]",
    ),
    "actions over 25": (
        [{"type": "actions", "elements": [button(f"b{i}") for i in range(26)]}],
        "no more than 25 items allowed [json-pointer:/blocks/0/elements]",
    ),
    "button text over 75": (
        [{"type": "actions", "elements": [button("b", "x" * 76)]}],
        "must be less than 76 characters [json-pointer:/blocks/0/elements/0/text/text]",
    ),
    "button value over 2000": (
        [{"type": "actions", "elements": [button("b", value="v" * 2001)]}],
        "must be less than 2001 characters [json-pointer:/blocks/0/elements/0/value]",
    ),
    "button url over 3000": (
        [{"type": "actions", "elements": [button("b", url="https://x.org/" + "u" * 3000)]}],
        "must be less than 3001 characters [json-pointer:/blocks/0/elements/0/url]",
    ),
    "duplicate action_id": (
        [
            {"type": "actions", "elements": [button("like")]},
            {"type": "actions", "elements": [button("like")]},
        ],
        "duplicate action_id: like [json-pointer:/blocks/1/elements/0/action_id]",
    ),
    "block_id over 255": (
        [{"type": "divider", "block_id": "b" * 256}],
        "must be less than 256 characters [json-pointer:/blocks/0/block_id]",
    ),
    "duplicate block_id": (
        [{"type": "divider", "block_id": "x"}, {"type": "divider", "block_id": "x"}],
        "duplicate block_id: x [json-pointer:/blocks/1/block_id]",
    ),
    "raw ampersand": ([section("Liver & gut")], "unescaped '&' at offset 6"),
    "raw less-than": ([section("p < 0.05")], "unescaped '<' at offset 2"),
    "broken link": ([section("<https://x.org|x")], "unescaped '<' at offset 0"),
}


@pytest.mark.parametrize(("blocks", "expected"), INVALID_BLOCKS.values(), ids=INVALID_BLOCKS)
async def test_invalid_blocks(
    fake: FakeSlack, client: AsyncWebClient, blocks: list[dict[str, Any]], expected: str
) -> None:
    """Each Block Kit rule the fake enforces answers invalid_blocks with a json-pointer message."""
    with pytest.raises(SlackApiError) as caught:
        await client.chat_postMessage(channel=GENERAL, text="fallback", blocks=blocks)
    response = caught.value.response
    assert response.status_code == 200
    assert response["error"] == "invalid_blocks"
    assert any(expected in e for e in response["errors"]), response["errors"]
    assert response["response_metadata"]["messages"] == [f"[ERROR] {e}" for e in response["errors"]]
    assert fake.posted(GENERAL) == []
    assert fake.refused[GENERAL] == 1


@pytest.mark.parametrize(
    "text",
    [
        "plain words",
        "&amp; &lt; &gt;",
        "<https://pubmed.ncbi.nlm.nih.gov/1/|a title &amp; more>",
        "<https://example.org>",
        "<mailto:ada@example.org|Ada>",
        "<@U0001> <@W012|ada> <#C0001> <#C0001|general>",
        "<!here> <!channel> <!subteam^S012AB|@team>",
        "<!date^1392734382^{date_short}|Feb 18, 2014>",
        "> a quote line with *bold*",
    ],
)
def test_well_formed_mrkdwn_passes(text: str) -> None:
    """Escaped text and Slack's link, mention and special tokens pass the escaping check."""
    assert mrkdwn_problem(text) is None


async def test_blocks_not_a_list_is_invalid_blocks_format(fake: FakeSlack) -> None:
    """A blocks value that is not a JSON array of objects answers invalid_blocks_format."""
    client = AsyncWebClient(token=fake.token, base_url=fake.api_url)
    with pytest.raises(SlackApiError) as caught:
        await client.api_call(
            "chat.postMessage", json={"channel": GENERAL, "text": "x", "blocks": {"type": "x"}}
        )
    assert caught.value.response["error"] == "invalid_blocks_format"


async def test_no_text_and_msg_too_long(fake: FakeSlack, client: AsyncWebClient) -> None:
    """No text nor blocks is no_text; text over 40,000 characters is msg_too_long."""
    # api_call directly: chat_postMessage warns (UserWarning) when text is missing.
    with pytest.raises(SlackApiError) as caught:
        await client.api_call("chat.postMessage", json={"channel": GENERAL})
    assert caught.value.response["error"] == "no_text"
    with pytest.raises(SlackApiError) as caught:
        await client.chat_postMessage(channel=GENERAL, text="x" * 40_001)
    assert caught.value.response["error"] == "msg_too_long"
    assert fake.posted(GENERAL) == []


async def test_channel_errors(fake: FakeSlack, client: AsyncWebClient) -> None:
    """Unknown or deleted: channel_not_found; kicked: not_in_channel; archived: is_archived."""
    fake.add_channel("C0002", name="gone")
    fake.add_channel("C0003", name="kicked")
    fake.add_channel("C0004", name="old", archived=True)
    fake.add_channel("C0005", name="outside", member=False)
    fake.delete("C0002")
    fake.kick("C0003")
    expected = {
        "C9999": "channel_not_found",
        "C0002": "channel_not_found",
        "C0003": "not_in_channel",
        "C0004": "is_archived",
        "C0005": "not_in_channel",
    }
    for channel, error in expected.items():
        with pytest.raises(SlackApiError) as caught:
            await client.chat_postMessage(channel=channel, text="hi")
        assert caught.value.response["error"] == error, channel
    fake.invite("C0003")
    await client.chat_postMessage(channel="C0003", text="back")
    assert [m["text"] for m in fake.posted("C0003")] == ["back"]


async def test_post_to_user_id_and_channel_name(fake: FakeSlack, client: AsyncWebClient) -> None:
    """A user id posts to the bot's DM with them; "#name" finds the channel."""
    to_ada = await client.chat_postMessage(channel=ADA, text="hello Ada")
    by_name = await client.chat_postMessage(channel="#general", text="hello all")
    assert to_ada["channel"] == "D0001"
    assert by_name["channel"] == GENERAL
    assert [m["text"] for m in fake.posted("D0001")] == ["hello Ada"]


# --- rate limits and faults ---------------------------------------------------------------------


async def test_rate_limit_surfaces_as_429(fake: FakeSlack, client: AsyncWebClient) -> None:
    """A second message within a second is HTTP 429 with Retry-After; nothing is posted."""
    fake.add_channel("C0002", name="other")
    await client.chat_postMessage(channel=GENERAL, text="one")
    await client.chat_postMessage(channel="C0002", text="elsewhere")  # per channel

    with pytest.raises(SlackApiError) as caught:
        await client.chat_postMessage(channel=GENERAL, text="two")

    response = caught.value.response
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    assert response.data == {"ok": False, "error": "ratelimited"}
    assert [m["text"] for m in fake.posted(GENERAL)] == ["one"]
    assert (fake.accepted[GENERAL], fake.throttled[GENERAL]) == (1, 1)


async def test_rate_limit_retry_handler_waits_and_succeeds(fake: FakeSlack) -> None:
    """With slack_sdk's AsyncRateLimitErrorRetryHandler the second post waits and goes through."""
    client = AsyncWebClient(
        token=fake.token,
        base_url=fake.api_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)],
    )
    await client.chat_postMessage(channel=GENERAL, text="one")
    started = time.monotonic()
    await client.chat_postMessage(channel=GENERAL, text="two")
    assert time.monotonic() - started >= 0.95
    assert [c.status for c in fake.calls_to("chat.postMessage")] == [200, 429, 200]
    assert [m["text"] for m in fake.posted(GENERAL)] == ["one", "two"]


async def test_injected_faults(fake: FakeSlack, client: AsyncWebClient) -> None:
    """Injected 429 (Retry-After), 503 HTML page and error answers reach slack_sdk as Slack's."""
    fake.inject("chat.postMessage", "ratelimited", retry_after=7)
    fake.inject("*", "status", status=503)
    fake.inject("auth.test", "error", error="fatal_error")
    with pytest.raises(SlackApiError) as caught:
        await client.chat_postMessage(channel=GENERAL, text="x")
    assert caught.value.response.status_code == 429
    assert caught.value.response.headers["Retry-After"] == "7"
    with pytest.raises(SlackApiError) as caught:
        await client.conversations_info(channel=GENERAL)
    assert caught.value.response.status_code == 503
    with pytest.raises(SlackApiError) as caught:
        await client.auth_test()
    assert caught.value.response["error"] == "fatal_error"
    assert fake.posted(GENERAL) == []


async def test_disconnect_is_retried_once_by_default(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    """A hang-up after posting is retried by slack_sdk's default handler: the message twice."""
    fake.enforce_limits = False
    fake.inject("chat.postMessage", "disconnect", deliver=True)
    await client.chat_postMessage(channel=GENERAL, text="once?")
    assert [m["text"] for m in fake.posted(GENERAL)] == ["once?", "once?"]
    assert [c.status for c in fake.calls_to("chat.postMessage")] == [0, 200]


async def test_slow_answer_can_be_waited_for(fake: FakeSlack, client: AsyncWebClient) -> None:
    """A slow fault delays the answer, and wait_for_async sees the call arrive meanwhile."""
    fake.inject("auth.test", "slow", seconds=0.3)
    task = asyncio.ensure_future(client.auth_test())
    assert await fake.wait_for_async(lambda: len(fake.calls_to("auth.test")) == 1)
    assert not task.done()
    assert (await task)["ok"] is True


# --- other methods ------------------------------------------------------------------------------


async def test_post_ephemeral(fake: FakeSlack, client: AsyncWebClient) -> None:
    """postEphemeral is kept with ephemeral=True and its user; an unknown user is refused."""
    response = await client.chat_postEphemeral(channel=GENERAL, user=ADA, text="only you")
    [posted] = fake.posted(GENERAL)
    assert (posted["ts"], posted["ephemeral"], posted["user"]) == (
        response["message_ts"],
        True,
        ADA,
    )
    with pytest.raises(SlackApiError) as caught:
        await client.chat_postEphemeral(channel=GENERAL, user="U0404", text="x")
    assert caught.value.response["error"] == "user_not_in_channel"


async def test_conversations_open_info_and_users_info(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    """conversations.open gives Ada's DM (already_open the second time); info calls describe it."""
    first = await client.conversations_open(users=ADA)
    again = await client.conversations_open(users=[ADA])
    assert first.data == {"ok": True, "channel": {"id": "D0001"}}
    assert (again["already_open"], again["channel"]["id"]) == (True, "D0001")
    info = await client.conversations_info(channel="D0001")
    assert (info["channel"]["is_im"], info["channel"]["user"]) == (True, ADA)
    general = await client.conversations_info(channel=GENERAL)
    assert (general["channel"]["name"], general["channel"]["is_member"]) == ("general", True)
    user = await client.users_info(user=ADA, include_locale=True)
    assert (user["user"]["name"], user["user"]["locale"]) == ("ada", "en-US")
    with pytest.raises(SlackApiError) as caught:
        await client.conversations_open(users="U0404")
    assert caught.value.response["error"] == "user_not_found"


async def test_update_and_delete(fake: FakeSlack, client: AsyncWebClient) -> None:
    """chat.update replaces a message's content; chat.delete removes it from posted()."""
    posted = await client.chat_postMessage(channel=GENERAL, text="draft")
    await client.chat_update(channel=GENERAL, ts=posted["ts"], text="final", blocks=card())
    [message] = fake.posted(GENERAL)
    assert (message["text"], message["edited"], message["blocks"]) == ("final", True, card())
    await client.chat_delete(channel=GENERAL, ts=posted["ts"])
    assert fake.posted(GENERAL) == []
    with pytest.raises(SlackApiError) as caught:
        await client.chat_delete(channel=GENERAL, ts=posted["ts"])
    assert caught.value.response["error"] == "message_not_found"


async def test_views_publish(fake: FakeSlack, client: AsyncWebClient) -> None:
    """views.publish keeps the Home view per user; a modal or over 100 blocks is refused."""
    view = {"type": "home", "blocks": card()}
    response = await client.views_publish(user_id=ADA, view=view)
    assert response["view"]["type"] == "home"
    assert fake.home_views[ADA]["blocks"] == card()
    assert fake.home_views[ADA]["id"] == response["view"]["id"]

    bad_views = {
        "must be a valid enum value [json-pointer:/view/type]": {"type": "modal", "blocks": []},
        "no more than 100 items allowed [json-pointer:/view/blocks]": {
            "type": "home",
            "blocks": too_many(101),
        },
    }
    for message, bad in bad_views.items():
        with pytest.raises(SlackApiError) as caught:
            await client.views_publish(user_id=ADA, view=bad)
        assert caught.value.response["error"] == "invalid_arguments"
        assert f"[ERROR] {message}" in caught.value.response["response_metadata"]["messages"]


async def test_files_upload_v2(fake: FakeSlack, client: AsyncWebClient) -> None:
    """files_upload_v2 (URL, upload, complete) shares the bytes in the channel."""
    response = await client.files_upload_v2(
        channel=GENERAL,
        content="pmid,title\n1,Liver\n",
        filename="papers.csv",
        title="Papers",
        initial_comment="This week's papers",
    )
    assert response["file"]["title"] == "Papers"
    [upload] = fake.uploads
    assert upload["bytes"] == b"pmid,title\n1,Liver\n"
    assert (upload["filename"], upload["channel"], upload["title"]) == (
        "papers.csv",
        GENERAL,
        "Papers",
    )
    [posted] = fake.posted(GENERAL)
    assert posted["text"] == "This week's papers"
    assert posted["files"][0]["name"] == "papers.csv"
    assert [c.method for c in fake.calls] == [
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]


async def test_unknown_and_unimplemented_methods(fake: FakeSlack, client: AsyncWebClient) -> None:
    """Unknown methods answer unknown_method; a real one the fake lacks is noted in errors."""
    with pytest.raises(SlackApiError) as caught:
        await client.api_call("papers.surf")
    assert caught.value.response.data == {
        "ok": False,
        "error": "unknown_method",
        "req_method": "papers.surf",
    }
    with pytest.raises(SlackApiError):
        await client.conversations_list()
    assert fake.errors == ["the fake does not implement conversations.list"]
    fake.errors.clear()


# --- response_url -------------------------------------------------------------------------------


async def test_response_url_with_webhook_client(fake: FakeSlack) -> None:
    """AsyncWebhookClient posts to response_url(key): 200 "ok", kept per key; bad ones refused."""
    hook = AsyncWebhookClient(fake.response_url("cmd"))
    sent = await hook.send(text="Found 3 papers", blocks=card(), response_type="ephemeral")
    assert (sent.status_code, sent.body) == (200, "ok")
    assert fake.responses("cmd") == [
        {"text": "Found 3 papers", "blocks": card(), "response_type": "ephemeral"}
    ]

    bad = await hook.send(text="x", blocks=[section("a & b")])
    assert (bad.status_code, bad.body) == (400, "invalid_blocks")
    assert "unescaped '&'" in fake.response_calls[-1].response["errors"][0]
    deleted = await hook.send(delete_original=True)
    assert deleted.status_code == 200

    unknown = await AsyncWebhookClient(fake.response_url("cmd") + "x").send(text="x")
    assert (unknown.status_code, unknown.body) == (404, "no_service")
    assert len(fake.responses("cmd")) == 2


async def test_response_url_used_up_after_five(fake: FakeSlack) -> None:
    """When limits are enforced, a response_url takes five messages and then answers 404."""
    hook = AsyncWebhookClient(fake.response_url())
    statuses = [(await hook.send(text=f"{i}")).status_code for i in range(6)]
    assert statuses == [200] * 5 + [404]


# --- Socket Mode --------------------------------------------------------------------------------


@pytest.fixture
async def socket_client(fake: FakeSlack) -> AsyncIterator[SocketModeClient]:
    """slack_sdk's aiohttp SocketModeClient, acking every envelope with a payload, closed after."""
    client = SocketModeClient(
        app_token=fake.app_token,
        web_client=AsyncWebClient(base_url=fake.api_url),
        ping_interval=1,
    )
    seen: list[SocketModeRequest] = []

    async def ack(client: SocketModeClient, request: SocketModeRequest) -> None:
        seen.append(request)
        response = SocketModeResponse(request.envelope_id, payload={"text": "on it"})
        await client.send_socket_mode_response(response)

    client.socket_mode_request_listeners.append(ack)  # type: ignore[arg-type]
    client.seen = seen  # type: ignore[attr-defined]
    yield client
    await client.close()


async def test_socket_mode_round_trip(fake: FakeSlack, socket_client: SocketModeClient) -> None:
    """The client connects with the app token, gets hello, receives an envelope and acks it."""
    await socket_client.connect()
    assert await fake.wait_for_socket_async()
    assert last(fake, "apps.connections.open").headers["authorization"] == (
        f"Bearer {fake.app_token}"
    )
    payload = slash_command_payload("/papers", "liver", response_url=fake.response_url("c"))

    envelope_id = await fake.send_socket_event_async("slash_commands", payload)

    assert await fake.wait_for_async(lambda: fake.socket_acks(envelope_id) is not None)
    assert fake.socket_acks(envelope_id) == {
        "envelope_id": envelope_id,
        "payload": {"text": "on it"},
    }
    [request] = socket_client.seen  # type: ignore[attr-defined]
    assert (request.type, request.payload, request.accepts_response_payload) == (
        "slash_commands",
        payload,
        True,
    )
    [record] = fake.socket_envelopes()
    assert record["acked_at"] >= record["sent_at"]


async def test_socket_mode_disconnect_reconnects(
    fake: FakeSlack, socket_client: SocketModeClient
) -> None:
    """Slack's "disconnect" message makes slack_sdk open a new connection, which gets events."""
    await socket_client.connect()
    assert await fake.wait_for_socket_async()
    await fake.disconnect_socket_async("refresh_requested")
    assert await fake.wait_for_socket_async(connections=2)
    assert len(fake.calls_to("apps.connections.open")) == 2
    envelope_id = await fake.send_socket_event_async("events_api", {"type": "event_callback"})
    assert await fake.wait_for_async(lambda: fake.socket_acks(envelope_id) is not None)


async def test_apps_connections_open_wants_the_app_token(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    """apps.connections.open with the bot token is not_allowed_token_type."""
    with pytest.raises(SlackApiError) as caught:
        await client.apps_connections_open(app_token=fake.token)
    assert caught.value.response["error"] == "not_allowed_token_type"


# --- what Slack sends to an app, through slack-bolt ---------------------------------------------


def test_signed_request_headers_verify() -> None:
    """The signature helper produces headers slack_sdk's SignatureVerifier accepts."""
    body = slash_command_body("/papers", "liver", response_url="http://127.0.0.1:1/x")
    headers = signed_request_headers(SECRET, body)
    assert SignatureVerifier(SECRET).is_valid_request(body, headers)
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    stale = signed_request_headers(SECRET, body, timestamp=int(time.time()) - 600)
    assert not SignatureVerifier(SECRET).is_valid_request(body, stale)


def bolt_request(body: str, secret: str = SECRET) -> AsyncBoltRequest:
    return AsyncBoltRequest(body=body, headers=signed_request_headers(secret, body))


async def test_bolt_parses_the_helpers_bodies(fake: FakeSlack) -> None:
    """A Bolt AsyncApp on the fake handles the helpers' command, button and app_home_opened."""
    fake.enforce_limits = False
    app = AsyncApp(
        client=AsyncWebClient(token=fake.token, base_url=fake.api_url), signing_secret=SECRET
    )
    seen: dict[str, Any] = {}

    @app.command("/papers")
    async def papers(ack: Any, command: dict[str, Any], respond: Any, say: Any) -> None:
        await ack()
        seen["text"] = command["text"]
        await respond(text="Searching…", response_type="ephemeral")
        await say(text="Results", blocks=card())

    @app.action("like")
    async def like(ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any) -> None:
        await ack()
        seen["like"] = (action["value"], action["block_id"], body["message"]["ts"])
        await respond(text="Liked", replace_original=False)

    @app.event("app_home_opened")
    async def home(event: dict[str, Any], client: AsyncWebClient) -> None:
        await client.views_publish(user_id=event["user"], view={"type": "home", "blocks": card()})

    command = slash_command_body("/papers", "liver", response_url=fake.response_url("cmd"))
    assert (await app.async_dispatch(bolt_request(command))).status == 200
    # Bolt answers as soon as ack() is called and runs the rest of the listener as a task.
    assert await fake.wait_for_async(lambda: bool(fake.posted(GENERAL)))
    assert seen["text"] == "liver"
    assert fake.responses("cmd") == [{"text": "Searching…", "response_type": "ephemeral"}]
    [message] = fake.posted(GENERAL)
    assert fake.calls_to("auth.test")  # Bolt's authorization asked who the bot is

    press = block_actions_body("like", message=message, response_url=fake.response_url("act"))
    assert (await app.async_dispatch(bolt_request(press))).status == 200
    assert await fake.wait_for_async(lambda: bool(fake.responses("act")))
    assert seen["like"] == ("1", "paper:1", message["ts"])
    assert fake.responses("act") == [{"text": "Liked", "replace_original": False}]

    assert (await app.async_dispatch(bolt_request(event_body(user_id=ADA)))).status == 200
    assert await fake.wait_for_async(lambda: ADA in fake.home_views)
    assert fake.home_views[ADA]["blocks"] == card()

    assert (await app.async_dispatch(bolt_request(command, "wrong-secret"))).status == 401


async def test_bolt_socket_mode_ack_with_payload(fake: FakeSlack) -> None:
    """Bolt's AsyncSocketModeHandler acks a slash command envelope with the ack's text."""
    app = AsyncApp(
        client=AsyncWebClient(token=fake.token, base_url=fake.api_url), signing_secret=SECRET
    )

    @app.command("/papers")
    async def papers(ack: Any) -> None:
        await ack("Searching PubMed…")

    handler = AsyncSocketModeHandler(app, fake.app_token)
    try:
        await handler.connect_async()
        assert await fake.wait_for_socket_async()
        payload = slash_command_payload("/papers", "", response_url=fake.response_url())
        envelope_id = await fake.send_socket_event_async("slash_commands", payload)
        assert await fake.wait_for_async(lambda: fake.socket_acks(envelope_id) is not None)
    finally:
        await handler.close_async()
    assert fake.socket_acks(envelope_id) == {
        "envelope_id": envelope_id,
        "payload": {"text": "Searching PubMed…"},
    }


async def test_thread_replies_need_a_parent_and_may_be_broadcast(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    """A reply names its parent by ts; reply_broadcast also shows it in the channel (subtype
    thread_broadcast); a parent that was deleted, or never existed, is "thread_not_found"."""
    fake.enforce_limits = False  # five posts to one channel at once
    parent = await client.chat_postMessage(channel=GENERAL, text="the card")
    reply = await client.chat_postMessage(
        channel=GENERAL, text="retracted", thread_ts=parent["ts"], reply_broadcast=True
    )
    assert reply["message"]["thread_ts"] == parent["ts"]
    assert reply["message"]["subtype"] == "thread_broadcast"
    quiet = await client.chat_postMessage(channel=GENERAL, text="fixed", thread_ts=parent["ts"])
    assert "subtype" not in quiet["message"]
    posted = fake.posted(GENERAL)
    assert [(m["thread_ts"], m["reply_broadcast"]) for m in posted] == [
        (None, False),
        (parent["ts"], True),
        (parent["ts"], False),
    ]
    await client.chat_delete(channel=GENERAL, ts=parent["ts"])
    for thread in (parent["ts"], "1234567890.000100"):
        with pytest.raises(SlackApiError) as refused:
            await client.chat_postMessage(channel=GENERAL, text="late", thread_ts=thread)
        assert refused.value.response["error"] == "thread_not_found"
