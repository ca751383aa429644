"""The Keyword Matching Score: expected values are worked out by hand from the field weights.

Weights: title 0.6, MeSH 0.5, keywords 0.4, abstract 0.35; a term's coverage is
1 - product(1 - weight) over the fields it was found in, divided by the coverage of every field
it could be in. Untagged terms can be in all four: 1 - 0.4*0.5*0.6*0.65 = 0.922; [tiab] terms
in title, abstract and author keywords, as in PubMed: 1 - 0.4*0.65*0.6 = 0.844.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fixtures import DAILY, paper_in, papers_in

from bot.collected import search_cards
from bot.config import Settings
from bot.models import AbstractSection, Paper
from bot.pubmed import query as pubmed_query
from bot.scoring import category, fold, score, words

ALL = 0.922
TIAB = 0.844


def paper(title: str = "", abstract: str = "", keywords=(), mesh=()) -> Paper:
    return Paper(
        pmid="1",
        title=title,
        abstract_sections=(AbstractSection("", abstract),) if abstract else (),
        keywords=tuple(keywords),
        mesh_terms=tuple(mesh),
    )


def test_term_in_title_and_abstract_is_a_high_match() -> None:
    """Found in title and abstract: (1 - 0.4*0.65) / 0.922 = 0.8026."""
    result = score("chemotherapy", paper("Chemotherapy today", "We gave chemotherapy."))
    assert result.value == pytest.approx(0.74 / ALL, abs=1e-4)
    assert result.category == "high"
    assert [(r.term, r.fields) for r in result.reasons] == [("chemotherapy", ("title", "abstract"))]


def test_term_only_in_the_abstract_is_a_low_match() -> None:
    """A passing mention in the abstract: 0.35 / 0.922 = 0.38, low."""
    result = score("chemotherapy", paper("Surgery today", "No chemotherapy was given."))
    assert result.value == pytest.approx(0.35 / ALL, abs=1e-4)
    assert result.category == "low"


def test_and_averages_and_or_takes_the_best_alternative() -> None:
    """AND of a title+abstract hit and a miss is half of 0.8026; OR of the same is 0.8026."""
    p = paper("Chemotherapy today", "We gave chemotherapy.")
    assert score("chemotherapy AND radiotherapy", p).value == pytest.approx(
        0.74 / ALL / 2, abs=1e-4
    )
    assert score("chemotherapy OR radiotherapy", p).value == pytest.approx(0.74 / ALL, abs=1e-4)


def test_excluded_terms_do_not_count() -> None:
    """The part after NOT neither raises nor lowers the score."""
    p = paper("Chemotherapy in mice", "We gave chemotherapy to mice.")
    assert score("chemotherapy NOT humans", p).value == score("chemotherapy", p).value


def test_tagged_terms_are_judged_on_their_own_fields() -> None:
    """[tiab] found in the title only: 0.6 / 0.844; [mh] found in MeSH: 1.0; elsewhere: 0."""
    p = paper("Gene editing", "", mesh=["Gene Editing"])
    assert score("editing[tiab]", p).value == pytest.approx(0.6 / TIAB, abs=1e-4)
    assert score('"gene editing"[mh]', p).value == 1.0
    assert score("editing[ab]", p).value == 0.0


def test_quoted_phrases_must_appear_whole() -> None:
    """'liver metastases' in quotes does not match 'metastases of the liver'."""
    p = paper("Metastases of the liver")
    assert score('"liver metastases"', p).value == 0.0
    assert score("liver metastases", p).value == pytest.approx(0.6 / ALL, abs=1e-4)


def test_case_and_simple_plurals_are_ignored() -> None:
    """'TUMORS' in the query finds 'tumor' in a title; 'studies' finds 'study'."""
    assert score("TUMORS", paper("A tumor atlas")).value == pytest.approx(0.6 / ALL, abs=1e-4)
    assert words("Studies of Classes and Boxes") == ("study", "of", "class", "and", "box")


def test_wildcards_match_word_beginnings() -> None:
    """metasta* finds 'metastatic'."""
    assert score("metasta*", paper("Metastatic disease")).value == pytest.approx(
        0.6 / ALL, abs=1e-4
    )


def test_keywords_and_mesh_count_as_fields() -> None:
    """Found in keywords and MeSH only: (1 - 0.6*0.5) / 0.922 = 0.7592."""
    p = paper("Other words", keywords=["CRISPR"], mesh=["CRISPR-Cas Systems"])
    result = score("crispr", p)
    assert result.value == pytest.approx(0.7 / ALL, abs=1e-4)
    assert result.reasons[0].fields == ("keywords", "mesh")


def test_a_query_of_filters_only_is_a_full_match() -> None:
    """An author-only query has nothing to weigh: PubMed's match is the whole answer."""
    assert score("smith j[au]", paper("Anything")).value == 1.0


def test_stopwords_are_ignored_like_pubmed_does() -> None:
    """'the' and 'of' neither help nor hurt a paper's score."""
    p = paper("Chemotherapy today")
    assert score("the chemotherapy of", p).value == score("chemotherapy", p).value


@pytest.fixture(scope="module")
def daily() -> dict[str, Paper]:
    return {p.pmid: p for p in papers_in(DAILY)}


def test_tiab_counts_author_keywords_like_pubmed(daily: dict[str, Paper]) -> None:
    """34094985 has CRISPR only among its author keywords, which PubMed's [tiab] searches:
    CRISPR[tiab] scores 0.4 / 0.844 = 0.4739, medium (it scored 0.0, low, with no reason)."""
    result = score("CRISPR[tiab]", daily["34094985"])
    assert result.value == pytest.approx(0.4 / TIAB, abs=1e-4)
    assert result.category == "medium"
    assert [(r.term, r.fields) for r in result.reasons] == [("CRISPR[tiab]", ("keywords",))]
    assert score("CRISPR[ti]", daily["34094985"]).value == 0.0  # [ti] is the title alone


def test_vaccine_finds_vaccination(daily: dict[str, Paper]) -> None:
    """34095871 says "vaccination" in its title and keyword and "vaccine" in its abstract:
    `vaccine` is found in title, abstract and keywords, (1 - 0.4*0.65*0.6) / 0.922 = 0.9154, high
    (0.35 / 0.922 = 0.38, low, when only the abstract's "vaccine" counted)."""
    result = score("vaccine", daily["34095871"])
    assert result.value == pytest.approx(TIAB / ALL, abs=1e-4)
    assert result.category == "high"
    assert result.reasons[0].fields == ("title", "abstract", "keywords")
    assert score("vaccinations[ti]", daily["34095871"]).value == 1.0


def test_the_stemming_rule_pairs_ation_with_e_and_nothing_riskier() -> None:
    """-ation becomes -e on stems of five letters or more, except -ivation, -ulation, -ication."""
    assert words("Vaccinations, immunization and examinations") == (
        "vaccine",
        "immunize",
        "and",
        "examine",
    )
    # activation is not "active", modulation not "module", indication not "indices";
    # stems under five letters stay ("mutation" is not "mute"), and verb forms are not folded.
    for word in ("activation", "modulation", "indication", "mutation", "vaccinated"):
        assert fold(word) == word


def test_wildcards_match_words_as_written() -> None:
    """vaccinat* finds "vaccination" although the rule folds it to "vaccine"; studie* "studies"."""
    assert score("vaccinat*[ti]", paper("Vaccination uptake")).value == 1.0
    assert score("studie*[ti]", paper("Two studies")).value == 1.0
    assert score('"influenza vaccinat*"[ti]', paper("Influenza vaccination uptake")).value == 1.0


# PubMed's translation of `cancer` (Search Details): the word, its plural forms, and the MeSH
# heading it maps to, searched as [MeSH Terms] and as a word.
CANCER = (
    '"cancer s"[All Fields] OR "cancerated"[All Fields] OR "canceration"[All Fields] OR '
    '"cancerization"[All Fields] OR "cancerized"[All Fields] OR "cancerous"[All Fields] OR '
    '"neoplasms"[MeSH Terms] OR "neoplasms"[All Fields] OR "cancer"[All Fields] OR '
    '"cancers"[All Fields]'
)


def test_an_untagged_term_counts_what_pubmed_translated_it_to(daily: dict[str, Paper]) -> None:
    """31845217 ("CAR T Cell Therapy for Hematological Malignancies") never says "cancer", but
    PubMed found it for `cancer` by its MeSH heading Hematologic Neoplasms: with the stored
    translation `cancer` is found in MeSH, 0.5 / 0.922 = 0.5423, medium; without it, 0.0."""
    p = daily["31845217"]
    assert "Hematologic Neoplasms" in p.mesh_terms
    assert score("cancer", p).value == 0.0
    expr = pubmed_query.with_translation(pubmed_query.parse("cancer"), CANCER)
    result = score(expr, p)
    assert result.value == pytest.approx(0.5 / ALL, abs=1e-4)
    assert result.category == "medium"
    assert [(r.term, r.fields) for r in result.reasons] == [("cancer", ("mesh",))]


def test_search_cards_score_with_the_searchs_translation(daily: dict[str, Paper]) -> None:
    """A `search` card is scored like a subscription's: with PubMed's translation of the search,
    31845217 matches `cancer` by its MeSH heading, 0.5 / 0.922 = 0.5423."""
    when = datetime(2021, 6, 7, tzinfo=UTC)
    settings = Settings.from_env({}, env_file=None)
    (card,) = search_cards([daily["31845217"]], "cancer", "en", when, settings, translation=CANCER)
    assert card.collection is not None
    assert card.collection.score is not None
    assert card.collection.score.value == pytest.approx(0.5 / ALL, abs=1e-4)


def test_a_translation_maps_only_the_words_it_names() -> None:
    """In `cancer AND therapy[ti]` only `cancer` gets PubMed's alternatives: the tagged term and
    a date filter are kept as they are, and a translation without the word changes nothing."""
    translation = f"({CANCER}) AND therapy[Title] AND 2021/06/01:2021/06/08[Date - Entry]"
    expr = pubmed_query.with_translation(pubmed_query.parse("cancer AND therapy[ti]"), translation)
    p = paper("Therapy of malignancies", mesh=["Neoplasms"])
    # cancer: MeSH 0.5 / 0.922; therapy[ti]: 1.0; AND averages them.
    assert score(expr, p).value == pytest.approx((0.5 / ALL + 1.0) / 2, abs=1e-4)
    other = pubmed_query.with_translation(pubmed_query.parse("cancer"), '"tumour"[All Fields]')
    assert score(other, p).value == 0.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.45, "medium"), (0.42, "medium"), (0.6951, "high"), (0.6949, "medium"), (0.39, "low")],
)
def test_categories_follow_the_cut_offs_on_the_shown_value(value: float, expected: str) -> None:
    """0.45 is medium (the old program called it high); 0.6951 shows as 0.70, so it is high."""
    assert category(value) == expected
    shown = float(f"{value:.2f}")
    assert category(shown) == expected  # the category agrees with the two decimals on the card


def test_cut_offs_are_settings() -> None:
    """Other cut-offs change the category, not the score."""
    assert category(0.5, high=0.5, medium=0.2) == "high"
    assert category(0.1, high=0.5, medium=0.2) == "low"


# --- notices and commentary are not ranked (issue 14) -------------------------------------------


def test_a_correction_found_by_its_words_is_a_notice_not_a_high_match() -> None:
    """34094293 ("Correction: A universal method … CRISPR-associated …", a Published Erratum)
    matches CRISPR[tiab] in its title; its category is notice, while the same title on a
    research article would be high."""
    correction = paper_in(DAILY, "34094293")
    result = score("CRISPR[tiab]", correction)
    assert result.value >= 0.7
    assert result.category == "notice"
    as_article = Paper(pmid="1", title=correction.title, publication_types=("Journal Article",))
    assert score("CRISPR[tiab]", as_article).category == "high"


def test_an_editorial_is_commentary_whatever_its_score() -> None:
    """32497602 (Editorial, Comment) is commentary for a query its title answers well."""
    assert score("psychostimulant treatment", paper_in(DAILY, "32497602")).category == "commentary"
    assert category(0.95, kind="notice") == "notice"
    assert category(0.95, kind="review") == "high"
