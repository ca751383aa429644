"""What PubMed says about a paper's standing, as the first lines of its card on every platform.

A retracted paper must never look sound, and an erratum must never look like a study. So every
card (Markdown, text, Telegram, Slack, digest entries, list lines) starts with:

- the status line, when PubMed says something happened to the article since: "⚠️ Retracted
  (retraction notice PMID 9499167)", "⚠️ Expression of concern (notice PMID …)", "Corrected
  (erratum PMID …)", "Preprint — not peer reviewed", the notice linked (a link without a PMID is
  named by its citation instead);
- for a notice or a commentary, what it is and what it concerns: "📄 Retraction notice for PMID
  31031480 — <its citation>", "💬 Editorial on PMID …", the record it concerns linked.

Each line is a sequence of segments, some of them links, so every platform escapes and links
them in its own markup, and its text is the same everywhere. Pure: a paper in, lines out.

A notice's or commentary's keyword score is not a relevance judgement (an erratum scores high for
the words of the paper it corrects), so its category is its kind (`notice`, `commentary`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bot.finding import shorten
from bot.i18n import MESSAGES, t
from bot.models import COMMENTARY_TYPES, NOTICE_TYPES, Correction, Paper, Score
from bot.scoring import UNRANKED_KINDS

MAX_SOURCE = 160  # characters of a citation named on a line
MAX_REFS = 3  # links named on one line; PubMed rarely has more


@dataclass(frozen=True, slots=True)
class Segment:
    """A piece of a line: plain text, or a link when `url` is set."""

    text: str
    url: str = ""


@dataclass(frozen=True, slots=True)
class StatusLine:
    """One line: what it says (`kind`: a status, "notice" or "commentary"), its short form for
    one-line entries ("⚠️ Retracted", "Erratum"), and its segments."""

    kind: str
    short: str
    segments: tuple[Segment, ...]

    @property
    def text(self) -> str:
        return "".join(s.text for s in self.segments)

    @property
    def url(self) -> str:
        """The first link of the line (the notice, or the record a notice concerns), or ""."""
        return next((s.url for s in self.segments if s.url), "")

    @property
    def warning(self) -> bool:
        """A retraction or an expression of concern: shown in bold where the platform can."""
        return self.kind in ("retracted", "expression-of-concern")


# Which links each status names.
_STATUS_LINKS = {
    "retracted": "RetractionIn",
    "expression-of-concern": "ExpressionOfConcernIn",
    "corrected": "ErratumIn",
    "preprint": "UpdateIn",
}
# The publication type that names a notice or commentary, gravest first; its form before its
# purpose (an editorial or a letter that is also a comment is an editorial or a letter).
_KIND_ORDER = (
    "Retraction of Publication",
    "Expression of Concern",
    "Published Erratum",
    "Editorial",
    "Letter",
    "Comment",
    "News",
    "Newspaper Article",
    "Interview",
)


def status_line(paper: Paper, language: str = "en") -> StatusLine | None:
    """The status line, or None for a paper PubMed says nothing about."""
    status = paper.status
    if not status:
        return None
    label = t(language, f"standing.{status}")
    link_type = _STATUS_LINKS[status]
    noun = t(language, f"standing.ref.{link_type}")
    named = (_ref(noun, c) for c in paper.links(link_type))
    refs = [r for r in named if r is not None][:MAX_REFS]
    if not refs:
        return StatusLine(status, label, (Segment(label),))
    segments = [Segment(f"{label} (")]
    for number, ref in enumerate(refs):
        if number:
            segments.append(Segment("; "))
        segments.append(ref)
    segments.append(Segment(")"))
    return StatusLine(status, label, tuple(segments))


def _ref(noun: str, link: Correction) -> Segment | None:
    """'retraction notice PMID 9499167' linked, 'erratum: <citation>' unlinked, or None."""
    if link.pmid:
        return Segment(f"{noun} PMID {link.pmid}", link.url)
    if link.source:
        return Segment(f"{noun}: {shorten(link.source, MAX_SOURCE)}")
    return None


def kind_line(paper: Paper, language: str = "en") -> StatusLine | None:
    """For a notice or commentary, what it is and what it concerns; None for other papers."""
    kind = paper.kind
    if kind not in ("notice", "commentary"):
        return None
    types = set(paper.publication_types)
    wanted = NOTICE_TYPES if kind == "notice" else COMMENTARY_TYPES
    # A type models.py learns later than this list is named as PubMed names it.
    pubtype = next((p for p in _KIND_ORDER if p in types), "") or min(types & wanted)
    name = t(language, f"kind.{pubtype}") if f"kind.{pubtype}" in MESSAGES else pubtype
    targets = [c for c in paper.concerns if c.pmid or c.source][:MAX_REFS]
    emoji = "📄" if kind == "notice" else "💬"
    short = f"{emoji} {name}"
    if not targets:
        return StatusLine(kind, short, (Segment(short),))
    key = "kind.notice_for" if kind == "notice" else "kind.commentary_on"
    template = t(language, key, kind=name, ref="{ref}")
    before, _, after = template.partition("{ref}")
    segments = [Segment(f"{emoji} {before}")]
    for number, target in enumerate(targets):
        if number:
            segments.append(Segment(", "))
        if target.pmid:
            segments.append(Segment(f"PMID {target.pmid}", target.url))
        else:
            segments.append(Segment(shorten(target.source, MAX_SOURCE)))
    segments.append(Segment(after))
    if len(targets) == 1 and targets[0].pmid and targets[0].source:
        segments.append(Segment(f" — {shorten(targets[0].source, MAX_SOURCE)}"))
    return StatusLine(kind, short, tuple(s for s in segments if s.text))


def lines(paper: Paper, language: str = "en") -> tuple[StatusLine, ...]:
    """The lines that start the paper's card: its status, then what a notice or commentary is."""
    return tuple(
        line for line in (status_line(paper, language), kind_line(paper, language)) if line
    )


def short_label(paper: Paper, language: str = "en") -> str:
    """The first line's short form, for one-line entries ("⚠️ Retracted"); "" when none."""
    found = lines(paper, language)
    return found[0].short if found else ""


def with_kind(score: Score, paper: Paper) -> Score:
    """`score` with the category a notice or commentary has whatever its keyword score (for
    scores stored before these categories existed); other papers' scores unchanged."""
    if paper.kind in UNRANKED_KINDS and score.category != paper.kind:
        return replace(score, category=paper.kind)
    return score
