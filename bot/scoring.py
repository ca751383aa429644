"""The Keyword Matching Score: how well a paper matches the query that found it, from 0 to 1.

Each term of the query scores by the fields it appears in (title counts most, then MeSH, then
author keywords, then abstract), relative to the best it could do in the fields its tag allows
(`[tiab]` is title, abstract and author keywords, as in PubMed). The query's tree combines them
the way PubMed combined the terms: AND averages its parts, OR takes the best alternative, NOT
keeps its left side (PubMed already removed papers with the rest). Quoted phrases must appear
whole.

Word forms, one rule (`fold`), applied alike to the query and the paper: case is ignored, a
possessive 's is dropped, regular plurals become singular ("studies" -> "study", "boxes" ->
"box", "tumors" -> "tumor"), and then a noun in -ation whose stem has at least five letters
becomes its -e word ("vaccination" -> "vaccine", "examination" -> "examine", "immunization" ->
"immunize", "observation" -> "observe"), so `vaccine` finds "vaccination" and the other way
round. Not when the stem ends in -iv, -ul or -ic, where the -e word means something else
("activation" is not "active", "modulation" not "module", "indication" not "indices"); on the
NLM daily file the rule still pairs "aspiration" with "aspire" and "supination" with "supine".
The rule does not touch verb forms ("vaccinated", "vaccinating"), -ation on a bare stem
("information", "inform"), -ation and -ate ("lactation", "lactate": another substance),
irregular plurals ("mice"), or British and American spellings ("tumour"). A wildcard (`vaccinat*`)
matches the words as written, unfolded.

PubMed's own translation. An untagged word is searched by PubMed through its automatic term
mapping: `cancer` becomes `"cancer"[All Fields] OR "neoplasms"[MeSH Terms] OR ...`. When the
subscription stored that translation, `bot.pubmed.query.with_translation` hangs those
alternatives on the term (`Term.also`), and a field where any of them is found counts for the
term: the MeSH heading Neoplasms counts for `cancer`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from bot.models import MatchReason, Paper, Score
from bot.pubmed import query as pubmed_query
from bot.pubmed.query import Expr, Term

# How much finding a term in one field says about the paper being about it. "keywords" are the
# author keywords (KeywordList), their own evidence: chosen by the authors, weaker than a title.
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
    """A paper's searchable fields as lists of folded words, with the words as written (for
    wildcards) alongside."""

    title: tuple[str, ...]
    abstract: tuple[str, ...]
    keywords: tuple[tuple[str, ...], ...]
    mesh: tuple[tuple[str, ...], ...]
    raw: dict[str, tuple[tuple[str, ...], ...]]

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
    raw = {
        "title": (_raw_words(title),),
        "abstract": (_raw_words(paper.abstract),),
        "keywords": tuple(_raw_words(k) for k in paper.keywords),
        "mesh": tuple(_raw_words(m) for m in paper.mesh_terms),
    }
    get = _FOLDS.__getitem__
    folded = {name: tuple(tuple(map(get, seq)) for seq in seqs) for name, seqs in raw.items()}
    return PaperText(
        title=folded["title"][0],
        abstract=folded["abstract"][0],
        keywords=folded["keywords"],
        mesh=folded["mesh"],
        raw=raw,
    )


def _raw_words(text: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(_POSSESSIVE.sub("", text.casefold())))


def words(text: str) -> tuple[str, ...]:
    """Lower-case words, each folded: 'Studies of Vaccinations' -> ('study', 'of', 'vaccine')."""
    return tuple(map(_FOLDS.__getitem__, _raw_words(text)))


def singular(word: str) -> str:
    """Fold the regular English plural endings, and nothing cleverer."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("sses", "xes", "zes", "ches", "shes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


# Stems whose -e word is another word: activ-e, modul-e, indic-e(s).
_ATION_EXCEPTIONS = ("iv", "ul", "ic")


def fold(word: str) -> str:
    """The one stemming rule (see the module's docstring): singular, then -ation -> -e."""
    return _FOLDS[word]


def _fold(word: str) -> str:
    word = singular(word)
    stem = word[:-5]
    if word.endswith("ation") and len(stem) >= 5 and not stem.endswith(_ATION_EXCEPTIONS):
        return stem + "e"
    return word


class _Folded(dict[str, str]):
    """Words already folded. Abstracts repeat a small vocabulary (the daily file: ~5 million
    words, ~86,000 distinct), and a dict lookup mapped in C costs a fraction of a call."""

    def __missing__(self, word: str) -> str:
        if len(self) >= 1 << 18:  # a bound on memory: start again
            self.clear()
        folded = self[word] = _fold(word)
        return folded


_FOLDS = _Folded()


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
    found = {f for f in allowed if _found(pattern, text, f)}
    # What PubMed's translation searched for this term ("neoplasms"[MeSH Terms] for cancer),
    # each alternative in its own fields and in none the term itself could not be in.
    for alternative in term.also:
        fields = (alternative.fields & allowed) - found
        if fields and not alternative.is_stopword:
            extra = _pattern(alternative)
            if extra:
                found |= {f for f in fields if _found(extra, text, f)}
    if found:
        reasons.setdefault(str(term), set()).update(found)
    return _coverage(found) / _coverage(allowed)


def _found(pattern: tuple[str, ...], text: PaperText, name: str) -> bool:
    """Whether `pattern` appears in the field `name`; a plain word is one scan in C."""
    if len(pattern) == 1 and not pattern[0].endswith("*"):
        return any(pattern[0] in seq for seq in text.field(name))
    return any(
        _contains(seq, raw, pattern)
        for seq, raw in zip(text.field(name), text.raw[name], strict=True)
    )


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
        # The last word is a prefix of words as written: "vaccinat*" must find "vaccination",
        # which `fold` makes "vaccine", and "studie*" must find "studies".
        raw = _WORD.findall(stem.casefold())
        return (*head[:-1], raw[-1] + "*") if raw else ()
    return words(term.text)


def _contains(seq: tuple[str, ...], raw: tuple[str, ...], pattern: tuple[str, ...]) -> bool:
    """True when `pattern` appears as consecutive words of `seq` (its folded words); a last
    word ending in "*" is a prefix of the word as written (`raw`, the same words unfolded)."""
    size = len(pattern)
    if size == 0 or size > len(seq):
        return False
    last = pattern[-1]
    prefix = last.endswith("*")
    stem = last[:-1]
    first = pattern[0]
    for start in range(len(seq) - size + 1):
        end = start + size - 1
        if size == 1:
            if raw[start].startswith(stem) if prefix else seq[start] == first:
                return True
            continue
        if seq[start] != first or seq[start + 1 : end] != pattern[1:-1]:
            continue
        if raw[end].startswith(stem) if prefix else seq[end] == last:
            return True
    return False


def explain(reasons: tuple[MatchReason, ...]) -> str:
    """'"liver metastases": title, abstract; chemotherapy: mesh' for cards and replies."""
    return "; ".join(str(r) for r in reasons)
