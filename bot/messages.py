"""What the bot sends to a chat, independent of the platform, and the Channel protocol.

Each platform module in `handlers/` implements `Channel` and renders these messages in its own
format (Markdown files, Telegram HTML, Slack Block Kit). What every rendering shares lives here
too: the words of a digest and the payload of a card's buttons.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, cast
from urllib.parse import quote

from bot.cards import Card
from bot.i18n import category_name, t
from bot.models import FEEDBACK_KINDS, Chat, FeedbackKind, MatchedQuery, Paper, Score
from bot.overflow import MAX_MESSAGES
from bot.scoring import UNRANKED_KINDS

_BUTTON = re.compile(r"fb:(up|down|save):([0-9]{1,10})")


def button_data(kind: str, pmid: str) -> str:
    """The payload of a card button: 'fb:save:40650787' (well inside Telegram's 64 bytes)."""
    if kind not in FEEDBACK_KINDS or not pmid.isdigit():
        raise ValueError(f"no button {kind!r} for {pmid!r}")
    return f"fb:{kind}:{pmid}"


def parse_button(data: str) -> tuple[FeedbackKind, str] | None:
    """(kind, pmid) from a button payload, or None for anything we did not make."""
    match = _BUTTON.fullmatch(data or "")
    # The pattern admits only the kinds of FEEDBACK_KINDS.
    return (cast(FeedbackKind, match.group(1)), match.group(2)) if match else None


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
    """Papers beyond a poll's card budget, together, best first, in at most `max_messages`
    messages (bot/overflow.py). `continued`: the first messages went out in an earlier try."""

    language: str
    items: tuple[ListItem, ...]
    continued: bool = False
    max_messages: int = MAX_MESSAGES


@dataclass(frozen=True, slots=True)
class TextMessage:
    text: str


@dataclass(frozen=True, slots=True)
class DigestItem:
    """One paper in a digest: linked title, journal, date, design, score, one-line summary."""

    paper: Paper
    score: Score
    design: str
    summary: str
    found_by: tuple[int, str] | None = None  # the subscription (number, query) that scored best


@dataclass(frozen=True, slots=True)
class DigestSection:
    """The papers one subscription brought, best first."""

    number: int
    query: str
    items: tuple[DigestItem, ...]


@dataclass(frozen=True, slots=True)
class DigestMessage:
    """A chat's daily digest: the first `FULL` papers in full, then the rest as short links, in
    at most `max_messages` messages. `continued`: the first messages went out in an earlier try,
    and this holds the papers they did not deliver."""

    language: str
    day: str  # the chat's local date, YYYY-MM-DD
    total: int
    sections: tuple[DigestSection, ...]
    more: tuple[DigestItem, ...] = ()
    continued: bool = False
    max_messages: int = MAX_MESSAGES
    # Follow-ups of papers the chat received, shown first, one line each: (key, follow-up),
    # the key standing for it among the PMIDs a message delivers (bot/digest.py update_key).
    updates: tuple[tuple[str, FollowupMessage], ...] = ()
    weekly: bool = False  # a weekly chat's digest: its header says it covers the week

    # --- words every platform's rendering shares -----------------------------------------

    def header(self) -> str:
        """'📬 PubMed digest for <day> — new papers: N, subscriptions: M' in the chat's
        language."""
        if self.continued:
            return t(self.language, "digest.continued", day=self.day, count=self.total)
        return t(
            self.language,
            "digest.header_weekly" if self.weekly else "digest.header",
            day=self.day,
            count=self.total,
            subscriptions=len({s.number for s in self.sections}) or 1,
        )

    def section_title(self, section: DigestSection) -> str:
        return t(self.language, "digest.section", number=section.number, query=section.query)

    def details(self, item: DigestItem) -> str:
        """'Cohort study · Gut · 2017-06 · score 0.74' for one paper; a notice's or commentary's
        score names its category ('score 0.81 (notice)'): it is no relevance judgement."""
        paper = item.paper
        score = f"{item.score.value:.2f}"
        if item.score.category in UNRANKED_KINDS:
            score += f" ({category_name(self.language, item.score.category)})"
        return t(
            self.language,
            "digest.line",
            design=item.design,
            journal=paper.journal_abbrev or paper.journal,
            date=paper.pub_date or paper.pub_date_text,
            score=score,
        )

    def more_title(self) -> str:
        return t(self.language, "digest.more", count=len(self.more))

    def updates_title(self) -> str:
        return t(self.language, "digest.updates", count=len(self.updates))


@dataclass(frozen=True, slots=True)
class FileMessage:
    """A file for the chat: an export of saved papers."""

    name: str
    data: bytes
    mime: str
    caption: str = ""


@dataclass(frozen=True, slots=True)
class FollowupMessage:
    """A paper the chat received or saved was retracted, got an expression of concern or an
    erratum, or became free in PubMed Central: one message, a reply to the paper's card where
    the platform has threads (`reply_to`, its message id; '' when unknown)."""

    language: str
    kind: str  # a FollowupKind: retracted, expression-of-concern, corrected, updated, free
    pmid: str
    title: str
    notice: str  # the notice's PMID, the newer version's, or for "free" the PMC id
    day: str = ""  # the chat's local date when it received (or saved) the paper; '' unknown
    saved: bool = False  # the chat saved it and never received it from a subscription
    subscriptions: tuple[tuple[int, str], ...] = ()  # (number, query) that found it
    reply_to: str = ""

    @property
    def broadcast(self) -> bool:
        """A retraction is shown to the whole channel, not only in the card's thread."""
        return self.kind == "retracted"

    @property
    def quiet(self) -> bool:
        """A correction, a newer version or a free copy is one short line; a retraction or a
        concern says more."""
        return self.kind in ("corrected", "updated", "free")

    @property
    def paper_url(self) -> str:
        return f"https://pubmed.ncbi.nlm.nih.gov/{quote(self.pmid, safe='')}/"

    @property
    def notice_url(self) -> str:
        if self.kind == "free":
            return f"https://pmc.ncbi.nlm.nih.gov/articles/{quote(self.notice, safe='')}/"
        return f"https://pubmed.ncbi.nlm.nih.gov/{quote(self.notice, safe='')}/"

    def label(self) -> str:
        """'⚠️ Retracted:' and the like, in the chat's language."""
        return t(self.language, f"followup.{self.kind}")

    def context(self) -> str:
        """'you received it on 2021-06-07 (subscription #1 “crispr[tiab]”)', or '' when the
        message is a quiet one or nothing is known of it."""
        if self.quiet or not self.day:
            return ""
        if self.saved:
            return t(self.language, "followup.saved", day=self.day)
        if not self.subscriptions:
            return t(self.language, "followup.received", day=self.day)
        found = ", ".join(
            t(self.language, "followup.subscription", number=number, query=query)
            for number, query in self.subscriptions[:2]
        )
        return t(self.language, "followup.received_by", day=self.day, subscriptions=found)

    def notice_label(self) -> str:
        """'retraction notice PMID 34092875', 'PubMed Central PMC123'..."""
        if self.kind == "free":
            return t(self.language, "followup.notice.free", pmcid=self.notice)
        return t(self.language, f"followup.notice.{self.kind}", pmid=self.notice)

    def plain(self) -> str:
        """The whole message as one line of plain text (stdout, notification text)."""
        title = self.title or f"PMID {self.pmid}"
        if self.kind == "free":
            return f"{self.label()} {title} {self.notice_url}"
        if self.quiet:
            return f"{self.label()} {title} ({self.notice_label()}) {self.notice_url}"
        context = f" — {self.context()}" if self.context() else ""
        return f"{self.label()} {title}{context}; {self.notice_label()} {self.notice_url}"


Message = CardMessage | ListMessage | TextMessage | DigestMessage | FileMessage | FollowupMessage

# Called after the platform confirmed each message of a list or digest, with the PMIDs that
# message delivered and its id: delivery records them at once, so a retry never repeats them.
PartSent = Callable[[tuple[str, ...], str], Awaitable[None]]


class Channel(Protocol):
    """A way to reach chats of one platform.

    `start` connects to send and to listen for commands (`paper-surfer run`);
    `open_for_sending` connects to send only, with no listener, for one-shot commands such as
    `paper-surfer poll` run from cron. `stop` closes whichever of the two was opened.
    """

    name: str

    async def start(self) -> None: ...

    async def open_for_sending(self) -> None:
        """Connect to send only (one try): a platform that refuses or cannot be reached is
        logged, and its messages wait, as in `start`."""
        ...

    async def stop(self) -> None: ...

    async def send(self, chat: Chat, message: Message, on_part: PartSent | None = None) -> str:
        """Deliver `message`; returns the platform's (first) message id, or raises
        DeliveryFailed. A platform that splits a list or digest into several messages awaits
        `on_part` after each one it confirmed; one that sends it whole need not."""
        ...
