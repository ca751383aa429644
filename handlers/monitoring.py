"""GET /healthz and GET /metrics on HEALTH_PORT, served on the bot's own event loop.

It lives beside the chat platforms because it is a transport too: `bot/` imports no web
framework. It listens on BIND_ADDRESS, like the Slack and Telegram listeners: this machine only
by default; a container sets 0.0.0.0 so its published port reaches it. Other paths get 404,
other methods on these two 405 (aiohttp's router does both).
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from prometheus_client.aiohttp import make_aiohttp_handler

from bot.errors import ConfigError
from bot.metrics import Metrics
from handlers.listeners import application, listen, where

log = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"
# How long a scrape in progress may hold up the bot's shutdown.
SHUTDOWN_SECONDS = 5.0


class MonitoringServer:
    """The two endpoints; `verdict` answers /healthz, `refresh` runs before each scrape."""

    def __init__(
        self,
        host: str,
        port: int,
        verdict: Callable[[], tuple[bool, dict[str, Any]]],
        metrics: Metrics,
        refresh: Callable[[], Awaitable[None]],
    ) -> None:
        self.host, self.port = host, port
        self._verdict = verdict
        self._refresh = refresh
        self._scrape = make_aiohttp_handler(metrics.registry)
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = application()
        app.router.add_get(HEALTH_PATH, self._healthz)
        app.router.add_get(METRICS_PATH, self._metrics)
        # No access log: a scrape every 15 s would be a log line every 15 s.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_SECONDS)
        try:
            await listen(runner, self.host, self.port)
        except OSError as exc:
            if exc.errno == errno.EADDRNOTAVAIL:  # no interface of this machine has it
                problem = f"cannot listen on {self.host}: {exc.strerror}"
                raise ConfigError("BIND_ADDRESS", problem) from None
            problem = f"cannot listen on port {self.port}: {exc.strerror}"
            raise ConfigError("HEALTH_PORT", problem) from None
        self._runner = runner
        log.info(
            "health and metrics on %s: GET %s, GET %s",
            where(self.host, self.port),
            HEALTH_PATH,
            METRICS_PATH,
        )

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _healthz(self, request: web.Request) -> web.Response:
        alive, body = self._verdict()
        return web.json_response(body, status=200 if alive else 503)

    async def _metrics(self, request: web.Request) -> web.StreamResponse:
        await self._refresh()
        return await self._scrape(request)
