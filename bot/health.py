"""Is the bot alive? The verdict `GET /healthz` gives when HEALTH_PORT is set.

Alive means: the scheduler runs, and a poll cycle completed less than two poll intervals ago
(before the first one, counted from the start). A poll in which PubMed failed some or all
queries still completed: PubMed's trouble is not the bot's, a restart would not help, and those
queries are retried next poll; the body says so (`last_poll_result: queries_failed`). A poll
that crashed (the database, say) did not complete: if that goes on for two intervals the bot
is reported unhealthy, with the error, since a restart may be what it needs.

Ages are measured on the monotonic clock, so a wall clock set back or forward changes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

POLL_RESULTS = ("ok", "queries_failed", "error")


def _iso(moment: float | None) -> str | None:
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds")


@dataclass
class Health:
    """What /healthz needs to know, updated by the app as polls start and end."""

    poll_interval_seconds: float
    monotonic: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time
    started: float = field(init=False)  # monotonic
    started_at: float = field(init=False)  # Unix time
    poll_started: float | None = None  # monotonic, while a poll runs
    last_completed: float | None = None  # monotonic: the last poll that was not an error
    last_poll_at: float | None = None  # Unix time the last poll ended, whatever its result
    last_poll_result: str | None = None
    last_poll_failed_queries: int = 0
    last_poll_error: str = ""

    def __post_init__(self) -> None:
        self.started = self.monotonic()
        self.started_at = self.wall()

    def poll_starting(self) -> None:
        self.poll_started = self.monotonic()

    def poll_ended(self, result: str, *, failed_queries: int = 0, error: str = "") -> None:
        """A poll ended with `result` (one of POLL_RESULTS)."""
        self.poll_started = None
        self.last_poll_at = self.wall()
        self.last_poll_result = result
        self.last_poll_failed_queries = failed_queries
        self.last_poll_error = error
        if result != "error":
            self.last_completed = self.monotonic()

    def verdict(self, scheduler: str) -> tuple[bool, dict[str, Any]]:
        """(alive, the JSON body); `scheduler` is running, starting, paused or stopping."""
        now = self.monotonic()
        limit = 2 * self.poll_interval_seconds
        since = self.last_completed if self.last_completed is not None else self.started
        age = now - since
        body: dict[str, Any] = {
            "status": "ok",
            "scheduler": scheduler,
            "started": _iso(self.started_at),
            "last_poll": _iso(self.last_poll_at),
            "last_poll_result": self.last_poll_result,
            "last_poll_ok": None
            if self.last_poll_result is None
            else self.last_poll_result == "ok",
            "last_poll_failed_queries": self.last_poll_failed_queries,
            "seconds_since_last_completed_poll": round(age, 1),
            "poll_interval_seconds": self.poll_interval_seconds,
            "poll_running_seconds": (
                None if self.poll_started is None else round(now - self.poll_started, 1)
            ),
        }
        if self.last_poll_error:
            body["last_poll_error"] = self.last_poll_error
        reason = ""
        if scheduler != "running":
            reason = f"the scheduler is not running ({scheduler})"
        elif age >= limit:
            if self.last_completed is None:
                reason = f"no poll has completed in the {age:.0f} s since the start"
            else:
                reason = f"the last completed poll was {age:.0f} s ago"
            reason += f", more than two poll intervals ({limit:g} s)"
            if self.poll_started is not None:
                reason += f"; the current poll has run for {now - self.poll_started:.0f} s"
            elif self.last_poll_result == "error":
                reason += f"; the last poll failed: {self.last_poll_error}"
        if reason:
            body["status"] = "unhealthy"
            body["reason"] = reason
        return not reason, body
