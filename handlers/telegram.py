"""Telegram: the bot in private chats and groups, on python-telegram-bot 22.

The PTB `Application` runs on the bot's own event loop (not `run_polling`, which owns the loop):
long polling by default, a webhook listener (handlers/telegram_webhook.py) when
TELEGRAM_WEBHOOK_URL is set. Every verb goes through the one command grammar; cards are HTML
messages with 👍 / 👎 / 💾 buttons and links.

Limits: PTB's AIORateLimiter keeps to Telegram's 20 messages a minute per group; this module
spaces all messages evenly just under Telegram's 30 a second overall, and keeps the pace of one
message a second per private chat, which PTB does not.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    LinkPreviewOptions,
    ReplyParameters,
    Update,
)
from telegram import (
    Message as TgMessage,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBDeprecationWarning

from bot.commands import VERBS, Reply, read
from bot.config import Settings
from bot.errors import DeliveryFailed
from bot.i18n import LANGUAGES, t
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
from handlers.listeners import where
from handlers.pace import Pacer, Spacing
from handlers.retry import AUTH_RETRY, NOT_READY_RETRY, start_wait
from handlers.telegram_html import (
    TelegramMessage,
    card_message,
    digest_messages,
    followup_message,
    list_messages,
    reply_messages,
)
from handlers.telegram_webhook import TelegramWebhook

log = logging.getLogger(__name__)

PRIVATE_PACE = 1.02  # seconds between messages to one private chat (Telegram asks for 1)
# Messages a second to all chats together: two under Telegram's broadcast limit of 30, because
# Telegram counts when a message arrives, and arrivals jitter by tens of milliseconds around our
# evenly spaced sends; at exactly 30, a late message then an early one make 31 in its second.
# 31 sends span 30 intervals: at 29/s they fit in one second only if the first arrives 34 ms
# later than the last (a loaded CI machine did that once in eight runs); at 28/s it takes 71 ms.
OVERALL_RATE = 28
ALLOWED_UPDATES = ["message", "callback_query"]
# Errors that mean this chat will never receive from us again.
_GONE = (
    "chat not found",
    "bot was blocked",
    "bot was kicked",
    "user is deactivated",
    "not enough rights",
    "have no rights",
    "chat_write_forbidden",
    "bot is not a member",
)


class TelegramChannel:
    name = "telegram"

    def __init__(self, settings: Settings, service: ChatService) -> None:
        # PTB's documented opt-in to its next behaviour: time periods as timedelta. Without it,
        # building a RetryAfter emits a deprecation warning on every flood-limit answer.
        os.environ.setdefault("PTB_TIMEDELTA", "true")
        self._settings = settings
        self._service = service
        self.application: Application[Any, Any, Any, Any, Any, Any] = (
            ApplicationBuilder()
            .token(settings.telegram_bot_token)
            .base_url(settings.telegram_api_url)
            .rate_limiter(
                # The overall rate is kept by `Spacing` below (0 turns PTB's off): its
                # leaky bucket lost the time of every late wake-up. 429s are left to the outbox,
                # which waits them out per chat instead of halting every chat (bench/README.md).
                AIORateLimiter(overall_max_rate=0, max_retries=0)
            )
            .concurrent_updates(True)  # a slow PubMed preview must not hold up other chats
            .build()
        )
        # block=False: each message is handled in a task of its own, so a reply waiting for its
        # chat's one-message-a-second turn holds none of the Application's shared update slots
        # (330 /help from one chat made another chat's /list wait 73 s when it did).
        self.application.add_handler(MessageHandler(filters.COMMAND, self._on_command, block=False))
        self.application.add_handler(
            MessageHandler(
                filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE,
                self._on_text,
                block=False,
            )
        )
        self.application.add_handler(CallbackQueryHandler(self._on_button))
        self.application.add_error_handler(self._on_error)
        self.ready = asyncio.Event()
        self._starter: asyncio.Task[None] | None = None
        self._webhook: TelegramWebhook | None = None
        self._pacer = Pacer(PRIVATE_PACE)
        self._spacing = Spacing(OVERALL_RATE)
        self.username = ""

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect in the background: Telegram being down at start must not stop the bot."""
        self._starter = asyncio.create_task(self._connect(), name="telegram-start")

    async def _connect(self) -> None:
        try:
            await self._connect_once_reachable()
        except Exception:  # never let Telegram's start take the other channels down
            log.exception("Telegram could not start; the other channels keep running")

    async def open_for_sending(self) -> None:
        """Initialize the bot (getMe) to send only: no long polling, no webhook, no command menu.

        One try: `paper-surfer poll` from cron must end, and the next run tries again."""
        try:
            if await self._initialize(retry=False):
                self.ready.set()
                log.info("Telegram connected as @%s (sending only)", self.username)
        except Exception:  # never let Telegram take the other channels' deliveries down
            log.exception("Telegram could not connect; its messages wait for the next try")

    async def _initialize(self, *, retry: bool) -> bool:
        """Reach the Bot API (getMe); False when Telegram refuses our token, or is unreachable
        and `retry` is off. With `retry`, an unreachable Telegram is tried again and again."""
        for attempt in itertools.count():
            try:
                await self.application.initialize()
                break
            except InvalidToken:
                log.error(
                    "Telegram refused TELEGRAM_BOT_TOKEN (check it with BotFather); Telegram is "
                    "off, the other channels keep running"
                )
                return False
            except NetworkError as exc:
                if not retry:
                    log.warning(
                        "cannot reach Telegram (%s); its messages wait for the next try", exc
                    )
                    return False
                wait = start_wait(attempt)
                log.warning("cannot reach Telegram (%s); trying again in %d s", exc, wait)
                await asyncio.sleep(wait)
        self.username = self.application.bot.username
        return True

    async def _connect_once_reachable(self) -> None:
        if not await self._initialize(retry=True):
            return
        await self.application.start()
        await self._set_commands()
        s = self._settings
        if s.telegram_webhook_url:
            # Our own listener, not updater.start_webhook: see handlers/telegram_webhook.py.
            self._webhook = TelegramWebhook(
                self.application.bot,
                self.application.update_queue,
                host=s.bind_address,
                port=s.telegram_webhook_port,
                path=urlsplit(s.telegram_webhook_url).path,
                secret=s.telegram_webhook_secret,
            )
            await self._webhook.start()
            await self.application.bot.set_webhook(
                s.telegram_webhook_url,
                secret_token=s.telegram_webhook_secret,
                allowed_updates=ALLOWED_UPDATES,
            )
            how = f"webhook on {where(s.bind_address, s.telegram_webhook_port)}"
        else:
            updater = self.application.updater
            assert updater is not None
            await updater.start_polling(allowed_updates=ALLOWED_UPDATES)
            how = "long polling"
        self.ready.set()
        log.info("Telegram connected as @%s (%s)", self.username, how)

    async def stop(self) -> None:
        if self._starter is not None and not self._starter.done():
            self._starter.cancel()
        if self._webhook is not None:
            await self._webhook.stop()
        app = self.application
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()
        # The Application shuts down only what it initialized: after a refused token or an
        # unreachable Telegram, the bot's HTTP clients were opened all the same.
        await app.bot.shutdown()

    async def _set_commands(self) -> None:
        """The command menu, from the grammar's own table, in English and Korean."""
        for language in LANGUAGES:
            commands = [BotCommand(v.name, v.about(language)[:256]) for v in VERBS if v.listed]
            await self.application.bot.set_my_commands(
                commands, language_code=None if language == "en" else language
            )

    # --- sending -----------------------------------------------------------------------------

    async def send(self, chat: Chat, message: Message, on_part: PartSent | None = None) -> str:
        """Deliver a card, list or text to a chat; the id of the (first) message sent.
        `on_part` hears of each message of a list or digest once Telegram confirmed it."""
        if not self.ready.is_set():
            # Not the paper's fault: try again shortly, without using up its attempts.
            raise DeliveryFailed("Telegram is not connected yet", retry_after=NOT_READY_RETRY)
        if isinstance(message, FileMessage):
            return await self._send_file(chat, message)
        if isinstance(message, FollowupMessage):
            # A reply to the paper's card; Telegram sends it plain when the card is gone.
            reply_to = int(message.reply_to) if message.reply_to.isdigit() else None
            part = followup_message(message)
            sent = await self._guarded(
                chat, lambda: self._send_html(int(chat.chat_id), part, reply_to)
            )
            return str(sent.message_id)
        if isinstance(message, CardMessage):
            parts = [card_message(message.card, message.matched)]
        elif isinstance(message, ListMessage):
            parts = list_messages(message)
        elif isinstance(message, DigestMessage):
            parts = digest_messages(message)
        else:
            parts = [TelegramMessage(html) for html in reply_messages(message.text)]
        first = ""
        for part in parts:
            sent = await self._deliver(chat, part)
            first = first or str(sent.message_id)
            if on_part is not None:
                await on_part(part.pmids, str(sent.message_id))
        return first

    async def _send_file(self, chat: Chat, message: FileMessage) -> str:
        async def upload() -> TgMessage:
            async with self._pacer.slot(int(chat.chat_id)):
                await self._spacing.turn()
                sent: TgMessage = await self.application.bot.send_document(
                    int(chat.chat_id),
                    InputFile(message.data, filename=message.name),
                    caption=message.caption[:1024] or None,
                )
                return sent

        return str((await self._guarded(chat, upload)).message_id)

    async def _deliver(self, chat: Chat, part: TelegramMessage) -> TgMessage:
        return await self._guarded(chat, lambda: self._send_html(int(chat.chat_id), part))

    async def _guarded(self, chat: Chat, send: Callable[[], Awaitable[TgMessage]]) -> TgMessage:
        """Run one send, turning Telegram's errors into retry-later or chat-is-gone."""
        try:
            return await send()
        except RetryAfter as exc:
            raise DeliveryFailed(str(exc), retry_after=_seconds(exc)) from exc
        except ChatMigrated as exc:  # a group became a supergroup: same chat, new id
            await asyncio.to_thread(self._service.migrate, chat, str(exc.new_chat_id))
            raise DeliveryFailed("the group moved to a new id", retry_after=0) from exc
        except Forbidden as exc:
            raise DeliveryFailed(str(exc), permanent=True) from exc
        except InvalidToken as exc:  # our token, not the chat: wait for it to be fixed
            log.error("Telegram refuses our token; messages wait until it is fixed")
            raise DeliveryFailed("Telegram: token refused", retry_after=AUTH_RETRY) from exc
        except BadRequest as exc:
            text = str(exc).lower()
            if any(reason in text for reason in _GONE):
                raise DeliveryFailed(str(exc), permanent=True) from exc
            raise DeliveryFailed(f"Telegram refused the message: {exc}") from exc
        except TelegramError as exc:  # timeouts, network errors, 5xx
            raise DeliveryFailed(f"Telegram error: {exc}") from exc

    async def _send_html(
        self, chat_id: int, part: TelegramMessage, reply_to: int | None = None
    ) -> TgMessage:
        """Send one message, keeping the pace of one per second in a private chat."""
        markup = _markup(part)
        if chat_id < 0:  # groups: AIORateLimiter keeps Telegram's 20 per minute
            return await self._post(chat_id, part.html, markup, reply_to)
        async with self._pacer.slot(chat_id):
            return await self._post(chat_id, part.html, markup, reply_to)

    async def _post(
        self,
        chat_id: int,
        html: str,
        markup: InlineKeyboardMarkup | None,
        reply_to: int | None = None,
    ) -> TgMessage:
        await self._spacing.turn()
        sent: TgMessage = await self.application.bot.send_message(
            chat_id,
            html,
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
            # A message deleted since is no reason to lose the follow-up: it goes out plain.
            reply_parameters=ReplyParameters(reply_to, allow_sending_without_reply=True)
            if reply_to is not None
            else None,
        )
        return sent

    # --- receiving ---------------------------------------------------------------------------

    async def _on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, tg_chat, user = (
            update.effective_message,
            update.effective_chat,
            update.effective_user,
        )
        if message is None or tg_chat is None or not message.text:
            return
        command = read(message.text)
        if command.bot is not None and command.bot.lower() != self.username.lower():
            return  # "/list@SomeOtherBot" in a group is not for us
        language = "ko" if user and (user.language_code or "").lower().startswith("ko") else ""
        if not await self._admitted(tg_chat.id, language):
            return
        chat = await asyncio.to_thread(
            self._service.chat, "telegram", "", str(tg_chat.id), language=language
        )
        if (
            tg_chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)
            and command.changes_chat
            and not await self._is_admin(update)
        ):
            await self._reply(chat, Reply(t(chat.language, "group.admins_only"), ok=False))
            return
        greeting = command.verb.greeting if command.verb else ""
        if greeting:  # what follows /start is a deep link's payload, not a verb to explain
            command = replace(command, args="")
        reply = await self._service.run_async(chat, command)
        if greeting:
            reply = Reply(f"{t(chat.language, greeting)}\n\n{reply.text}")
        await self._reply(reply.chat or chat, reply)

    async def _on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        tg_chat = update.effective_chat
        if tg_chat is None or not await self._admitted(tg_chat.id):
            return
        chat = await asyncio.to_thread(self._service.chat, "telegram", "", str(tg_chat.id))
        await self._reply(chat, Reply(t(chat.language, "chat.not_a_command")))

    async def _on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        tg_chat = update.effective_chat
        if tg_chat is None:  # a button on a message too old for Telegram to say where it was
            await query.answer()
            return
        chat = await asyncio.to_thread(self._service.chat, "telegram", "", str(tg_chat.id))
        toast = await asyncio.to_thread(
            self._service.press, chat, str(query.from_user.id), query.data or ""
        )
        await query.answer(toast)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log it and apologise; one failing update never stops the bot."""
        log.error("Telegram update failed", exc_info=context.error)
        if not isinstance(update, Update) or update.effective_chat is None:
            return
        try:
            chat = await asyncio.to_thread(
                self._service.chat, "telegram", "", str(update.effective_chat.id)
            )
            await self._reply(chat, Reply(t(chat.language, "error.apology"), ok=False))
        except Exception:  # the apology is best effort; the error is already logged
            log.debug("could not send the apology", exc_info=True)

    async def _is_admin(self, update: Update) -> bool:
        message, tg_chat, user = (
            update.effective_message,
            update.effective_chat,
            update.effective_user,
        )
        if message is not None and message.sender_chat is not None and tg_chat is not None:
            return message.sender_chat.id == tg_chat.id  # an anonymous group administrator
        if tg_chat is None or user is None:
            return False
        member = await self.application.bot.get_chat_member(tg_chat.id, user.id)
        return member.status in ("administrator", "creator")

    async def _admitted(self, chat_id: int, language: str = "") -> bool:
        """Whether this chat's message is within its command budget (bot/limits.py); the first
        refusal of a flood is answered, the rest are dropped in silence."""
        admission = self._service.admit("telegram", "", str(chat_id))
        if admission is Admission.REFUSE:
            text = await asyncio.to_thread(
                self._service.refusal, "telegram", "", str(chat_id), language=language
            )
            try:
                for html in reply_messages(text):
                    await self._send_html(chat_id, TelegramMessage(html))
            except TelegramError as exc:  # best effort: the command is refused either way
                log.info("could not tell chat %s to slow down: %s", chat_id, exc)
        return admission is Admission.RUN

    async def _reply(self, chat: Chat, reply: Reply) -> None:
        """A command's answer: its text, then its cards (search results), each with buttons."""
        parts = [TelegramMessage(html) for html in reply_messages(reply.text)]
        parts += [card_message(card) for card in reply.cards]
        for part in parts:
            try:
                await self._send_html(int(chat.chat_id), part)
            except RetryAfter as exc:  # AIORateLimiter already retried; wait once more
                await asyncio.sleep(_seconds(exc))
                await self._send_html(int(chat.chat_id), part)
        for file in reply.files:  # an export arrives as a document
            await self._send_file(chat, file)


def _markup(part: TelegramMessage) -> InlineKeyboardMarkup | None:
    if not part.keyboard:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(b.text, url=b.url)
                if b.url
                else InlineKeyboardButton(b.text, callback_data=b.data)
                for b in row
            ]
            for row in part.keyboard
        ]
    )


def _seconds(exc: RetryAfter) -> float:
    # PTB 22 warns when retry_after is read as an int; take it as a timedelta either way.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
