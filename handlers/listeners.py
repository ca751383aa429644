"""What the bot's HTTP listeners (Slack's HTTP mode, Telegram's webhook, /healthz and /metrics)
share: the address they bind (BIND_ADDRESS) and how much of a request body they will read.
"""

from __future__ import annotations

from aiohttp import web

# Telegram's updates and Slack's payloads are a few kilobytes (a slash command's text is at most
# 4,000 characters, a message with its blocks under 100 kB): a megabyte leaves room to spare,
# and nobody makes the bot hold 100 MB of an unauthenticated body in memory.
MAX_BODY_BYTES = 1024 * 1024


def application() -> web.Application:
    """An aiohttp application that refuses a body over MAX_BODY_BYTES with 413 as it reads it
    (for a body sent without a length, in chunks)."""
    return web.Application(client_max_size=MAX_BODY_BYTES)


def refuse_oversized(request: web.Request) -> web.Response | None:
    """413 before a byte of the body is read when its declared length is over the cap."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return web.Response(status=413, text=f"the body is over {MAX_BODY_BYTES} bytes")
    return None


async def listen(runner: web.AppRunner, host: str, port: int) -> None:
    """Serve `runner` on `host`:`port`; on failure the runner is cleaned up and OSError raised."""
    await runner.setup()
    try:
        await web.TCPSite(runner, host=host, port=port).start()
    except OSError:
        await runner.cleanup()
        raise


def where(host: str, port: int) -> str:
    """'127.0.0.1:3000', '[::1]:3000': an address and port as a log line names them."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
