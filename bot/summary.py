"""Short offline summaries: the study design, the topic and the key finding, in English or Korean.

No model is involved: the design comes from PubMed's publication types and cues in the abstract,
the topic from the major MeSH headings (else the keywords), the finding from the CONCLUSIONS
section or, without one, the closing sentences. The finding is quoted in the paper's own words,
so it is never a paraphrase the program made up. Korean names of designs and MeSH headings come
from a reviewed glossary kept as data (bot/data/glossary_ko.json).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources

from bot.models import Paper

MAX_LENGTH = 300
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
LANGUAGE_NAMES = {"en": "English", "ko": "Korean"}

# (key, English, Korean), most specific first: a meta-analysis is often also a review.
DESIGNS: tuple[tuple[str, str, str], ...] = (
    ("meta-analysis", "Meta-analysis", "메타분석"),
    ("systematic review", "Systematic review", "체계적 문헌고찰"),
    ("guideline", "Guideline", "진료 지침"),
    ("randomized trial", "Randomized controlled trial", "무작위 대조 시험"),
    ("clinical trial", "Clinical trial", "임상시험"),
    ("case report", "Case report", "증례 보고"),
    ("cohort", "Cohort study", "코호트 연구"),
    ("observational", "Observational study", "관찰 연구"),
    ("review", "Review", "종설"),
    ("animal", "Animal study", "동물 연구"),
    ("in vitro", "In vitro study", "시험관 내(in vitro) 연구"),
    ("editorial", "Editorial", "사설"),
    ("comment", "Comment", "논평"),
    ("letter", "Letter", "서신"),
    ("study", "Research article", "연구 논문"),
)
_DESIGN_NAMES = {key: (en, ko) for key, en, ko in DESIGNS}

_PUBLICATION_TYPES = {
    "Meta-Analysis": "meta-analysis",
    "Systematic Review": "systematic review",
    "Practice Guideline": "guideline",
    "Guideline": "guideline",
    "Consensus Development Conference": "guideline",
    "Randomized Controlled Trial": "randomized trial",
    "Clinical Trial": "clinical trial",
    "Clinical Trial, Phase I": "clinical trial",
    "Clinical Trial, Phase II": "clinical trial",
    "Clinical Trial, Phase III": "clinical trial",
    "Clinical Trial, Phase IV": "clinical trial",
    "Controlled Clinical Trial": "clinical trial",
    "Case Reports": "case report",
    "Observational Study": "observational",
    "Review": "review",
    "Editorial": "editorial",
    "Comment": "comment",
    "Letter": "letter",
}
_BROAD_TYPES = frozenset({"review", "observational", "editorial", "comment", "letter"})
_PRIORITY = {key: rank for rank, (key, _, _) in enumerate(DESIGNS)}

# Cues in title and abstract, tried in the order of DESIGNS when the types say nothing specific.
_CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("meta-analysis", re.compile(r"\bmeta-?analys[ie]s\b", re.I)),
    ("systematic review", re.compile(r"\bsystematic review\b", re.I)),
    ("randomized trial", re.compile(r"\brandomi[sz]ed\b[^.]{0,60}\b(trial|study)\b", re.I)),
    (
        "case report",
        re.compile(r"\bcase report\b|\bwe (report|describe|present) (a|an|the) ", re.I),
    ),
    ("cohort", re.compile(r"\bcohort\b", re.I)),
    (
        "animal",
        re.compile(r"\b(mice|mouse|murine|rats?|zebrafish|rabbits?|pigs?|primates?)\b", re.I),
    ),
    ("in vitro", re.compile(r"\bin vitro\b|\bcell lines?\b|\bcultured cells\b", re.I)),
)
_CONCLUSION_LABEL = re.compile(r"conclusion|interpretation|implication|significance", re.I)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'“])")


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


def study_design(paper: Paper) -> str:
    """The design key (a key of DESIGNS) from publication types, else from abstract cues."""
    typed = [_PUBLICATION_TYPES[t] for t in paper.publication_types if t in _PUBLICATION_TYPES]
    # Broad types give way to a more telling cue in the abstract (a review that is systematic).
    specific = [k for k in typed if k not in _BROAD_TYPES]
    if specific:
        return min(specific, key=_PRIORITY.__getitem__)
    text = f"{paper.title} {paper.abstract}"
    for key, cue in _CUES:
        if key in ("animal", "in vitro") and typed:
            break  # a review or letter that mentions mice is still a review or letter
        if cue.search(text):
            if (
                key == "animal"
                and "Humans" in paper.mesh_terms
                and "Animals" not in paper.mesh_terms
            ):
                continue
            return key
    if typed:
        return min(typed, key=_PRIORITY.__getitem__)
    if "Animals" in paper.mesh_terms and "Humans" not in paper.mesh_terms:
        return "animal"
    return "study"


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


def summarize(paper: Paper, language: str = "en", limit: int = MAX_LENGTH) -> Summary:
    """The offline summary of `paper` in `language` ("en" or "ko"), at most `limit` characters."""
    if language not in LANGUAGE_NAMES:
        raise ValueError(f"unknown summary language {language!r}")
    english, korean = _DESIGN_NAMES[study_design(paper)]
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
