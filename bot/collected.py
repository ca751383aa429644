"""Cards of collected papers: when they were collected, by which queries, how well they match.

The one way a search (`search` in a chat, `paper-surfer search`) and a delivery build their
cards, so a card says the same about a paper wherever it comes from.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from bot.cards import Card, Collection
from bot.config import Settings
from bot.models import Paper, Score
from bot.pubmed import query as pubmed_query
from bot.scoring import score
from bot.summary import Summarize, summarize


def card(
    paper: Paper,
    language: str,
    when: datetime,
    queries: Sequence[str],
    best: Score | None,
    summarizer: Summarize = summarize,
) -> Card:
    """The card of `paper` collected at `when` by `queries`, showing the `best` match's score."""
    return Card.build(paper, language, Collection(when, tuple(queries), best), summarizer)


def search_cards(
    papers: Iterable[Paper],
    query: str,
    language: str,
    when: datetime,
    settings: Settings,
    summarizer: Summarize = summarize,
    *,
    translation: str = "",
) -> tuple[Card, ...]:
    """The cards of what a search for `query` found, newest first, each scored against it (and
    against what PubMed's `translation` of it searched, as a subscription's papers are)."""
    expr = pubmed_query.with_translation(pubmed_query.parse(query), translation)
    return tuple(
        card(
            paper,
            language,
            when,
            (query,),
            score(expr, paper, high=settings.score_high, medium=settings.score_medium),
            summarizer,
        )
        for paper in sorted(papers, key=_newest_first, reverse=True)
    )


def _newest_first(paper: Paper) -> tuple[str, int]:
    return paper.entrez_date, int(paper.pmid) if paper.pmid.isdigit() else 0
