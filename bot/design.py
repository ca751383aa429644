"""The study design of a paper, named in English and Korean.

PubMed's publication types decide. Cue words refine only a plain research article (a "Journal
Article" and nothing more specific, as most new records are), and a review that turns out to be
systematic; they never turn an editorial, a comment, a letter, news, a notice, a video or a
protocol into a trial. The words counted are the paper's own description of itself (its title,
"In this cohort study…", its methods), not its background, which often names other designs.
"""

from __future__ import annotations

import re

from bot.models import Paper

# (key, English, Korean), most specific first: a meta-analysis is often also a review. Korean
# names agree with the glossary's names of the matching publication types.
DESIGNS: tuple[tuple[str, str, str], ...] = (
    ("retraction notice", "Retraction notice", "논문 철회 공지"),
    ("expression of concern", "Expression of concern", "우려 표명"),
    ("erratum", "Erratum", "정오표"),
    ("protocol", "Study protocol", "연구 프로토콜"),
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
    ("news", "News", "뉴스"),
    ("interview", "Interview", "인터뷰"),
    ("video", "Video", "시청각 자료"),
    ("biography", "Biography", "전기"),
    ("historical article", "Historical article", "역사 논문"),
    ("lecture", "Lecture", "강연"),
    ("congress", "Conference proceedings", "학술대회"),
    ("study", "Research article", "연구 논문"),
    ("article", "Article", "논문"),
)
DESIGN_NAMES = {key: (en, ko) for key, en, ko in DESIGNS}
NOTICES = frozenset({"retraction notice", "expression of concern", "erratum"})
COMMENTARY = frozenset({"editorial", "comment", "letter", "news", "interview"})

_PUBLICATION_TYPES = {
    "Retraction of Publication": "retraction notice",
    "Expression of Concern": "expression of concern",
    "Published Erratum": "erratum",
    "Clinical Trial Protocol": "protocol",
    "Meta-Analysis": "meta-analysis",
    "Network Meta-Analysis": "meta-analysis",
    "Systematic Review": "systematic review",
    "Practice Guideline": "guideline",
    "Guideline": "guideline",
    "Consensus Development Conference": "guideline",
    "Consensus Development Conference, NIH": "guideline",
    "Randomized Controlled Trial": "randomized trial",
    "Randomized Controlled Trial, Veterinary": "randomized trial",
    "Clinical Trial": "clinical trial",
    "Clinical Trial, Phase I": "clinical trial",
    "Clinical Trial, Phase II": "clinical trial",
    "Clinical Trial, Phase III": "clinical trial",
    "Clinical Trial, Phase IV": "clinical trial",
    "Controlled Clinical Trial": "clinical trial",
    "Pragmatic Clinical Trial": "clinical trial",
    "Equivalence Trial": "clinical trial",
    "Adaptive Clinical Trial": "clinical trial",
    "Clinical Trial, Veterinary": "clinical trial",
    "Case Reports": "case report",
    "Observational Study": "observational",
    "Observational Study, Veterinary": "observational",
    "Review": "review",
    "Scoping Review": "review",
    "Editorial": "editorial",
    "Comment": "comment",
    "Letter": "letter",
    "News": "news",
    "Newspaper Article": "news",
    "Interview": "interview",
    "Video-Audio Media": "video",
    "Biography": "biography",
    "Historical Article": "historical article",
    "Lecture": "lecture",
    "Congress": "congress",
}
_PRIORITY = {key: rank for rank, (key, _, _) in enumerate(DESIGNS)}
# What cue words may make of a type: a review may be systematic (or a meta-analysis), an
# observational study a cohort.
_REFINES = {
    "review": ("meta-analysis", "systematic review"),
    "systematic review": ("meta-analysis",),
    "observational": ("cohort",),
}
# Types no cue word overrides: notices, commentary, media, protocols.
_FINAL = NOTICES | COMMENTARY | {"video", "protocol"}

# A protocol says so in its title, or in how its abstract presents itself.
_PROTOCOL_TITLE = re.compile(
    r"\b(?:study|trial|research|review) protocol\b|\bprotocol (?:for|of) (?:an? |the )?"
    r"(?:[\w-]+ ){0,6}?(?:study|trial|review|meta-analys[ie]s|evaluation)\b",
    re.I,
)
# In the abstract: a study protocol named as such, or a study told in the future tense. A lab
# method ("This protocol describes how to…", STAR Protocols, JoVE) is not a study protocol.
_PROTOCOL_ABSTRACT = re.compile(
    r"\b(?:this|the present|our) (?:study |trial |review |research )protocol\b|\bwe (?:describe|"
    r"present|report) (?:the|a|our) (?:study |trial |review )protocol\b"
    r"|\b(?:this|the) (?:[\w-]+,? ){0,5}?(?:study|trial|review) will (?:randomi[sz]e|recruit|"
    r"enrol|include|be conducted|be performed|compare|evaluate|assess)\b"
    r"|\bwill be randomly (?:assigned|allocated)\b|\b(?:patients|participants|subjects|women|"
    r"children|adults|individuals) (?:[\w-]+ ){0,3}?will be (?:randomi[sz]ed|recruited|enrolled)\b",
    re.I,
)
_PROTOCOL_LABEL = re.compile(r"ethics and dissemination", re.I)

# Sections that describe other work (background) rather than the paper itself.
_BACKGROUND_LABEL = re.compile(
    r"background|introduction|importance|context|rationale|objective|aim|purpose|hypothes", re.I
)
# How a paper names its own design: "In this cohort study", "We conducted a randomized trial".
_NOUN = r"(?:study|trial|analysis|meta-analysis|review|report|series|survey|investigation)"
_SELF = re.compile(
    rf"\b(?:in|from|by) (?:this|the present|the current|our) ((?:[\w-]+,? ){{0,6}}?){_NOUN}\b"
    rf"|(?:^|\.\s+)(?:this|the present) ((?:[\w-]+,? ){{0,6}}?){_NOUN}\b"
    rf"|\bwe (?:conducted|performed|carried out|undertook|did|designed|report|present) (?:an? )?"
    rf"((?:[\w-]+,? ){{0,6}}?){_NOUN}\b",
    re.I,
)
_PHRASE_CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("meta-analysis", re.compile(r"meta-?analy", re.I)),
    ("systematic review", re.compile(r"systematic|scoping", re.I)),
    ("randomized trial", re.compile(r"randomi[sz]ed", re.I)),
    ("case report", re.compile(r"\bcase (?:report|series)\b", re.I)),
    ("cohort", re.compile(r"\bcohort\b", re.I)),
    (
        "observational",
        re.compile(
            r"observational|cross-sectional|case-control|retrospective|prospective|registry|"
            r"population-based|comparative effectiveness|real-world|survey|epidemiolog",
            re.I,
        ),
    ),
    ("clinical trial", re.compile(r"\btrial\b", re.I)),
    ("animal", re.compile(r"\b(?:animal|mouse|murine|rat|zebrafish|rabbit|porcine)\b", re.I)),
    ("in vitro", re.compile(r"in vitro", re.I)),
    ("review", re.compile(r"\breview\b", re.I)),  # "In this review…" of a plain article
)
# Cues anywhere in the paper's own text, most specific first.
_CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "systematic review",
        re.compile(
            r"\b(?:PubMed|MEDLINE|Embase|Cochrane Library|Web of Science|Scopus)\b[^.]{0,150}\b"
            r"(?:were|was) (?:systematically )?searched\b|\bsystematic(?:ally)? (?:literature )?"
            r"search(?:ed)? (?:of|in|for|the)\b",
            re.I,
        ),
    ),
    (
        "randomized trial",
        re.compile(
            r"\b(?:were|was|been) (?:randomi[sz]ed|randomly (?:assigned|allocated))\b|\brandomly "
            r"(?:assigned|allocated|divided)\b(?! into (?:a |the )?(?:training|derivation|"
            r"development|validation|test|discovery))|\bunderwent randomi[sz]ation\b",
            re.I,
        ),
    ),
    (
        "case report",
        re.compile(
            r"\bcase report\b|\b\d+-(?:year|month|week|day)-old (?:man|woman|male|female|boy|girl|"
            r"patient|infant|child)\b|\bwe (?:report|describe|present) (?:a|an|the case of|two|"
            r"three) [^.]{0,60}\b(?:case|patient|man|woman|boy|girl|child|infant|neonate)s?\b",
            re.I,
        ),
    ),
    ("cohort", re.compile(r"\bcohort\b", re.I)),
    (
        "observational",
        re.compile(
            r"\b(?:observational|cross-sectional|case-control|retrospective(?:ly)?|"
            r"population-based|registry-based|comparative effectiveness study|real-world)\b",
            re.I,
        ),
    ),
    (
        "animal",
        re.compile(
            r"\b(?:mice|rats|rabbits|pigs|piglets|dogs|zebrafish|primates|monkeys|sheep|chickens|"
            r"broilers|hens|cows|calves|lambs|goats|hamsters|guinea pigs|horses|"
            r"(?:mouse|murine|rat) models?|in vivo)\b",
            re.I,
        ),
    ),
    ("in vitro", re.compile(r"\bin vitro\b|\bcell lines?\b|\bcultured\b", re.I)),
)


# Animals or cells as the subjects: randomisation or a patient's age then say nothing of design.
_NOT_PATIENTS = re.compile(
    r"\b(?:mice|rats|rabbits|piglets|zebrafish|chickens|broilers|hens|hamsters|cell lines?|"
    r"pluripotent)\b",
    re.I,
)


def _own_text(paper: Paper) -> str:
    """The title and the abstract without its background sections."""
    kept = [
        s.text
        for s in paper.abstract_sections
        if not (_BACKGROUND_LABEL.search(s.label) or s.category in ("BACKGROUND", "OBJECTIVE"))
    ]
    return "\n".join([paper.title, *kept])


def is_protocol(paper: Paper) -> bool:
    """Whether the record is the protocol of a study or review, by its title or abstract."""
    return bool(
        _PROTOCOL_TITLE.search(paper.title)
        or _PROTOCOL_ABSTRACT.search(paper.abstract)
        or any(_PROTOCOL_LABEL.search(s.label) for s in paper.abstract_sections)
    )


def _cued(paper: Paper, allowed: tuple[str, ...] | None = None) -> str:
    """The design the paper's own words name ("" if none), among `allowed` when given."""
    text = _own_text(paper)
    for match in _SELF.finditer(text):
        phrase = next(g for g in match.groups() if g is not None) + match.group().split()[-1]
        for key, cue in _PHRASE_CUES:
            if cue.search(phrase) and (allowed is None or key in allowed):
                return key
    if allowed is not None:  # a review: is it systematic? (its words anywhere say so)
        words = f"{paper.title}\n{paper.abstract}"
        if "meta-analysis" in allowed and re.search(r"\bmeta-?analys[ie]s\b", words, re.I):
            return "meta-analysis"
        if "systematic review" in allowed and re.search(r"\bsystematic review\b", words, re.I):
            return "systematic review"
        if "cohort" in allowed and re.search(r"\bcohort\b", text, re.I):
            return "cohort"
        return ""
    for key, cue in _CUES:
        if cue.search(text):
            if key in ("randomized trial", "case report") and _NOT_PATIENTS.search(text):
                continue  # mice "randomly divided"; cell lines "from a 5-year-old patient"
            if (
                key == "animal"
                and "Humans" in paper.mesh_terms
                and "Animals" not in paper.mesh_terms
            ):
                continue
            if key == "systematic review" and re.search(r"meta-?analys", text, re.I):
                return "meta-analysis"
            return key
    return ""


def study_design(paper: Paper) -> str:
    """The design key (a key of DESIGNS): PubMed's types, refined by the paper's own words."""
    typed = [_PUBLICATION_TYPES[t] for t in paper.publication_types if t in _PUBLICATION_TYPES]
    final = [k for k in typed if k in _FINAL]
    if final:
        return min(final, key=_PRIORITY.__getitem__)
    if is_protocol(paper):
        return "protocol"
    if typed:
        best = min(typed, key=_PRIORITY.__getitem__)
        refined = _cued(paper, _REFINES[best]) if best in _REFINES else ""
        return refined or best
    if cued := _cued(paper):
        return cued
    if "Animals" in paper.mesh_terms and "Humans" not in paper.mesh_terms:
        return "animal"
    return "study" if paper.abstract_sections else "article"
