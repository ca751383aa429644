"""Long lists and digests in a few messages: what fits is listed, the rest is summarised.

Papers beyond a poll's card budget go out as one list, and a digest-mode chat gets every paper
of the day in one digest; either could take hundreds of messages (one query brought 9,616
papers, about 480 Telegram messages). Each takes at most MAX_MESSAGES. When the papers do not
fit, the last message ends with a notice: how many were left out, and where to see them all
(`export csv alerts`, the daily digest, each subscription's search on PubMed). The papers the
notice stands for count as delivered with that message: they are in the export and behind the
links, so they are neither lost nor sent again.

Each message knows which papers it delivers (`Page.pmids`), so delivery records them as soon
as the platform confirmed that message, and a retry continues with the papers not yet
confirmed (bot/delivery.py).

Pure: pieces in, pages out. The platforms measure their pieces (Telegram in characters, Slack
in blocks) and write the notice's words in their own markup.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from bot.finding import shorten
from bot.i18n import t
from bot.models import search_url

# Messages a list or a digest may take, the notice of what did not fit included. Three keep a
# chat readable and let a list or digest go out within the send lease (bot/delivery.py).
MAX_MESSAGES = 3
MAX_SEARCH_LINKS = 5  # searches linked in a notice, most papers first
SEARCH_LABEL = 100  # characters of a query shown in a notice

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Piece(Generic[T]):
    """A line or block of a long message, its size as its platform counts it, and the papers
    it lists (none for a header or a title)."""

    content: T
    size: int
    pmids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One message: its lines or blocks, and every paper it delivers, listed or summarised."""

    content: tuple[T, ...]
    pmids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Search:
    """A subscription that found papers left out of a message."""

    number: int
    query: str
    papers: int

    @property
    def url(self) -> str:
        return search_url(self.query)


@dataclass(frozen=True, slots=True)
class LeftOut:
    """Papers a message could not list: how many, and the searches that found them."""

    count: int
    searches: tuple[Search, ...]  # linked, most papers first
    unlinked: int  # further subscriptions, beyond MAX_SEARCH_LINKS


def left_out(found_by: Sequence[tuple[int, str] | None]) -> LeftOut:
    """Papers left out, each given by the subscription (number, query) that found it best."""
    counts = Counter(found for found in found_by if found is not None)
    ranked = sorted(counts.items(), key=lambda pair: (-pair[1], pair[0][0]))
    searches = tuple(Search(number, query, n) for (number, query), n in ranked)
    return LeftOut(
        len(found_by), searches[:MAX_SEARCH_LINKS], max(0, len(searches) - MAX_SEARCH_LINKS)
    )


def notice(language: str, left: LeftOut, *, digest: bool) -> list[tuple[str, str]]:
    """The notice's lines as (text, link); a link is "" for a line of plain text."""
    where = "overflow.where_digest" if digest else "overflow.where_list"
    lines = [(t(language, "overflow.count", count=left.count), ""), (t(language, where), "")]
    lines += [
        (
            t(
                language,
                "overflow.search",
                number=search.number,
                query=shorten(search.query, SEARCH_LABEL),
                count=search.papers,
            ),
            search.url,
        )
        for search in left.searches
    ]
    if left.unlinked:
        lines.append((t(language, "overflow.more_searches", count=left.unlinked), ""))
    return lines


def gave_up(language: str, left: LeftOut, *, attempts: int, digest: bool) -> str:
    """The plain-text notice sent instead of a list or digest that failed `attempts` times."""
    lines = [t(language, "overflow.gave_up", count=left.count, attempts=attempts)]
    for text, url in notice(language, left, digest=digest)[1:]:
        lines.append(f"• {text}: {url}" if url else text)
    return "\n".join(lines)


def paginate(
    pieces: Sequence[Piece[T]],
    *,
    capacity: int,
    separator: int = 0,
    max_messages: int = MAX_MESSAGES,
    notice: Callable[[tuple[str, ...]], list[Piece[T]]],
) -> list[Page[T]]:
    """`pieces` in order, in at most `max_messages` messages of at most `capacity` (a message's
    size is the sum of its pieces', plus `separator` between two). When they do not all fit,
    the last message ends with `notice(PMIDs left out)` and delivers those papers too.

    Deterministic: the same pieces give the same pages."""
    max_messages = max(1, max_messages)
    pages: list[list[Piece[T]]] = []
    start = 0
    while start < len(pieces) and len(pages) <= max_messages:
        count = max(1, _fitting(pieces, start, capacity, separator))
        pages.append(list(pieces[start : start + count]))
        start += count
    if start == len(pieces) and len(pages) <= max_messages:
        return [_page(page, ()) for page in pages]
    head = pages[: max_messages - 1]
    rest = list(pieces[sum(len(page) for page in head) :])
    # The last message: as many of the rest as fit beside the notice of what is left out. The
    # notice of all the rest is a first guess of its size; a shorter notice may let more in,
    # a different one (other searches linked) may need more room, so the fit is then checked.
    guess = _size(notice(_pmids(rest)), separator)
    last = rest[: _fitting(rest, 0, capacity - guess - separator, separator)]
    while last:
        size = (
            _size(last, separator) + separator + _size(notice(_pmids(rest[len(last) :])), separator)
        )
        if size <= capacity:
            break
        last.pop()
    # A title left at the end with nothing under it moves to the left-out part.
    while len(last) > 1 and not last[-1].pmids and any(piece.pmids for piece in last):
        last.pop()
    out = _pmids(rest[len(last) :])
    return [*(_page(page, ()) for page in head), _page([*last, *notice(out)], out)]


def _fitting(pieces: Sequence[Piece[T]], start: int, capacity: int, separator: int) -> int:
    """How many pieces from `start` on fit in `capacity`."""
    used = 0
    for count, piece in enumerate(itertools.islice(pieces, start, None)):
        used += piece.size + (separator if count else 0)
        if used > capacity:
            return count
    return len(pieces) - start


def _size(pieces: Sequence[Piece[T]], separator: int) -> int:
    return sum(piece.size for piece in pieces) + separator * max(0, len(pieces) - 1)


def _pmids(pieces: Sequence[Piece[T]]) -> tuple[str, ...]:
    return tuple(pmid for piece in pieces for pmid in piece.pmids)


def _page(pieces: Sequence[Piece[T]], summarised: tuple[str, ...]) -> Page[T]:
    return Page(tuple(piece.content for piece in pieces), _pmids(pieces) + summarised)
