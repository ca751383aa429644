"""Short offline summaries: the study design, the topic and the key finding, in English or Korean.

No model is involved: the design comes from PubMed's publication types and cues in the abstract,
the topic from the major MeSH headings (else the keywords), the finding from the CONCLUSIONS
section or, without one, the closing sentences. The finding is quoted in the paper's own words,
so it is never a paraphrase the program made up. Korean names of designs and MeSH headings come
from a reviewed glossary kept as data (bot/data/glossary_ko.json).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.design import DESIGN_NAMES, study_design
from bot.finding import key_finding, shorten
from bot.models import Paper
from bot.topics import topic_in, topics

MAX_LENGTH = 300
LANGUAGE_NAMES = {"en": "English", "ko": "Korean"}


@dataclass(frozen=True, slots=True)
class Summary:
    """A summary in one language: its design name, the finding quoted, and the sentence."""

    language: str
    design: str
    finding: str
    text: str
    topic: str = ""

    @property
    def language_name(self) -> str:
        return LANGUAGE_NAMES[self.language]


Summarize = Callable[[Paper, str], Summary]


def summarize(paper: Paper, language: str = "en", limit: int = MAX_LENGTH) -> Summary:
    """The offline summary of `paper` in `language` ("en" or "ko"), at most `limit` characters."""
    if language not in LANGUAGE_NAMES:
        raise ValueError(f"unknown summary language {language!r}")
    english, korean = DESIGN_NAMES[study_design(paper)]
    design = korean if language == "ko" else english
    topic = topic_in(language, topics(paper, language))
    finding = key_finding(paper)
    if language == "ko":
        head = f"연구 유형: {design}." + (f" 주제: {topic}." if topic else "")
        missing, frame = "초록이 없습니다.", "{head} 핵심 결과: “{finding}”"
    else:
        head = f"{design} on {topic}." if topic else f"{design}."
        missing, frame = "No abstract available.", "{head} Key finding: {finding}"
    if len(head) > limit // 2:  # a very long topic must not crowd out the finding
        head = shorten(head, limit // 2)
    if not finding:
        return Summary(language, design, "", f"{head} {missing}", topic)
    room = limit - len(frame.format(head=head, finding=""))
    shortened = shorten(finding, room)
    return Summary(language, design, shortened, frame.format(head=head, finding=shortened), topic)
