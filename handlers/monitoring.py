"""GET /healthz and GET /metrics on HEALTH_PORT, served on the bot's own event loop.

It lives beside the chat platforms because it is a transport too: `bot/` imports no web
framework. It listens on every interface (0.0.0.0), like the Slack and Telegram listeners, so a
container's HEALTHCHECK and a Prometheus server on another host can reach it. Other paths get
404, other methods on these two 405 (aiohttp's router does both).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from prometheus_client.aiohttp import make_aiohttp_handler

from bot.errors import ConfigError
from bot.metrics import Metrics

log = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"
# How long a scrape in progress may hold up the bot's shutdown.
SHUTDOWN_SECONDS = 5.0


class MonitoringServer:
    """The two endpoints; `verdict` answers /healthz, `refresh` runs before each scrape."""

    def __init__(
        self,
        port: int,
        verdict: Callable[[], tuple[bool, dict[str, Any]]],
        metrics: Metrics,
        refresh: Callable[[], Awaitable[None]],
    ) -> None:
        self.port = port
        self._verdict = verdict
        self._refresh = refresh
        self._scrape = make_aiohttp_handler(metrics.registry)
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get(HEALTH_PATH, self._healthz)
        app.router.add_get(METRICS_PATH, self._metrics)
        # No access log: a scrape every 15 s would be a log line every 15 s.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_SECONDS)
        await runner.setup()
        site = web.TCPSite(runner, host="0.0.0.0", port=self.port)  # noqa: S104 - scraped from outside
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            problem = f"cannot listen on port {self.port}: {exc.strerror}"
            raise ConfigError("HEALTH_PORT", problem) from None
        self._runner = runner
        log.info(
            "health and metrics on port %d: GET %s, GET %s", self.port, HEALTH_PATH, METRICS_PATH
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
