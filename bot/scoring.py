"""The Keyword Matching Score: how well a paper matches the query that found it, from 0 to 1.

Each term of the query scores by the fields it appears in (title counts most, then MeSH, then
keywords, then abstract), relative to the best it could do in the fields its tag allows. The
query's tree combines them the way PubMed combined the terms: AND averages its parts, OR takes
the best alternative, NOT keeps its left side (PubMed already removed papers with the rest).
Case and simple plurals are ignored; quoted phrases must appear whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from bot.models import MatchReason, Paper, Score
from bot.pubmed import query as pubmed_query
from bot.pubmed.query import Expr, Term

# How much finding a term in one field says about the paper being about it.
FIELD_WEIGHTS = {"title": 0.6, "mesh": 0.5, "keywords": 0.4, "abstract": 0.35}
FIELD_ORDER = ("title", "abstract", "keywords", "mesh")

_WORD = re.compile(r"[^\W_]+")
_POSSESSIVE = re.compile(r"['’]s\b")


# Kinds of record whose score is no relevance judgement: an erratum carries the words of the
# paper it corrects, an editorial those of the one it discusses. Their category is their kind.
UNRANKED_KINDS = ("notice", "commentary")


def category(value: float, high: float = 0.7, medium: float = 0.4, *, kind: str = "") -> str:
    """high / medium / low for a score, judged on the two decimals the reader sees; `notice`
    or `commentary` for a paper of that kind (`Paper.kind`), whatever its score."""
    if kind in UNRANKED_KINDS:
        return kind
    shown = round(value, 2)
    if shown >= high:
        return "high"
    if shown >= medium:
        return "medium"
    return "low"


def score(
    query: str | Expr | None, paper: Paper, *, high: float = 0.7, medium: float = 0.4
) -> Score:
    """Score `paper` against `query` (its text, or a tree from `bot.pubmed.query.parse`)."""
    expr = pubmed_query.parse(query) if isinstance(query, str) else query
    text = PaperText.of(paper)
    reasons: dict[str, set[str]] = {}
    value = _evaluate(expr, text, reasons)
    if value is None:  # only filters (author, journal, date): PubMed's match is the whole story
        value = 1.0
    value = round(min(1.0, max(0.0, value)), 4)
    ordered = tuple(
        MatchReason(term, tuple(f for f in FIELD_ORDER if f in fields))
        for term, fields in reasons.items()
    )
    return Score(value, category(value, high, medium, kind=paper.kind), ordered)


@dataclass(frozen=True, slots=True)
class PaperText:
    """A paper's searchable fields as lists of normalised words."""

    title: tuple[str, ...]
    abstract: tuple[str, ...]
    keywords: tuple[tuple[str, ...], ...]
    mesh: tuple[tuple[str, ...], ...]

    @staticmethod
    def of(paper: Paper) -> PaperText:
        return _paper_text(paper)

    def field(self, name: str) -> tuple[tuple[str, ...], ...]:
        if name == "title":
            return (self.title,)
        if name == "abstract":
            return (self.abstract,)
        return self.keywords if name == "keywords" else self.mesh


@lru_cache(maxsize=4096)
def _paper_text(paper: Paper) -> PaperText:
    title = paper.title + " " + paper.vernacular_title
    return PaperText(
        title=words(title),
        abstract=words(paper.abstract),
        keywords=tuple(words(k) for k in paper.keywords),
        mesh=tuple(words(m) for m in paper.mesh_terms),
    )


def words(text: str) -> tuple[str, ...]:
    """Lower-case words with simple plurals folded: 'Studies of Mice' -> ('study', 'of', 'mice')."""
    return tuple(map(singular, _WORD.findall(_POSSESSIVE.sub("", text.casefold()))))


# Abstracts repeat a small vocabulary: a first poll folds ~1.7 million words, ~60,000 distinct.
@lru_cache(maxsize=1 << 17)
def singular(word: str) -> str:
    """Fold the regular English plural endings, and nothing cleverer."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("sses", "xes", "zes", "ches", "shes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _evaluate(expr: Expr | None, text: PaperText, reasons: dict[str, set[str]]) -> float | None:
    if expr is None:
        return None
    if isinstance(expr, Term):
        return _term_score(expr, text, reasons)
    if expr.op == "NOT":
        return _evaluate(expr.parts[0], text, reasons)
    values = [v for v in (_evaluate(p, text, reasons) for p in expr.parts) if v is not None]
    if not values:
        return None
    return max(values) if expr.op == "OR" else sum(values) / len(values)


def _term_score(term: Term, text: PaperText, reasons: dict[str, set[str]]) -> float | None:
    allowed = term.fields
    if not allowed or term.is_stopword:
        return None
    pattern = _pattern(term)
    if not pattern:
        return None
    found = {f for f in allowed if any(_contains(seq, pattern) for seq in text.field(f))}
    if found:
        reasons.setdefault(str(term), set()).update(found)
    return _coverage(found) / _coverage(allowed)


def _coverage(fields: set[str] | frozenset[str]) -> float:
    """Chance-style union of field weights: each extra field adds, never past 1."""
    missing = 1.0
    for name in fields:
        missing *= 1.0 - FIELD_WEIGHTS[name]
    return 1.0 - missing


def _pattern(term: Term) -> tuple[str, ...]:
    if term.prefix:
        stem = term.text.rstrip("*")
        head = words(stem)
        # The last word is a prefix: keep it unfolded ("studies*" should not become "study").
        raw = _WORD.findall(stem.casefold())
        return (*head[:-1], raw[-1] + "*") if raw else ()
    return words(term.text)


def _contains(seq: tuple[str, ...], pattern: tuple[str, ...]) -> bool:
    """True when `pattern` appears as consecutive words of `seq` (last word may be a prefix)."""
    size = len(pattern)
    if size == 0 or size > len(seq):
        return False
    last = pattern[-1]
    prefix = last.endswith("*")
    stem = last[:-1]
    first = pattern[0]
    for start in range(len(seq) - size + 1):
        if size == 1:
            word = seq[start]
            if word.startswith(stem) if prefix else word == first:
                return True
            continue
        if seq[start] != first or seq[start + 1 : start + size - 1] != pattern[1:-1]:
            continue
        word = seq[start + size - 1]
        if word.startswith(stem) if prefix else word == last:
            return True
    return False


def explain(reasons: tuple[MatchReason, ...]) -> str:
    """'"liver metastases": title, abstract; chemotherapy: mesh' for cards and replies."""
    return "; ".join(str(r) for r in reasons)
