"""Telegram rendering: cards, lists and replies as HTML messages that Telegram accepts.

Pure functions, no network. Every text is escaped; a message never exceeds 4,096 characters
after entity parsing (counted in UTF-16 code units, as Telegram counts). Long parts are
shortened as plain text before escaping, so a cut never lands inside a tag or an entity: the
abstract first, then the summary, then the title.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

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

LIMIT = 4096
_TAG = re.compile(r"<[^>]*>")
MAX_AUTHORS = 3


@dataclass(frozen=True, slots=True)
class Button:
    text: str
    url: str = ""
    data: str = ""


@dataclass(frozen=True, slots=True)
class TelegramMessage:
    html: str
    keyboard: tuple[tuple[Button, ...], ...] = field(default=())
    pmids: tuple[str, ...] = ()  # the papers of a list or digest this message delivers


def length(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji counts two)."""
    return len(text.encode("utf-16-le")) // 2


def esc(text: str) -> str:
    return html.escape(text, quote=False)


def attr(text: str) -> str:
    return html.escape(text, quote=True)


def status_html(line: StatusLine) -> str:
    """A status line as HTML: its links as links, in bold when it warns."""
    text = "".join(
        f'<a href="{attr(s.url)}">{esc(s.text)}</a>' if s.url else esc(s.text)
        for s in line.segments
    )
    return f"<b>{text}</b>" if line.warning else text


def _label(paper: Paper, lang: str) -> str:
    """The short status that starts a one-line entry ("⚠️ Retracted · "), escaped, or ""."""
    label = short_label(paper, lang)
    return f"{esc(label)} · " if label else ""


def card_message(card: Card, matched: tuple[MatchedQuery, ...] = ()) -> TelegramMessage:
    """A card: status lines, title, authors, source, match, summary, then as much abstract as
    fits. The status lines come first, so a chat's notification preview shows them too."""
    paper, lang = card.paper, card.summary.language
    standing = [(status_html(line), line.text) for line in standing_lines(paper, lang)]
    authors = _authors(paper, lang)
    source = " · ".join(p for p in (paper.journal_abbrev or paper.journal, _date(paper)) if p)
    match = ""
    score = card.collection.score if card.collection else None
    if score is not None:
        queries = "; ".join(f"#{m.number} {m.query}" for m in matched) or "; ".join(
            card.collection.queries if card.collection else ()
        )
        match = t(
            lang,
            "card.score",
            score=f"{score.value:.2f}",
            category=category_name(lang, score.category),
        )
        if queries:
            match += " · " + queries
        if score.notes:
            match += " · " + "; ".join(score.notes)
    title = display_title(paper, lang)
    summary = card.summary.text
    abstract = paper.abstract or t(lang, "card.no_abstract")

    def build(title: str, summary: str, abstract: str) -> tuple[str, int]:
        # (markup, what Telegram shows) per line; the second is what the limit counts
        lines = [
            *standing,  # never shortened: the limit is met by the parts below
            (f"<b>{esc(title)}</b>", title),
            (esc(authors), authors),
            (f"<i>{esc(source)}</i>", source),
            (esc(match), match),
            (f"📝 {esc(summary)}", f"📝 {summary}"),
            (f"<blockquote expandable>{esc(abstract)}</blockquote>", abstract),
        ]
        shown = [(markup, plain) for markup, plain in lines if plain]
        return "\n".join(m for m, _ in shown), length("\n".join(p for _, p in shown))

    text, size = build(title, summary, abstract)
    if size > LIMIT:  # shorten the abstract first, then the summary, then the title
        fixed = size - length(abstract)
        abstract = _fit(abstract, LIMIT - fixed)
        text, size = build(title, summary, abstract)
    if size > LIMIT:
        summary = _fit(summary, max(40, length(summary) - (size - LIMIT)))
        text, size = build(title, summary, abstract)
    if size > LIMIT:
        title = _fit(title, max(40, length(title) - (size - LIMIT)))
        text, size = build(title, summary, abstract)
    return TelegramMessage(text, _keyboard(paper, lang))


def _fit(text: str, budget: int) -> str:
    """Shorten plain text to `budget` UTF-16 units at a word boundary ('' when no room)."""
    if budget <= 1:
        return ""
    cut = shorten(text, budget)
    while length(cut) > budget:  # astral characters count double: trim until it fits
        cut = shorten(cut[:-2], budget)
    return cut


def _authors(paper: Paper, lang: str) -> str:
    names = list(paper.authors[:MAX_AUTHORS])
    if len(paper.authors) > MAX_AUTHORS:
        names.append(t(lang, "card.authors_more", count=len(paper.authors)))
    return ", ".join(names)


def _date(paper: Paper) -> str:
    return paper.pub_date or paper.pub_date_text


def _keyboard(paper: Paper, lang: str) -> tuple[tuple[Button, ...], ...]:
    feedback = tuple(
        Button(t(lang, key), data=button_data(kind, paper.pmid))
        for kind, key in (
            ("up", "card.more_like"),
            ("down", "card.less_like"),
            ("save", "card.save"),
        )
    )
    links = [Button(t(lang, "card.pubmed"), url=paper.url)]
    if paper.pmc_url:
        links.append(Button(t(lang, "card.full_text"), url=paper.pmc_url))
    return (feedback, tuple(links))


def list_messages(message: ListMessage) -> list[TelegramMessage]:
    """The overflow list: a header and one linked line per paper, in at most
    `message.max_messages` messages that fit; what does not fit is summarised in the last."""
    key = "list_message.continued" if message.continued else "list_message.header"
    pieces = [_line(esc(t(message.language, key, count=len(message.items))))]
    found_by: dict[str, tuple[int, str] | None] = {}
    for item in message.items:
        paper = item.paper
        best = item.matched[0] if item.matched else None
        found_by[paper.pmid] = (best.number, best.query) if best else None
        score = f" — {best.score.value:.2f}" if best else ""
        source = paper.journal_abbrev or paper.journal
        title = esc(shorten(display_title(paper, message.language), 300))
        label = _label(paper, message.language)
        line = f'• {label}<a href="{attr(paper.url)}">{title}</a> ({esc(source)}){score}'
        pieces.append(_line(line, paper.pmid))
    return _pages(pieces, message.language, message.max_messages, found_by, in_digest=False)


def digest_messages(message: DigestMessage) -> list[TelegramMessage]:
    """The digest: a header, the follow-ups of papers the chat received (one line each), each
    subscription's papers with design, score and one line of summary, then the rest as links;
    split between papers, in at most `message.max_messages` messages, what does not fit
    summarised in the last."""
    pieces = [_line(f"<b>{esc(message.header())}</b>")]
    found_by: dict[str, tuple[int, str] | None] = {}
    if message.updates:
        pieces.append(_line(f"\n<b>{esc(message.updates_title())}</b>"))
        for key, update in message.updates:
            found_by[key] = None
            title = esc(shorten(update.title, 300)) or f"PMID {esc(update.pmid)}"
            notice = f'<a href="{attr(update.notice_url)}">{esc(update.notice_label())}</a>'
            line = (
                f'• {esc(update.label())} <a href="{attr(update.paper_url)}">{title}</a> — {notice}'
            )
            pieces.append(_line(line, key))
    for section in message.sections:
        title = message.section_title(section)
        pieces.append(_line(f"\n<b>{esc(title)}</b>"))
        for item in section.items:
            paper = item.paper
            found_by[paper.pmid] = item.found_by
            details = message.details(item)
            title = esc(shorten(display_title(paper, message.language), 300))
            entry = f'• <a href="{attr(paper.url)}">{title}</a>\n'
            for status in standing_lines(paper, message.language):
                entry += status_html(status) + "\n"
            entry += f"<i>{esc(details)}</i>"
            if item.summary:
                entry += f"\n{esc(item.summary)}"
            pieces.append(_line(entry, paper.pmid))
    if message.more:
        pieces.append(_line(f"\n<b>{esc(message.more_title())}</b>"))
        for item in message.more:
            found_by[item.paper.pmid] = item.found_by
            title = esc(shorten(display_title(item.paper, message.language), 300))
            label = _label(item.paper, message.language)
            line = f'• {label}<a href="{attr(item.paper.url)}">{title}</a> — {item.score.value:.2f}'
            pieces.append(_line(line, item.paper.pmid))
    return _pages(pieces, message.language, message.max_messages, found_by, in_digest=True)


def _line(html_line: str, pmid: str = "") -> Piece[str]:
    """A line of a list or digest, measured as Telegram counts it (cut if it alone is too
    long)."""
    size = length(_plain(html_line))
    if size > LIMIT:
        html_line = _within_limit(html_line)
        size = length(_plain(html_line))
    return Piece(html_line, size, (pmid,) if pmid else ())


def _pages(
    pieces: list[Piece[str]],
    language: str,
    max_messages: int,
    found_by: dict[str, tuple[int, str] | None],
    *,
    in_digest: bool,
) -> list[TelegramMessage]:
    """The pieces in messages; the last one tells what did not fit and where to see it."""

    def notice(left: tuple[str, ...]) -> list[Piece[str]]:
        if not left:
            return []
        summary = overflow.left_out([found_by[pmid] for pmid in left])
        lines = [
            f'• <a href="{attr(url)}">{esc(text)}</a>' if url else f"<i>{_commands(text)}</i>"
            for text, url in overflow.notice(language, summary, digest=in_digest)
        ]
        lines[0] = "\n" + lines[0]  # a blank line between the papers and the notice
        return [_line(line) for line in lines]

    pages = overflow.paginate(
        pieces, capacity=LIMIT, separator=1, max_messages=max_messages, notice=notice
    )
    return [TelegramMessage("\n".join(page.content), pmids=page.pmids) for page in pages]


def _commands(text: str) -> str:
    """Escaped text whose `verb …` spans become the Telegram commands to type, in <code>."""
    return re.sub(r"`([^`<>&]+)`", r"<code>/\1</code>", esc(text))


def reply_messages(text: str) -> list[str]:
    """A plain-text command reply, escaped and split into messages that fit."""
    return split_lines([esc(line) for line in text.splitlines()] or [""])


def split_lines(lines: list[str]) -> list[str]:
    """Join HTML lines into messages of at most LIMIT parsed characters, never inside a line.

    A single line longer than the limit is cut as plain text (its tags dropped) rather than
    risk cutting inside a tag.
    """
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        line = _within_limit(line)
        line_size = length(_plain(line))
        if current and size + 1 + line_size > LIMIT:
            chunks.append("\n".join(current))
            current, size = [], 0
        size += line_size + (1 if current else 0)
        current.append(line)
    if current:
        chunks.append("\n".join(current))
    return chunks


def _within_limit(line: str) -> str:
    """A line longer than a message, cut as plain text (its tags dropped) rather than risk
    cutting inside a tag."""
    if length(_plain(line)) > LIMIT:
        return esc(_fit(_plain(line), LIMIT))
    return line


def _plain(fragment: str) -> str:
    """What Telegram shows for a fragment of our own HTML: tags removed, entities decoded.

    Our HTML escapes every text and attribute (`esc`, `attr`), so a "<" always opens one of our
    tags and a ">" inside a tag is always escaped: removing `<...>` is exact, and ten times
    faster than an HTML parser (a list measures every line of thousands of papers)."""
    return html.unescape(_TAG.sub("", fragment))


def followup_message(message: FollowupMessage) -> TelegramMessage:
    """A follow-up in HTML: label, linked title, then (for a retraction or a concern) when the
    chat got the paper, and the linked notice. It is sent as a reply to the paper's card."""
    context = message.context()
    notice = f'<a href="{attr(message.notice_url)}">{esc(message.notice_label())}</a>'
    budget = LIMIT - length(message.label()) - length(context) - length(message.notice_label())
    title = _fit(message.title, max(40, budget - 200)) or f"PMID {message.pmid}"
    head = f'<b>{esc(message.label())}</b> <a href="{attr(message.paper_url)}">{esc(title)}</a>'
    if message.quiet:
        return TelegramMessage(f"{head}\n{notice}")
    lines = [head] + ([esc(context)] if context else []) + [notice]
    return TelegramMessage("\n".join(lines))
