"""Short offline summaries: the study design, the topic and the key finding, in English or Korean.

No model is involved: the design comes from PubMed's publication types and the paper's own words
(bot/design.py), the topic from the major MeSH headings, else the keywords (bot/topics.py), the
finding from the conclusion, else the closing sentences (bot/finding.py). The finding is quoted
in the paper's own words, so it is never a paraphrase the program made up. A notice (retraction,
erratum, expression of concern) says what it concerns, and commentary (editorial, comment,
letter, news) what it is on, with no finding: their words are not a study's result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.design import COMMENTARY, DESIGN_NAMES, NOTICES, study_design
from bot.finding import cut_at_clause, fit_sentences, key_finding, shorten
from bot.models import Correction, Paper
from bot.topics import topic_in, topics

MAX_LENGTH = 300
LONG_FINDING = 500  # a finding that does not fit may take this much before it is cut
LANGUAGE_NAMES = {"en": "English", "ko": "Korean"}
MAX_LINKS = 2  # records a notice or comment concerns, named in its summary

# The summary's sentences, per language. {design} and {topic} are names, {target} the record(s)
# a notice or comment concerns ("PMID 31031480 (Anesth Essays Res. 2019;13(1):50-56)").
TEXTS = {
    "en": {
        "head": "{design}.",
        "head_topic": "{design} on {topic}.",
        "finding": "{head} Key finding: {finding}",
        "no_abstract": "{head} No abstract available.",
        "no_finding": "{head} The abstract states no conclusion.",
        "protocol": "{head} A planned study: no results yet.",
        "retraction notice": "Retraction notice for {target}.",
        "erratum": "Erratum for {target}.",
        "expression of concern": "Expression of concern for {target}.",
        "comment_on": "{design} on {target}.",
    },
    "ko": {
        "head": "연구 유형: {design}.",
        "head_topic": "연구 유형: {design}. 주제: {topic}.",
        "finding": "{head} 핵심 결과: “{finding}”",
        "no_abstract": "{head} 초록이 없습니다.",
        "no_finding": "{head} 초록에 결론이 없습니다.",
        "protocol": "{head} 결과가 아직 없는 연구 계획입니다.",
        "retraction notice": "논문 철회 공지. 철회 대상: {target}.",
        "erratum": "정오표. 정정 대상: {target}.",
        "expression of concern": "우려 표명. 대상 논문: {target}.",
        "comment_on": "{design}. 논평 대상: {target}.",
    },
}
# A notice's or comment's own head, when it names no record: "Editorial on asthma." / "사설."
COMMENTARY_HEAD = {
    "en": TEXTS["en"],
    "ko": {"head": "{design}.", "head_topic": "{design}. 주제: {topic}."},
}


@dataclass(frozen=True, slots=True)
class Summary:
    """A summary in one language: its design name, the finding quoted ("" for notices,
    commentary, protocols and abstracts without a conclusion), the sentence, the topic."""

    language: str
    design: str
    finding: str
    text: str
    topic: str = ""

    @property
    def language_name(self) -> str:
        return LANGUAGE_NAMES[self.language]


Summarize = Callable[[Paper, str], Summary]


def _target(links: tuple[Correction, ...]) -> str:
    """The records a notice or comment concerns: "PMID 1 (source)", or the source alone."""
    named = []
    for link in links[:MAX_LINKS]:
        source = link.source.rstrip(" ;:.")  # an online-first source ends "2020 Nov 10;:"
        if link.pmid and source:
            named.append(f"PMID {link.pmid} ({source})")
        else:
            named.append(f"PMID {link.pmid}" if link.pmid else source)
    return "; ".join(n for n in named if n)


def _heads(texts: dict[str, str], design: str, topic: str) -> tuple[str, str]:
    """The head with its topic and without (the first thing dropped when space is short)."""
    bare = texts["head"].format(design=design)
    return (texts["head_topic"].format(design=design, topic=topic) if topic else bare), bare


def summarize(paper: Paper, language: str = "en", limit: int = MAX_LENGTH) -> Summary:
    """The offline summary of `paper` in `language` ("en" or "ko"): at most `limit`
    characters, except that a finding which does not fit takes up to LONG_FINDING."""
    if language not in LANGUAGE_NAMES:
        raise ValueError(f"unknown summary language {language!r}")
    texts = TEXTS[language]
    key = study_design(paper)
    english, korean = DESIGN_NAMES[key]
    design = korean if language == "ko" else english
    topic = topic_in(language, topics(paper, language))

    if key in NOTICES:
        target = _target(paper.concerns)
        text = texts[key].format(target=target) if target else f"{design}."
        return Summary(language, design, "", shorten(text, limit), topic)
    if key in COMMENTARY:
        target = _target(paper.concerns)
        if target:
            text = texts["comment_on"].format(design=design, target=target)
        else:
            text = _heads(COMMENTARY_HEAD[language], design, topic)[0]
        return Summary(language, design, "", shorten(text, limit), topic)

    head, bare = _heads(texts, design, topic)
    if len(head) > limit // 2:  # a very long topic must not crowd out the finding
        head = shorten(head, limit // 2)
    finding = key_finding(paper) if key != "protocol" else ""
    if not finding:
        why = "protocol" if key == "protocol" else "no_finding"
        if not paper.abstract_sections:
            why = "no_abstract"
        return Summary(language, design, "", shorten(texts[why].format(head=head), limit), topic)
    frame = texts["finding"]
    for candidate in (head, bare):  # first the topic goes, then the finding may grow
        if len(frame.format(head=candidate, finding=finding)) <= limit:
            return Summary(
                language, design, finding, frame.format(head=candidate, finding=finding), topic
            )
    room = max(LONG_FINDING, limit - len(frame.format(head=bare, finding="")))
    fitted = finding if len(finding) <= room else fit_sentences(finding, room)
    fitted = fitted or cut_at_clause(finding, room)
    return Summary(language, design, fitted, frame.format(head=bare, finding=fitted), topic)
