"""When a chat platform's channel tries again: to reach the platform at start, while the platform
refuses our token, and when asked to send before it is connected. Telegram and Slack alike."""

from __future__ import annotations

START_RETRY = (5, 10, 30, 60)  # seconds between attempts to reach the platform at start
AUTH_RETRY = 600  # seconds between tries while the platform refuses our token
NOT_READY_RETRY = 5  # seconds, while the connection is still being made at start


def start_wait(attempt: int) -> int:
    """Seconds to wait after failed attempt number `attempt` (from 0) to reach the platform."""
    return START_RETRY[min(attempt, len(START_RETRY) - 1)]
