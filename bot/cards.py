"""The card: one platform-neutral model of a paper as a reader sees it.

It is rendered as Markdown, text and JSON by bot/plain.py, and by Slack and Telegram in their own
modules under `handlers/`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from bot.models import Paper, Score
from bot.standing import with_kind
from bot.summary import Summarize, Summary, summarize


@dataclass(frozen=True, slots=True)
class Collection:
    """How a paper reached the reader: when, by which queries, and how well it matched."""

    collected_at: datetime
    queries: tuple[str, ...]
    score: Score | None = None


@dataclass(frozen=True, slots=True)
class Card:
    """Everything a rendering needs; `collection` is None for a plain look-up by PMID."""

    paper: Paper
    summary: Summary
    collection: Collection | None = None

    @classmethod
    def build(
        cls,
        paper: Paper,
        language: str = "en",
        collection: Collection | None = None,
        summarizer: Summarize = summarize,
    ) -> Card:
        if collection is not None and collection.score is not None:
            # A score stored before notices and commentary had their own category shows it too.
            collection = replace(collection, score=with_kind(collection.score, paper))
        return cls(paper, summarizer(paper, language), collection)
