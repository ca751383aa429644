"""Telegram's webhook listener: POST {path} on BIND_ADDRESS:TELEGRAM_WEBHOOK_PORT.

PTB's own webhook server (tornado) reads a body of up to 100 MB before it looks at the secret
header, so this is PTB's documented "custom webhook" pattern instead: a small aiohttp server
that puts each Update on the Application's update queue. A call is checked in the order that
costs an attacker the most and the bot the least: the secret header first (compared in constant
time), then the declared length (413 before reading), then the body as it is read (at most
MAX_BODY_BYTES), then its JSON.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from typing import Any

from aiohttp import web
from telegram import Bot, Update
from telegram.ext import ExtBot

from handlers.listeners import application, listen, refuse_oversized

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header's name, not a secret


class TelegramWebhook:
    """The listener; `start` opens it, `stop` closes it (the webhook stays set at Telegram)."""

    def __init__(
        self,
        bot: Bot,
        updates: asyncio.Queue[object],
        *,
        host: str,
        port: int,
        path: str,
        secret: str,
    ) -> None:
        self._bot = bot
        self._updates = updates
        self._secret = secret.encode()
        self.host, self.port, self.path = host, port, "/" + path.lstrip("/")
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = application()
        app.router.add_post(self.path, self._receive)
        # No access log: every update would be a line.
        runner = web.AppRunner(app, access_log=None)
        await listen(runner, self.host, self.port)
        self._runner = runner

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _receive(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            return web.Response(status=403, text="wrong or missing secret token")
        oversized = refuse_oversized(request)
        if oversized is not None:
            return oversized
        try:
            body = await request.read()  # 413 from aiohttp past MAX_BODY_BYTES
        except ConnectionResetError:  # the caller hung up halfway: nobody to answer
            return web.Response(status=400)
        try:
            data: Any = json.loads(body)
            update = Update.de_json(data, self._bot) if isinstance(data, dict) else None
        except (ValueError, TypeError, KeyError, AttributeError):
            update = None
        if update is None:
            log.warning("Telegram webhook: refused a call whose body is not an Update")
            return web.Response(status=400, text="the body is not a Telegram Update")
        if isinstance(self._bot, ExtBot):  # as PTB's own server does, for callback data
            self._bot.insert_callback_data(update)
        await self._updates.put(update)
        return web.Response(status=200)
