"""The Telegram renderer on the nastiest real records: valid HTML, within 4,096, whole tags.

Telegram's own HTML parsing is reproduced by the fake Bot API's `parse_html` (a port of
TDLib's), so "Telegram would accept it" is checked without a network.
"""

from __future__ import annotations

import re

import pytest
from fixtures import DAILY, collected, first_paper, paper_in, papers_in
from servers.telegram import parse_html

from bot.messages import DigestItem, DigestMessage, DigestSection, ListItem, ListMessage
from bot.models import AbstractSection, Correction, MatchedQuery, Paper, Score
from bot.overflow import MAX_MESSAGES
from handlers.telegram_html import (
    LIMIT,
    card_message,
    digest_messages,
    length,
    list_messages,
    reply_messages,
)

NASTY = [
    "ncbi-cxx-toolkit-public__pubmed31732993.xml",  # MathML in the abstract, <sub> in the title
    "ncbi-cxx-toolkit-public__pubmed33761533.xml",  # 15,013 investigators, 1.8 MB
    "metapub__39382274.xml",  # β in a collective name
    "biopython__pubmed6.xml",  # heavy <sub>/<sup>/<i>
    "ncbi-cxx-toolkit-public__pubmed28211659.xml",  # a whole book, nine long sections
]


@pytest.mark.parametrize("name", NASTY)
@pytest.mark.parametrize("language", ["en", "ko"])
def test_real_records_render_as_html_telegram_accepts(name: str, language: str) -> None:
    """Each card parses as Telegram HTML and fits in one message, title first and whole."""
    paper = first_paper(name)
    message = card_message(collected(paper, language))
    text, entities = parse_html(message.html)
    assert length(text) <= LIMIT
    assert text.startswith(paper.title[:60])
    assert {e["type"] for e in entities} >= {"bold", "italic"}


def test_titles_with_angle_brackets_and_ampersands_are_shown_literally() -> None:
    """A title with '<', '>' and '&' is escaped and reads exactly as written."""
    paper = Paper(pmid="1", title='IL-6 <i>in vivo</i> & p<0.05 > 1 [sic] "quoted"')
    text, _ = parse_html(card_message(collected(paper)).html)
    assert text.splitlines()[0] == paper.title


def test_a_huge_abstract_is_shortened_first_and_never_cut_inside_a_word() -> None:
    """A 30,000-character abstract is cut at a word boundary so the card fits."""
    words = " ".join(f"word{i}" for i in range(5000))
    paper = Paper(pmid="2", title="Short title", abstract_sections=(AbstractSection("", words),))
    message = card_message(collected(paper))
    text, _ = parse_html(message.html)
    assert 3500 < length(text) <= LIMIT
    assert text.endswith("…")
    assert text.splitlines()[0] == "Short title"
    last_word = text.rstrip("…").split()[-1]
    assert last_word in words.split()


def test_astral_characters_count_double_like_telegram() -> None:
    """Emoji and other astral characters take two UTF-16 units; the card still fits."""
    paper = Paper(
        pmid="3", title="🧬" * 100, abstract_sections=(AbstractSection("", "🧪 " * 3000),)
    )
    text, _ = parse_html(card_message(collected(paper)).html)
    assert length(text) <= LIMIT


def test_buttons_carry_short_data_and_links() -> None:
    """👍 👎 💾 carry at most 64 bytes of data; PubMed and free full text are URL buttons."""
    paper = first_paper("biopython__pubmed4.xml")
    keyboard = card_message(collected(paper)).keyboard
    feedback, links = keyboard
    assert [b.data for b in feedback] == [f"fb:{k}:27797938" for k in ("up", "down", "save")]
    assert all(len(b.data.encode()) <= 64 for b in feedback)
    assert [b.url for b in links] == [
        "https://pubmed.ncbi.nlm.nih.gov/27797938/",
        "https://pmc.ncbi.nlm.nih.gov/articles/PMC5442267/",
    ]


def test_a_long_list_takes_at_most_three_messages_and_summarises_the_rest() -> None:
    """176 overflow papers: three valid messages, none over the limit; the papers that do not
    fit are counted in the last one with the subscription's PubMed search, and every paper is
    delivered by exactly one message."""
    papers = papers_in("fatcat__pubmedsample_2019.xml")
    items = tuple(ListItem(p, (MatchedQuery(1, "q", Score(0.5, "medium", ())),)) for p in papers)
    messages = list_messages(ListMessage("en", items))
    assert len(messages) == MAX_MESSAGES
    listed = []
    for message in messages:
        text, entities = parse_html(message.html)
        assert length(text) <= LIMIT
        links = [e["url"] for e in entities if e["type"] == "text_link"]
        on_message = [u.rstrip("/").rsplit("/", 1)[1] for u in links if "?term=" not in u]
        assert set(on_message) <= set(message.pmids)
        listed += on_message
    left = int(re.search(r"…and (\d+) more papers", text).group(1))  # type: ignore[union-attr]
    assert "https://pubmed.ncbi.nlm.nih.gov/?term=q" in links
    assert "/export csv alerts" in text  # the command to type, as code
    assert len(listed) == len(set(listed))
    assert len(listed) + left == len(papers)
    delivered = [pmid for message in messages for pmid in message.pmids]
    assert sorted(delivered) == sorted(p.pmid for p in papers)


def test_a_long_reply_is_split_at_line_breaks() -> None:
    """A reply longer than one message is split between lines, each part valid."""
    lines = [f"#{i} <query> & more" for i in range(800)]
    parts = reply_messages("\n".join(lines))
    assert len(parts) > 1
    rebuilt = []
    for part in parts:
        text, _ = parse_html(part)
        assert length(text) <= LIMIT
        rebuilt += text.splitlines()
    assert rebuilt == lines


# --- status lines, notices, titles (issue 14) ------------------------------------------------

RETRACTED = ("fatcat__pubmedsample_2019.xml", "8863847")  # RetractionIn 9499167
NOTICE_URL = "https://pubmed.ncbi.nlm.nih.gov/9499167/"


def links(entities: list[dict[str, object]]) -> list[object]:
    return [e["url"] for e in entities if e["type"] == "text_link"]


@pytest.mark.parametrize(
    ("language", "line", "linked"),
    [
        ("en", "⚠️ Retracted (retraction notice PMID 9499167)", "retraction notice PMID 9499167"),
        ("ko", "⚠️ 철회된 논문 (철회 공지 PMID 9499167)", "철회 공지 PMID 9499167"),
    ],
)
def test_a_retracted_card_opens_with_the_status_line_in_bold_linking_the_notice(
    language: str, line: str, linked: str
) -> None:
    """The first line of 8863847's message (what a notification shows) says it is retracted,
    in bold, its notice linked; the title follows."""
    message = card_message(collected(paper_in(*RETRACTED), language))
    text, entities = parse_html(message.html)
    first, second = text.splitlines()[:2]
    assert first == line
    assert second.startswith("Mechanism of extracellular ATP-induced proliferation")
    assert {"type": "bold", "offset": 0, "length": length(line)}.items() <= entities[0].items()
    [link] = [e for e in entities if e["type"] == "text_link"]
    assert link["url"] == NOTICE_URL
    assert text[link["offset"] : link["offset"] + link["length"]] == linked


def test_the_status_line_survives_a_card_that_must_be_shortened() -> None:
    """A retracted paper with a 9,000-character title and a 30,000-character abstract still
    opens with its whole status line, and fits."""
    paper = Paper(
        pmid="3",
        title=" ".join(f"title{i}" for i in range(1500)),
        abstract_sections=(AbstractSection("", " ".join(f"word{i}" for i in range(5000))),),
        corrections=(Correction("RetractionIn", "9499167", "Mol Pharmacol. 1998"),),
    )
    text, entities = parse_html(card_message(collected(paper)).html)
    assert length(text) <= LIMIT
    assert text.splitlines()[0] == "⚠️ Retracted (retraction notice PMID 9499167)"
    assert NOTICE_URL in links(entities)


def test_an_untitled_erratum_says_what_it_corrects_and_is_a_notice() -> None:
    """33977567: the erratum for 33528901, linked; "[No title] (PMID 33977567)" as its title;
    its match category is notice, not the high its score came with."""
    text, entities = parse_html(card_message(collected(paper_in(DAILY, "33977567"))).html)
    lines = text.splitlines()
    assert lines[0] == "📄 Erratum for PMID 33528901 — J Clin Nurs. 2021 May;30(9-10):1347-1359"
    assert lines[1] == "[No title] (PMID 33977567)"
    assert "https://pubmed.ncbi.nlm.nih.gov/33528901/" in links(entities)
    assert any(line.startswith("Match 0.74 (notice)") for line in lines)


def test_a_vernacular_only_title_is_the_cards_title_with_its_language() -> None:
    """32472320 has only the German title: the bold title line names German (독일어 in Korean)."""
    text, _ = parse_html(card_message(collected(paper_in(DAILY, "32472320"), "ko")).html)
    assert text.splitlines()[1] == "Briefsammlung Wittelshöfer. (독일어)"


def test_list_and_digest_entries_carry_the_status() -> None:
    """A list line of a retracted paper starts with "⚠️ Retracted ·"; its digest entry has the
    whole status line, the notice linked; an untitled erratum is listed by its PMID."""
    retracted, erratum = paper_in(*RETRACTED), paper_in(DAILY, "33977567")
    best = (MatchedQuery(1, "q", Score(0.5, "medium", ())),)
    [listed] = list_messages(
        ListMessage("en", (ListItem(retracted, best), ListItem(erratum, best)))
    )
    text, _ = parse_html(listed.html)
    assert "\n• ⚠️ Retracted · Mechanism of extracellular ATP-induced" in text
    assert "\n• 📄 Erratum · [No title] (PMID 33977567) (J Clin Nurs) — 0.50" in text
    item = DigestItem(retracted, Score(0.5, "medium"), "Animal study", "PKC and Raf-1…")
    digest = DigestMessage("en", "2026-11-26", 2, (DigestSection(1, "q", (item,)),), (item,))
    [message] = digest_messages(digest)
    text, entities = parse_html(message.html)
    entry = text.split("Subscription #1: q\n", 1)[1].splitlines()
    assert entry[0].startswith("• Mechanism of extracellular ATP-induced")
    assert entry[1] == "⚠️ Retracted (retraction notice PMID 9499167)"
    assert "• ⚠️ Retracted · Mechanism of extracellular" in text  # among the short links
    assert NOTICE_URL in links(entities)


def test_a_korean_card_names_the_category_in_korean() -> None:
    """The Korean card of the erratum 33971153 says 일치도 0.74 (공지): its category, in Korean."""
    text, _ = parse_html(card_message(collected(paper_in(DAILY, "33971153"), "ko")).html)
    assert "\n일치도 0.74 (공지) · " in text
