"""Slack: the `/papers` slash command, Block Kit cards with buttons, and the App Home.

A slack-bolt `AsyncApp` on the bot's own event loop: HTTP mode serves `POST /slack/events` on
BIND_ADDRESS:SLACK_PORT (Bolt checks every request's signature and its five-minute timestamp
window; a body Bolt cannot read is a 400, not a 500), Socket Mode connects out when
SLACK_APP_TOKEN is set. Every Web API call goes to SLACK_API_URL.

Slack wants an answer to a command within three seconds. Verbs that ask PubMed (`subscribe`,
`search`) are acknowledged at once and answered through the command's response_url; the others
answer in the acknowledgement itself. Replies are ephemeral; cards go to the channel. Chats are
keyed by workspace (team id) and channel, so installations never mix.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import ClientError, ClientSession, web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands import Command, Reply, read
from bot.config import Settings
from bot.errors import DeliveryFailed
from bot.i18n import t
from bot.limits import Admission
from bot.messages import (
    CardMessage,
    DigestMessage,
    FileMessage,
    FollowupMessage,
    ListMessage,
    Message,
    PartSent,
)
from bot.models import Chat
from bot.service import ChatService
from handlers.listeners import application, listen, refuse_oversized, where
from handlers.pace import Pacer
from handlers.retry import AUTH_RETRY, NOT_READY_RETRY, start_wait
from handlers.slack_admins import ChannelAdmins
from handlers.slack_blocks import (
    SlackMessage,
    card_message,
    digest_messages,
    followup_message,
    home_view,
    list_messages,
    reply_messages,
)

log = logging.getLogger(__name__)

COMMAND = "/papers"
EVENTS_PATH = "/slack/events"
CHANNEL_PACE = 1.02  # Slack: about one message per second per channel
ANSWER_WITHIN = 2.0  # seconds we wait for a quick verb before answering through response_url
# Errors that mean this channel will never receive from us again.
_GONE = frozenset({"channel_not_found", "not_in_channel", "is_archived", "account_inactive"})
# Errors that mean our token is bad: nothing to do with the chat, so never retire it for them.
_AUTH = frozenset({"invalid_auth", "not_authed", "token_revoked", "token_expired"})


class SlackChannel:
    name = "slack"

    def __init__(self, settings: Settings, service: ChatService) -> None:
        self._settings = settings
        self._service = service
        self.client = AsyncWebClient(
            token=settings.slack_bot_token,
            base_url=settings.slack_api_url,
            retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)],
        )
        socket_mode = bool(settings.slack_app_token)
        self.app = AsyncApp(
            client=self.client,
            # Socket Mode messages come over our own authenticated connection, not HTTP.
            signing_secret=settings.slack_signing_secret or None,
            request_verification_enabled=not socket_mode,
        )
        self.app.middleware(self._refuse_without_chat)
        self.app.command(COMMAND)(self._on_command)
        self.app.action(re.compile(r"^fb_(up|down|save):"))(self._on_button)
        self.app.action(re.compile(r"^open_"))(self._on_link)
        self.app.event("app_home_opened")(self._on_home)
        self.ready = asyncio.Event()
        self._pacer = Pacer(CHANNEL_PACE)
        self._starter: asyncio.Task[None] | None = None
        self._runner: web.AppRunner | None = None
        self._socket: AsyncSocketModeHandler | None = None
        self.port = settings.slack_port
        self._verifier = SignatureVerifier(settings.slack_signing_secret)
        self._admins = ChannelAdmins(self.client) if settings.slack_changes_by == "admins" else None

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect in the background: Slack being down at start must not stop the bot."""
        # One connection pool for every Web API call (slack_sdk opens a session per call
        # otherwise: a TCP and TLS handshake for each card). Made here, inside the loop.
        self.client.session = ClientSession()
        self._starter = asyncio.create_task(self._connect(), name="slack-start")

    async def open_for_sending(self) -> None:
        """Check the token (auth.test) to send only: no HTTP listener, no Socket Mode.

        One try: `paper-surfer poll` from cron must end, and the next run tries again."""
        self.client.session = ClientSession()
        try:
            identity = await self._authenticate(retry=False)
            if identity is not None:
                self.ready.set()
                log.info("Slack connected to %s (sending only)", identity)
        except Exception:  # never let Slack take the other channels' deliveries down
            log.exception("Slack could not connect; its messages wait for the next try")

    async def _connect(self) -> None:
        try:
            identity = await self._authenticate(retry=True)
            if identity is not None:
                log.info("Slack connected to %s", identity)
                await self._listen()
                self.ready.set()
        except Exception:  # never let Slack's start take the other channels down
            log.exception("Slack could not start; the other channels keep running")

    async def _authenticate(self, *, retry: bool) -> str | None:
        """auth.test: 'workspace W as U', or None when Slack refuses our token, or fails and
        `retry` is off. With `retry`, any other failure is tried again and again."""
        for attempt in itertools.count():
            try:
                identity = await self.client.auth_test()
            except SlackApiError as exc:
                error = exc.response.get("error", "")
                if error in _AUTH:
                    log.error(
                        "Slack refused SLACK_BOT_TOKEN (%s); Slack is off, the other channels "
                        "keep running",
                        error,
                    )
                    return None
                problem = f"Slack answered {error} at start"
            except (ClientError, TimeoutError) as exc:
                problem = f"cannot reach Slack ({exc})"
            else:
                return f"workspace {identity.get('team')} as {identity.get('user')}"
            if not retry:
                log.warning("%s; its messages wait for the next try", problem)
                return None
            wait = start_wait(attempt)
            log.warning("%s; trying again in %d s", problem, wait)
            await asyncio.sleep(wait)
        return None  # pragma: no cover - the loop above only ends by returning

    async def _listen(self) -> None:
        if self._settings.slack_app_token:
            self._socket = AsyncSocketModeHandler(self.app, self._settings.slack_app_token)
            await self._socket.connect_async()  # type: ignore[no-untyped-call]
            log.info("Slack listening in Socket Mode")
            return
        app = application()
        app.router.add_post(EVENTS_PATH, self._on_http)
        runner = web.AppRunner(app)
        host = self._settings.bind_address
        await listen(runner, host, self.port)
        self._runner = runner
        log.info("Slack listening for POST %s on %s", EVENTS_PATH, where(host, self.port))

    async def _on_http(self, request: web.Request) -> web.Response:
        """Bolt's aiohttp adapter, but a body Bolt cannot read (not JSON where JSON belongs, not
        an object) is answered 400, or 401 without a valid signature; never a 500 and a
        traceback."""
        oversized = refuse_oversized(request)
        if oversized is not None:
            return oversized
        try:
            bolt_request = await to_bolt_request(request)  # 413 from aiohttp past the cap
        except ConnectionResetError:  # the caller hung up halfway: nobody to answer
            return web.Response(status=400)
        except (ValueError, TypeError, AttributeError, KeyError):
            body = await request.read()
            if not self._verifier.is_valid_request(body, request.headers):
                return web.json_response({"error": "invalid request"}, status=401)
            log.warning("Slack: refused a signed request whose body is not a Slack payload")
            return web.json_response({"error": "malformed payload"}, status=400)
        return await to_aiohttp_response(await self.app.async_dispatch(bolt_request))

    async def stop(self) -> None:
        if self._starter is not None and not self._starter.done():
            self._starter.cancel()
        if self._socket is not None:
            await self._socket.close_async()  # type: ignore[no-untyped-call]
        if self._runner is not None:
            await self._runner.cleanup()
        await _close_session(self.client)

    # --- sending -----------------------------------------------------------------------------

    async def send(self, chat: Chat, message: Message, on_part: PartSent | None = None) -> str:
        """Post a card, list or text to the chat's channel; the ts of the (first) message.
        `on_part` hears of each message of a list or digest once Slack confirmed it."""
        if not self.ready.is_set():
            # Not the paper's fault: try again shortly, without using up its attempts.
            raise DeliveryFailed("Slack is not connected yet", retry_after=NOT_READY_RETRY)
        if isinstance(message, FileMessage):
            return await self._upload(chat.chat_id, message)
        if isinstance(message, FollowupMessage):
            return await self._follow_up(chat.chat_id, message)
        if isinstance(message, CardMessage):
            parts = [card_message(message.card, message.matched)]
        elif isinstance(message, ListMessage):
            parts = list_messages(message)
        elif isinstance(message, DigestMessage):
            parts = digest_messages(message)
        else:
            parts = reply_messages(message.text)
        first = ""
        for part in parts:
            ts = await self._post(chat.chat_id, part)
            first = first or ts
            if on_part is not None:
                await on_part(part.pmids, ts)
        return first

    async def _post(
        self, channel: str, part: SlackMessage, thread: str = "", broadcast: bool = False
    ) -> str:
        threaded: dict[str, Any] = {}
        if thread:
            threaded = {"thread_ts": thread, "reply_broadcast": broadcast}
        response = await self._guarded(
            channel,
            lambda: self.client.chat_postMessage(
                channel=channel,
                text=part.text,
                blocks=list(part.blocks),
                unfurl_links=False,
                unfurl_media=False,
                **threaded,
            ),
        )
        return str(response.get("ts", ""))

    async def _follow_up(self, channel: str, message: FollowupMessage) -> str:
        """A reply in the paper's card thread (a retraction also shown in the channel); a plain
        post when the card is gone (Slack: thread_not_found) or unknown."""
        part = followup_message(message)
        if message.reply_to:
            try:
                return await self._post(channel, part, message.reply_to, message.broadcast)
            except DeliveryFailed as exc:
                if "thread_not_found" not in str(exc):
                    raise
                log.info("the card of PMID %s is gone; its follow-up goes out plain", message.pmid)
        return await self._post(channel, part)

    async def _upload(self, channel: str, message: FileMessage) -> str:
        response = await self._guarded(
            channel,
            lambda: self.client.files_upload_v2(
                channel=channel,
                content=message.data,
                filename=message.name,
                title=message.name,
                initial_comment=message.caption or None,
            ),
        )
        files = response.get("files") or [{}]
        return str(files[0].get("id", ""))

    async def _guarded(self, channel: str, call: Callable[[], Awaitable[Any]]) -> Any:
        """One Web API call, paced per channel, its errors turned into retry-later or gone."""
        try:
            async with self._pacer.slot(channel):
                return await call()
        except SlackApiError as exc:
            error = str(exc.response.get("error", ""))
            if error in _GONE:
                raise DeliveryFailed(f"Slack: {error}", permanent=True) from exc
            if error == "ratelimited":
                after = float(exc.response.headers.get("Retry-After", 1) or 1)
                raise DeliveryFailed("Slack: ratelimited", retry_after=after) from exc
            if error in _AUTH:  # our token, not the chat: wait for it to be fixed, lose nothing
                log.error("Slack refuses our token (%s); messages wait until it is fixed", error)
                raise DeliveryFailed(f"Slack: {error}", retry_after=AUTH_RETRY) from exc
            raise DeliveryFailed(f"Slack: {error or exc}") from exc
        except (ClientError, TimeoutError) as exc:
            raise DeliveryFailed(f"Slack unreachable: {exc!r}") from exc

    # --- receiving ---------------------------------------------------------------------------

    async def _refuse_without_chat(
        self,
        body: dict[str, Any],
        context: AsyncBoltContext,
        next_: Callable[[], Awaitable[None]],
    ) -> BoltResponse | None:
        """A command or button press naming no workspace or channel, or an event naming no
        workspace, is refused with 400: it would make a chat with empty ids. (Bolt has checked
        the signature already: this runs after its own middleware.)"""
        kind = "command" if "command" in body else str(body.get("type") or "")
        team, channel = _address(body)
        if kind in ("command", "block_actions"):
            missing = not (team and channel)
        else:
            missing = kind == "event_callback" and not context.team_id
        if missing:
            log.warning("Slack: refused a %s that names no workspace or channel", kind or "request")
            return BoltResponse(status=400, body="no workspace or channel in the payload")
        await next_()
        return None

    async def _on_command(self, ack: Any, body: dict[str, Any], respond: Any) -> None:
        command = read(str(body.get("text") or ""))
        if await self._refused(ack, body):
            return
        team, channel = _address(body)
        chat = await asyncio.to_thread(self._service.chat, "slack", team, channel)
        user = str(body.get("user_id") or "")
        work = asyncio.ensure_future(self._answer(chat, command, user))
        # A refusal to a non-admin is quick: waited for, so it is the acknowledgement itself.
        # A verb that asks PubMed is otherwise always answered later.
        gated = self._admins is not None and command.changes_chat
        if not command.asks_pubmed or gated:
            done, _ = await asyncio.wait({work}, timeout=ANSWER_WITHIN)
            if done:
                first, *rest = reply_messages(work.result().text, work.result().cards)
                await ack(text=first.text, blocks=list(first.blocks), response_type="ephemeral")
                await self._respond_all(respond, rest)
                await self._upload_all(chat, work.result())
                return
        await ack(text=t(chat.language, "slack.working"), response_type="ephemeral")
        reply: Reply = await work
        await self._respond_all(respond, reply_messages(reply.text, reply.cards))
        await self._upload_all(chat, reply)

    async def _answer(self, chat: Chat, command: Command, user: str) -> Reply:
        """The command's reply. With SLACK_CHANGES_BY=admins a changing verb from anyone but a
        workspace admin or the channel's creator is refused, as in a Telegram group."""
        if (
            self._admins is not None
            and command.changes_chat
            and not await self._admins.may_change(chat.workspace, chat.chat_id, user)
        ):
            return Reply(t(chat.language, "slack.admins_only"), ok=False)
        return await self._service.run_async(chat, command)

    async def _refused(self, ack: Any, body: dict[str, Any]) -> bool:
        """Acknowledge a command over its channel's budget (bot/limits.py): the first refusal of
        a flood with the polite refusal, the rest with nothing. False when it may run."""
        where = ("slack", *_address(body))
        admission = self._service.admit(*where)
        if admission is Admission.RUN:
            return False
        if admission is Admission.REFUSE:
            text = await asyncio.to_thread(self._service.refusal, *where)
            await ack(text=text, response_type="ephemeral")
        else:
            await ack()  # an empty acknowledgement: Slack shows nothing
        return True

    async def _upload_all(self, chat: Chat, reply: Reply) -> None:
        """An export is uploaded to the channel as a file."""
        for file in reply.files:
            try:
                await self._upload(chat.chat_id, file)
            except DeliveryFailed as exc:
                log.warning("could not upload %s to %s: %s", file.name, chat.label, exc)

    async def _respond_all(self, respond: Any, messages: list[SlackMessage]) -> None:
        for message in messages:
            answer = await respond(
                text=message.text,
                blocks=list(message.blocks),
                response_type="ephemeral",
                replace_original=False,
            )
            if getattr(answer, "status_code", 200) != 200:  # respond() reports, never raises
                log.warning("Slack refused a reply: %s %s", answer.status_code, answer.body)

    async def _on_button(self, ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        team, channel = _address(body)
        user = (body.get("user") or {}).get("id", "")
        value = str(((body.get("actions") or [{}])[0]).get("value", ""))
        chat = await asyncio.to_thread(self._service.chat, "slack", team, channel)
        toast = await asyncio.to_thread(self._service.press, chat, user, value)
        await respond(text=toast, response_type="ephemeral", replace_original=False)

    async def _on_link(self, ack: Any) -> None:
        await ack()  # URL buttons open in the browser; Slack still expects an acknowledgement

    async def _on_home(self, event: dict[str, Any], context: Any) -> None:
        """The App Home: help, and the subscriptions of the user's DM with the app."""
        user = str(event.get("user", ""))
        opened = await self.client.conversations_open(users=user)
        channel = str((opened.get("channel") or {}).get("id", ""))
        chat = await asyncio.to_thread(
            self._service.chat, "slack", str(context.team_id or ""), channel
        )
        listing = await asyncio.to_thread(self._service.run, chat, "list")
        help_text = await asyncio.to_thread(self._service.run, chat, "help")
        await self.client.views_publish(
            user_id=user, view=home_view(chat.language, help_text.text, listing.text)
        )


def _address(body: dict[str, Any]) -> tuple[str, str]:
    """The workspace and channel of a command or button press ("" for what it lacks)."""
    team = body.get("team_id") or _field(body.get("team"), "id")
    channel = (
        body.get("channel_id")
        or _field(body.get("channel"), "id")
        or _field(body.get("container"), "channel_id")
    )
    return str(team or ""), str(channel or "")


def _field(value: object, key: str) -> object:
    return value.get(key) if isinstance(value, dict) else None


async def _close_session(client: AsyncWebClient) -> None:
    session = getattr(client, "session", None)
    if session is not None and not session.closed:
        await session.close()
