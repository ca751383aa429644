"""Chat platforms. Each module implements `bot.messages.Channel`; `build_channels` registers them.

Adding a platform is one new module here and one line in `build_channels`.
"""

from __future__ import annotations

import sys
from typing import IO, TYPE_CHECKING

from bot.messages import Channel

if TYPE_CHECKING:  # for annotations only: loading a renderer here must not load the runtime
    from bot.config import Settings
    from bot.service import ChatService

__all__ = ["Channel", "build_channels"]


def build_channels(
    settings: Settings, service: ChatService, out: IO[str] | None = None
) -> dict[str, Channel]:
    """Every configured channel by platform name; the local folder channel is always there
    (it serves `paper-surfer cmd`)."""
    from handlers.local import LocalChannel

    channels: dict[str, Channel] = {"local": LocalChannel(settings.alerts_dir, out or sys.stdout)}
    if settings.telegram_bot_token:
        from handlers.telegram import TelegramChannel

        channels["telegram"] = TelegramChannel(settings, service)
    if settings.slack_bot_token:
        from handlers.slack import SlackChannel

        channels["slack"] = SlackChannel(settings, service)
    return channels
