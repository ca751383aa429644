"""The study design of a paper, named in English and Korean: from PubMed's publication types,
refined by cue words in the title and abstract."""

from __future__ import annotations

import re

from bot.models import Paper

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
DESIGN_NAMES = {key: (en, ko) for key, en, ko in DESIGNS}

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
