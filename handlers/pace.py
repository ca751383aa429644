"""One message per interval per conversation: the pace Slack and Telegram ask for.

Neither SDK enforces it (PTB limits groups and the overall rate, slack_sdk only retries after a
429), so each channel keeps it here, per chat, without slowing other chats down.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager


class Pacer:
    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._locks: defaultdict[Hashable, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._next: dict[Hashable, float] = {}

    @asynccontextmanager
    async def slot(self, key: Hashable) -> AsyncIterator[None]:
        """Wait for this conversation's turn; the next turn is `interval` after this one ended.

        Counting from the answer, not the start: a request that waited in the SDK's own
        limiter or reached the platform late must not make the next one land within the
        interval (measured: that alone caused most per-chat 429s, bench/README.md).
        """
        loop = asyncio.get_running_loop()
        async with self._locks[key]:
            wait = self._next.get(key, 0.0) - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                yield
            finally:
                self._next[key] = loop.time() + self.interval


class Spacing:
    """Evenly spaced turns for everything a bot sends, never more than `per_second` in a second.

    Each caller reserves the next free turn at once, 1/`per_second` after the previous one, and
    sleeps until it. A caller woken a little late by a busy event loop does not push the turns
    after it back, so such delays do not add up over thousands of messages (PTB's overall
    limiter lost about 10% of the rate to them, bench/README.md). But callers woken late by a
    stalled loop would all go at once, putting more than `per_second` into one second (a 0.4 s
    stall put 29 turns into one second at 20 a second); so a turn also waits while `per_second`
    turns began in the last second.
    """

    def __init__(self, per_second: int) -> None:
        self.per_second = per_second
        self.interval = 1 / per_second
        self._next = 0.0
        self._began: deque[float] = deque()  # when the turns of the last second began

    async def turn(self) -> float:
        """Wait for this caller's turn; the event loop's time when it began."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        slot = max(now, self._next)
        self._next = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)
        began = self._began
        while True:
            now = loop.time()
            while began and began[0] <= now - 1.0:
                began.popleft()
            if len(began) < self.per_second:
                began.append(now)
                return now
            await asyncio.sleep(began[0] + 1.0 - now)
