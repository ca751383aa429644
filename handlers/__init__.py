"""Chat platforms. Each module implements `bot.messages.Channel`; `build_channels` registers them.

Adding a platform is one new module here and one line in `build_channels`.
"""

from __future__ import annotations

import sys
from typing import IO

from bot.config import Settings
from bot.messages import Channel

__all__ = ["Channel", "build_channels"]


def build_channels(settings: Settings, out: IO[str] | None = None) -> dict[str, Channel]:
    """Every configured channel by platform name; the local folder channel is always there."""
    from handlers.local import LocalChannel

    channels: dict[str, Channel] = {"local": LocalChannel(settings.alerts_dir, out or sys.stdout)}
    return channels
