"""What a paper is about: its MeSH headings or keywords, named in English or Korean (the
Korean names come from a reviewed glossary kept as data, bot/data/glossary_ko.json)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

from bot.models import Paper

MAX_TOPICS = 2
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
    For a Korean reader, headings the glossary can name in Korean come first."""
    major = [m for m in paper.mesh_major if m not in GENERIC_HEADINGS]
    other = [m for m in paper.mesh_terms if m not in GENERIC_HEADINGS]
    found = list(dict.fromkeys(major or other or list(paper.keywords)))
    if language == "ko":
        known = glossary()["mesh"]
        found.sort(key=lambda term: term not in known)  # stable: keeps PubMed's order otherwise
    return found[:MAX_TOPICS]


@cache
def glossary() -> dict[str, dict[str, str]]:
    """The reviewed English-to-Korean glossary of publication types and MeSH headings."""
    text = resources.files("bot").joinpath("data/glossary_ko.json").read_text(encoding="utf-8")
    data: dict[str, dict[str, str]] = json.loads(text)
    return data


def topic_in(language: str, terms: list[str]) -> str:
    """Topics joined for the reader; in Korean, headings from the glossary (else as written)."""
    if language == "ko":
        mesh = glossary()["mesh"]
        return ", ".join(mesh.get(term, term) for term in terms)
    return ", ".join(terms)
