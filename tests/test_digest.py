"""Daily digests: their time in each chat's zone, their content, their limits, once each."""

from __future__ import annotations

import asyncio
import io
import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from channels import RecordingChannel
from fixtures import DAILY, FAR_FUTURE, fixture, paper_in
from servers.slack import validate_blocks
from servers.telegram import parse_html

from bot import digest
from bot.config import Settings
from bot.delivery import BASE_BACKOFF, deliver_pending
from bot.errors import DeliveryFailed
from bot.messages import DigestMessage, FollowupMessage
from bot.models import Chat, Delivery, MatchedQuery, MatchReason, Paper, Score, search_url
from bot.overflow import MAX_MESSAGES
from bot.plain import digest_markdown
from bot.pubmed.parse import iter_records
from bot.scheduler import digest_job_id, digest_trigger, schedule_digest
from bot.summary import Summary
from handlers import slack_blocks, telegram_html
from handlers.local import LocalChannel
from storage import Store

DIGEST = {"language": "en", "timezone": "Europe/Berlin", "mode": "digest", "digest_time": "08:00"}
NOON = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def papers(count: int, offset: int = 0) -> list[Paper]:
    found = [
        r for r in iter_records(fixture("fatcat__pubmedsample_2019.xml")) if isinstance(r, Paper)
    ]
    return found[offset : offset + count]


def owe(store: Store, chat: Chat, query: str, batch: list[Paper], base: float) -> None:
    """The chat's subscription `query` matched `batch`, scores rising from `base`."""
    store.papers.save(batch)
    existing = {s.normalized: s for s in store.chats.subscriptions(chat.id)}
    sub = existing.get(query) or store.chats.add_subscription(chat.id, query, query, 50)
    store.polls.commit_query(
        store.polls.start(),
        query,
        date(2026, 11, 26),
        "w",
        len(batch),
        [sub],
        [
            (
                sub,
                p.pmid,
                Score(round(base + 0.01 * i, 2), "medium", (MatchReason(query, ("title",)),)),
            )
            for i, p in enumerate(batch)
        ],
    )


def send(store: Store, channel: object, at: datetime = NOON) -> object:
    settings = Settings.from_env({}, env_file=None)
    return asyncio.run(deliver_pending(store, {"local": channel}, settings, clock=lambda: at))  # type: ignore[dict-item]


# --- timing ------------------------------------------------------------------------------------


def fire_times(chat: Chat, start: datetime, count: int) -> list[datetime]:
    """The next `count` digest times after `start`, as APScheduler computes them."""
    times, previous = [], None
    moment = start
    cron = digest_trigger(chat)
    for _ in range(count):
        fire = cron.get_next_fire_time(previous, moment)
        assert fire is not None
        times.append(fire)
        previous, moment = fire, fire + timedelta(seconds=1)
    return times


def test_a_digest_stays_at_local_time_across_daylight_saving() -> None:
    """08:00 in Berlin is 07:00 UTC before the spring change and 06:00 UTC after it."""
    chat = Chat(1, "local", "", "a", timezone="Europe/Berlin", mode="digest", digest_time="08:00")
    times = fire_times(chat, datetime(2026, 3, 27, 12, tzinfo=UTC), 3)
    assert [t.astimezone(ZoneInfo("Europe/Berlin")).strftime("%m-%d %H:%M") for t in times] == [
        "03-28 08:00",
        "03-29 08:00",
        "03-30 08:00",
    ]
    assert [t.astimezone(UTC).strftime("%m-%d %H:%M") for t in times] == [
        "03-28 07:00",
        "03-29 06:00",
        "03-30 06:00",
    ]


def test_digests_of_chats_in_different_zones_fire_at_their_own_mornings() -> None:
    """07:30 in Seoul is 22:30 UTC the day before; 07:30 in New York follows the autumn change."""
    seoul = Chat(1, "local", "", "a", timezone="Asia/Seoul", mode="digest", digest_time="07:30")
    new_york = Chat(
        2, "local", "", "b", timezone="America/New_York", mode="digest", digest_time="07:30"
    )
    start = datetime(2026, 10, 31, 0, tzinfo=UTC)
    assert [t.astimezone(UTC).strftime("%m-%d %H:%M") for t in fire_times(seoul, start, 2)] == [
        "10-31 22:30",
        "11-01 22:30",
    ]
    assert [t.astimezone(UTC).strftime("%m-%d %H:%M") for t in fire_times(new_york, start, 2)] == [
        "10-31 11:30",  # EDT, UTC-4
        "11-01 12:30",  # EST, UTC-5: the clocks went back that night
    ]


async def test_mode_and_digest_changes_move_the_job_at_once() -> None:
    """A chat entering digest mode gets a job; a new time moves it; instant mode removes it."""
    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.start()
    try:

        async def job(chat_id: int) -> None:
            return None

        chat = Chat(7, "local", "", "a", timezone="UTC", mode="digest", digest_time="08:00")
        schedule_digest(scheduler, chat, job)
        first = scheduler.get_job(digest_job_id(chat))
        assert first is not None
        assert first.next_run_time.astimezone(UTC).strftime("%H:%M") == "08:00"
        moved = Chat(7, "local", "", "a", timezone="Asia/Seoul", mode="digest", digest_time="07:30")
        schedule_digest(scheduler, moved, job)
        again = scheduler.get_job(digest_job_id(chat))
        assert again is not None
        assert again.next_run_time.astimezone(UTC).strftime("%H:%M") == "22:30"
        schedule_digest(scheduler, Chat(7, "local", "", "a", mode="instant"), job)
        assert scheduler.get_job(digest_job_id(chat)) is None
    finally:
        scheduler.shutdown(wait=False)


# --- content and exactly-once --------------------------------------------------------------------


def test_a_digest_groups_by_subscription_shows_ten_in_full_and_links_the_rest(store: Store) -> None:
    """14 papers from 2 subscriptions: one digest, the 10 best in full grouped by subscription,
    4 more as links; nothing else is sent."""
    chat = store.chats.get_or_create("local", "", "a", DIGEST)
    owe(store, chat, "q-one", papers(8), 0.30)
    owe(store, chat, "q-two", papers(6, offset=8), 0.50)
    channel = RecordingChannel()
    assert send(store, channel).sent == 0  # type: ignore[attr-defined]  # waits for its time
    assert digest.plan(store, chat, NOON) == 14
    send(store, channel)
    [sent] = channel.sent
    assert sent.kind == "digest"
    message = sent.message
    assert isinstance(message, DigestMessage)
    assert (message.total, message.day) == (14, "2026-11-26")
    shown = [item for section in message.sections for item in section.items]
    assert len(shown) == 10
    assert len(message.more) == 4
    scores = [i.score.value for i in shown]
    assert [s.query for s in message.sections] == ["q-two", "q-one"]
    assert scores[:6] == sorted(scores[:6], reverse=True) == [0.55, 0.54, 0.53, 0.52, 0.51, 0.50]
    assert [i.score.value for i in message.more] == [0.33, 0.32, 0.31, 0.30]
    assert all(i.design and i.paper.title for i in shown)


def test_a_day_with_nothing_new_sends_nothing(store: Store) -> None:
    """No owed papers: planning finds none and no message goes out."""
    chat = store.chats.get_or_create("local", "", "a", DIGEST)
    channel = RecordingChannel()
    assert digest.plan(store, chat, NOON) == 0
    send(store, channel)
    assert channel.sent == []


def test_a_failed_digest_is_retried_whole_and_its_papers_never_come_twice(store: Store) -> None:
    """The platform fails once: the same digest goes out on the retry, and the next day's digest
    holds only the papers that arrived since."""
    chat = store.chats.get_or_create("local", "", "a", DIGEST)
    owe(store, chat, "q", papers(5), 0.4)
    failing = {"on": True}
    channel = RecordingChannel(fail=lambda c, m: DeliveryFailed("502") if failing["on"] else None)
    digest.plan(store, chat, NOON)
    send(store, channel)
    assert channel.sent == []
    failing["on"] = False
    send(store, channel, at=NOON + timedelta(seconds=BASE_BACKOFF + 1))
    assert len(channel.sent) == 1
    assert sorted(channel.sent[0].pmids) == sorted(p.pmid for p in papers(5))
    owe(store, chat, "q", papers(3, offset=5), 0.4)
    tomorrow = NOON + timedelta(days=1)
    digest.plan(store, chat, tomorrow)
    send(store, channel, at=tomorrow)
    assert len(channel.sent) == 2
    assert sorted(channel.sent[1].pmids) == sorted(p.pmid for p in papers(3, offset=5))


# --- the builder: plain data in, the digest out -------------------------------------------------

SEOUL = Chat(1, "local", "", "a", language="en", timezone="Asia/Seoul", mode="digest")


KOREAN = Chat(2, "local", "", "b", language="ko", timezone="Asia/Seoul", mode="digest")


def owed(count: int, offset: int = 0) -> tuple[list[Delivery], dict[str, Paper]]:
    """`count` digest rows of SEOUL and their papers, as delivery reads them."""
    batch = papers(count, offset)
    rows = [
        Delivery(i + 1, SEOUL.id, p.pmid, "pending", "digest", "digest-x", 0, 0.1, "")
        for i, p in enumerate(batch)
    ]
    return rows, {p.pmid: p for p in batch}


def found(number: int, query: str, value: float) -> MatchedQuery:
    return MatchedQuery(number, query, Score(value, "medium", (MatchReason(query, ("title",)),)))


def test_the_builder_groups_the_best_ten_by_subscription_and_links_the_rest() -> None:
    """From rows, papers and their (already adjusted) matches alone: the ten best in full under
    the subscription that found each best, the other four as links, on the chat's local day."""
    rows, by_pmid = owed(14)
    matched = {
        r.pmid: (found(2, "two", round(0.9 - 0.01 * i, 2)), found(1, "one", 0.2))
        if i % 2
        else (found(1, "one", round(0.8 - 0.01 * i, 2)),)
        for i, r in enumerate(rows)
    }
    message = digest.build(SEOUL, rows, NOON + timedelta(hours=10), papers=by_pmid, matched=matched)
    assert (message.total, message.day, message.continued) == (14, "2026-11-27", False)
    assert [(s.number, s.query) for s in message.sections] == [(2, "two"), (1, "one")]
    shown = [item for section in message.sections for item in section.items]
    assert len(shown) == 10
    assert len(message.more) == 4
    two, one = message.sections
    assert [i.score.value for i in two.items] == [0.89, 0.87, 0.85, 0.83, 0.81, 0.79, 0.77]
    assert all(i.found_by == (2, "two") for i in two.items)
    assert [i.score.value for i in one.items] == [0.8, 0.78, 0.76]
    assert [i.score.value for i in message.more] == [0.74, 0.72, 0.7, 0.68]


def test_a_resumed_digest_shows_in_full_only_what_the_first_ten_still_lack() -> None:
    """An earlier try delivered one message of 7 papers: of the 5 left, 3 come in full, the
    digest says it continues, and it may take the two messages left of three."""
    rows, by_pmid = owed(5)
    matched = {r.pmid: (found(1, "q", 0.5 + 0.01 * i),) for i, r in enumerate(rows)}
    message = digest.build(SEOUL, rows, NOON, papers=by_pmid, matched=matched, progress=(1, 7))
    assert sum(len(s.items) for s in message.sections) == 3
    assert len(message.more) == 2
    assert (message.continued, message.max_messages, message.total) == (True, MAX_MESSAGES - 1, 5)
    late = digest.build(SEOUL, rows, NOON, papers=by_pmid, matched=matched, progress=(5, 12))
    assert (late.sections, len(late.more), late.max_messages) == ((), 5, 1)


def test_a_paper_no_subscription_matches_any_more_keeps_its_outbox_score() -> None:
    """Without a match (its subscription's matches gone) a paper is still in the digest, in a
    section of its own, with the score the outbox ordered it by."""
    rows, by_pmid = owed(2)
    matched = {rows[0].pmid: (found(3, "q", 0.6),)}
    message = digest.build(SEOUL, rows, NOON, papers=by_pmid, matched=matched)
    assert [(s.number, s.query) for s in message.sections] == [(3, "q"), (0, "")]
    lone = message.sections[1].items[0]
    assert (lone.paper.pmid, lone.score.value, lone.found_by) == (rows[1].pmid, 0.1, None)


def test_each_line_is_the_summarizers_finding_cut_to_one_line() -> None:
    """The summarizer given is asked once per paper in the chat's language; its finding is cut
    to the digest's line length."""
    rows, by_pmid = owed(3)
    asked: list[tuple[str, str]] = []

    def summarizer(paper: Paper, language: str) -> Summary:
        asked.append((paper.pmid, language))
        return Summary(language, "Trial", "x " * 200, "the whole text")

    matched = {r.pmid: (found(1, "q", 0.5),) for r in rows}
    message = digest.build(
        SEOUL, rows, NOON, papers=by_pmid, matched=matched, summarizer=summarizer
    )
    assert sorted(asked) == sorted((r.pmid, "en") for r in rows)
    items = message.sections[0].items
    assert all(i.design == "Trial" and 0 < len(i.summary) <= digest.ONE_LINE for i in items)


def test_a_notice_comes_after_the_studies_and_says_it_is_a_notice() -> None:
    """The erratum 33971153 scored 0.90 "high" for the words of the paper it corrects: in the
    digest it follows the three studies (0.30-0.32), its category is notice, its line says so,
    and the Markdown entry links the article it corrects (33894834)."""
    rows, by_pmid = owed(3)
    erratum = paper_in(DAILY, "33971153")
    rows.append(Delivery(4, SEOUL.id, erratum.pmid, "pending", "digest", "digest-x", 0, 0.9, ""))
    by_pmid[erratum.pmid] = erratum
    matched = {r.pmid: (found(1, "q", 0.3 + 0.01 * i),) for i, r in enumerate(rows[:3])}
    matched[erratum.pmid] = (MatchedQuery(1, "q", Score(0.9, "high")),)
    message = digest.build(SEOUL, rows, NOON, papers=by_pmid, matched=matched)
    items = message.sections[0].items
    assert [i.paper.pmid for i in items][-1] == "33971153"
    assert [i.score.value for i in items[:3]] == [0.32, 0.31, 0.3]
    assert items[-1].score.category == "notice"
    assert message.details(items[-1]).endswith(" · Lancet · 2021-06-05 · score 0.90 (notice)")
    assert items[-1].summary == ""  # no "finding" quoted from a notice
    korean = digest.build(KOREAN, rows, NOON, papers=by_pmid, matched=matched)
    assert korean.details(korean.sections[0].items[-1]).endswith(" · 점수 0.90 (공지)")
    markdown = digest_markdown(message)
    entry = markdown.split(
        "- **[Department of Error.](https://pubmed.ncbi.nlm.nih.gov/33971153/)**"
    )
    assert entry[1].splitlines()[1] == (
        "  📄 Erratum for [PMID 33894834](https://pubmed.ncbi.nlm.nih.gov/33894834/)"
        " — Lancet. 2021 Apr 24;397(10284):1564-1575"
    )


def test_a_retracted_paper_in_a_digest_carries_its_status_line_in_markdown() -> None:
    """8863847 (RetractionIn 9499167) in a Markdown digest: the line under its linked title is
    the status line, its notice linked."""
    rows, by_pmid = owed(1, offset=8)
    assert rows[0].pmid == "8863847"
    message = digest.build(SEOUL, rows, NOON, papers=by_pmid, matched={})
    lines = digest_markdown(message).splitlines()
    at = next(
        i for i, line in enumerate(lines) if "(https://pubmed.ncbi.nlm.nih.gov/8863847/)" in line
    )
    assert lines[at + 1] == (
        "  **⚠️ Retracted ([retraction notice PMID 9499167](https://pubmed.ncbi.nlm.nih.gov/9499167/))**"
    )


# --- rendering on every platform ---------------------------------------------------------------


def big_digest(store: Store, count: int) -> DigestMessage:
    chat = store.chats.get_or_create("local", "", "a", DIGEST)
    owe(store, chat, "q & <one>", papers(count), 0.2)
    digest.plan(store, chat, NOON)
    rows = store.outbox.due(FAR_FUTURE)
    pmids = [r.pmid for r in rows]
    return digest.build(
        chat,
        rows,
        NOON,
        papers=store.papers.get_many(pmids),
        matched=store.outbox.matched_queries_many(chat.id, pmids),
    )


def test_telegram_digest_is_split_into_at_most_three_valid_messages(store: Store) -> None:
    """A 150-paper digest becomes at most three Telegram messages, each valid HTML within
    4,096; each paper is linked once or counted in the last message's notice."""
    message = big_digest(store, 150)
    parts = telegram_html.digest_messages(message)
    assert 1 < len(parts) <= MAX_MESSAGES
    links = []
    for part in parts:
        text, entities = parse_html(part.html)
        assert telegram_html.length(text) <= telegram_html.LIMIT
        links += [e["url"] for e in entities if e["type"] == "text_link"]
    papers_linked = [u for u in links if "?term=" not in u]
    left = int(re.search(r"…and (\d+) more papers", text).group(1))  # type: ignore[union-attr]
    assert len(papers_linked) == len(set(papers_linked))
    assert len(papers_linked) + left == 150
    assert [u for u in links if "?term=" in u] == [search_url("q & <one>")]
    assert sorted(p for part in parts for p in part.pmids) == sorted(p.pmid for p in papers(150))


def test_slack_digest_is_split_into_messages_of_at_most_50_valid_blocks(store: Store) -> None:
    """The same digest on Slack: every message valid Block Kit, no paper left out."""
    message = big_digest(store, 150)
    parts = slack_blocks.digest_messages(message)
    assert len(parts) >= 1
    links = 0
    for part in parts:
        assert len(part.blocks) <= slack_blocks.MAX_BLOCKS
        assert validate_blocks(list(part.blocks)) == []
        links += str(part.blocks).count("<https://pubmed.ncbi.nlm.nih.gov/")
    assert links == 150


def test_local_digest_is_one_markdown_file_of_the_day(store: Store, tmp_path: Path) -> None:
    """Locally the digest is ALERTS_DIR/<day>/digest-<day>.md with every paper linked."""
    chat = store.chats.get_or_create("local", "", "local", DIGEST)
    owe(store, chat, "q", papers(12), 0.3)
    digest.plan(store, chat, NOON)
    out = io.StringIO()
    send(store, LocalChannel(tmp_path / "alerts", out))
    files = list((tmp_path / "alerts").rglob("digest-*.md"))
    assert [f.name for f in files] == ["digest-2026-11-26.md"]
    text = files[0].read_text(encoding="utf-8")
    assert text.startswith("# 📬 PubMed digest for 2026-11-26 — new papers: 12, subscriptions: 1")
    for paper in papers(12):  # each paper linked once (a status line links its notice too)
        assert text.count(f"]({paper.url})") == 1
    assert "## +2 more:" in text


# --- follow-ups inside a digest ------------------------------------------------------------------


def corrections(language: str) -> tuple[tuple[str, FollowupMessage], ...]:
    """An erratum (title with markup characters) and a free copy, keyed as delivery keys them."""
    return (
        (
            digest.update_key(7),
            FollowupMessage(
                language, "corrected", "34086743", "Gene <editing> & *herpes*", "34094293"
            ),
        ),
        (
            digest.update_key(8),
            FollowupMessage(
                language, "free", "34085929", "Short and long sleeping mutants", "PMC9"
            ),
        ),
    )


def test_a_digests_followups_open_it_one_line_each_in_markdown_in_both_languages() -> None:
    """The Markdown digest starts with a section of the follow-ups: what happened, the paper
    linked, the notice linked; in Korean with the Korean words."""
    rows, by_pmid = owed(2)
    english = digest.build(SEOUL, rows, NOON, papers=by_pmid, matched={}, updates=corrections("en"))
    lines = digest_markdown(english).splitlines()
    at = lines.index("## Updates to papers you received:")
    assert at < next(
        i
        for i, line in enumerate(lines)
        if "](https://pubmed.ncbi.nlm.nih.gov/" in line and rows[0].pmid in line
    )
    assert lines[at + 3] == (
        "- 🔓 Free full text is now available: [Short and long sleeping mutants]"
        "(https://pubmed.ncbi.nlm.nih.gov/34085929/) — "
        "[PubMed Central PMC9](https://pmc.ncbi.nlm.nih.gov/articles/PMC9/)"
    )
    assert lines[at + 2].startswith("- ✏️ Corrected: [")
    assert lines[at + 2].endswith(
        "(https://pubmed.ncbi.nlm.nih.gov/34086743/) — "
        "[erratum PMID 34094293](https://pubmed.ncbi.nlm.nih.gov/34094293/)"
    )
    korean = digest.build(
        replace(SEOUL, language="ko"),
        rows,
        NOON,
        papers=by_pmid,
        matched={},
        updates=corrections("ko"),
    )
    text = digest_markdown(korean)
    assert text.startswith("# 📬 2026-11-26 PubMed 요약 — 새 논문 2편")
    assert "## 받은 논문의 새 소식:" in text
    assert "- ✏️ 정정됨: [" in text
    assert "[정오표 PMID 34094293](https://pubmed.ncbi.nlm.nih.gov/34094293/)" in text


def test_a_long_digest_keeps_its_followups_in_its_first_message_on_every_platform(
    store: Store,
) -> None:
    """In a 150-paper digest split into three Telegram messages (and Slack's 50-block
    messages) the follow-ups come first, valid markup, each delivered by exactly one message."""
    plain = big_digest(store, 150)
    message = DigestMessage(
        plain.language,
        plain.day,
        plain.total,
        plain.sections,
        plain.more,
        updates=corrections("en"),
    )
    keys = [key for key, _ in message.updates]
    parts = telegram_html.digest_messages(message)
    assert 1 < len(parts) <= MAX_MESSAGES
    text, entities = parse_html(parts[0].html)
    assert text.splitlines()[2] == "Updates to papers you received:"
    assert "• ✏️ Corrected: Gene <editing> & *herpes* — erratum PMID 34094293" in text.splitlines()
    assert "https://pubmed.ncbi.nlm.nih.gov/34094293/" in [e.get("url") for e in entities]
    assert [p for part in parts for p in part.pmids if p in keys] == keys
    assert all(p not in keys for part in parts[1:] for p in part.pmids)

    slack = slack_blocks.digest_messages(message)
    for part in slack:
        assert validate_blocks(list(part.blocks)) == []
    first = str(slack[0].blocks)
    assert "Updates to papers you received:" in first
    assert "<https://pubmed.ncbi.nlm.nih.gov/34094293/|erratum PMID 34094293>" in first
    assert [p for part in slack for p in part.pmids if p in keys] == keys
