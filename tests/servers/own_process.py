"""A FakeTelegram in a process of its own, for tests that judge timing at the fake.

In the test process the fake shares the GIL and the garbage collector with the bot: a pause of
that process holds back the fake's threads too, and the requests sent before it are all counted
as arriving together after it. Real Telegram does not stop when the bot does, so a flood-limit
test keeps the fake's clock apart. The test talks to it through a multiprocessing manager proxy.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.managers import BaseManager
from typing import Any

from servers.telegram import FakeTelegram


class RemoteTelegram(FakeTelegram):
    """FakeTelegram with its attributes as methods: a proxy can call methods only."""

    def throttled_total(self) -> int:
        """How many sends were answered 429."""
        return sum(self.throttled.values())

    def flood_list(self) -> list[str]:
        """Which flood limit each flood 429 enforced."""
        return list(self.floods)

    def error_list(self) -> list[str]:
        """Anything the fake could not handle (should stay empty)."""
        return list(self.errors)


class _Manager(BaseManager):
    pass


# Named, not found by the manager: it would read every property, and some refuse before start().
_Manager.register(
    "RemoteTelegram",
    RemoteTelegram,
    exposed=(
        "start",
        "stop",
        "add_private_chat",
        "sent",
        "address",
        "throttled_total",
        "flood_list",
        "error_list",
    ),
)


@contextmanager
def telegram_in_own_process() -> Iterator[Any]:
    """A running RemoteTelegram in a fresh process (spawned: forking a process with running
    server threads could copy a held lock); yields its proxy."""
    manager = _Manager(ctx=multiprocessing.get_context("spawn"))
    manager.start()
    try:
        fake = manager.RemoteTelegram()  # type: ignore[attr-defined]
        fake.start()
        try:
            yield fake
        finally:
            fake.stop()
    finally:
        manager.shutdown()
