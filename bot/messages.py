"""What the bot sends to a chat, independent of the platform, and the Channel protocol.

Each platform module in `handlers/` implements `Channel` and renders these messages in its own
format (Markdown files, Telegram HTML, Slack Block Kit).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.cards import Card
from bot.models import Chat, MatchedQuery, Paper


@dataclass(frozen=True, slots=True)
class CardMessage:
    """One paper as a card, with the chat's subscriptions that matched it."""

    card: Card
    matched: tuple[MatchedQuery, ...] = ()


@dataclass(frozen=True, slots=True)
class ListItem:
    paper: Paper
    matched: tuple[MatchedQuery, ...]


@dataclass(frozen=True, slots=True)
class ListMessage:
    """Papers beyond a poll's card budget, together in one message, best first."""

    language: str
    items: tuple[ListItem, ...]


@dataclass(frozen=True, slots=True)
class TextMessage:
    text: str


Message = CardMessage | ListMessage | TextMessage


class Channel(Protocol):
    """A way to reach chats of one platform."""

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send(self, chat: Chat, message: Message) -> str:
        """Deliver `message`; returns the platform's message id, or raises DeliveryFailed."""
        ...
