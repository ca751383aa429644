"""PubMed query text: what we refuse before asking PubMed, one spelling per query, and its terms."""

from __future__ import annotations

import re

import pytest

from bot.errors import QueryRefused
from bot.pubmed import query as q
from bot.pubmed.query import Node, Term


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("   \n ", "empty"),
        ("x" * 1001, "1,001 characters"),
        ('"liver metastases AND chemotherapy', "unbalanced quote"),
        ("(cancer OR tumor", "never closed"),
        ("cancer OR tumor)", "without its '('"),
        ("cancer[tiab AND x", "never closed"),
        ("AND OR NOT", "only operators"),
        ("cancer\x00", "control characters"),
    ],
)
def test_queries_we_refuse_before_asking_pubmed(text: str, reason: str) -> None:
    """Each malformed query is refused with a reason a user can act on."""
    with pytest.raises(QueryRefused, match=re.escape(reason)):
        q.check(text)


def test_a_query_of_exactly_1000_characters_is_accepted() -> None:
    """The length limit is inclusive: 1,000 characters is fine."""
    assert len(q.check("a" * 1000)) == 1000


def test_parentheses_and_quotes_inside_phrases_do_not_count() -> None:
    """A parenthesis inside a quoted phrase is text, not grouping."""
    assert q.check('"smile :)" OR (happy)') == '"smile :)" OR (happy)'


def test_normal_form_folds_case_and_space_but_keeps_operators() -> None:
    """Two spellings of the same query share one normal form; AND/OR/NOT stay capitals."""
    a = q.normalize('  "Liver  Metastases" AND Chemotherapy  ')
    b = q.normalize('"liver metastases"   AND chemotherapy')
    assert a == b == '"liver metastases" AND chemotherapy'
    # lower-case 'and' is a word to PubMed, not an operator, so it must stay distinct
    assert q.normalize("cancer and therapy") != q.normalize("cancer AND therapy")
    assert q.normalize("( CRISPR[TIAB] OR cas9 )") == "(crispr[tiab] OR cas9)"


def test_operators_apply_strictly_left_to_right() -> None:
    """PubMed has no precedence: a OR b AND c means (a OR b) AND c."""
    tree = q.parse("a OR b AND c")
    assert tree == Node("AND", (Node("OR", (Term("a"), Term("b"))), Term("c")))


def test_adjacent_words_are_anded_and_a_tag_covers_its_run_of_words() -> None:
    """'sickle cell' is two ANDed words; 'smith j[au]' is one author term."""
    assert q.parse("sickle cell") == Node("AND", (Term("sickle"), Term("cell")))
    assert q.parse("smith j[au] AND cancer") == Node("AND", (Term("smith j", "au"), Term("cancer")))


def test_positive_terms_leave_out_what_follows_not() -> None:
    """Terms after NOT are exclusions, not what the reader is looking for."""
    tree = q.parse('("gene therapy" OR crispr[tiab]) NOT mice')
    assert [str(t) for t in q.terms(tree)] == ['"gene therapy"', "crispr[tiab]"]
    assert [str(t) for t in q.terms(tree, positive=False)][-1] == "mice"


def test_field_tags_map_to_the_fields_they_search() -> None:
    """A [tiab] term is about title, abstract and author keywords, as PubMed searches it; an
    [au] term is a filter with no fields."""
    assert Term("x", "tiab").fields == {"title", "abstract", "keywords"}
    assert Term("x", "mh:noexp").fields == {"mesh"}
    assert Term("x", "title/abstract").fields == {"title", "abstract", "keywords"}
    assert Term("x").fields == {"title", "abstract", "keywords", "mesh"}
    assert Term("x", "au").fields == frozenset()
