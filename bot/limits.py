"""How many commands a chat may send: a token bucket per chat, and refusals told once a while.

A chat may send `COMMAND_BURST` commands at once, then earns one more every `COMMAND_REFILL`
seconds. A command beyond that is refused before it does anything (no database work, no
PubMed, nothing changed). Only the first refusal in `REFUSAL_QUIET` seconds is answered: the
others are dropped in silence, so a flooding chat cannot fill its one-message-a-second reply
pace with refusals either.

Hand-written rather than aiolimiter (already installed with PTB's rate limiter): that one waits
for capacity on an event loop, where we want a yes or no at once, from any thread, with a clock
a test can move.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

COMMAND_BURST = 10  # commands a chat may send at once
# Seconds to earn one more command: 20 a minute, the most Telegram lets a bot post in a group.
COMMAND_REFILL = 3.0
REFUSAL_QUIET = 60.0  # seconds after a chat was told to slow down in which it is not told again


class Admission(enum.Enum):
    RUN = "run"  # within the chat's budget
    REFUSE = "refuse"  # over it: answer with the polite refusal
    DROP = "drop"  # over it, and told so lately: answer nothing


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float  # when `tokens` was counted
    told: float | None = None  # when the chat was last told to slow down


class CommandBudget:
    """Per-chat token buckets; `admit(chat)` says whether a command may run now."""

    def __init__(
        self,
        burst: int = COMMAND_BURST,
        refill: float = COMMAND_REFILL,
        quiet: float = REFUSAL_QUIET,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.burst, self.refill, self.quiet = burst, refill, quiet
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[Hashable, _Bucket] = {}
        self._tidy_at = clock()

    def admit(self, chat: Hashable) -> Admission:
        """Take one command from the chat's budget, or say how to refuse it."""
        with self._lock:
            now = self._clock()
            self._tidy(now)
            bucket = self._buckets.setdefault(chat, _Bucket(float(self.burst), now))
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) / self.refill)
            bucket.at = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return Admission.RUN
            if bucket.told is not None and now - bucket.told < self.quiet:
                return Admission.DROP
            bucket.told = now
            return Admission.REFUSE

    def _tidy(self, now: float) -> None:
        """Forget chats whose bucket is full again and who are not in a quiet window: they are
        as if never seen. At most once per full refill, so the cost stays flat per command."""
        full = self.burst * self.refill
        if now - self._tidy_at < full:
            return
        self._tidy_at = now
        self._buckets = {
            chat: b
            for chat, b in self._buckets.items()
            if now - b.at < full or (b.told is not None and now - b.told < self.quiet)
        }
