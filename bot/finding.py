"""The key finding of a paper, quoted in its own words, and text shortened to fit."""

from __future__ import annotations

import re

from bot.models import Paper

_CONCLUSION_LABEL = re.compile(r"conclusion|interpretation|implication|significance", re.I)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'“])")


def key_finding(paper: Paper) -> str:
    """The CONCLUSIONS section, else the abstract's closing sentences (not shortened)."""
    for section in paper.abstract_sections:
        if section.label and _CONCLUSION_LABEL.search(section.label) and section.text:
            return section.text
    unlabelled = [s.text for s in paper.abstract_sections if s.text]
    if not unlabelled:
        return ""
    sentences = _SENTENCE_END.split(unlabelled[-1])
    closing = sentences[-1]
    if len(sentences) > 1 and len(closing) < 80:  # a one-liner reads better with its lead-in
        closing = f"{sentences[-2]} {closing}"
    return closing


def shorten(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters at a word boundary, with an ellipsis if cut."""
    if len(text) <= limit:
        return text
    if limit <= 1:
        return "…"[:limit]
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > 0:  # never cut inside a word
        cut = cut[:space]
    return cut.rstrip(" ,;:-–") + "…"
