"""What a chat's 👍 and 👎 teach: papers like the liked ones score higher there, bounded.

A chat's taste is the MeSH headings, keywords and journals of the papers its people liked
(+1 each) and disliked (-1 each). A later paper sharing those terms gains or loses up to 0.04
per term, at most 0.2 in all, and the card says why ("you liked 3 papers on Gene Editing").
Only that chat's scores move; the keyword matching score itself is unchanged in the database.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace

from bot.i18n import t
from bot.models import Paper, Score
from bot.scoring import category
from bot.topics import GENERIC_HEADINGS

MAX_SHIFT = 0.2
PER_TERM = 0.04


@dataclass(frozen=True)
class Taste:
    """Weights of terms (+ liked, - disliked) and how many liked/disliked papers had each."""

    weights: dict[str, int] = field(default_factory=dict)
    liked: Counter[str] = field(default_factory=Counter)
    disliked: Counter[str] = field(default_factory=Counter)

    def __bool__(self) -> bool:
        return bool(self.weights)


def terms(paper: Paper) -> set[str]:
    """The topic terms of a paper: specific MeSH headings, keywords and its journal."""
    found = {f"mesh:{m}" for m in paper.mesh_terms if m not in GENERIC_HEADINGS}
    found |= {f"keyword:{k.casefold()}" for k in paper.keywords}
    if paper.journal:
        found.add(f"journal:{paper.journal}")
    return found


def taste(opinions: list[tuple[Paper, str]]) -> Taste:
    """A chat's taste from (paper, "up"|"down") opinions."""
    weights: Counter[str] = Counter()
    liked: Counter[str] = Counter()
    disliked: Counter[str] = Counter()
    for paper, kind in opinions:
        sign = 1 if kind == "up" else -1
        for term in terms(paper):
            weights[term] += sign
            (liked if sign > 0 else disliked)[term] += 1
    return Taste({k: v for k, v in weights.items() if v}, liked, disliked)


def adjust(
    preferences: Taste,
    paper: Paper,
    score: Score,
    language: str,
    *,
    high: float = 0.7,
    medium: float = 0.4,
) -> Score:
    """`score` moved by the chat's taste (at most ±0.2), with a note saying why."""
    if not preferences:
        return score
    shared = [
        (term, preferences.weights[term]) for term in terms(paper) if term in preferences.weights
    ]
    if not shared:
        return score
    shift = sum(max(-2.5, min(2.5, w)) * PER_TERM for _, w in shared)
    shift = max(-MAX_SHIFT, min(MAX_SHIFT, shift))
    if not shift:
        return score
    value = round(min(1.0, max(0.0, score.value + shift)), 4)
    strongest, weight = max(shared, key=lambda pair: (abs(pair[1]), pair[0]))
    kind, _, name = strongest.partition(":")
    feeling = "liked" if weight > 0 else "disliked"
    count = (preferences.liked if weight > 0 else preferences.disliked)[strongest]
    key = f"feedback.{feeling}_{kind}" + ("_one" if count == 1 else "")
    note = t(language, key, count=count, topic=name) if count != 1 else t(language, key, topic=name)
    return replace(
        score,
        value=value,
        category=category(value, high, medium, kind=paper.kind),
        notes=(*score.notes, note),
    )
