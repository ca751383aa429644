"""Slack rendering: cards, lists, replies and the App Home as Block Kit that Slack accepts.

Pure functions, no network. Every text has `&`, `<` and `>` escaped, and fits Slack's limits
after escaping: 150 characters in a header, 3,000 in a section, 75 in a button, 50 blocks a
message (longer lists and replies are split into several messages, never cut).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from bot import overflow
from bot.cards import Card
from bot.finding import shorten
from bot.i18n import category_name, t
from bot.messages import DigestMessage, FollowupMessage, ListMessage, button_data
from bot.models import MatchedQuery, Paper
from bot.overflow import Piece
from bot.standing import StatusLine, short_label
from bot.standing import lines as standing_lines
from bot.titles import display_title

MAX_BLOCKS = 50
HEADER_LIMIT = 150
SECTION_LIMIT = 3000
BUTTON_LIMIT = 75
FALLBACK_LIMIT = 3000  # the notification text; Slack allows more, readers see less
ACTION_IDS = {"up": "fb_up", "down": "fb_down", "save": "fb_save"}

Block = dict[str, Any]


@dataclass(frozen=True, slots=True)
class SlackMessage:
    text: str  # the plain fallback for notifications and screen readers
    blocks: tuple[Block, ...]
    pmids: tuple[str, ...] = ()  # the papers of a list or digest this message delivers


def esc(text: str) -> str:
    """Escape the three characters Slack reserves, in every kind of text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def fit(text: str, limit: int) -> str:
    """`text` shortened at a word so that, escaped, it is at most `limit` characters."""
    escaped = esc(text)
    if len(escaped) <= limit:
        return escaped
    # The longest cut whose escaped form fits: text dense in "<&>" grows fourfold when escaped,
    # so the cut is searched for, not guessed from the raw length.
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if len(esc(shorten(text, middle))) <= limit:
            low = middle
        else:
            high = middle - 1
    return esc(shorten(text, low)) if low > 1 else "…"


def link(url: str, label: str) -> str:
    """A mrkdwn link. '<', '>', '|' and spaces in the URL are percent-encoded and '&' escaped,
    so nothing in it can end the link or start another; in the label '|' is replaced."""
    target = esc(quote(url, safe=":/?#[]@!$&'()*+,;=%~"))
    return f"<{target}|{esc(label).replace('|', '¦')}>"


def _plain(text: str) -> Block:
    return {"type": "plain_text", "text": text, "emoji": True}


def _section(mrkdwn: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn}}


def _commands(text: str) -> str:
    """Escaped text whose `verb …` spans become the slash command to type."""
    return re.sub(r"`([^`<>&]+)`", r"`/papers \1`", esc(text))


def status_mrkdwn(line: StatusLine) -> str:
    """A status line as mrkdwn: its links as links, in bold when it warns."""
    text = "".join(link(s.url, s.text) if s.url else esc(s.text) for s in line.segments)
    return f"*{text}*" if line.warning else text


def _label(paper: Paper, lang: str) -> str:
    """The short status that starts a one-line entry ("⚠️ Retracted · "), escaped, or ""."""
    label = short_label(paper, lang)
    return f"{esc(label)} · " if label else ""


def card_message(card: Card, matched: tuple[MatchedQuery, ...] = ()) -> SlackMessage:
    """A card: header, status lines, authors and source, summary, abstract, match context and
    buttons. The notification text starts with the status, as the header cannot hold links."""
    paper, lang = card.paper, card.summary.language
    title = display_title(paper, lang)
    byline = esc(_authors(paper, lang))
    doi = link(paper.doi_url, f"doi:{paper.doi}") if paper.doi else ""
    blocks: list[Block] = [{"type": "header", "text": _plain(fit(title, HEADER_LIMIT))}]
    standing = standing_lines(paper, lang)
    if standing:  # a few hundred characters at most: a section always holds them whole
        blocks.append(_section("\n".join(status_mrkdwn(line) for line in standing)))
    about = "\n".join(x for x in (byline, doi) if x)
    if about:  # Slack refuses an empty section
        blocks.append(_section(fit_mrkdwn(about)))
    blocks.append(_section(fit(f"📝 {card.summary.text}", SECTION_LIMIT)))
    if paper.abstract:
        blocks.append(_section(fit(paper.abstract, SECTION_LIMIT)))
    context = _context(card, matched, lang)
    if context:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    blocks.append({"type": "actions", "elements": _buttons(paper, lang)})
    label = short_label(paper, lang)
    fallback = fit(
        f"{label + ' · ' if label else ''}{title} — {paper.journal_abbrev or paper.journal} "
        f"{paper.url}",
        FALLBACK_LIMIT,
    )
    return SlackMessage(fallback, tuple(blocks))


def fit_mrkdwn(text: str) -> str:
    """Already-escaped mrkdwn that must stay within a section (cut at a line, never in a link)."""
    if len(text) <= SECTION_LIMIT:
        return text
    kept, size = [], 0
    for line in text.split("\n"):
        if size + len(line) + 1 > SECTION_LIMIT:
            break
        kept.append(line)
        size += len(line) + 1
    return "\n".join(kept) or "…"


def _authors(paper: Paper, lang: str) -> str:
    names = list(paper.authors[:3])
    if len(paper.authors) > 3:
        names.append(t(lang, "card.authors_more", count=len(paper.authors)))
    return ", ".join(names)


def _context(card: Card, matched: tuple[MatchedQuery, ...], lang: str) -> str:
    """Journal, date, then (when the paper was collected) score, category and why."""
    paper = card.paper
    source = [
        f"_{esc(paper.journal or paper.journal_abbrev)}_" if paper.journal else "",
        esc(paper.pub_date or paper.pub_date_text),
    ]
    text = " · ".join(p for p in source if p)
    score = card.collection.score if card.collection else None
    if score is None:
        return text
    match = esc(
        t(
            lang,
            "card.score",
            score=f"{score.value:.2f}",
            category=category_name(lang, score.category),
        )
    )
    text = f"{text} · {match}" if text else match
    queries = [f"#{m.number} {m.query}" for m in matched] or list(
        card.collection.queries if card.collection else ()
    )
    if queries:
        text += " · " + esc(t(lang, "card.matched", queries="; ".join(queries)))
    if score.notes:
        text += " · " + esc("; ".join(score.notes))
    return text[:SECTION_LIMIT] if len(text) <= SECTION_LIMIT else fit_mrkdwn(text)


def _buttons(paper: Paper, lang: str) -> list[Block]:
    buttons: list[Block] = [
        {
            "type": "button",
            # Unique per card, so several cards fit in one message (search results).
            "action_id": f"{ACTION_IDS[kind]}:{paper.pmid}",
            "text": _plain(fit(t(lang, key), BUTTON_LIMIT)),
            "value": button_data(kind, paper.pmid),
        }
        for kind, key in (
            ("up", "card.more_like"),
            ("down", "card.less_like"),
            ("save", "card.save"),
        )
    ]
    buttons.append(
        {
            "type": "button",
            "action_id": f"open_pubmed:{paper.pmid}",
            "text": _plain(fit(t(lang, "card.pubmed"), BUTTON_LIMIT)),
            "url": paper.url,
        }
    )
    if paper.pmc_url:
        buttons.append(
            {
                "type": "button",
                "action_id": f"open_full_text:{paper.pmid}",
                "text": _plain(fit(t(lang, "card.full_text"), BUTTON_LIMIT)),
                "url": paper.pmc_url,
            }
        )
    return buttons


def list_messages(message: ListMessage) -> list[SlackMessage]:
    """The overflow list: a header line and one section per paper, in at most
    `message.max_messages` messages of ≤ 50 blocks; what does not fit is summarised in the
    last."""
    key = "list_message.continued" if message.continued else "list_message.header"
    header = t(message.language, key, count=len(message.items))
    pieces = [Piece(_section(esc(header)), 1)]
    found_by: dict[str, tuple[int, str] | None] = {}
    for item in message.items:
        paper = item.paper
        best = item.matched[0] if item.matched else None
        found_by[paper.pmid] = (best.number, best.query) if best else None
        score = f" — {best.score.value:.2f}" if best else ""
        source = esc(paper.journal_abbrev or paper.journal)
        title = shorten(display_title(paper, message.language), 500)
        text = f"• {_label(paper, message.language)}{link(paper.url, title)} ({source}){score}"
        pieces.append(Piece(_section(text), 1, (paper.pmid,)))
    pages = _pages(pieces, message.language, message.max_messages, found_by, in_digest=False)
    return [SlackMessage(fit(header, FALLBACK_LIMIT), blocks, pmids) for blocks, pmids in pages]


def digest_messages(message: DigestMessage) -> list[SlackMessage]:
    """The digest: a header, the follow-ups of papers the chat received (one line each), a
    section per paper under its subscription, then the rest as links; in at most
    `message.max_messages` messages of at most 50 blocks, what does not fit summarised in the
    last."""
    header = message.header()
    pieces: list[Piece[Block]] = [
        Piece({"type": "header", "text": _plain(fit(header, HEADER_LIMIT))}, 1)
    ]
    found_by: dict[str, tuple[int, str] | None] = {}
    if message.updates:
        pieces.append(Piece(_section(f"*{esc(message.updates_title())}*"), 1))
        updates = []
        for key, update in message.updates:
            found_by[key] = None
            title = shorten(update.title, 300) or f"PMID {update.pmid}"
            notice = link(update.notice_url, update.notice_label())
            text = f"• {esc(update.label())} {link(update.paper_url, title)} — {notice}"
            updates.append((text, key))
        pieces += [
            Piece(_section(text), 1, keys) for text, keys in _join_within(updates, SECTION_LIMIT)
        ]
    for section in message.sections:
        title = message.section_title(section)
        pieces.append(Piece(_section(f"*{fit(title, SECTION_LIMIT - 2)}*"), 1))
        for item in section.items:
            paper = item.paper
            found_by[paper.pmid] = item.found_by
            details = message.details(item)
            title = shorten(display_title(paper, message.language), 500)
            text = f"*{link(paper.url, title)}*"
            for status in standing_lines(paper, message.language):
                text += "\n" + status_mrkdwn(status)
            text += f"\n_{fit(details, 500)}_"
            if item.summary:
                text += "\n" + fit(item.summary, 1000)
            pieces.append(Piece(_section(text), 1, (paper.pmid,)))
    if message.more:
        pieces.append(Piece(_section(f"*{esc(message.more_title())}*"), 1))
        lines = []
        for item in message.more:
            found_by[item.paper.pmid] = item.found_by
            title = shorten(display_title(item.paper, message.language), 300)
            label = _label(item.paper, message.language)
            text = f"• {label}{link(item.paper.url, title)} — {item.score.value:.2f}"
            lines.append((text, item.paper.pmid))
        pieces += [
            Piece(_section(text), 1, pmids) for text, pmids in _join_within(lines, SECTION_LIMIT)
        ]
    pages = _pages(pieces, message.language, message.max_messages, found_by, in_digest=True)
    return [SlackMessage(fit(header, FALLBACK_LIMIT), blocks, pmids) for blocks, pmids in pages]


def _join_within(lines: list[tuple[str, str]], limit: int) -> list[tuple[str, tuple[str, ...]]]:
    """Lines (each with its PMID) joined into pieces of at most `limit` characters, never
    splitting a line; each piece with the PMIDs of its lines."""
    pieces: list[tuple[str, tuple[str, ...]]] = []
    current = ""
    pmids: tuple[str, ...] = ()
    for line, pmid in lines:
        if current and len(current) + 1 + len(line) > limit:
            pieces.append((current, pmids))
            current = ""
            pmids = ()
        current = f"{current}\n{line}" if current else line
        pmids = (*pmids, pmid)
    if current:
        pieces.append((current, pmids))
    return pieces


def _pages(
    pieces: list[Piece[Block]],
    language: str,
    max_messages: int,
    found_by: dict[str, tuple[int, str] | None],
    *,
    in_digest: bool,
) -> list[tuple[tuple[Block, ...], tuple[str, ...]]]:
    """The blocks in messages of at most 50; the last one tells what did not fit and where to
    see it, in one section."""

    def notice(left: tuple[str, ...]) -> list[Piece[Block]]:
        if not left:
            return []
        summary = overflow.left_out([found_by[pmid] for pmid in left])
        lines = [
            f"• {link(url, text)}" if url else f"_{_commands(text)}_"
            for text, url in overflow.notice(language, summary, digest=in_digest)
        ]
        return [Piece(_section(fit_mrkdwn("\n".join(lines))), 1)]

    pages = overflow.paginate(pieces, capacity=MAX_BLOCKS, max_messages=max_messages, notice=notice)
    return [(page.content, page.pmids) for page in pages]


def reply_messages(text: str, cards: tuple[Card, ...] = ()) -> list[SlackMessage]:
    """A command's reply: its text (split into sections), then any cards, ≤ 50 blocks each."""
    blocks = [_section(part) for part in _text_sections(text)]
    for card in cards:
        blocks += card_message(card).blocks
    fallback = fit(text, FALLBACK_LIMIT)
    return [SlackMessage(fallback, chunk) for chunk in _chunks(blocks, keep_cards=True)]


def _text_sections(text: str) -> list[str]:
    """Escaped text in pieces of at most a section each, split between lines."""
    pieces: list[str] = []
    current = ""
    for line in text.splitlines() or [""]:
        escaped = fit(line, SECTION_LIMIT)
        if current and len(current) + 1 + len(escaped) > SECTION_LIMIT:
            pieces.append(current)
            current = ""
        current = f"{current}\n{escaped}" if current else escaped
    pieces.append(current or " ")
    return pieces


def _chunks(blocks: list[Block], *, keep_cards: bool = False) -> list[tuple[Block, ...]]:
    """Blocks in messages of at most 50; with `keep_cards`, a card's blocks stay together."""
    groups: list[list[Block]] = []
    for block in blocks:
        starts_card = block["type"] == "header"
        if keep_cards and groups and not starts_card and groups[-1][0]["type"] == "header":
            groups[-1].append(block)
        else:
            groups.append([block])
    messages: list[list[Block]] = [[]]
    for group in groups:
        if len(messages[-1]) + len(group) > MAX_BLOCKS:
            messages.append([])
        messages[-1].extend(group)
    return [tuple(m) for m in messages if m]


def home_view(lang: str, help_text: str, subscriptions: str) -> dict[str, Any]:
    """The App Home tab: what the bot does, and the user's own subscriptions (their DM)."""
    blocks: list[Block] = [
        {"type": "header", "text": _plain(fit("Paper Surfer", HEADER_LIMIT))},
        *[_section(part) for part in _text_sections(subscriptions)],
        {"type": "divider"},
        *[_section(part) for part in _text_sections(help_text)],
    ]
    return {"type": "home", "blocks": blocks[:100]}


def followup_message(message: FollowupMessage) -> SlackMessage:
    """A follow-up in Block Kit: label, linked title, then (for a retraction or a concern) when
    the chat got the paper, and the linked notice. It is posted in the card's thread."""
    title = shorten(message.title, 500) or f"PMID {message.pmid}"
    head = f"*{esc(message.label())}* {link(message.paper_url, title)}"
    notice = link(message.notice_url, message.notice_label())
    context = message.context()
    lines = [head] + ([esc(context)] if context and not message.quiet else []) + [notice]
    text = fit(message.plain(), FALLBACK_LIMIT)
    return SlackMessage(text, (_section(fit_mrkdwn("\n".join(lines))),))
