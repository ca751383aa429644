"""Retention: old papers nobody needs are pruned, and nothing is ever sent twice because of it."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from fixtures import DEFAULTS, cli
from servers.eutils import FakeEutils
from sqlite_utils import Database

from bot.app import App
from bot.config import Settings
from bot.models import Paper
from bot.pubmed import query as pubmed_query
from bot.scheduler import PRUNE_JOB, schedule_prune
from storage import Store
from storage.migrations import migrations

SAMPLE = "fatcat__pubmedsample_2019.xml"
CORPUS_DAY = date(2018, 6, 6)  # served as today: three papers have this Entrez date
LATER = timedelta(days=400)  # a prune "400 days from now" finds everything of today old


@pytest.fixture
def fake(sample_pubmed: FakeEutils) -> FakeEutils:
    sample_pubmed.reset()
    sample_pubmed.shift_dates(CORPUS_DAY, datetime.now(UTC).date())
    return sample_pubmed


def environment(fake: FakeEutils, folder: Path, backfill_days: int) -> dict[str, str]:
    return {
        "PUBMED_EUTILS_URL": fake.url,
        "NCBI_EMAIL": "dev@example.org",
        "DATABASE_PATH": str(folder / "ps.db"),
        "ALERTS_DIR": str(folder / "alerts"),
        "BACKFILL_DAYS": str(backfill_days),
    }


def poll(env: dict[str, str]) -> str:
    code, out, err = cli("poll", env=env)
    assert code == 0, err
    return out


def found(fake: FakeEutils, query: str, days: int) -> set[str]:
    today = datetime.now(UTC).date()
    return set(fake.ids_between(query, today - timedelta(days=days), today))


def deliveries(path: str) -> list[tuple[int, str, str, str, str]]:
    """(chat, pmid, state, created_at, sent_at) of every outbox row."""
    with sqlite3.connect(path) as db:
        return db.execute(
            "SELECT chat, pmid, state, created_at, sent_at FROM deliveries ORDER BY chat, pmid"
        ).fetchall()


def age(path: str, pmids: set[str], days: int) -> None:
    """Make these papers, their matches and deliveries look `days` days old."""
    when = (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="seconds")
    with sqlite3.connect(path) as db:
        for pmid in pmids:
            db.execute("UPDATE papers SET fetched_at = ? WHERE pmid = ?", [when, pmid])
            db.execute("UPDATE matches SET matched_at = ? WHERE pmid = ?", [when, pmid])
            db.execute(
                "UPDATE deliveries SET created_at = ?, sent_at = ? WHERE pmid = ?",
                [when, when, pmid],
            )


def test_a_pruned_paper_found_again_is_not_sent_again_but_reaches_a_new_chat(
    fake: FakeEutils, tmp_path: Path
) -> None:
    """After its papers are pruned, a poll that finds them again fetches and stores them again,
    sends nothing to the chat that already had them, and sends them to a chat that never did."""
    env = environment(fake, tmp_path, backfill_days=1)
    papers = found(fake, "all[sb]", 1)
    assert len(papers) == 3
    assert cli("cmd", "subscribe all[sb]", env=env)[0] == 0
    assert "deliveries: 3 sent" in poll(env)
    history = deliveries(env["DATABASE_PATH"])
    assert {(row[1], row[2]) for row in history} == {(p, "sent") for p in papers}

    store = Store(env["DATABASE_PATH"])
    try:
        assert store.retention.prune(365, now=datetime.now(UTC) + LATER) == 3
        assert store.papers.count() == 0
        assert store.db.execute("SELECT COUNT(*) FROM matches").fetchone()[0] == 0
        lab = store.chats.get_or_create("local", "", "lab", DEFAULTS)
        store.chats.add_subscription(lab.id, "all[sb]", pubmed_query.normalize("all[sb]"), 50)
    finally:
        store.close()
    assert deliveries(env["DATABASE_PATH"]) == history  # the delivery history is kept whole

    fake.reset()
    out = poll(env)
    assert "new papers: 3," in out  # fetched and stored again
    assert "deliveries: 3 sent" in out  # to the new chat only
    fetched = {
        p for r in fake.requests if r.endpoint == "efetch" for p in r.params["id"].split(",")
    }
    assert fetched == papers
    after = deliveries(env["DATABASE_PATH"])
    assert [row for row in after if row[0] != lab.id] == history  # nothing twice
    assert {(row[1], row[2]) for row in after if row[0] == lab.id} == {(p, "sent") for p in papers}
    assert "deliveries: 0 sent" in poll(env)


def test_prune_removes_only_papers_nobody_needs(fake: FakeEutils, tmp_path: Path) -> None:
    """Saved, rated and still-owed papers stay; the rest of the old ones go with their matches
    and summaries; the outbox keeps every row; nothing stored today is old."""
    env = environment(fake, tmp_path, backfill_days=3650)
    everything, humans = found(fake, "all[sb]", 3650), found(fake, "humans", 3650)
    assert cli("cmd", "subscribe all[sb]", env=env)[0] == 0
    store = Store(env["DATABASE_PATH"])
    try:
        # Telegram is not configured: this digest chat's papers stay owed (pending).
        waiting = store.chats.get_or_create("telegram", "", "555", {**DEFAULTS, "mode": "digest"})
        store.chats.add_subscription(waiting.id, "humans", "humans", 50)
    finally:
        store.close()
    poll(env)
    outbox = deliveries(env["DATABASE_PATH"])
    assert len(outbox) == len(everything) + len(humans)

    store = Store(env["DATABASE_PATH"])
    try:
        local = store.chats.find("local", "", "local")
        assert local is not None
        saved, rated, summarised, *_ = sorted(everything - humans)
        store.feedback.record(local.id, "ann", saved, "save")
        store.feedback.record(local.id, "ann", rated, "down")
        store.summaries.put(summarised, "en", "model", "A summary.")
        assert store.retention.prune(365) == 0  # everything was stored today
        removed = everything - humans - {saved, rated}
        assert store.retention.prune(365, now=datetime.now(UTC) + LATER) == len(removed)
        assert set(store.papers.get_many(everything)) == humans | {saved, rated}
        matched = {row[0] for row in store.db.execute("SELECT pmid FROM matches")}
        assert matched == everything - removed
        assert store.summaries.get(summarised, "en", "model") is None
        assert store.retention.prune(365, now=datetime.now(UTC) + LATER) == 0
    finally:
        store.close()
    assert deliveries(env["DATABASE_PATH"]) == outbox


def test_a_paper_sent_or_matched_lately_is_kept_however_old_it_is_and_the_prune_is_logged(
    fake: FakeEutils, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Age counts from a paper's last use (stored, matched or sent): the bot's prune keeps one
    sent yesterday and one matched yesterday, removes the third, and logs the count."""
    env = environment(fake, tmp_path, backfill_days=1)
    assert cli("cmd", "subscribe all[sb]", env=env)[0] == 0
    poll(env)
    sent_lately, matched_lately, unused = sorted(found(fake, "all[sb]", 1))
    path = env["DATABASE_PATH"]
    age(path, {sent_lately, matched_lately, unused}, 400)
    yesterday = (datetime.now(UTC) - timedelta(days=1)).isoformat(timespec="seconds")
    with sqlite3.connect(path) as db:
        db.execute("UPDATE deliveries SET sent_at = ? WHERE pmid = ?", [yesterday, sent_lately])
        db.execute("UPDATE matches SET matched_at = ? WHERE pmid = ?", [yesterday, matched_lately])

    app = App.create(Settings.from_env(env, env_file=None))
    try:
        with caplog.at_level(logging.INFO, logger="paper_surfer"):
            assert asyncio.run(app.prune()) == 1
        assert set(app.store.papers.get_many([sent_lately, matched_lately, unused])) == {
            sent_lately,
            matched_lately,
        }
    finally:
        app.close()
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("retention")]
    assert lines == ["retention: removed 1 papers not needed for 365 days"]


def test_export_status_and_saved_work_when_sent_papers_were_pruned(
    fake: FakeEutils, tmp_path: Path
) -> None:
    """With a retention under 30 days, `export` of the last 30 days' alerts holds the papers
    still kept, says so when none are, and `status` and `saved` still answer."""
    env = environment(fake, tmp_path, backfill_days=3650)
    everything = found(fake, "all[sb]", 3650)
    assert cli("cmd", "subscribe all[sb]", env=env)[0] == 0
    poll(env)
    old = set(sorted(everything)[:20])
    age(env["DATABASE_PATH"], old, 20)
    store = Store(env["DATABASE_PATH"])
    try:
        assert store.retention.prune(10) == 20
    finally:
        store.close()

    code, out, err = cli("cmd", "export csv", env=env)
    assert code == 0, err
    kept = len(everything) - 20
    assert out.startswith(f"No saved papers, so the alerts of the last 30 days ({kept}) as csv.")
    (written,) = (tmp_path / "alerts").rglob("*.csv")
    assert len(written.read_text(encoding="utf-8-sig").strip().splitlines()) == kept + 1
    for command in ("status", "saved", "list"):
        assert cli("cmd", command, env=env)[0] == 0, command

    age(env["DATABASE_PATH"], everything - old, 20)
    store = Store(env["DATABASE_PATH"])
    try:
        assert store.retention.prune(10) == kept
    finally:
        store.close()
    code, out, _ = cli("cmd", "export csv", env=env)
    assert (code, out) == (
        0,
        "Nothing to export: no saved papers and no alerts in the last 30 days.\n",
    )


def test_commit_of_a_query_whose_papers_were_pruned_meanwhile_writes_nothing(
    tmp_path: Path,
) -> None:
    """A poll commit that needs a paper pruned since it was read changes nothing, cursor
    included, so the next poll searches that window again and fetches the paper anew."""
    store = Store(tmp_path / "ps.db")
    try:
        chat = store.chats.get_or_create("local", "", "local", DEFAULTS)
        sub = store.chats.add_subscription(chat.id, "zebrafish", "zebrafish", 50)
        paper = Paper.from_record({"pmid": "123", "title": "Zebrafish fins"})
        store.papers.save([paper])
        run = store.polls.start()
        store.retention.prune(1, now=datetime.now(UTC) + LATER)  # gone between read and commit
        outcome = store.polls.commit_query(
            run,
            "zebrafish",
            cursor=date(2030, 1, 1),
            window="2029/12/31-2030/01/01",
            found=1,
            subscriptions=[sub],
            matches=[],
            required=["123"],
        )
        assert outcome.vanished == 1
        assert store.polls.query_state("zebrafish") is None
        assert store.outbox.all_for_chat(chat.id) == []
    finally:
        store.close()


@pytest.mark.parametrize("value", ["0", "-3", "abc", "1.5", "36501"])
def test_a_bad_retention_days_stops_the_program_with_one_line(value: str, tmp_path: Path) -> None:
    """RETENTION_DAYS must be a whole number of days from 1 to 36500; anything else is one line
    naming the setting and exit 1."""
    code, out, err = cli(
        "stats", env={"RETENTION_DAYS": value, "DATABASE_PATH": str(tmp_path / "x")}
    )
    assert (code, out) == (1, "")
    assert err == (
        f"paper-surfer: RETENTION_DAYS: {value!r} is not a whole number of days from 1 to 36500\n"
    )


def test_retention_days_defaults_to_a_year() -> None:
    """Unset, papers are kept 365 days; a valid value is taken as given."""
    assert Settings.from_env({}, env_file=None).retention_days == 365
    assert Settings.from_env({"RETENTION_DAYS": "30"}, env_file=None).retention_days == 30


async def test_the_daily_prune_job_is_registered() -> None:
    """The scheduler gets a prune job every day, its first run soon after start, not at once."""
    scheduler = AsyncIOScheduler(timezone=UTC)

    async def prune() -> None:
        return None

    schedule_prune(scheduler, prune)
    scheduler.start(paused=True)
    try:
        job = scheduler.get_job(PRUNE_JOB)
        assert job is not None
        assert isinstance(job.trigger, IntervalTrigger)
        assert job.trigger.interval == timedelta(days=1)
        now = datetime.now(UTC)
        assert now < job.next_run_time <= now + timedelta(hours=1)
    finally:
        scheduler.shutdown(wait=False)


def test_a_database_from_before_retention_keeps_its_outbox_through_the_upgrade(
    tmp_path: Path,
) -> None:
    """Opening an older database rebuilds the outbox without its tie to papers: every row and
    column is kept, and a paper with sent deliveries can then be pruned."""
    path = tmp_path / "ps.db"
    db = Database(sqlite3.connect(path))
    migrations.apply(db, stop_before="m006_retention")
    db.execute(
        "INSERT INTO chats (id, platform, chat_id, language, timezone, mode, digest_time,"
        " created_at) VALUES (1, 'local', 'local', 'en', 'UTC', 'instant', '08:00', '')"
    )
    db.execute(
        "INSERT INTO papers (pmid, record, fetched_at) VALUES ('7', '{\"pmid\": \"7\"}', '')"
    )
    db.execute(
        "INSERT INTO deliveries (chat, pmid, state, kind, message_id, created_at, sent_at,"
        " lease_owner) VALUES (1, '7', 'sent', 'card', 'm-1', '2020-01-01', '2020-01-02', 'h:1')"
    )
    db.conn.commit()
    before = db.execute("SELECT * FROM deliveries").fetchall()
    db.conn.close()

    store = Store(path)
    try:
        assert store.db.execute("SELECT * FROM deliveries").fetchall() == before
        assert store.retention.prune(1) == 1
        assert store.papers.count() == 0
        assert store.db.execute("SELECT COUNT(*) FROM deliveries").fetchone() == (1,)
        assert store.db.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        store.close()
