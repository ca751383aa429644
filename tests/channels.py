"""An in-memory chat channel for delivery tests: records what it was asked to send."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bot.errors import DeliveryFailed
from bot.messages import (
    CardMessage,
    DigestMessage,
    FileMessage,
    FollowupMessage,
    ListMessage,
    Message,
    PartSent,
    TextMessage,
)
from bot.models import Chat


@dataclass
class Sent:
    chat: str  # the chat's platform id
    kind: str  # card | list | digest | file | text | followup
    pmids: tuple[str, ...]
    message: Message | None = None


@dataclass
class RecordingChannel:
    """Accepts every message unless `fail` says otherwise for it."""

    name: str = "local"
    sent: list[Sent] = field(default_factory=list)
    fail: Callable[[Chat, Message], DeliveryFailed | None] = lambda chat, message: None

    async def start(self) -> None:
        return None

    async def open_for_sending(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def send(self, chat: Chat, message: Message, on_part: PartSent | None = None) -> str:
        """Record the message whole (a list or digest in one piece, so `on_part` is unused)."""
        problem = self.fail(chat, message)
        if problem is not None:
            raise problem
        if isinstance(message, CardMessage):
            record = Sent(chat.chat_id, "card", (message.card.paper.pmid,), message)
        elif isinstance(message, ListMessage):
            record = Sent(chat.chat_id, "list", tuple(i.paper.pmid for i in message.items), message)
        elif isinstance(message, DigestMessage):
            shown = [i for section in message.sections for i in section.items]
            pmids = tuple(i.paper.pmid for i in (*shown, *message.more))
            record = Sent(chat.chat_id, "digest", pmids, message)
        elif isinstance(message, FileMessage):
            record = Sent(chat.chat_id, "file", (), message)
        elif isinstance(message, FollowupMessage):
            record = Sent(chat.chat_id, "followup", (message.pmid,), message)
        else:
            assert isinstance(message, TextMessage)
            record = Sent(chat.chat_id, "text", (), message)
        self.sent.append(record)
        return f"m{len(self.sent)}"

    def pmids(self, chat_id: str) -> list[str]:
        """Every PMID this chat received, in order, repeats included (follow-ups left out)."""
        return [
            pmid
            for s in self.sent
            if s.chat == chat_id and s.kind != "followup"
            for pmid in s.pmids
        ]

    def followups(self, chat_id: str) -> list[FollowupMessage]:
        """The follow-ups this chat received, in order."""
        return [
            s.message
            for s in self.sent
            if s.chat == chat_id and isinstance(s.message, FollowupMessage)
        ]
