"""The key finding of a paper, quoted in its own words: the conclusion in whole sentences, without
the registration numbers, copyright, funding and availability lines that abstracts end with; and
text shortened to fit, at a clause boundary rather than mid-clause."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.models import AbstractSection, Paper

# Labels of a conclusion, when PubMed gives no NlmCategory (or the author's label is unusual).
_CONCLUSION_LABEL = re.compile(
    r"conclusion|interpretation|implication|significance|key message|take[- ]home|lessons", re.I
)
# Sections that never hold the finding, whatever NLM calls them (a "LIMITATIONS" section is
# filed under CONCLUSIONS, a "TRIAL REGISTRATION" under BACKGROUND).
_NOT_FINDING_LABEL = re.compile(
    r"regist|funding|financ|sponsor|supplementa|availability|level of evidence|type of study|"
    r"ethics and dissemination|key ?words|copyright|conflicts? of interest|disclosure|irrid|"
    r"identifier|graphical abstract|video abstract|limitation|prospero|inplasy|\bosf\b|"
    r"disclaimer|^references?$",
    re.I,
)
# "… 90.93%.Conclusions: Since …": a structured abstract that PubMed keeps as one paragraph.
_INLINE_CONCLUSION = re.compile(
    r"(?:^|(?<=[\s.]))(?:CONCLUSIONS?|Conclusions?|INTERPRETATION)\s*:\s*"
)

# Sentences that are not a finding, by what they say.
_BOILERPLATE = re.compile(
    "|".join(
        (
            # trial and review registrations
            r"\b(?:NCT\d{6}|ISRCTN\d|ChiCTR[-\w]*\d|INPLASY\d|CRD\d{6}|DRKS\d|ACTRN\d|UMIN\d|"
            r"IRCT\d|CTRI/\d|KCT\d{5}|PROSPERO)",
            r"\btrial registration\b|\bregistration (?:number|no\b|id\b)|clinicaltrials\.gov",
            r"\b(?:trial|study|protocol|review) (?:was |is |has been )?(?:prospectively |"
            r"retrospectively )?registered\b",
            # availability of supplements, code and data
            r"\bsupplementary (?:data|information|materials?|files?)\b|\bsupporting information\b",
            r"https?://|\bwww\.",
            # copyright lines
            r"©|\bcopyright\s*(?:\(c\)|\d{4})|\bprotected by copyright\b|\ball rights reserved\b",
            # funding statements
            r"\bfunded by\b|^\(?funding\b|\b(?:work|study|research|project|trial) (?:was|is) "
            r"(?:partly |partially |financially )?(?:supported|funded) by\b",
            # a review's aim instead of its message
            r"\bin this (?:article|review|paper|chapter|mini-?review|overview|perspective|"
            r"narrative review|commentary|editorial)\b[^.]{0,40}?\bwe\b[^.]{0,15}?\b(?:discuss|"
            r"summari[sz]e|review|describe|highlight|outline|present|provide|focus|explore|"
            r"address|examine|introduce)",
            r"^(?:here,? )?we (?:will )?(?:discuss|summari[sz]e|review|outline|highlight) ",
            r"^(?:this|the present|the current) (?:article|review|paper|chapter|mini-?review|"
            r"overview|manuscript) (?:will )?(?:discuss|summari[sz]|review|describ|highlight|"
            r"outline|provide|present|focus|explore|address|examine|aim)",
            r"^the (?:main )?(?:aims?|purpose|objectives?|goal) of (?:this|the present|our) "
            r"(?:article|review|paper|chapter|manuscript|study|work) (?:is|was|were|are)\b",
            # headings run into the text ("Registration and funding. The review was…")
            r"^(?:implications of key findings|key findings|registration(?: and funding)?|"
            r"funding|trial registration)[.:]?$",
        )
    ),
    re.I,
)
# Lines run into the end of a paragraph: everything from them on goes. Case matters here, so
# that a paper about copyright law or trial registries keeps its sentences.
_TAIL = re.compile(
    r"\s*(?:This article is protected by copyright|Copyright\s*(?:©|\([Cc]\)|\d{4})|©|"
    r"(?:Clinical )?[Tt]rial [Rr]egistration\b|TRIAL REGISTRATION\b|Registration number\b)"
)
# A closing sentence that opens the authors' conclusion: the finding starts there.
_CONCLUDING = re.compile(
    r"^(?:in conclusion|in summary|to conclude|to summari[sz]e|taken together|collectively|"
    r"overall|together|we conclude|in short|(?:these|our) (?:results|findings|data|"
    r"observations|studies) (?:suggest|indicate|show|demonstrate|support|highlight|reveal|"
    r"provide|confirm|imply))\b",
    re.I,
)
LEAD_IN = 80  # a closing sentence shorter than this reads better with the one before it

# The sentence splitter. A boundary is ., ! or ? (and closing quotes or brackets), a space, and
# something a sentence can start with; then the word before the stop is checked.
_BOUNDARY = re.compile(r"[.!?][\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9Α-Ωα-ω])")
_ABBREVIATIONS = frozenset(
    {
        "e.g",
        "i.e",
        "al",
        "vs",
        "fig",
        "figs",
        "approx",
        "ca",
        "cf",
        "resp",
        "ref",
        "refs",
        "eq",
        "viz",
        "dr",
        "mr",
        "mrs",
        "ms",
        "prof",
        "st",
        "suppl",
        "dept",
        "inc",
        "ltd",
        "jr",
    }
)
_BEFORE_NUMBERS = frozenset({"p", "pp", "no", "nos", "vol", "vols", "ch", "sect", "n"})
_INITIAL = re.compile(r"\(?(?:[A-Z]\.)*[A-Z]")
_CAPITALISED = re.compile(r"\(?[A-Z][\w'-]*\.?")
# Where a clause ends: a comma or semicolon outside brackets, or before a contrasting word.
_CLAUSE = re.compile(
    r"[,;:](?=\s)|\s[–—](?=\s)|(?=\s(?:but|whereas|while|although|though|yet)\s)", re.I
)


def sentences(text: str) -> list[str]:
    """`text` split into sentences; "p. 50", "et al.", "e.g.", "Fig. 2", "vs.", initials
    ("J. R. Smith") and decimals do not end one."""
    found: list[str] = []
    start = 0
    for boundary in _BOUNDARY.finditer(text):
        before = text[start : boundary.start()].split()
        if not before:
            continue
        word = before[-1].lstrip("([\"'“")
        lowered = word.lower()
        following = text[boundary.end() : boundary.end() + 1]
        if lowered in _ABBREVIATIONS or lowered.endswith((".e.g", ".i.e")):
            continue
        if lowered in _BEFORE_NUMBERS and following.isdigit():
            continue
        if _INITIAL.fullmatch(word) and (
            "." in word or (len(before) > 1 and _CAPITALISED.fullmatch(before[-2]))
        ):
            continue  # "U.S. Food", "Scott O. Lilienfeld"; not "in group A. Forty…"
        end = boundary.start() + len(boundary.group().rstrip())
        found.append(text[start:end].strip())
        start = boundary.end()
    rest = text[start:].strip()
    if rest:
        found.append(rest)
    return found


def is_boilerplate(sentence: str) -> bool:
    """Whether `sentence` is a registration, availability, copyright, funding or aim line."""
    return bool(_BOILERPLATE.search(sentence))


def _without_tail(text: str) -> str:
    """`text` without the copyright or registration lines run into its end ("…officinale
    This article is protected by copyright.", "…per day.Trial Registration: NCT…")."""
    tail = _TAIL.search(text, len(text) // 3)
    return text[: tail.start()] if tail else text


def _finding_in(text: str) -> str:
    """The sentences of a conclusion, boilerplate left out."""
    inline = list(_INLINE_CONCLUSION.finditer(text))
    if inline:  # "Conclusions: …" written into the section's text again
        text = text[inline[-1].end() :]
    text = _without_tail(text)
    return " ".join(s for s in sentences(text) if not is_boilerplate(s))


def _conclusion(sections: Sequence[AbstractSection]) -> str:
    """The conclusion section: NLM's CONCLUSIONS category first (the author's own conclusion
    label among several), then a conclusion label."""
    by_category = [s for s in sections if s.category == "CONCLUSIONS"]
    labelled = [s for s in by_category if _CONCLUSION_LABEL.search(s.label)]
    for section in labelled or by_category:
        if finding := _finding_in(section.text):
            return finding
    for section in sections:
        if _CONCLUSION_LABEL.search(section.label) and (finding := _finding_in(section.text)):
            return finding
    return ""


def _closing(text: str) -> str:
    """The closing sentences of a paragraph: from an "In conclusion" among its last three
    sentences, else its last sentence (with the one before when it is short)."""
    inline = list(_INLINE_CONCLUSION.finditer(text))
    if inline:
        text = text[inline[-1].end() :]
    kept: list[str] = []  # the last three sentences that are not boilerplate
    for sentence in reversed(sentences(_without_tail(text))):
        if len(kept) == 3:
            break
        if not is_boilerplate(sentence):
            kept.insert(0, sentence)
    if not kept:
        return ""
    for index in range(len(kept)):
        if _CONCLUDING.match(kept[index]):
            return " ".join(kept[index:])
    closing = kept[-1]
    if len(kept) > 1 and len(closing) < LEAD_IN:
        closing = f"{kept[-2]} {closing}"
    return closing


def key_finding(paper: Paper) -> str:
    """The conclusion of the abstract in whole sentences, else its closing sentences; "" when
    the abstract has none (or no abstract). Not shortened."""
    sections = [
        s for s in paper.abstract_sections if s.text and not _NOT_FINDING_LABEL.search(s.label)
    ]
    if finding := _conclusion(sections):
        return finding
    for section in reversed(sections):  # the last paragraph that has more than boilerplate
        if finding := _closing(section.text):
            return finding
    return ""


def fit_sentences(text: str, limit: int) -> str:
    """The leading whole sentences of `text` within `limit` characters ("" if the first is
    longer)."""
    kept = ""
    for sentence in sentences(text):
        joined = f"{kept} {sentence}" if kept else sentence
        if len(joined) > limit:
            break
        kept = joined
    return kept


def cut_at_clause(text: str, limit: int) -> str:
    """`text` within `limit` characters, ending at a clause boundary outside brackets with an
    ellipsis ("…, but was…" never); at a word boundary when no clause ends in its second half."""
    if len(text) <= limit:
        return text
    depth, best = 0, -1
    bracket = {"(": 1, "[": 1, ")": -1, "]": -1}
    ends = {m.start() for m in _CLAUSE.finditer(text, 0, limit)}
    for index, char in enumerate(text[: limit - 1]):
        depth = max(0, depth + bracket.get(char, 0))
        if index in ends and depth == 0 and index >= limit // 2:
            best = index
    if best < 0:
        return shorten(text, limit)
    return text[:best].rstrip(" ,;:-–—") + "…"


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
