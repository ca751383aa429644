"""What a paper is about: its MeSH headings or keywords, named in English or Korean (the
Korean names come from a machine-made glossary kept as data, bot/data/glossary_ko.json)."""

from __future__ import annotations

import json
import re
import unicodedata
from functools import cache
from importlib import resources

from bot.models import Paper

MAX_TOPICS = 2
# MeSH names have commas of their own ("Muscle Fibers, Skeletal"), so topics are set apart by
# semicolons, in every language.
SEPARATOR = "; "
# Headings on most papers (check tags): they say nothing about what a paper is about.
GENERIC_HEADINGS = frozenset(
    {
        "Humans",
        "Animals",
        "Male",
        "Female",
        "Adult",
        "Aged",
        "Aged, 80 and over",
        "Middle Aged",
        "Young Adult",
        "Adolescent",
        "Child",
        "Child, Preschool",
        "Infant",
        "Infant, Newborn",
        "Pregnancy",
        "Mice",
        "Rats",
        "Retrospective Studies",
        "Prospective Studies",
        "Cohort Studies",
        "Cross-Sectional Studies",
        "Treatment Outcome",
        "Risk Factors",
    }
)


def topics(paper: Paper, language: str = "en") -> list[str]:
    """What the paper is about: its major MeSH headings, else other headings, else keywords.

    The same terms in the same order in every language (`language` changes nothing), so a Korean
    card never names other headings than the English one; only their names differ (topic_in).
    Keywords that differ only in case, plural or hyphenation count once."""
    major = [m for m in paper.mesh_major if m not in GENERIC_HEADINGS]
    other = [m for m in paper.mesh_terms if m not in GENERIC_HEADINGS]
    found: dict[str, str] = {}
    for term in major or other or _keyword_terms(paper.keywords):
        found.setdefault(normal_form(term), term)
    return list(found.values())[:MAX_TOPICS]


# Keywords that name the kind of study: the summary says it already, as the design.
_DESIGN_KEYWORDS = frozenset(
    {
        "case control study",
        "case report",
        "case series",
        "clinical trial",
        "cohort study",
        "cross sectional study",
        "cross sectional",
        "literature review",
        "meta analysis",
        "narrative review",
        "observational study",
        "prospective study",
        "randomised controlled trial",
        "randomized controlled trial",
        "rct",
        "retrospective study",
        "review",
        "scoping review",
        "systematic literature review",
        "systematic review",
    }
)


_LIST_COMMA = re.compile(r",\s+")


def _keyword_terms(keywords: tuple[str, ...]) -> list[str]:
    """The authors' keywords as topics: a keyword that packs a list ("brain, apoptosis, central
    nervous system", or split by semicolons) counts as its items, while one comma alone stays
    whole ("Diabetes Mellitus, Type 1"); keywords naming the kind of study are left out."""
    terms: list[str] = []
    for keyword in keywords:
        for part in keyword.split(";"):
            items = _LIST_COMMA.split(part)  # "1,2,4-triazole" is one chemical name
            terms.extend(items if len(items) > 2 else [part])
    return [t.strip() for t in terms if t.strip() and normal_form(t) not in _DESIGN_KEYWORDS]


@cache
def glossary() -> dict[str, dict[str, str]]:
    """The machine-made English-to-Korean glossary: publication types, MeSH headings and
    frequent author keywords."""
    text = resources.files("bot").joinpath("data/glossary_ko.json").read_text(encoding="utf-8")
    data: dict[str, dict[str, str]] = json.loads(text)
    return data


def topic_in(language: str, terms: list[str]) -> str:
    """Topics joined for the reader by "; " (MeSH names have commas of their own); in Korean,
    each term's glossary name, or the term as written when the glossary does not know it."""
    if language == "ko":
        return SEPARATOR.join(korean_name(term) or term for term in terms)
    return SEPARATOR.join(terms)


def korean_name(term: str) -> str | None:
    """The glossary's Korean for a heading or keyword, in any of its common forms, else None.

    A keyword written as an inverted heading ("Diabetes mellitus, type 2") is also looked up in
    reading order and without its comma; one that ends in an abbreviation in parentheses
    ("Body mass index (BMI)") is named in Korean with the abbreviation kept: 체질량지수(BMI)."""
    exact = glossary()["mesh"].get(term)
    if exact:
        return exact
    index = _korean_index()
    forms = [term, term.replace(",", "")]
    uninverted = _uninverted(term)
    if uninverted:
        forms.append(uninverted)
    for form in forms:
        found = index.get(normal_form(form))
        if found:
            return found
    abbreviated = _ABBREVIATION.fullmatch(term.strip())
    if abbreviated:
        found = korean_name(abbreviated["term"])
        if found:
            return f"{found}({abbreviated['abbreviation']})"
    return None


_ABBREVIATION = re.compile(r"(?P<term>[^()]+?)\s*\((?P<abbreviation>[^()]+)\)")


# Authors write a heading their own way: "covid-19", "Biomarker", "Alzheimer's disease",
# "type 1 diabetes mellitus". One form for all, on both sides of the lookup.
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})
_POSSESSIVE = re.compile(r"'s\b")
_DASHES = re.compile(r"[\-\u2010\u2011\u2012\u2013\u2014]")


def normal_form(term: str) -> str:
    """A term folded for lookup: case, apostrophes, possessive 's, dashes as spaces, spacing,
    and the last word's plural (-ies to -y, -s dropped except after s, u and i, and not from
    words of four letters or fewer, so "AIDS" and "ARDS" are not made singular)."""
    text = _POSSESSIVE.sub(
        "", unicodedata.normalize("NFKC", term).casefold().translate(_APOSTROPHES)
    )
    words = _DASHES.sub(" ", text).split()
    if not words:
        return ""
    last = words[-1]
    if len(last) > 4 and last.endswith("ies"):
        words[-1] = last[:-3] + "y"
    elif len(last) > 4 and last.endswith("s") and not last.endswith(("ss", "us", "is")):
        words[-1] = last[:-1]
    return " ".join(words)


def _uninverted(heading: str) -> str | None:
    """A MeSH heading with one inversion in reading order ("Diabetes Mellitus, Type 1" ->
    "Type 1 Diabetes Mellitus"), else None."""
    head, comma, tail = heading.partition(", ")
    if not comma or ", " in tail or "," in head:
        return None
    return f"{tail} {head}"


@cache
def _korean_index() -> dict[str, str]:
    """Normal form -> Korean, for headings as PubMed writes them, then the keyword section,
    then headings without their commas and in reading order; an earlier form is never
    overwritten by a later one."""
    data = glossary()
    index: dict[str, str] = {}
    for key, value in data["mesh"].items():
        index.setdefault(normal_form(key), value)
    for key, value in data.get("keywords", {}).items():
        index.setdefault(normal_form(key), value)
    for key, value in data["mesh"].items():
        # "diabetes mellitus type 1" and "type 1 diabetes mellitus"
        index.setdefault(normal_form(key.replace(",", "")), value)
        uninverted = _uninverted(key)
        if uninverted:
            index.setdefault(normal_form(uninverted), value)
    return index
