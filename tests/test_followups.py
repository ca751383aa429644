"""Follow-ups end to end: real notice records of a day of PubMed, served by the loopback
E-utilities server, reach the chats that received or saved the paper they concern, once.

The notices are real (the daily slice's retraction 34092875, erratum 34094293 and expression of
concern 34096680, all entered 2021-06-07); only their link is pointed at papers the test chats
receive (crispr[tiab] papers entered 2021-06-04), the way the issue asks: what they concern is
written by hand below, from the XML.
"""

from __future__ import annotations

import asyncio
import io
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from channels import RecordingChannel
from fixtures import DAILY, DEFAULTS, cli, fixture
from servers.eutils import FakeEutils

from bot.config import Settings
from bot.delivery import deliver_pending
from bot.errors import DeliveryFailed
from bot.followups import deliver_followups
from bot.messages import CardMessage, DigestMessage, FollowupMessage
from bot.models import Chat
from bot.notices import NOTICE_QUERY
from bot.poller import PollReport, poll_cycle
from bot.pubmed import query as pubmed_query
from bot.pubmed.client import EutilsClient, RetryPolicy
from storage import Store

BEFORE, AFTER = date(2021, 6, 4), date(2021, 6, 7)  # the notices entered on AFTER
RETRACTION, ERRATUM, CONCERN = "34092875", "34094293", "34096680"
# crispr[tiab] papers entered 2021-06-04 (titles from the XML).
RETRACTED = "34087725"  # "Detection of rare variant alleles using the AsCas12a ..."
CORRECTED = "34086743"  # "RNA-guided gene editing of the murine gammaherpesvirus 68 genome ..."
CONCERNED = "34085929"  # "Short and long sleeping mutants reveal links between sleep and ..."
# Each notice: the PMID its link names in the XML, and the paper it is pointed at here.
RETARGET = {
    RETRACTION: ("31031480", RETRACTED),
    ERRATUM: ("30996981", CORRECTED),
    CONCERN: ("32090497", CONCERNED),
}


def retarget(fake: FakeEutils, folder: Path, changes: dict[str, tuple[str, str]]) -> None:
    """Serve each notice with its link pointed at another paper (its record otherwise as is)."""
    records = []
    for notice, (old, new) in changes.items():
        raw = fake.raw(notice)
        before = f'<PMID Version="1">{old}</PMID>'.encode()
        assert raw.count(before) == 1, notice
        records.append(raw.replace(before, f'<PMID Version="1">{new}</PMID>'.encode()))
    path = folder / "notices.xml"
    path.write_bytes(b"<PubmedArticleSet>\n" + b"\n".join(records) + b"\n</PubmedArticleSet>\n")
    fake.load(path)


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeEutils]:
    with FakeEutils(rate_limit=None) as served:
        served.load(fixture(DAILY))
        retarget(served, tmp_path, RETARGET)
        yield served


def settings_for(fake: FakeEutils, **extra: str) -> Settings:
    values = {"PUBMED_EUTILS_URL": fake.url, "BACKFILL_DAYS": "7", "MAX_CARDS_PER_POLL": "1000"}
    return Settings.from_env({**values, **extra}, env_file=None)


def subscribe(store: Store, chat_id: str, query: str = "", **settings: str) -> Chat:
    chat = store.chats.get_or_create("local", "", chat_id, {**DEFAULTS, **settings})
    if query:
        store.chats.add_subscription(chat.id, query, pubmed_query.normalize(query), 50)
    return chat


def poll(store: Store, fake: FakeEutils, settings: Settings, day: date) -> PollReport:
    fake.visible_until = day
    fake.today = day
    client = EutilsClient(fake.url, retry=RetryPolicy(attempts=3, backoff=0.01), max_rps=100)
    return poll_cycle(store, client, settings, today=lambda: day)


def deliver(store: Store, settings: Settings, channel: RecordingChannel) -> int:
    """One delivery pass as the bot makes it: cards, then follow-ups; follow-ups sent."""

    async def both() -> int:
        await deliver_pending(store, {"local": channel}, settings)
        return (await deliver_followups(store, {"local": channel}, settings)).sent

    return asyncio.run(both())


def card_id(channel: RecordingChannel, chat: str, pmid: str) -> str:
    """The message id the channel gave the chat's card of `pmid`."""
    for number, sent in enumerate(channel.sent, start=1):
        if sent.chat == chat and sent.kind == "card" and sent.pmids == (pmid,):
            return f"m{number}"
    raise AssertionError(f"{chat} got no card of {pmid}")


def told(channel: RecordingChannel, chat: str) -> list[tuple[str, str, str]]:
    return sorted((m.pmid, m.kind, m.notice) for m in channel.followups(chat))


def test_notices_reach_the_chats_that_received_or_saved_the_paper_once(
    fake: FakeEutils, store: Store
) -> None:
    """A retraction, an erratum and an expression of concern reach the chat that got those
    papers, each once, as replies to its cards; a chat that saved the retracted paper hears of
    it too; a chat that got other papers and a retired chat hear nothing; a second poll adds
    nothing, and the retracted paper's stored record now says it is retracted."""
    settings = settings_for(fake)
    reader = subscribe(store, "reader", "crispr[tiab]")
    other = subscribe(store, "other", "asthma[tiab]")
    retired = subscribe(store, "retired", "crispr[tiab]")
    keeper = subscribe(store, "keeper")
    channel = RecordingChannel()

    poll(store, fake, settings, BEFORE)
    deliver(store, settings, channel)
    got = set(channel.pmids("reader"))
    assert {RETRACTED, CORRECTED, CONCERNED} <= got
    assert set(channel.pmids("retired")) == got
    assert not {RETRACTED, CORRECTED, CONCERNED} & set(channel.pmids("other"))
    store.feedback.show(keeper.id, [RETRACTED])  # a search card, saved with its 💾 button
    store.feedback.record(keeper.id, "u1", RETRACTED, "save")
    store.chats.deactivate(retired.id, "Forbidden: bot was blocked by the user")

    report = poll(store, fake, settings, AFTER)
    sent = deliver(store, settings, channel)

    assert report.followups == 4
    assert sent == 4
    assert told(channel, "reader") == [
        (CONCERNED, "expression-of-concern", CONCERN),
        (CORRECTED, "corrected", ERRATUM),
        (RETRACTED, "retracted", RETRACTION),
    ]
    by_pmid = {m.pmid: m for m in channel.followups("reader")}
    for pmid in (RETRACTED, CORRECTED, CONCERNED):
        assert by_pmid[pmid].reply_to == card_id(channel, "reader", pmid)
    assert by_pmid[RETRACTED].subscriptions == ((1, "crispr[tiab]"),)
    assert by_pmid[RETRACTED].title.startswith("Detection of rare variant alleles")
    assert told(channel, "keeper") == [(RETRACTED, "retracted", RETRACTION)]
    assert channel.followups("keeper")[0].saved
    assert told(channel, "other") == []
    assert told(channel, "retired") == []
    assert other.id != reader.id

    stored = store.papers.get(RETRACTED)
    assert stored is not None
    assert stored.status == "retracted"
    assert [c.pmid for c in stored.links("RetractionIn")] == [RETRACTION]

    poll(store, fake, settings, AFTER)
    assert deliver(store, settings, channel) == 0
    assert len(channel.followups("reader")) == 3


def test_a_restart_between_the_notice_poll_and_the_send_loses_and_repeats_nothing(
    fake: FakeEutils, tmp_path: Path
) -> None:
    """The follow-ups a poll owes wait in the database: a bot started again sends each once,
    the one a dead sender had leased included."""
    settings = settings_for(fake)
    first = Store(tmp_path / "restart.db")
    subscribe(first, "reader", "crispr[tiab]")
    channel = RecordingChannel()
    poll(first, fake, settings, BEFORE)
    deliver(first, settings, channel)
    report = poll(first, fake, settings, AFTER)
    first.close()  # the bot stops here, before sending

    again = Store(tmp_path / "restart.db")
    try:
        assert report.followups == 3
        # One of them was in flight when a sender of this host died (its lease, its pid gone).
        [first_owed, *_] = again.followups.for_chat(
            again.chats.get_or_create("local", "", "reader", DEFAULTS).id
        )
        dead = f"{socket.gethostname()}:{_dead_pid()}"
        now = datetime.now(UTC)
        assert again.followups.claim(first_owed.id, now, now + timedelta(hours=1), dead)
        assert deliver(again, settings, channel) == 3
        assert deliver(again, settings, channel) == 0
        poll(again, fake, settings, AFTER)
        assert deliver(again, settings, channel) == 0
    finally:
        again.close()
    assert len(told(channel, "reader")) == 3


def test_a_card_still_pending_carries_the_new_status_and_no_follow_up(
    fake: FakeEutils, store: Store
) -> None:
    """A chat whose card was not sent yet when the retraction arrived gets the card marked
    retracted, and no follow-up."""
    settings = settings_for(fake)
    subscribe(store, "late", "crispr[tiab]")
    subscribe(store, "reader", "crispr[tiab]")  # someone received it: notices are watched
    waiting = {"late"}
    channel = RecordingChannel(
        fail=lambda chat, message: (
            DeliveryFailed("Telegram is not connected yet", retry_after=0)
            if chat.chat_id in waiting
            else None
        )
    )
    poll(store, fake, settings, BEFORE)
    deliver(store, settings, channel)
    assert channel.pmids("late") == []

    poll(store, fake, settings, AFTER)
    waiting.clear()
    deliver(store, settings, channel)

    cards = {s.pmids[0]: s.message for s in channel.sent if s.chat == "late" and s.kind == "card"}
    card = cards[RETRACTED]
    assert isinstance(card, CardMessage)
    assert card.card.paper.status == "retracted"
    assert told(channel, "late") == []


def test_a_paper_already_retracted_on_arrival_gets_no_follow_up(
    fake: FakeEutils, store: Store, tmp_path: Path
) -> None:
    """A paper whose record already names its retraction notice is delivered with that status,
    and the notice, when the poll reads it, owes nobody a follow-up."""
    raw = fake.raw(RETRACTED)
    link = (
        b'<CommentsCorrectionsList><CommentsCorrections RefType="RetractionIn">'
        b"<RefSource>Anesth Essays Res. 2021</RefSource>"
        b'<PMID Version="1">34092875</PMID></CommentsCorrections></CommentsCorrectionsList>'
    )
    assert raw.count(b"</MedlineJournalInfo>") == 1
    marked = raw.replace(b"</MedlineJournalInfo>", b"</MedlineJournalInfo>" + link)
    path = tmp_path / "retracted.xml"
    path.write_bytes(b"<PubmedArticleSet>\n" + marked + b"\n</PubmedArticleSet>\n")
    fake.load(path)
    settings = settings_for(fake)
    subscribe(store, "reader", "crispr[tiab]")
    channel = RecordingChannel()

    poll(store, fake, settings, BEFORE)
    deliver(store, settings, channel)
    card = next(s.message for s in channel.sent if s.kind == "card" and s.pmids == (RETRACTED,))
    assert isinstance(card, CardMessage)
    assert card.card.paper.status == "retracted"

    poll(store, fake, settings, AFTER)
    deliver(store, settings, channel)
    assert (RETRACTED, "retracted", RETRACTION) not in told(channel, "reader")
    assert len(told(channel, "reader")) == 2  # the erratum and the concern still arrive


def digests(channel: RecordingChannel, chat: str) -> list[DigestMessage]:
    """The digests this chat received, in order."""
    return [
        s.message for s in channel.sent if s.chat == chat and isinstance(s.message, DigestMessage)
    ]


def updates(message: DigestMessage) -> list[tuple[str, str, str]]:
    """(paper, kind, notice) of each follow-up a digest carries, sorted."""
    return sorted((u.pmid, u.kind, u.notice) for _, u in message.updates)


@pytest.mark.parametrize("weekday", [None, 0], ids=["daily", "weekly"])
def test_a_digest_chat_hears_of_a_retraction_at_once_and_of_corrections_inside_its_digest(
    fake: FakeEutils, store: Store, weekday: int | None
) -> None:
    """In digest mode, daily or weekly, a retraction does not wait; the erratum and the concern
    wait for the next digest and are a section of it, not messages of their own, and come once."""
    from bot import digest

    settings = settings_for(fake)
    chat = subscribe(store, "reader", "crispr[tiab]", mode="digest")
    chat = store.chats.update(chat.id, digest_day=weekday)
    channel = RecordingChannel()
    poll(store, fake, settings, BEFORE)
    digest.plan(store, store.chats.get(chat.id), _noon(BEFORE))
    deliver(store, settings, channel)
    assert [updates(d) for d in digests(channel, "reader")] == [[]]

    poll(store, fake, settings, AFTER)
    deliver(store, settings, channel)
    assert told(channel, "reader") == [(RETRACTED, "retracted", RETRACTION)]
    assert len(digests(channel, "reader")) == 1  # the erratum and concern wait for the digest

    digest.plan(store, store.chats.get(chat.id), _noon(AFTER))
    deliver(store, settings, channel)
    assert told(channel, "reader") == [(RETRACTED, "retracted", RETRACTION)]  # no new message
    [_, second] = digests(channel, "reader")
    assert updates(second) == [
        (CONCERNED, "expression-of-concern", CONCERN),
        (CORRECTED, "corrected", ERRATUM),
    ]
    erratum = next(u for _, u in second.updates if u.kind == "corrected")
    assert erratum.title.startswith("RNA-guided gene editing of the murine gammaherpesvirus 68")

    digest.plan(store, store.chats.get(chat.id), _noon(AFTER + timedelta(days=1)))
    deliver(store, settings, channel)
    assert len(digests(channel, "reader")) == 2  # nothing new: no third digest
    assert {f.state for f in store.followups.for_chat(chat.id)} == {"sent"}


def test_a_restart_between_planning_a_digest_and_sending_it_repeats_nothing(
    fake: FakeEutils, tmp_path: Path
) -> None:
    """The digest's follow-ups are planned with it: a bot stopped after planning, whose sender
    died holding the digest's lease, sends them once, inside the digest, after its restart."""
    from bot import digest

    settings = settings_for(fake)
    first = Store(tmp_path / "restart.db")
    chat = subscribe(first, "reader", "crispr[tiab]", mode="digest")
    channel = RecordingChannel()
    poll(first, fake, settings, BEFORE)
    digest.plan(first, first.chats.get(chat.id), _noon(BEFORE))
    deliver(first, settings, channel)
    poll(first, fake, settings, AFTER)
    deliver(first, settings, channel)  # the retraction
    assert digest.plan(first, first.chats.get(chat.id), _noon(AFTER)) >= 2
    # A sender of this host took the digest and died before the platform confirmed it.
    owed = [d.id for d in first.outbox.all_for_chat(chat.id) if d.state == "pending"]
    notes = [f.id for f in first.followups.for_chat(chat.id) if f.state == "pending"]
    assert len(notes) == 2
    dead = f"{socket.gethostname()}:{_dead_pid()}"
    now = datetime.now(UTC)
    assert first.outbox.claim(owed, now, now + timedelta(hours=1), dead, followups=notes)
    first.close()

    again = Store(tmp_path / "restart.db")
    try:
        deliver(again, settings, channel)
        deliver(again, settings, channel)
        assert {f.state for f in again.followups.for_chat(chat.id)} == {"sent"}
    finally:
        again.close()
    assert told(channel, "reader") == [(RETRACTED, "retracted", RETRACTION)]
    [_, second] = digests(channel, "reader")
    assert updates(second) == [
        (CONCERNED, "expression-of-concern", CONCERN),
        (CORRECTED, "corrected", ERRATUM),
    ]


def test_a_digest_that_failed_once_carries_its_followups_on_the_retry_only(
    fake: FakeEutils, store: Store
) -> None:
    """A digest of follow-ups only that the platform refused (a failure that counts) keeps
    them, with the attempt counted; the retry after the backoff carries them, once."""
    from bot import digest

    settings = settings_for(fake)
    three = f"{RETRACTED}[pmid] OR {CORRECTED}[pmid] OR {CONCERNED}[pmid]"
    chat = subscribe(store, "reader", three, mode="digest")
    refuse = {"digests": 1}

    def fail(_: Chat, message: object) -> DeliveryFailed | None:
        if isinstance(message, DigestMessage) and message.updates and refuse["digests"]:
            refuse["digests"] -= 1
            return DeliveryFailed("Bad Gateway")
        return None

    channel = RecordingChannel(fail=fail)
    poll(store, fake, settings, BEFORE)
    digest.plan(store, store.chats.get(chat.id), _noon(BEFORE))
    deliver(store, settings, channel)
    poll(store, fake, settings, AFTER)
    deliver(store, settings, channel)  # the retraction
    digest.plan(store, store.chats.get(chat.id), _noon(AFTER))
    deliver(store, settings, channel)  # refused
    assert len(digests(channel, "reader")) == 1
    waiting = [f for f in store.followups.for_chat(chat.id) if f.state == "pending"]
    assert sorted((f.kind, f.attempts) for f in waiting) == [
        ("corrected", 1),
        ("expression-of-concern", 1),
    ]
    later = datetime.now(UTC) + timedelta(hours=1)  # after the backoff
    for _ in range(2):
        asyncio.run(deliver_pending(store, {"local": channel}, settings, clock=lambda: later))
    [_, second] = digests(channel, "reader")
    assert second.total == 0  # no new papers: the digest holds the follow-ups alone
    assert [kind for _, kind, _ in updates(second)] == ["expression-of-concern", "corrected"]
    assert told(channel, "reader") == [(RETRACTED, "retracted", RETRACTION)]


def test_followups_off_sends_none_and_reads_no_notices(fake: FakeEutils, store: Store) -> None:
    """FOLLOWUPS=off: no notice search in the poll and no follow-up message."""
    settings = settings_for(fake, FOLLOWUPS="off")
    subscribe(store, "reader", "crispr[tiab]")
    channel = RecordingChannel()
    poll(store, fake, settings, BEFORE)
    deliver(store, settings, channel)
    fake.reset()
    poll(store, fake, settings, AFTER)
    deliver(store, settings, channel)
    assert told(channel, "reader") == []
    assert not any("[pt]" in r.params.get("term", "") for r in fake.requests)


def test_the_requests_of_a_poll_do_not_grow_with_the_papers_chats_received(
    fake: FakeEutils, tmp_path: Path
) -> None:
    """The notice check costs the same E-utilities requests whether chats received 100 or
    10,000 papers: the matching is done in the database."""
    settings = settings_for(fake)
    counts = []
    for received in (100, 10_000):
        store = Store(tmp_path / f"{received}.db")
        try:
            subscribe(store, "reader", "crispr[tiab]")
            channel = RecordingChannel()
            poll(store, fake, settings, BEFORE)
            deliver(store, settings, channel)
            _received_before(store, received)
            report = poll(store, fake, settings, AFTER)
            counts.append((report.requests, report.followups))
        finally:
            store.close()
    assert counts[0] == counts[1]
    assert counts[0][1] == 3


def _dead_pid() -> int:
    """The pid of a process that has ended."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _received_before(store: Store, papers: int) -> None:
    """Pretend the chat received `papers` more papers in the past (sent outbox rows)."""
    chat = store.chats.get_or_create("local", "", "archive", DEFAULTS)
    with store.transaction() as db:
        db.conn.executemany(
            "INSERT INTO deliveries (chat, pmid, state, kind, created_at, sent_at, message_id)"
            " VALUES (?, ?, 'sent', 'card', '2021-01-01T00:00:00+00:00',"
            " '2021-01-01T00:00:00+00:00', 'old')",
            [(chat.id, str(10_000_000 + n)) for n in range(papers)],
        )


def _noon(day: date) -> object:
    from datetime import UTC, datetime, time

    return datetime.combine(day, time(12), tzinfo=UTC)


def test_the_followup_message_says_what_happened_in_both_languages() -> None:
    """The plain text of a retraction names the paper, when and by which subscription the chat
    got it, and the notice with its link; in Korean too; a correction is one quiet line."""
    retraction = FollowupMessage(
        "en", "retracted", RETRACTED, "Detection of rare variant alleles", RETRACTION,
        day="2021-06-04", subscriptions=((1, "crispr[tiab]"),),
    )  # fmt: skip
    assert retraction.plain() == (
        "⚠️ Retracted: Detection of rare variant alleles — you received it on 2021-06-04"
        " (subscription #1 “crispr[tiab]”); retraction notice PMID 34092875"
        " https://pubmed.ncbi.nlm.nih.gov/34092875/"
    )
    korean = FollowupMessage(
        "ko", "retracted", RETRACTED, "Detection", RETRACTION, day="2021-06-04",
        subscriptions=((1, "crispr[tiab]"),),
    )  # fmt: skip
    assert korean.plain() == (
        "⚠️ 철회됨: Detection — 2021-06-04에 받은 논문입니다 (구독 #1 “crispr[tiab]”);"
        " 철회 공지 PMID 34092875 https://pubmed.ncbi.nlm.nih.gov/34092875/"
    )
    erratum = FollowupMessage("en", "corrected", CORRECTED, "RNA-guided", ERRATUM, day="2021-06-04")
    assert erratum.plain() == (
        "✏️ Corrected: RNA-guided (erratum PMID 34094293) https://pubmed.ncbi.nlm.nih.gov/34094293/"
    )
    free = FollowupMessage("en", "free", CORRECTED, "RNA-guided", "PMC8181234")
    assert free.plain() == (
        "🔓 Free full text is now available: RNA-guided"
        " https://pmc.ncbi.nlm.nih.gov/articles/PMC8181234/"
    )


def test_the_followups_command_and_the_local_channel(fake: FakeEutils, tmp_path: Path) -> None:
    """Locally: `paper-surfer followups` reads the new notices, writes the follow-up as a
    Markdown file next to the card and a line on stdout, reports what it did, and a second run
    sends nothing; `status` says when the check ran and what the chat got."""
    today = datetime.now(UTC).date()
    fake.shift_dates(AFTER, today)  # the notices enter today
    fake.visible_until = today - (AFTER - BEFORE)
    alerts = tmp_path / "alerts"
    env = {
        "DATABASE_PATH": str(tmp_path / "ps.db"),
        "ALERTS_DIR": str(alerts),
        "PUBMED_EUTILS_URL": fake.url,
        "NCBI_EMAIL": "dev@example.org",
    }
    assert cli("cmd", f"subscribe {RETRACTED}[pmid]", env=env)[0] == 0
    assert cli("poll", env=env)[0] == 0
    [card] = list(alerts.rglob("*.md"))
    assert card.name == f"{RETRACTED}.md"

    fake.visible_until = None
    code, out, err = cli("followups", env=env)
    assert code == 0, err
    note = card.parent / f"{RETRACTED}-retracted-{RETRACTION}.md"  # next to the card
    week = f"{today - timedelta(days=7):%Y/%m/%d}-{today:%Y/%m/%d}"
    # 11 notices entered in the window (the slice's [pt] records of 2021-05-31 to 06-07); the
    # requests: the notice search, and one efetch of them.
    assert out.splitlines() == [
        f"{note}  ⚠️ Retracted: Detection of rare variant alleles using the AsCas12a"
        " double-stranded DNA trans-cleavage activity. — you received it on"
        f" {today.isoformat()} (subscription #1 “{RETRACTED}[pmid]”); retraction notice PMID"
        f" {RETRACTION} https://pubmed.ncbi.nlm.nih.gov/{RETRACTION}/",
        f"Notices (retractions, errata, expressions of concern), Entrez dates {week}: 11 read,"
        " 1 follow-ups owed",
        "Saved papers re-checked: 0, 0 follow-ups owed",
        "Follow-ups: 1 sent, 0 failed",
        "E-utilities requests: 2",
    ]
    text = note.read_text(encoding="utf-8")
    assert text.startswith("# ⚠️ Retracted: [Detection of rare variant alleles")
    notice = f"[retraction notice PMID {RETRACTION}](https://pubmed.ncbi.nlm.nih.gov/{RETRACTION}/)"
    assert notice in text

    code, out, _ = cli("followups", env=env)
    assert code == 0
    assert "Follow-ups: 0 sent, 0 failed" in out
    status = cli("cmd", "status", env=env)[1]
    assert "sent to this chat so far: 1, waiting: 0" in status
    assert cli("cmd", "lang ko", env=env)[0] == 0
    korean = cli("cmd", "status", env=env)[1]
    assert "이 대화방에 보낸 후속 알림 1건, 대기 0건" in korean


def test_the_weekly_recheck_finds_an_erratum_and_free_full_text_of_a_saved_paper(
    fake: FakeEutils, store: Store, tmp_path: Path
) -> None:
    """A saved paper whose record gained an ErratumIn link and a PMC id: the chat that saved it
    is told of both, the chat that only received it of the erratum only; one efetch for the
    one saved paper, and the next re-check is due a week later."""
    from bot import recheck

    settings = settings_for(fake)
    subscribe(store, "reader", "crispr[tiab]")
    keeper = subscribe(store, "keeper", "crispr[tiab]")
    channel = RecordingChannel()
    poll(store, fake, settings, BEFORE)
    deliver(store, settings, channel)
    store.feedback.record(keeper.id, "u1", CORRECTED, "save")

    raw = fake.raw(CORRECTED)
    pubmed_id = f'<ArticleId IdType="pubmed">{CORRECTED}</ArticleId>'.encode()
    assert raw.count(pubmed_id) == 1
    assert raw.count(b"</MedlineJournalInfo>") == 1
    changed = raw.replace(
        pubmed_id, pubmed_id + b'<ArticleId IdType="pmc">PMC8181234</ArticleId>'
    ).replace(
        b"</MedlineJournalInfo>",
        b'</MedlineJournalInfo><CommentsCorrectionsList><CommentsCorrections RefType="ErratumIn">'
        b'<RefSource>J Virol. 2021</RefSource><PMID Version="1">34094293</PMID>'
        b"</CommentsCorrections></CommentsCorrectionsList>",
    )
    path = tmp_path / "changed.xml"
    path.write_bytes(b"<PubmedArticleSet>\n" + changed + b"\n</PubmedArticleSet>\n")
    fake.load(path)
    fake.reset()

    checked = recheck.recheck_saved(store, EutilsClient(fake.url, max_rps=100))
    deliver(store, settings, channel)

    assert (checked.found, checked.followups, checked.requests) == (1, 3, 1)
    assert told(channel, "keeper") == [
        (CORRECTED, "corrected", ERRATUM),
        (CORRECTED, "free", "PMC8181234"),
    ]
    assert told(channel, "reader") == [(CORRECTED, "corrected", ERRATUM)]
    assert checked.checked_at is not None
    assert not recheck.due(store, checked.checked_at + timedelta(days=6))
    assert recheck.due(store, checked.checked_at + timedelta(days=7))


def test_a_chat_that_blocked_the_bot_meanwhile_is_retired_with_its_followups(
    fake: FakeEutils, store: Store
) -> None:
    """The platform says the chat is gone at its first follow-up (its cards of the day went
    out just before): the chat is retired, the follow-ups it was owed are cancelled, nothing is
    tried again, and the other chat still gets its three."""
    settings = settings_for(fake)
    gone = subscribe(store, "gone", "crispr[tiab]")
    subscribe(store, "reader", "crispr[tiab]")
    blocked: set[str] = set()
    channel = RecordingChannel(
        fail=lambda chat, message: (
            DeliveryFailed("bot was blocked by the user", permanent=True)
            if chat.chat_id in blocked
            else None
        )
    )
    poll(store, fake, settings, BEFORE)
    deliver(store, settings, channel)
    blocked.add("gone")
    poll(store, fake, settings, AFTER)

    assert deliver(store, settings, channel) == 3
    assert not store.chats.get(gone.id).active
    assert {f.state for f in store.followups.for_chat(gone.id)} == {"cancelled"}
    assert deliver(store, settings, channel) == 0
    assert told(channel, "gone") == []
    assert len(told(channel, "reader")) == 3


@pytest.mark.parametrize("language", ["en", "ko"])
def test_every_platform_renders_a_followup_with_its_markup_escaped(language: str) -> None:
    """A title and a query full of markup characters come out as text on Telegram, Slack and
    Markdown, with the paper and the notice linked; in both languages."""
    from servers.slack import validate_blocks
    from servers.telegram import parse_html

    from bot.plain import followup_markdown
    from handlers import slack_blocks, telegram_html

    message = FollowupMessage(
        language, "retracted", RETRACTED, "CRISPR <i>in vivo</i> & *more*_", RETRACTION,
        day="2021-06-04", subscriptions=((2, "a <b> & c[tiab]"),), reply_to="17",
    )  # fmt: skip
    text, entities = parse_html(telegram_html.followup_message(message).html)
    assert "CRISPR <i>in vivo</i> & *more*_" in text
    assert "a <b> & c[tiab]" in text
    links = [e["url"] for e in entities if e["type"] == "text_link"]
    assert links == [
        f"https://pubmed.ncbi.nlm.nih.gov/{RETRACTED}/",
        f"https://pubmed.ncbi.nlm.nih.gov/{RETRACTION}/",
    ]
    slack = slack_blocks.followup_message(message)
    assert validate_blocks(list(slack.blocks)) == []
    mrkdwn = slack.blocks[0]["text"]["text"]
    assert "CRISPR &lt;i&gt;in vivo&lt;/i&gt; &amp; *more*_" in mrkdwn
    assert f"<https://pubmed.ncbi.nlm.nih.gov/{RETRACTION}/|" in mrkdwn
    markdown = followup_markdown(message).splitlines()
    assert markdown[0] == (
        f"# {message.label()} [CRISPR \\<i>in vivo\\</i> & \\*more\\*\\_]"
        f"(https://pubmed.ncbi.nlm.nih.gov/{RETRACTED}/)"
    )
    assert markdown[-1] == (
        f"[{message.notice_label()}](https://pubmed.ncbi.nlm.nih.gov/{RETRACTION}/)"
    )


def test_a_rate_limit_holds_a_chats_followups_back_without_counting_an_attempt(
    fake: FakeEutils, store: Store
) -> None:
    """The platform asks to wait a minute: nothing more is sent to the chat until then, no
    attempt is counted, and afterwards each follow-up goes out once, in order."""
    settings = settings_for(fake)
    subscribe(store, "reader", "crispr[tiab]")
    limited = {"on": False}
    channel = RecordingChannel(
        fail=lambda chat, message: (
            DeliveryFailed("Too Many Requests", retry_after=60)
            if limited["on"] and isinstance(message, FollowupMessage)
            else None
        )
    )
    poll(store, fake, settings, BEFORE)
    deliver(store, settings, channel)
    poll(store, fake, settings, AFTER)
    limited["on"] = True
    assert deliver(store, settings, channel) == 0
    waiting = store.followups.for_chat(
        store.chats.get_or_create("local", "", "reader", DEFAULTS).id
    )
    assert [(f.state, f.attempts) for f in waiting] == [("pending", 0)] * 3

    limited["on"] = False
    assert deliver(store, settings, channel) == 0  # the minute has not passed
    later = datetime.now(UTC) + timedelta(seconds=61)
    sent = asyncio.run(
        deliver_followups(store, {"local": channel}, settings, clock=lambda: later)
    ).sent
    assert sent == 3
    assert len(told(channel, "reader")) == 3


def test_a_preprint_a_chat_received_is_followed_up_when_its_article_comes_in(
    fake: FakeEutils, store: Store
) -> None:
    """32989731 (entered 2020-09-29, modified in the daily file) names its medRxiv preprint
    33173890 as `UpdateOf`: when a poll brings the article in, the chat that received the
    preprint is told, in one quiet line; the chat that follows the article is not."""
    settings = settings_for(fake, BACKFILL_DAYS="400")
    had_preprint = subscribe(store, "preprint")
    with store.transaction() as db:
        db.execute(
            "INSERT INTO deliveries (chat, pmid, state, kind, created_at, sent_at, message_id)"
            " VALUES (?, '33173890', 'sent', 'card', '2020-11-05T00:00:00+00:00',"
            " '2020-11-05T00:00:00+00:00', 'm0')",
            [had_preprint.id],
        )
    subscribe(store, "article", "32989731[pmid]")
    channel = RecordingChannel()

    report = poll(store, fake, settings, AFTER)
    deliver(store, settings, channel)

    assert channel.pmids("article") == ["32989731"]
    assert report.followups == 1
    [told_preprint] = channel.followups("preprint")
    assert (told_preprint.pmid, told_preprint.kind, told_preprint.notice) == (
        "33173890",
        "updated",
        "32989731",
    )
    assert told_preprint.reply_to == "m0"
    assert told_preprint.plain() == (
        "🔄 A newer version is published: PMID 33173890 (newer version PMID 32989731)"
        " https://pubmed.ncbi.nlm.nih.gov/32989731/"
    )
    assert told(channel, "article") == []


def test_a_failed_notice_search_is_tried_again_at_the_next_poll(
    fake: FakeEutils, store: Store
) -> None:
    """PubMed fails the notice search (after the client's three tries): the poll still
    delivers, owes nothing yet and says why; the next poll searches the same days again and the
    follow-ups arrive, once."""
    settings = settings_for(fake)
    subscribe(store, "reader", "crispr[tiab]")
    channel = RecordingChannel()
    poll(store, fake, settings, BEFORE)
    deliver(store, settings, channel)

    fake.inject("status", endpoint="esearch", times=3, status=502, term=NOTICE_QUERY)
    failed = poll(store, fake, settings, AFTER)
    deliver(store, settings, channel)
    assert failed.followups == 0
    assert any("notice search failed" in w for w in failed.warnings)
    check = store.followups.check("notices")
    assert check is not None
    assert check.error
    assert told(channel, "reader") == []

    again = poll(store, fake, settings, AFTER)
    deliver(store, settings, channel)
    assert again.followups == 3
    assert len(told(channel, "reader")) == 3


def test_locally_a_digest_chats_corrections_are_a_section_of_its_digest_file(
    fake: FakeEutils, store: Store, tmp_path: Path
) -> None:
    """The local channel: the erratum and the concern are lines of the next day's digest file,
    which holds only them (no new papers), and no follow-up file of their own is written; the
    retraction is its own file and stdout line at once."""
    from bot import digest
    from handlers.local import LocalChannel

    settings = settings_for(fake)
    three = f"{RETRACTED}[pmid] OR {CORRECTED}[pmid] OR {CONCERNED}[pmid]"
    chat = subscribe(store, "reader", three, mode="digest", timezone="UTC")
    alerts, out = tmp_path / "alerts", io.StringIO()
    channel = LocalChannel(alerts, out)

    def send(day: date) -> None:
        async def both() -> None:
            at = _noon(day)
            await deliver_pending(store, {"local": channel}, settings, clock=lambda: at)
            await deliver_followups(store, {"local": channel}, settings, clock=lambda: at)

        asyncio.run(both())

    poll(store, fake, settings, BEFORE)
    digest.plan(store, store.chats.get(chat.id), _noon(BEFORE))
    send(BEFORE)
    poll(store, fake, settings, AFTER)
    send(AFTER)
    assert sorted(p.name for p in alerts.rglob("*.md")) == [
        f"{RETRACTED}-retracted-{RETRACTION}.md",
        "digest-2021-06-04.md",
    ]
    digest.plan(store, store.chats.get(chat.id), _noon(AFTER))
    send(AFTER)
    send(AFTER)
    assert sorted(p.name for p in alerts.rglob("*.md")) == [
        f"{RETRACTED}-retracted-{RETRACTION}.md",
        "digest-2021-06-04.md",
        "digest-2021-06-07.md",
    ]
    [second] = alerts.rglob("digest-2021-06-07.md")
    lines_list = second.read_text(encoding="utf-8").splitlines()
    assert lines_list[0] == "# 📬 PubMed digest for 2021-06-07 — new papers: 0, subscriptions: 1"
    assert lines_list[2] == "## Updates to papers you received:"
    assert sorted(lines_list[4:6]) == [
        f"- ⚠️ Expression of concern: [Short and long sleeping mutants reveal links between sleep"
        f" and macroautophagy.](https://pubmed.ncbi.nlm.nih.gov/{CONCERNED}/) — "
        f"[expression of concern PMID {CONCERN}](https://pubmed.ncbi.nlm.nih.gov/{CONCERN}/)",
        f"- ✏️ Corrected: [RNA-guided gene editing of the murine gammaherpesvirus 68 genome reduces"
        f" infectious virus production.](https://pubmed.ncbi.nlm.nih.gov/{CORRECTED}/) — "
        f"[erratum PMID {ERRATUM}](https://pubmed.ncbi.nlm.nih.gov/{ERRATUM}/)",
    ]
    assert len([line for line in out.getvalue().splitlines() if "digest-2021-06-07" in line]) == 1
