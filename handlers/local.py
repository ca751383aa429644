"""The local channel: cards as Markdown files in ALERTS_DIR, one folder per day.

This is what runs when no chat platform is configured. A card for PMID 123 delivered on
2026-11-26 is `ALERTS_DIR/2026-11-26/123.md`; papers beyond a poll's card budget arrive together
in `ALERTS_DIR/<day>/more-<first PMID>.md`. A follow-up (the paper was retracted, corrected...)
is a file next to the paper's card, `<PMID>-<kind>-<notice>.md`. Writing the same card twice
replaces the file, so a repeat after a crash is not a duplicate here. Each delivery also prints
one line on stdout.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo

from bot.errors import DeliveryFailed
from bot.i18n import t
from bot.messages import (
    CardMessage,
    DigestMessage,
    FollowupMessage,
    ListMessage,
    Message,
    PartSent,
    TextMessage,
)
from bot.models import Chat
from bot.plain import digest_markdown, followup_markdown, list_markdown, to_markdown
from bot.standing import short_label
from bot.titles import display_title

_SAFE = re.compile(r"[^0-9A-Za-z._-]")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class LocalChannel:
    name = "local"

    def __init__(
        self,
        alerts_dir: Path,
        out: IO[str],
        clock: type[datetime] = datetime,
    ) -> None:
        self.alerts_dir = alerts_dir
        self._out = out
        self._clock = clock

    async def start(self) -> None:
        await asyncio.to_thread(self.alerts_dir.mkdir, parents=True, exist_ok=True)

    async def open_for_sending(self) -> None:
        return None  # nothing to connect to; `send` makes the day's folder

    async def stop(self) -> None:
        return None

    async def send(self, chat: Chat, message: Message, on_part: PartSent | None = None) -> str:
        """Write the message as one file (a list or digest whole: `on_part` is not needed)."""
        if isinstance(message, TextMessage):
            self._print(message.text)
            return ""
        day = self._clock.now(UTC).astimezone(ZoneInfo(chat.timezone)).date().isoformat()
        data: str | bytes
        if isinstance(message, CardMessage):
            name = f"{safe_name(message.card.paper.pmid)}.md"
            data = to_markdown(message.card)
            paper, language = message.card.paper, message.card.summary.language
            label = short_label(paper, language)
            summary = f"{label + ' · ' if label else ''}{display_title(paper, language)}"
        elif isinstance(message, ListMessage):
            first = message.items[0].paper.pmid
            name = f"more-{safe_name(first)}.md"
            data = list_markdown(message)
            summary = t(message.language, "list_message.header", count=len(message.items))
        elif isinstance(message, DigestMessage):
            name = f"digest-{safe_name(message.day)}.md"
            data = digest_markdown(message)
            summary = message.header()
        elif isinstance(message, FollowupMessage):
            # Next to the card it follows up (the card's day folder), else in today's.
            card = Path(message.reply_to)
            if len(card.parts) == 2 and _DAY.fullmatch(card.parts[0]):
                day = card.parts[0]
            name = f"{safe_name(message.pmid)}-{message.kind}-{safe_name(message.notice)}.md"
            data = followup_markdown(message)
            summary = message.plain()
        else:
            name, data, summary = safe_name(message.name), message.data, message.caption
        path = self.alerts_dir / day / name
        try:
            await asyncio.to_thread(_write_atomically, path, data)
        except OSError as exc:  # a full disk or a read-only folder may heal: retry later
            raise DeliveryFailed(f"cannot write {path}: {exc.strerror or exc}") from exc
        self._print(f"{path}  {summary}")
        return str(path.relative_to(self.alerts_dir))

    def _print(self, line: str) -> None:
        self._out.write(line.rstrip("\n") + "\n")
        self._out.flush()


def safe_name(value: str) -> str:
    """A file name made of letters, digits, '.', '_' and '-' only, never empty or hidden."""
    cleaned = _SAFE.sub("_", value).lstrip(".")[:80]
    return cleaned or "_"


def _write_atomically(path: Path, data: str | bytes) -> None:
    """Write to a temporary file and rename it: a reader never sees half a card."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
