"""The Block Kit renderer on the nastiest real records: valid blocks, within every limit.

Slack's validation is reproduced by the fake Web API's `validate_blocks` (limits, unique ids,
escaping), so "Slack would accept it" is checked without a network.
"""

from __future__ import annotations

import re

import pytest
from fixtures import DAILY, collected, first_paper, paper_in, papers_in
from servers.slack import validate_blocks

from bot.cards import Card
from bot.messages import DigestItem, DigestMessage, DigestSection, ListItem, ListMessage
from bot.models import AbstractSection, Correction, MatchedQuery, Paper, Score
from bot.overflow import MAX_MESSAGES
from handlers.slack_blocks import (
    HEADER_LIMIT,
    MAX_BLOCKS,
    SECTION_LIMIT,
    card_message,
    digest_messages,
    esc,
    fit,
    home_view,
    list_messages,
    reply_messages,
)

NASTY = [
    "ncbi-cxx-toolkit-public__pubmed31732993.xml",
    "ncbi-cxx-toolkit-public__pubmed33761533.xml",
    "metapub__39382274.xml",
    "biopython__pubmed6.xml",
    "ncbi-cxx-toolkit-public__pubmed28211659.xml",
]


@pytest.mark.parametrize("name", NASTY)
@pytest.mark.parametrize("language", ["en", "ko"])
def test_real_records_render_as_blocks_slack_accepts(name: str, language: str) -> None:
    """Each card passes Slack's block validation, with a header, buttons and a fallback text."""
    message = card_message(collected(first_paper(name), language))
    assert validate_blocks(list(message.blocks)) == []
    assert message.blocks[0]["type"] == "header"
    assert message.blocks[-1]["type"] == "actions"
    assert message.text


def test_special_characters_are_escaped_everywhere() -> None:
    """'<', '>' and '&' in a title, abstract and query are escaped in every text."""
    paper = Paper(
        pmid="1",
        title="IL-6 <i>in vivo</i> & p<0.05 > 1",
        abstract_sections=(AbstractSection("", "A&B <script> C>D"),),
    )
    message = card_message(collected(paper))
    assert validate_blocks(list(message.blocks)) == []
    assert (
        message.blocks[0]["text"]["text"]
        == "IL-6 &lt;i&gt;in vivo&lt;/i&gt; &amp; p&lt;0.05 &gt; 1"
    )
    assert "A&amp;B &lt;script&gt; C&gt;D" in str(message.blocks)
    assert "<script>" not in message.text


def test_long_texts_are_shortened_to_slacks_limits_after_escaping() -> None:
    """A 300-character title and a 20,000-character abstract full of '&' still fit."""
    paper = Paper(
        pmid="2",
        title="&" * 300,
        abstract_sections=(AbstractSection("", " ".join(["R&D"] * 5000)),),
    )
    blocks = list(card_message(collected(paper)).blocks)
    assert validate_blocks(blocks) == []
    assert len(blocks[0]["text"]["text"]) <= HEADER_LIMIT
    assert all(len(b["text"]["text"]) <= SECTION_LIMIT for b in blocks if b["type"] == "section")


def test_buttons_carry_the_pmid_and_link_to_pubmed_and_free_full_text() -> None:
    """👍 👎 💾 carry 'fb:<kind>:<PMID>'; URL buttons open PubMed and PMC."""
    actions = card_message(collected(first_paper("biopython__pubmed4.xml"))).blocks[-1]["elements"]
    assert [a.get("value") for a in actions[:3]] == [
        f"fb:{k}:27797938" for k in ("up", "down", "save")
    ]
    assert [a.get("url") for a in actions[3:]] == [
        "https://pubmed.ncbi.nlm.nih.gov/27797938/",
        "https://pmc.ncbi.nlm.nih.gov/articles/PMC5442267/",
    ]


def test_a_long_list_takes_at_most_three_messages_and_summarises_the_rest() -> None:
    """176 overflow papers: three valid messages of at most 50 blocks; the papers that do not
    fit are counted in the last one with the subscription's PubMed search, and every paper is
    delivered by exactly one message."""
    papers = papers_in("fatcat__pubmedsample_2019.xml")
    items = tuple(ListItem(p, (MatchedQuery(1, "q", Score(0.5, "medium", ())),)) for p in papers)
    messages = list_messages(ListMessage("en", items))
    assert len(messages) == MAX_MESSAGES
    listed = []
    for message in messages:
        assert len(message.blocks) <= MAX_BLOCKS
        assert validate_blocks(list(message.blocks)) == []
        text = str(message.blocks)
        on_message = re.findall(r"<https://pubmed\.ncbi\.nlm\.nih\.gov/(\d+)/\|", text)
        assert set(on_message) <= set(message.pmids)
        listed += on_message
    notice = messages[-1].blocks[-1]["text"]["text"]
    left = int(re.search(r"…and (\d+) more papers", notice).group(1))  # type: ignore[union-attr]
    assert "<https://pubmed.ncbi.nlm.nih.gov/?term=q|#1 q" in notice
    assert "`/papers export csv alerts`" in notice  # the slash command to type
    assert len(listed) == len(set(listed))
    assert len(listed) + left == len(papers)
    delivered = [pmid for message in messages for pmid in message.pmids]
    assert sorted(delivered) == sorted(p.pmid for p in papers)


def test_a_reply_with_several_cards_keeps_each_card_in_one_message() -> None:
    """Search results: the reply text, then cards; a card is never split across messages."""
    papers = papers_in("fatcat__pubmedsample_2019.xml")
    cards = tuple(collected(p) for p in papers[:12])
    messages = reply_messages("Top 12 papers:", cards)
    assert len(messages) > 1
    headers = 0
    for message in messages:
        assert len(message.blocks) <= MAX_BLOCKS
        assert validate_blocks(list(message.blocks)) == []
        assert message.blocks[-1]["type"] in ("actions", "section")
        headers += sum(1 for b in message.blocks if b["type"] == "header")
    assert headers == 12


def test_the_app_home_is_a_valid_home_view() -> None:
    """The Home tab view validates as a view of at most 100 blocks."""
    view = home_view("en", "help <text> & more", "#1 [active] cancer & <b>")
    assert view["type"] == "home"
    assert validate_blocks(view["blocks"], pointer="/view/blocks", limit=100) == []


def test_escaping_is_exactly_slacks_three_characters() -> None:
    """Only &, < and > are replaced, and & first."""
    assert esc("a&b<c>d&amp;") == "a&amp;b&lt;c&gt;d&amp;amp;"


def test_the_context_line_has_journal_date_score_and_category() -> None:
    """Under the abstract: journal, publication date, score and relevance category."""
    blocks = card_message(collected(first_paper("biopython__pubmed4.xml"))).blocks
    [context] = [b for b in blocks if b["type"] == "context"]
    assert context["elements"][0]["text"].startswith("_Gut_ · 2017-06 · Match 0.74 (high)")


def card_text(card: Card) -> str:
    """Every mrkdwn and plain text of a card message, joined."""
    texts = []
    for block in card_message(card).blocks:
        for part in [block.get("text"), *block.get("elements", [])]:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                texts.append(part["text"])
    return "\n".join(texts)


def test_a_hostile_doi_cannot_mention_the_channel_or_disguise_a_link() -> None:
    """A DOI written to break out of its link puts no live <!channel> and no second link into
    the card: its '<', '>', '|' and spaces are percent-encoded in the URL."""
    doi = "10.1000/x><!channel> <https://evil.example/|Click here"
    paper = Paper(pmid="1", title="A paper", doi=doi)
    text = card_text(collected(paper))
    assert "<!channel>" not in text
    assert "<https://evil.example" not in text
    links = re.findall(r"<([^<>]*)>", text)
    assert links == [
        "https://doi.org/10.1000/x%3E%3C%21channel%3E%20%3Chttps://evil.example/%7CClick%20here"
        "|doi:10.1000/x&gt;&lt;!channel&gt; &lt;https://evil.example/¦Click here"
    ]


def test_a_real_sici_doi_links_to_the_doi_resolver_intact() -> None:
    """PMID 10612833's DOI, with '<' and '>' in it, is one working link to doi.org."""
    paper = next(p for p in papers_in("fatcat__pubmedsample_2019.xml") if p.pmid == "10612833")
    assert paper.doi == "10.1002/(SICI)1098-1004(200001)15:1<114::AID-HUMU21>3.0.CO;2-4"
    [link] = re.findall(r"<(https://doi\.org/[^<>]*)>", card_text(collected(paper)))
    url, label = link.split("|")
    assert (
        url == "https://doi.org/10.1002/(SICI)1098-1004(200001)15:1%3C114::AID-HUMU21%3E3.0.CO;2-4"
    )
    assert label == "doi:10.1002/(SICI)1098-1004(200001)15:1&lt;114::AID-HUMU21&gt;3.0.CO;2-4"


@pytest.mark.parametrize("text", ["<" * 1600, "a<b & c>d " * 400, "&" * 5000])
def test_fit_keeps_as_much_of_a_markup_dense_text_as_fits_escaped(text: str) -> None:
    """Text full of '<', '&' and '>' is cut to fit once escaped, not collapsed to '…'."""
    fitted = fit(text, 3000)
    assert 2900 <= len(fitted) <= 3000
    assert fitted.endswith("…")
    unescaped = fitted[:-1].replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    assert text.startswith(unescaped.rstrip())


# --- status lines, notices, titles (issue 14) ------------------------------------------------

RETRACTED = ("fatcat__pubmedsample_2019.xml", "8863847")  # RetractionIn 9499167


@pytest.mark.parametrize(
    ("language", "line", "preview"),
    [
        (
            "en",
            "*⚠️ Retracted (<https://pubmed.ncbi.nlm.nih.gov/9499167/|retraction notice PMID "
            "9499167>)*",
            "⚠️ Retracted · Mechanism of extracellular ATP-induced",
        ),
        (
            "ko",
            "*⚠️ 철회된 논문 (<https://pubmed.ncbi.nlm.nih.gov/9499167/|철회 공지 PMID 9499167>)*",
            "⚠️ 철회된 논문 · Mechanism of extracellular ATP-induced",
        ),
    ],
)
def test_a_retracted_card_has_the_status_right_under_its_header(
    language: str, line: str, preview: str
) -> None:
    """8863847: the block after the header is the bold status line linking notice 9499167, and
    the notification text starts with the status."""
    message = card_message(collected(paper_in(*RETRACTED), language))
    assert validate_blocks(list(message.blocks)) == []
    assert message.blocks[1] == {"type": "section", "text": {"type": "mrkdwn", "text": line}}
    assert message.text.startswith(preview)


def test_the_status_block_stays_whole_when_the_rest_is_shortened() -> None:
    """A retracted paper whose title and abstract exceed Slack's limits keeps its whole status
    line; the blocks still pass Slack's checks."""
    paper = Paper(
        pmid="3",
        title="t " * 400,
        abstract_sections=(AbstractSection("", "<&> " * 2000),),
        corrections=(Correction("RetractionIn", "9499167", "Mol Pharmacol. 1998"),),
    )
    message = card_message(collected(paper))
    assert validate_blocks(list(message.blocks)) == []
    assert message.blocks[1]["text"]["text"] == (
        "*⚠️ Retracted (<https://pubmed.ncbi.nlm.nih.gov/9499167/|retraction notice PMID 9499167>)*"
    )


def test_a_notice_names_what_it_concerns_and_is_matched_as_a_notice() -> None:
    """34092875 links the retracted paper 31031480, and its context line says (notice)."""
    message = card_message(collected(paper_in(DAILY, "34092875")))
    assert message.blocks[1]["text"]["text"] == (
        "📄 Retraction notice for <https://pubmed.ncbi.nlm.nih.gov/31031480/|PMID 31031480>"
        " — Anesth Essays Res. 2019 Jan-Mar;13(1):50-56"
    )
    [context] = [b for b in message.blocks if b["type"] == "context"]
    assert " · Match 0.74 (notice)" in context["elements"][0]["text"]


def test_headers_show_vernacular_titles_and_untitled_records_by_pmid() -> None:
    """32472320's header is its German title named as such; 33977567's is "[No title] (PMID
    33977567)", in the header and the notification."""
    german = card_message(collected(paper_in(DAILY, "32472320")))
    assert german.blocks[0]["text"]["text"] == "Briefsammlung Wittelshöfer. (German)"
    untitled = card_message(collected(paper_in(DAILY, "33977567")))
    assert untitled.blocks[0]["text"]["text"] == "[No title] (PMID 33977567)"
    assert untitled.text.startswith("📄 Erratum · [No title] (PMID 33977567) — J Clin Nurs")


def test_list_and_digest_entries_carry_the_status_and_the_real_title() -> None:
    """A list line starts "⚠️ Retracted ·"; a digest entry has the linked status line under its
    title; 34059504 is listed by its French title."""
    retracted, french = paper_in(*RETRACTED), paper_in(DAILY, "34059504")
    best = (MatchedQuery(1, "q", Score(0.5, "medium", ())),)
    [listed] = list_messages(ListMessage("en", (ListItem(retracted, best), ListItem(french, best))))
    texts = [b["text"]["text"] for b in listed.blocks]
    assert texts[1].startswith("• ⚠️ Retracted · <https://pubmed.ncbi.nlm.nih.gov/8863847/|")
    assert texts[2].startswith(
        "• <https://pubmed.ncbi.nlm.nih.gov/34059504/|Les soins hospitaliers aux personnes qui "
        "consomment des drogues injectables. (French)>"
    )
    item = DigestItem(retracted, Score(0.5, "medium"), "Animal study", "PKC and Raf-1…")
    digest = DigestMessage("en", "2026-11-26", 1, (DigestSection(1, "q", (item,)),))
    [message] = digest_messages(digest)
    assert validate_blocks(list(message.blocks)) == []
    entry = message.blocks[2]["text"]["text"].splitlines()
    assert entry[0].startswith("*<https://pubmed.ncbi.nlm.nih.gov/8863847/|Mechanism")
    assert entry[1] == (
        "*⚠️ Retracted (<https://pubmed.ncbi.nlm.nih.gov/9499167/|retraction notice PMID 9499167>)*"
    )
