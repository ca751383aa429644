"""Saved papers as a file for a reference manager: BibTeX, RIS or CSV (pure: papers in, bytes out).

Author names come from PubMed's own name parts (`Paper.author_names`): BibTeX gets
"Last, Suffix, ForeName" (the initials when PubMed gives no fore name), RIS "Last, ForeName,
Suffix", and a collective name (a group, a consortium) whole, as a corporate author: in braces in
BibTeX ("{Canadian Respiratory Research Network}"), without a comma in RIS. A part holding a
comma or the word "and" is braced in BibTeX, so that it is never split there. The CSV authors
column keeps PubMed's display names ("Forename Lastname Suffix"), joined with "; ".

Papers stored before the record had name parts (old rows: `author_names` empty) only have
display names, so for them the split into last and first name is a guess: the last word is the
last name, together with any name particles before it ("van der Berg", "Da Silva", "van 't
Riet") and followed by a generational suffix ("Jr", "3rd") when there is one. On the names of
the fixtures this matches PubMed's own LastName for 98% of the people; the rest are mostly
Spanish and Portuguese double surnames ("Laura Alonso Murillo" is exported as "Murillo, Laura
Alonso"), which no rule can tell from a double forename. Whatever the split, first + last always
gives back the display name. A name that does not look like one person (organisation words,
lowercase words such as "for" or "and", digits, commas or other punctuation), and a single word,
is kept whole: BibTeX gets it in braces, so it is never split or cut at an "and"; RIS gets it
without a comma, which reference managers read as a one-field name.

Titles. PubMed titles are in sentence case, so every word with a capital in it (an acronym, a
gene, a proper noun; the first word only when a capital follows its first letter) is wrapped in
braces: styles may lower-case the rest, never "BRCA1" or "Alzheimer".

CSV cells. A spreadsheet runs a cell that starts with "=", "+", "-" or "@" as a formula
(`=HYPERLINK(...)` in a title is a link that runs on a click), and a leading tab or carriage return
hides such a start; OWASP's advice (the "CSV Injection" page; ASVS 5.0 requirement 1.2.10) is to
prefix such cells with a single quote, so that the cell is read as text. Every cell is treated
so, a page range "-12" included ("'-12"): a cell is never a formula, at the price of that quote
in programs that read the file as plain text.

Citation keys. `lastname` + year + first significant title word, ASCII letters and digits only
(accents stripped, ß -> ss, ø -> o, ...), e.g. "nunez2021angstrom"; a key already used in the
file gets the suffix a, b, ..., z, aa, ... .
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Sequence
from datetime import date

from bot.models import Paper

FORMATS = ("bibtex", "ris", "csv")

_EXTENSIONS = {"bibtex": "bib", "ris": "ris", "csv": "csv"}
_MIME_TYPES = {
    "bibtex": "application/x-bibtex",
    "ris": "application/x-research-info-systems",
    "csv": "text/csv",
}
CSV_HEADER = (
    "pmid",
    "title",
    "authors",
    "journal",
    "year",
    "volume",
    "issue",
    "pages",
    "doi",
    "pmcid",
    "url",
)

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def export(papers: Sequence[Paper], fmt: str, *, today: date) -> tuple[str, bytes, str]:
    """The export file as (file name, content, MIME type); `today` dates the file name.

    `today` is the caller's: the chat's local date, not the server's.
    """
    kind = fmt.strip().lower()
    if kind not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}")
    name = f"paper-surfer-{today:%Y%m%d}.{_EXTENSIONS[kind]}"
    if kind == "bibtex":
        data = to_bibtex(papers).encode("utf-8")
    elif kind == "ris":
        data = to_ris(papers).encode("utf-8")
    else:
        # With a byte-order mark Excel reads the file as UTF-8; without it Excel assumes the
        # Windows code page and garbles every accented name and title.
        data = to_csv(papers).encode("utf-8-sig")
    return name, data, _MIME_TYPES[kind]


# --- names ---------------------------------------------------------------------------------------


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words that, set before the last word, belong to the last name (compared in lower case).
_PARTICLES = _words(
    "van von der den de del della delle dei degli dalla delli di da dal dos das do du des la le "
    "les lo ten ter te op 't zu zum vom st st. san santa al el ben bin ibn abu abi bou"
)
_SUFFIXES = frozenset(("Jr", "Jr.", "Sr", "Sr.", "II", "III", "IV", "2nd", "3rd", "4th", "5th"))
# Words that make a name a group, not a person (compared in lower case).
_GROUP_WORDS = _words(
    """group groups grupo groupe gruppe consortium consortia collaboration collaborations
    collaborative collaborators collaborating committee subcommittee comité investigators
    investigator network society sociedad société association study studies trial trials team
    working workshop force foundation institute council organization organisation registry
    program programme project panel board center centre alliance initiative department
    university hospital federation academy college members participants partners staff editors
    writing steering coalition partnership agency ministry services office commission forum
    executive authors laboratory laboratories behalf and of for"""
)
# Portuguese and Spanish endings that stay with the surname before them ("Silva Filho").
_SURNAME_ENDINGS = frozenset(("filho", "neto", "júnior", "junior", "sobrinho"))


def _is_name_word(word: str) -> bool:
    """Letters (with their accents), apostrophes, dots and hyphens only: "d'Amico", "J.", "Åsa"."""
    return any(c.isalpha() for c in word) and all(
        c.isalpha() or c in "'’.-" or unicodedata.category(c).startswith("M") for c in word
    )


def split_name(name: str) -> tuple[str, str, str] | None:
    """(last, first, suffix) of a person's display name, or None for a name to keep whole."""
    words = name.split()
    suffix = ""
    if len(words) > 2 and words[-1] in _SUFFIXES:
        suffix = words.pop()
    if len(words) < 2:
        return None
    for word in words:
        lower = word.lower()
        if not _is_name_word(word) or lower in _GROUP_WORDS:
            return None
        if word.isalpha() and word.islower() and lower not in _PARTICLES:
            return None  # "study", "group", "investigators" in lower case
    start = len(words) - 1
    if start > 1 and words[start].lower() in _SURNAME_ENDINGS:
        start -= 1
    while start > 1 and words[start - 1].lower() in _PARTICLES:
        start -= 1
    return " ".join(words[start:]), " ".join(words[:start]), suffix


Person = tuple[str, str, str]  # (last, first, suffix)


def _people(paper: Paper) -> list[Person | str]:
    """Each author as (last, first, suffix), or as a whole name (a group, a name kept whole).

    From PubMed's name parts when the paper has them; from the display names otherwise."""
    if paper.author_names and len(paper.author_names) == len(paper.authors):
        people: list[Person | str] = []
        for name in paper.author_names:
            if name.collective or not name.last:
                people.append(_one_line(name.collective or name.fore or name.initials))
            else:
                first = name.fore or name.initials
                people.append((_one_line(name.last), _one_line(first), _one_line(name.suffix)))
        return people
    return [split_name(a) or a for a in paper.authors]


# --- pages ---------------------------------------------------------------------------------------

_RANGE = re.compile(r"([^\s,;-]+)-([^\s,;-]+)")
_PAGE = re.compile(r"(\D*?)(\d+)(.*)")


def _is_range(start: str, end: str) -> bool:
    digits = any(c.isdigit() for c in start) and any(c.isdigit() for c in end)
    return digits or (start.isalpha() and end.isalpha())  # 187-94, e12-5, or roman iii-v


def _expand_end(start: str, end: str) -> str:
    """The end page in full: MEDLINE drops the characters it shares with the start page.

    187-94 -> 194, e247-346 -> e346, 1595-603.e9 -> 1603.e9; E5-E8 and 1S-20S stay as they are.
    """
    first, last = _PAGE.fullmatch(start), _PAGE.fullmatch(end)
    if first is None or last is None:
        return end
    prefix, number, _ = first.groups()
    end_prefix, end_number, rest = last.groups()
    if end_prefix and end_prefix != prefix:
        return end
    if len(end_number) < len(number):
        full = number[: len(number) - len(end_number)] + end_number
        if int(full) >= int(number):
            end_number = full
    return prefix + end_number + rest


def expand_pages(pages: str, dash: str, escape: Callable[[str], str] = str) -> str:
    """MedlinePgn with every range written in full and joined by `dash`; other text kept.

    "187-94" -> "187--194" (dash "--"); "1475-6; author reply 1475-6" keeps its words.
    """
    parts: list[str] = []
    position = 0
    for match in _RANGE.finditer(pages):
        start, end = match.groups()
        if not _is_range(start, end):
            continue
        parts.append(escape(pages[position : match.start()]))
        parts.append(escape(start) + dash + escape(_expand_end(start, end)))
        position = match.end()
    parts.append(escape(pages[position:]))
    return "".join(parts)


def first_and_last_page(pages: str) -> tuple[str, str]:
    """Start and end page of the first range of MedlinePgn ("" end for a single page)."""
    first = re.split(r"[,;]", pages, maxsplit=1)[0].strip()
    match = _RANGE.fullmatch(first)
    if match and _is_range(*match.groups()):
        return match.group(1), _expand_end(*match.groups())
    return first, ""


# --- shared helpers ------------------------------------------------------------------------------


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _year(paper: Paper) -> str:
    year = paper.pub_date[:4]
    return year if len(year) == 4 and year.isdigit() else ""


def _date_parts(paper: Paper) -> tuple[str, str, str]:
    """(year, month, day) of the ISO pub_date, each "" when the record does not say."""
    parts = paper.pub_date.split("-")
    year = _year(paper)
    month = parts[1] if year and len(parts) > 1 else ""
    day = parts[2] if month and len(parts) > 2 else ""
    return year, month, day


_PUBLISHER_WORDS = _words(
    """press publishing publishers publisher library agency institute institutes organization
    organisation university inc inc. ltd ltd. llc gmbh office ministry department council
    foundation society association academies academy centre center commission (us) (uk)"""
)


def is_whole_book(paper: Paper) -> bool:
    """A whole book, rather than a chapter; a guess, as `Paper` keeps no flag for it.

    The parser puts a chapter's book title, or a whole book's publisher, in `journal`:
    "GeneReviews®" (chapter) against "NIHR Journals Library" or "National Academies Press (US)".
    """
    return paper.is_book and any(w in _PUBLISHER_WORDS for w in paper.journal.lower().split())


# --- citation keys -------------------------------------------------------------------------------

_FOLD = str.maketrans(
    {"ß": "ss", "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "œ": "oe", "Œ": "OE", "ł": "l"}
    | {"Ł": "L", "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "þ": "th", "Þ": "Th", "ı": "i"}
)
_STOPWORDS = _words(
    "a an the of on in for and or to with from by at as is are its into via vs versus do does "
    "how what why when which who whom le la les el los las der die das un une"
)


def _ascii(text: str) -> str:
    """Lower-case ASCII letters and digits of `text`, accents stripped: "Ñúñez" -> "nunez"."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return "".join(c for c in decomposed if c.isascii() and c.isalnum()).lower()


def _key_base(paper: Paper) -> str:
    name = ""
    people = _people(paper)
    if people:
        first = people[0]
        if isinstance(first, tuple):
            name = _ascii(first[0])
        else:
            name = next((w for w in map(_ascii, first.split()) if w), "")
    words = (_ascii(w) for w in _title(paper).split() if w.lower().strip("[(\"'") not in _STOPWORDS)
    word = next((w for w in words if w and not w.isdigit()), "")
    base = (name or "anon") + _year(paper) + word
    return base if name or word else f"pmid{_ascii(paper.pmid)}"


def _suffix(number: int) -> str:
    """a, b, ..., z, aa, ab, ... for 1, 2, ... ."""
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return letters


def citation_keys(papers: Sequence[Paper]) -> list[str]:
    """One key per paper, unique in the list: a clash gets suffix a, then b, and so on."""
    used: set[str] = set()
    keys = []
    for paper in papers:
        base = _key_base(paper)
        key, number = base, 0
        while key in used:
            number += 1
            key = base + _suffix(number)
        used.add(key)
        keys.append(key)
    return keys


# --- BibTeX --------------------------------------------------------------------------------------

_BIB_SPECIAL = {
    "\\": "{\\textbackslash}",
    "#": "\\#",
    "$": "\\$",
    "%": "\\%",
    "&": "\\&",
    "_": "\\_",
    "~": "{\\textasciitilde}",
    "^": "{\\textasciicircum}",
}
_LONE_BRACES = {"{": "{\\textbraceleft}", "}": "{\\textbraceright}"}
# Character pairs that TeX fonts turn into other glyphs ("--" into an en dash, "``" into a
# quote, "<<" into a guillemet): an empty group between them keeps the text as written.
_LIGATURES = frozenset(("--", "``", "''", ",,", "<<", ">>", "?`", "!`"))


def _bib_pieces(text: str) -> list[str]:
    """`text` escaped for a braced BibTeX field, one piece per character.

    BibTeX counts every brace, escaped or not, so a matched pair becomes \\{ \\} (balanced for
    BibTeX, literal for LaTeX) and a lone brace \\textbraceleft or \\textbraceright.
    """
    matched: set[int] = set()
    opened: list[int] = []
    for index, char in enumerate(text):
        if char == "{":
            opened.append(index)
        elif char == "}" and opened:
            matched.update((opened.pop(), index))
    pieces = []
    previous = ""
    for index, char in enumerate(text):
        if char in "{}":
            piece = "\\" + char if index in matched else _LONE_BRACES[char]
        else:
            piece = _BIB_SPECIAL.get(char, char)
        if previous + char in _LIGATURES:
            piece = "{}" + piece
        pieces.append(piece)
        previous = char
    return pieces


def _bib_text(text: str) -> str:
    return "".join(_bib_pieces(_one_line(text)))


def _bib_title(text: str) -> str:
    """The escaped title with every word that has a capital in it protected by braces."""
    title = _one_line(text)
    pieces = _bib_pieces(title)
    words: list[str] = []
    start = 0
    for word in title.split(" "):
        escaped = "".join(pieces[start : start + len(word)])
        start += len(word) + 1
        capitals = word[1:] if not words else word
        words.append("{" + escaped + "}" if any(c.isupper() for c in capitals) else escaped)
    return " ".join(words)


def _bib_verbatim(text: str) -> str:
    """DOIs and URLs are read verbatim (biblatex, \\url): no escapes, braces percent-encoded."""
    return _one_line(text).replace("\\", "%5C").replace("{", "%7B").replace("}", "%7D")


_AND = re.compile(r"\band\b", re.IGNORECASE)


def _bib_part(text: str) -> str:
    """One name part, braced when a comma or an "and" in it would split the name list."""
    escaped = _bib_text(text)
    return "{" + escaped + "}" if "," in text or _AND.search(text) else escaped


def _bib_name(person: Person | str) -> str:
    if isinstance(person, str):
        return "{" + _bib_text(person) + "}"
    last, first, suffix = person
    if not first and not suffix:
        # No comma to tell BibTeX where the last name starts: "Da Silva" alone would be read
        # as first name "Da"; braced it stays one last name.
        return "{" + _bib_text(last) + "}" if " " in last else _bib_part(last)
    last, first, suffix = _bib_part(last), _bib_part(first), _bib_part(suffix)
    return f"{last}, {suffix}, {first}" if suffix else f"{last}, {first}"


def _bib_entry(paper: Paper, key: str) -> str:
    year, month, _ = _date_parts(paper)
    fields: list[tuple[str, str]] = [
        ("author", " and ".join(_bib_name(a) for a in _people(paper))),
        ("title", _bib_title(_title(paper))),
    ]
    if not paper.is_book:
        kind = "article"
        fields.append(("journal", _bib_text(paper.journal)))
    elif is_whole_book(paper):
        kind = "book"
        fields.append(("publisher", _bib_text(paper.journal)))
    else:
        kind = "incollection"
        fields.append(("booktitle", _bib_text(paper.journal)))
    fields += [
        ("year", year),
        ("volume", _bib_text(paper.volume)),
        ("number", _bib_text(paper.issue)),
        ("pages", expand_pages(_one_line(paper.pages), "--", lambda s: "".join(_bib_pieces(s)))),
        ("doi", _bib_verbatim(paper.doi)),
        ("pmid", _bib_text(paper.pmid)),
        ("url", _bib_verbatim(paper.url)),
        ("keywords", ", ".join(_bib_text(k) for k in paper.keywords)),
        ("abstract", _bib_text(paper.abstract)),
    ]
    note = f"PMID: {paper.pmid}" + (f"; PMCID: {paper.pmcid}" if paper.pmcid else "")
    fields.append(("note", _bib_text(note)))
    lines = [f"@{kind}{{{key},"]
    for name, value in fields:
        if value:
            lines.append(f"  {name} = {{{value}}},")
        if name == "year" and month.isdigit() and 1 <= int(month) <= 12:
            lines.append(f"  month = {_MONTHS[int(month) - 1]},")  # the style's month macro
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_bibtex(papers: Sequence[Paper]) -> str:
    """A BibTeX file: UTF-8 text, specials escaped, one entry per paper."""
    return "\n".join(_bib_entry(p, k) for p, k in zip(papers, citation_keys(papers), strict=True))


# --- RIS -----------------------------------------------------------------------------------------


def _ris_name(person: Person | str) -> str:
    if isinstance(person, str):
        return _one_line(person)
    last, first, suffix = person
    return ", ".join(part for part in (last, first, suffix) if part)


def _ris_record(paper: Paper) -> list[str]:
    year, month, day = _date_parts(paper)
    if not paper.is_book:
        kind, container = "JOUR", "T2"  # Zotero reads JO as the abbreviation, so T2 it is
    elif is_whole_book(paper):
        kind, container = "BOOK", "PB"
    else:
        kind, container = "CHAP", "T2"
    start, end = first_and_last_page(_one_line(paper.pages))
    tags: list[tuple[str, str]] = [("TY", kind)]
    tags += [("AU", _ris_name(a)) for a in _people(paper)]
    tags += [
        ("TI", _title(paper)),
        (container, paper.journal),
        ("JA", paper.journal_abbrev if not paper.is_book else ""),
        ("PY", year),
        ("DA", f"{year}/{month}/{day}/" if year else ""),
        ("VL", paper.volume),
        ("IS", paper.issue),
        ("SP", start),
        ("EP", end),
        ("DO", paper.doi),
        ("DB", "PubMed"),
        ("AN", paper.pmid),
        ("UR", paper.url),
    ]
    tags += [("KW", k) for k in paper.keywords]
    tags += [("AB", paper.abstract), ("LA", "; ".join(paper.languages))]
    lines = [f"{tag}  - {_one_line(value)}" for tag, value in tags if _one_line(value)]
    return [*lines, "ER  - "]


def to_ris(papers: Sequence[Paper]) -> str:
    """A RIS file: one record per paper, one tag per line, CRLF line ends as the spec asks."""
    lines: list[str] = []
    for paper in papers:
        if lines:
            lines.append("")
        lines += _ris_record(paper)
    return "".join(line + "\r\n" for line in lines)


# --- CSV -----------------------------------------------------------------------------------------


# What a spreadsheet reads as the start of a formula, or hides one (OWASP, "CSV Injection").
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(text: str) -> str:
    """`text` as a spreadsheet cell that is never a formula: "'" before a formula's start."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def to_csv(papers: Sequence[Paper]) -> str:
    """A spreadsheet: one row per paper under CSV_HEADER; authors joined with "; ".

    Page ranges are written in full with an en dash ("187–194"): the right typography, and it
    keeps Excel from reading a range such as "3-4" as a date. Cells that a spreadsheet would
    run as a formula get a leading "'" (see the module's docstring).
    """
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    for p in papers:
        pages = expand_pages(p.pages, "\N{EN DASH}")
        authors = "; ".join(p.authors)
        row = [p.pmid, _title(p), authors, p.journal, _year(p), p.volume, p.issue, pages]
        writer.writerow([_cell(value) for value in (*row, p.doi, p.pmcid, p.url)])
    return buffer.getvalue()


def _title(paper: Paper) -> str:
    """The English title, else the original-language one: a reference manager needs a title,
    and a citation of an article PubMed did not translate gives it as published."""
    return paper.title or paper.vernacular_title
