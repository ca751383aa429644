"""The Keyword Matching Score: expected values are worked out by hand from the field weights.

Weights: title 0.6, MeSH 0.5, keywords 0.4, abstract 0.35; a term's coverage is
1 - product(1 - weight) over the fields it was found in, divided by the coverage of every field
it could be in. Untagged terms can be in all four: 1 - 0.4*0.5*0.6*0.65 = 0.922.
"""

from __future__ import annotations

import pytest
from fixtures import DAILY, paper_in

from bot.models import AbstractSection, Paper
from bot.scoring import category, score, words

ALL = 0.922


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
    """[tiab] found in the title only: 0.6 / 0.74; [mh] found in MeSH: 1.0; elsewhere: 0."""
    p = paper("Gene editing", "", mesh=["Gene Editing"])
    assert score("editing[tiab]", p).value == pytest.approx(0.6 / 0.74, abs=1e-4)
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
