"""PubMed query text: the checks we make before asking PubMed, a normal form, and its terms.

PubMed evaluates Boolean operators strictly left to right (no precedence), treats adjacent terms
as AND, and only recognises AND, OR and NOT in capitals. The expression tree built here follows
the same rules, so scoring reads a query the way PubMed did.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.errors import QueryRefused

MAX_QUERY_LENGTH = 1_000
_SEARCHABLE = re.compile(r"[^\W_]")  # a letter or digit of any script
_SEARCHABLE_WORD = re.compile(r"[^\W_]+")
OPERATORS = ("AND", "OR", "NOT")
# PubMed's published stopword list: words it drops from an unquoted, untagged search.
STOPWORDS = frozenset(
    """a about again all almost also although always among an and another any are as at be
    because been before being between both but by can could did do does done due during each
    either enough especially etc for found from further had has have having here how however i
    if in into is it its itself just kg km made mainly make may mg might ml mm most mostly must
    nearly neither no nor obtained of often on our overall perhaps pmid quite rather really
    regarding seem seen several should show showed shown shows significantly since so some such
    than that the their theirs them then there therefore these they this those through thus to
    upon use used using various very was we were what when which while with within without
    would""".split()  # noqa: SIM905 - a list literal of 130 words would fill two screens
)

# Field tags that say where a term must appear; the rest (author, journal, date, type...) only
# filter what PubMed returns, and add nothing to how well a paper matches.
_ALL_FIELDS = frozenset({"title", "abstract", "keywords", "mesh"})
# PubMed's Title/Abstract field holds "words and numbers included in a citation's title,
# collection title, abstract, other abstract and author keywords" (PubMed Help, "Title/Abstract
# [tiab]", https://pubmed.ncbi.nlm.nih.gov/help/, as quoted in "PubMed's [tiab] vs. [tw]",
# https://uxcaucustips.blogspot.com/2022/07/tip-23-pubmeds-tiab-vs-tw.html). Author keywords
# are also searched untagged and by [ot] and [tw] (NLM Tech Bull. 2013 Jan-Feb;(390):e2,
# https://www.nlm.nih.gov/pubs/techbull/jf13/jf13_pm_keywords.html).
_TIAB = frozenset({"title", "abstract", "keywords"})
_TAG_FIELDS: dict[str, frozenset[str]] = {
    "ti": frozenset({"title"}),
    "title": frozenset({"title"}),
    "ab": frozenset({"abstract"}),
    "abstract": frozenset({"abstract"}),
    "tiab": _TIAB,
    "title/abstract": _TIAB,
    "tw": _ALL_FIELDS,
    "text word": _ALL_FIELDS,
    "all": _ALL_FIELDS,
    "all fields": _ALL_FIELDS,
    "mh": frozenset({"mesh"}),
    "mesh": frozenset({"mesh"}),
    "mesh terms": frozenset({"mesh"}),
    "majr": frozenset({"mesh"}),
    "mesh major topic": frozenset({"mesh"}),
    "ot": frozenset({"keywords"}),
    "other term": frozenset({"keywords"}),
    "kw": frozenset({"keywords"}),
    "keyword": frozenset({"keywords"}),
}

_TOKEN = re.compile(
    r"""
    (?P<lparen>\() | (?P<rparen>\)) |
    (?P<phrase>"[^"]*") (?:\s*(?P<ptag>\[[^\]]*\]))? |
    (?P<word>[^\s()"\[\]]+) (?:\s*(?P<wtag>\[[^\]]*\]))? |
    (?P<tag>\[[^\]]*\])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class Term:
    """One search term: a word, a quoted phrase, or a wildcard prefix, with its field tag."""

    text: str  # as the user wrote it, without quotes or tag
    tag: str = ""  # lower-case, without brackets; "" when untagged
    quoted: bool = False
    # What PubMed's translation searched for this untagged word (`with_translation`).
    also: tuple[Term, ...] = ()

    @property
    def fields(self) -> frozenset[str]:
        """Paper fields this term is about; empty for a pure filter (author, journal, date)."""
        if not self.tag:
            return _ALL_FIELDS
        base = self.tag.split(":", 1)[0].strip()  # "mh:noexp", "tiab:~3"
        return _TAG_FIELDS.get(base, frozenset())

    @property
    def is_stopword(self) -> bool:
        """PubMed ignores these when they stand alone, untagged and unquoted."""
        return not self.quoted and not self.tag and self.text.lower() in STOPWORDS

    @property
    def prefix(self) -> bool:
        return self.text.endswith("*")

    def __str__(self) -> str:
        text = f'"{self.text}"' if self.quoted else self.text
        return f"{text}[{self.tag}]" if self.tag else text


@dataclass(frozen=True, slots=True)
class Node:
    """An operator applied left to right: AND / OR over `parts`, or `NOT` (first minus rest)."""

    op: str
    parts: tuple[Node | Term, ...]


Expr = Node | Term


def check(query: str) -> str:
    """The query with outer whitespace removed, or `QueryRefused` saying what is wrong."""
    text = query.strip()
    if not text:
        raise QueryRefused("query.empty")
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryRefused("query.too_long", length=f"{len(text):,}", limit=f"{MAX_QUERY_LENGTH:,}")
    if any(ord(c) < 32 and c not in "\t\n\r" for c in text):
        raise QueryRefused("query.control")
    if text.count('"') % 2:
        raise QueryRefused("query.unbalanced_quote")
    depth = 0
    in_quote = in_tag = False
    for char in text:
        if char == '"' and not in_tag:
            in_quote = not in_quote
        elif in_quote:
            continue
        elif char == "[":
            if in_tag:
                raise QueryRefused("query.nested_tag")
            in_tag = True
        elif char == "]":
            if not in_tag:
                raise QueryRefused("query.stray_tag")
            in_tag = False
        elif in_tag:
            continue
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise QueryRefused("query.close_paren")
    if in_tag:
        raise QueryRefused("query.open_tag")
    if depth:
        raise QueryRefused("query.open_paren")
    tokens = _tokens(text)
    if all(t in OPERATORS or t in "()" for t in _kinds(tokens)):
        raise QueryRefused("query.only_operators")
    if not any(isinstance(t, Term) and _SEARCHABLE.search(t.text) for t in tokens):
        raise QueryRefused("query.no_terms")
    return text


def normalize(query: str) -> str:
    """One spelling per query, so two chats asking the same thing share one esearch.

    Case is folded (PubMed ignores it) except for the operators, whose case changes meaning,
    and whitespace is made canonical. The result is a valid query with the same meaning.
    """
    out: list[str] = []
    for token in _tokens(check(query)):
        if token in ("(", ")"):
            out.append(token)
        elif isinstance(token, Term):
            out.append(str(Term(token.text.lower(), token.tag, token.quoted)))
        else:
            out.append(token)
    text = " ".join(out)
    return text.replace("( ", "(").replace(" )", ")")


def parse(query: str) -> Expr | None:
    """The expression tree of a query, or None when it has no terms."""
    tokens = _tokens(check(query))
    expr, _ = _sequence(tokens, 0)
    return expr


def with_translation(expr: Expr | None, translation: str) -> Expr | None:
    """`expr` with each untagged, unquoted word carrying what PubMed's translation of the query
    searched for it, as `Term.also`.

    PubMed's automatic term mapping turns an untagged word into a group of alternatives, e.g.
    `cancer` into `"cancer"[All Fields] OR "neoplasms"[MeSH Terms] OR "neoplasms"[All Fields]`:
    the word's group is the OR in the translation that has the word itself as one of its
    `[All Fields]` alternatives. A word PubMed mapped together with its neighbours (`liver
    metastases` as one phrase) has no such group of its own and keeps its plain matching, as do
    quoted phrases, wildcards and tagged terms, which PubMed does not map.
    """
    if expr is None or not translation.strip():
        return expr
    tree, _ = _sequence(_tokens(translation), 0)  # no `check`: translations run long
    groups: dict[str, tuple[Term, ...]] = {}
    _groups(tree, groups)
    return _attach(expr, groups) if groups else expr


def _key(text: str) -> str:
    return " ".join(_SEARCHABLE_WORD.findall(text.casefold()))


def _groups(expr: Expr | None, groups: dict[str, tuple[Term, ...]]) -> None:
    if not isinstance(expr, Node):
        return
    if expr.op == "OR":
        alternatives = tuple(p for p in expr.parts if isinstance(p, Term))
        for alternative in alternatives:
            if alternative.tag == "all fields":
                groups.setdefault(_key(alternative.text), alternatives)
    for part in expr.parts:
        _groups(part, groups)


def _attach(expr: Expr, groups: dict[str, tuple[Term, ...]]) -> Expr:
    if isinstance(expr, Node):
        return Node(expr.op, tuple(_attach(p, groups) for p in expr.parts))
    mapped = not (expr.tag or expr.quoted or expr.prefix or expr.is_stopword)
    also = groups.get(_key(expr.text), ()) if mapped else ()
    return Term(expr.text, expr.tag, expr.quoted, also) if also else expr


def terms(expr: Expr | None, *, positive: bool = True) -> list[Term]:
    """Every term of the tree; with `positive`, leaving out those after a NOT."""
    if expr is None:
        return []
    if isinstance(expr, Term):
        return [expr]
    parts = expr.parts[:1] if positive and expr.op == "NOT" else expr.parts
    return [t for part in parts for t in terms(part, positive=positive)]


def _tokens(text: str) -> list[Term | str]:
    tokens: list[Term | str] = []
    for match in _TOKEN.finditer(text):
        if match.group("lparen"):
            tokens.append("(")
        elif match.group("rparen"):
            tokens.append(")")
        elif match.group("phrase") is not None:
            phrase = " ".join(match.group("phrase")[1:-1].split())
            if phrase:
                tokens.append(Term(phrase, _tag(match.group("ptag")), quoted=True))
        elif match.group("word"):
            word = match.group("word")
            if word in OPERATORS:
                tokens.append(word)
            else:
                tokens.append(Term(word, _tag(match.group("wtag"))))
        # a stray tag with no term before it carries no meaning for us; PubMed ignores it too
    return _attach_tags(tokens)


def _attach_tags(tokens: list[Term | str]) -> list[Term | str]:
    """A field tag covers the run of plain words before it: `smith j[au]` is one author term."""
    merged: list[Term | str] = []
    for token in tokens:
        if isinstance(token, Term) and token.tag and not token.quoted:
            run = [token.text]
            while merged and _is_plain_word(merged[-1]):
                run.insert(0, merged.pop().text)  # type: ignore[union-attr]
            token = Term(" ".join(run), token.tag)
        merged.append(token)
    return merged


def _is_plain_word(token: Term | str) -> bool:
    return isinstance(token, Term) and not token.tag and not token.quoted


def _kinds(tokens: list[Term | str]) -> list[str]:
    return [t if isinstance(t, str) else "term" for t in tokens]


def _tag(raw: str | None) -> str:
    return " ".join(raw[1:-1].lower().split()) if raw else ""


def _sequence(tokens: list[Term | str], pos: int) -> tuple[Expr | None, int]:
    """Parse until a ')' or the end: operands joined left to right, implicit AND between."""
    result: Expr | None = None
    pending = "AND"
    while pos < len(tokens):
        token = tokens[pos]
        if token == ")":  # noqa: S105 - a parenthesis, not a password
            return result, pos + 1
        if token in OPERATORS:
            pending = str(token)
            pos += 1
            continue
        if token == "(":  # noqa: S105
            operand, pos = _sequence(tokens, pos + 1)
        else:
            operand, pos = token, pos + 1  # type: ignore[assignment]
        if operand is None:
            continue
        result = operand if result is None else _combine(pending, result, operand)
        pending = "AND"
    return result, pos


def _combine(op: str, left: Expr, right: Expr) -> Node:
    # Flatten runs of the same associative operator: a AND b AND c is one node of three parts.
    if isinstance(left, Node) and left.op == op and op in ("AND", "OR", "NOT"):
        return Node(op, (*left.parts, right))
    return Node(op, (left, right))
