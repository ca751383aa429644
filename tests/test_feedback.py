"""👍 and 👎 tune a chat's later scores, within bounds, and the card says why."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from channels import RecordingChannel
from fixtures import DEFAULTS

from bot.config import Settings
from bot.delivery import deliver_pending
from bot.feedback import MAX_SHIFT, adjust, taste
from bot.messages import CardMessage
from bot.models import MatchReason, Paper, Score
from storage import Store


def paper(
    pmid: str, mesh: tuple[str, ...] = (), keywords: tuple[str, ...] = (), journal: str = "J"
) -> Paper:
    return Paper(
        pmid=pmid,
        title=f"Paper {pmid}",
        mesh_terms=("Humans", *mesh),
        keywords=keywords,
        journal=journal,
    )


BASE = Score(0.5, "medium", (MatchReason("q", ("title",)),))


def test_liked_topics_raise_a_later_paper_and_say_why() -> None:
    """Three liked papers on Gene Editing lift a new Gene Editing paper and explain it."""
    liked = [(paper(str(i), ("Gene Editing",)), "up") for i in range(3)]
    moved = adjust(taste(liked), paper("9", ("Gene Editing",)), BASE, "en")
    # Gene Editing (+3, capped at 2.5) and journal "J" (+3, capped at 2.5), 0.04 each
    assert moved.value == pytest.approx(0.5 + 2 * 2.5 * 0.04)
    assert moved.notes == ("you liked 3 papers on Gene Editing",)
    assert moved.reasons == BASE.reasons


def test_disliked_topics_lower_a_later_paper() -> None:
    """Two disliked papers in a journal lower the next paper from that journal."""
    disliked = [(paper(str(i), journal="Predatory J"), "down") for i in range(2)]
    moved = adjust(taste(disliked), paper("9", journal="Predatory J"), BASE, "en")
    assert moved.value == pytest.approx(0.5 - 2 * 0.04)
    assert moved.notes == ("you disliked 2 papers in Predatory J",)


def test_the_shift_is_bounded_by_two_tenths() -> None:
    """However much a chat liked a topic, a score moves at most 0.2, and stays within 0..1."""
    many = [(paper(str(i), ("A", "B", "C", "D", "E"), ("k1", "k2")), "up") for i in range(20)]
    target = paper("99", ("A", "B", "C", "D", "E"), ("k1", "k2"))
    assert adjust(taste(many), target, BASE, "en").value == pytest.approx(0.5 + MAX_SHIFT)
    top = Score(0.95, "high", ())
    assert adjust(taste(many), target, top, "en").value == 1.0


def test_generic_headings_and_unrelated_papers_do_not_move() -> None:
    """Liking papers about Humans says nothing; a paper sharing no topic keeps its score."""
    liked = [(paper(str(i), ("Gene Editing",)), "up") for i in range(3)]
    unrelated = paper("9", ("Asthma",), journal="Other")
    assert adjust(taste(liked), unrelated, BASE, "en") == BASE


def test_the_explanation_is_in_the_chats_language() -> None:
    """A Korean chat reads why in Korean."""
    liked = [(paper("1", ("Gene Editing",)), "up")]
    note = adjust(taste(liked), paper("9", ("Gene Editing",)), BASE, "ko").notes[0]
    assert note == "Gene Editing 주제의 논문을 좋아하셨습니다"


def test_category_follows_the_moved_score() -> None:
    """A medium paper lifted past 0.7 becomes high."""
    liked = [(paper(str(i), ("X", "Y")), "up") for i in range(3)]
    moved = adjust(taste(liked), paper("9", ("X", "Y")), Score(0.66, "medium", ()), "en")
    assert moved.category == "high"


def test_a_like_in_a_chat_moves_its_next_card_and_only_its_own(tmp_path: Path) -> None:
    """After 👍 on a paper, the chat's next card on the same topic carries a higher score and the
    reason; another chat's card for the same paper is unchanged."""
    store = Store(tmp_path / "ps.db")
    first, later = paper("1", ("Gene Editing",)), paper("2", ("Gene Editing",))
    store.papers.save([first, later])
    a = store.chats.get_or_create("local", "", "a", DEFAULTS)
    b = store.chats.get_or_create("local", "", "b", DEFAULTS)
    subs = [store.chats.add_subscription(c.id, "q", "q", 50) for c in (a, b)]
    store.feedback.record(a.id, "user-1", first.pmid, "up")
    store.polls.commit_query(
        store.polls.start(),
        "q",
        date(2021, 6, 7),
        "w",
        1,
        subs,
        [(s, later.pmid, BASE) for s in subs],
    )
    channel = RecordingChannel()
    settings = Settings.from_env({}, env_file=None)
    asyncio.run(
        deliver_pending(store, {"local": channel}, settings, clock=lambda: datetime.now(UTC))
    )
    scores = {}
    for sent in channel.sent:
        message = sent.message
        assert isinstance(message, CardMessage)
        assert message.card.collection is not None
        scores[sent.chat] = message.card.collection.score
    assert scores["a"] is not None
    assert scores["b"] is not None
    assert scores["a"].value == pytest.approx(0.5 + 2 * 0.04)  # the topic and the journal
    assert scores["a"].notes == ("you liked a paper on Gene Editing",)
    assert scores["b"].value == 0.5
    assert scores["b"].notes == ()


def test_a_liked_topic_never_makes_a_notice_high() -> None:
    """An erratum on a liked topic moves in score, but stays in the category notice."""
    liked = [(paper(str(i), ("X", "Y")), "up") for i in range(3)]
    erratum = Paper(
        pmid="9", title="Erratum", mesh_terms=("X", "Y"), publication_types=("Published Erratum",)
    )
    moved = adjust(taste(liked), erratum, Score(0.66, "notice", ()), "en")
    assert moved.value > 0.7
    assert moved.category == "notice"
