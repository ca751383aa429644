"""`python -m bot.healthcheck [URL]`: exit 0 when the bot's /healthz answers 200, else 1.

The container image's HEALTHCHECK runs it: slim images have no curl, and urllib keeps it quick
to start (it imports nothing of the bot's). Without a URL it asks this machine's port
`HEALTH_PORT` on `BIND_ADDRESS` (loopback when that is every interface), read as the bot reads
them: the environment, else `.env` in the working directory.
On failure it prints one line, which `docker inspect` shows in the container's health log.
"""

from __future__ import annotations

import ipaddress
import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

from dotenv import dotenv_values

PROG = "healthcheck"
TIMEOUT_SECONDS = 5.0


def default_url(environ: Mapping[str, str], env_file: Path = Path(".env")) -> str | None:
    """The local /healthz for the `HEALTH_PORT` and `BIND_ADDRESS` settings, or None when
    HEALTH_PORT is not set."""
    values = dict(dotenv_values(env_file)) if env_file.is_file() else {}
    values.update(environ)  # the environment wins, as in bot.config
    port = (values.get("HEALTH_PORT") or "").strip()
    if not port:
        return None
    return f"http://{_local_host((values.get('BIND_ADDRESS') or '').strip())}:{port}/healthz"


def _local_host(bind_address: str) -> str:
    """Where on this machine the bot listening on `bind_address` is reached: the address itself,
    or loopback for "every interface" (0.0.0.0, ::) and for the default."""
    try:
        address = ipaddress.ip_address(bind_address or "127.0.0.1")
    except ValueError:  # the bot refuses to start with it; the check then cannot reach it
        address = ipaddress.ip_address("127.0.0.1")
    if address.is_unspecified:
        address = ipaddress.ip_address("::1" if address.version == 6 else "127.0.0.1")
    return f"[{address}]" if address.version == 6 else str(address)


def check(url: str, timeout: float = TIMEOUT_SECONDS) -> str | None:
    """None when `url` answers 200, otherwise one line saying what is wrong."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - http(s) only
            response.read()
            return None
    except urllib.error.HTTPError as exc:  # 503 (or any non-2xx): the body says why
        return f"{url} answered {exc.code}: {_reason(exc.read())}"
    except urllib.error.URLError as exc:
        return f"cannot reach {url}: {exc.reason}"
    except (OSError, ValueError) as exc:  # a timeout, a dropped connection, a malformed URL
        return f"cannot reach {url}: {exc}"


def _reason(body: bytes) -> str:
    """The `reason` of the bot's JSON answer, else the start of the body, on one line."""
    text = body.decode("utf-8", "replace")
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict) and data.get("reason"):
        text = str(data["reason"])
    return " ".join(text.split())[:300] or "no reason given"


def main(
    argv: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
    stdout: IO[str] | None = None,
) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    out = stdout or sys.stdout
    if len(args) > 1 or (args and args[0].startswith("-")):
        out.write("usage: python -m bot.healthcheck [URL]  (default: HEALTH_PORT's /healthz)\n")
        return 2
    url = args[0] if args else default_url(os.environ if environ is None else environ)
    if url is None:
        out.write(f"{PROG}: HEALTH_PORT is not set, so the bot serves no /healthz\n")
        return 1
    if not url.startswith(("http://", "https://")):
        out.write(f"{PROG}: {url!r} is not an http:// or https:// URL\n")
        return 1
    problem = check(url)
    if problem is not None:
        out.write(f"{PROG}: {problem}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
