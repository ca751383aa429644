"""Daily and weekly digests: one message a day (or a week, on the chat's weekday) for chats in
digest mode, at their own local time.

Papers owed to a digest-mode chat wait in the outbox. At the chat's digest time they are
planned into one batch (`digest-<local date>`) in a transaction, then sent like any delivery:
in at most three messages, each paper marked sent when the platform confirmed the message that
carried it, and a retry going on with the rest. So a digest is never lost, and a paper is never
in two digests. A day with nothing new (no paper, no follow-up) sends nothing.

The chat's follow-ups (a paper it received was corrected, got an expression of concern, a newer
version or a free copy; a retraction goes at once) are planned into the same batch and open the
digest as a section of one line each, marked sent with the message that carried them. A day
with follow-ups and no new papers still sends its digest, holding only them: the chat chose to
hear once a day, and they should not wait for a day that brings papers.

A weekly chat is a digest chat with a weekday (`Chat.digest_day`): only its job fires less
often, so its batch gathers everything owed since its last digest — the week — under the same
limits, splitting and exactly-once rules, and its follow-ups wait for it like a daily chat's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.finding import shorten
from bot.messages import DigestItem, DigestMessage, DigestSection, FollowupMessage
from bot.models import Chat, Delivery, MatchedQuery, Paper, Score
from bot.overflow import MAX_MESSAGES
from bot.scoring import UNRANKED_KINDS
from bot.standing import with_kind
from bot.summary import Summarize, summarize
from storage import Store

FULL = 10  # papers shown in full; the rest follow as short links
ONE_LINE = 180


def local_day(chat: Chat, now: datetime) -> str:
    return now.astimezone(ZoneInfo(chat.timezone)).date().isoformat()


def plan(store: Store, chat: Chat, now: datetime) -> int:
    """Gather what the chat is owed into today's digest batch, in one transaction: its papers,
    and its follow-ups that wait for a digest (all but retractions, which go at once). Returns
    how many papers and follow-ups it holds."""
    return store.outbox.plan_digest(chat.id, f"digest-{local_day(chat, now)}")


def build(
    chat: Chat,
    rows: Sequence[Delivery],
    now: datetime,
    *,
    papers: Mapping[str, Paper],
    matched: Mapping[str, Sequence[MatchedQuery]],
    summarizer: Summarize = summarize,
    progress: tuple[int, int] = (0, 0),
    updates: Sequence[tuple[str, FollowupMessage]] = (),
) -> DigestMessage:
    """The digest of `rows` (one batch): grouped by subscription, best first.

    `papers` and `matched` hold each row's paper and the chat's subscriptions that matched it,
    best first (the best already moved by the chat's feedback). `progress`: the (messages,
    papers) of this digest an earlier try delivered; `rows` are then the rest, and the digest
    goes on where it stopped (papers shown in full only while the first FULL are not all out).
    `updates`: the follow-ups of the batch not delivered yet, each with its key (`update_key`).
    """
    items: list[tuple[MatchedQuery | None, DigestItem]] = []
    for row in rows:
        paper = papers[row.pmid]
        found = matched.get(row.pmid, ())
        best = found[0] if found else None
        score = with_kind(best.score if best else Score(row.score, "", ()), paper)
        summary = summarizer(paper, chat.language)
        if paper.kind == "notice":  # its status line says what it is and what it concerns
            line = ""
        elif paper.kind == "commentary":  # a commentary has no finding of its own
            line = shorten(summary.text, ONE_LINE)
        else:
            line = shorten(summary.finding or summary.text, ONE_LINE)
        found_by = (best.number, best.query) if best else None
        items.append((best, DigestItem(paper, score, summary.design, line, found_by)))
    # Research and reviews first: a notice or commentary scores by the words of the paper it
    # concerns, and should not take the place of a study among the papers shown in full.
    items.sort(
        key=lambda pair: (
            pair[1].paper.kind in UNRANKED_KINDS,
            -pair[1].score.value,
            pair[1].paper.pmid,
        )
    )
    messages, delivered = progress
    in_full = max(0, FULL - delivered)
    full, rest = items[:in_full], items[in_full:]
    groups: dict[tuple[int, str], list[DigestItem]] = {}
    for best, item in full:
        key = (best.number, best.query) if best else (0, "")
        groups.setdefault(key, []).append(item)
    sections = tuple(
        DigestSection(number, query, tuple(group)) for (number, query), group in groups.items()
    )
    return DigestMessage(
        language=chat.language,
        day=local_day(chat, now),
        total=len(items),
        sections=sections,
        more=tuple(item for _, item in rest),
        continued=messages > 0,
        max_messages=max(1, MAX_MESSAGES - messages),
        updates=tuple(updates),
        weekly=chat.weekly,
    )


def update_key(followup_id: int) -> str:
    """How a follow-up is named among the PMIDs a digest's message delivers (never a PMID)."""
    return f"followup:{followup_id}"
