"""The operator's commands: `stats`, `chats` and `backup`, on a real database after real polls."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import stat
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fixtures import DEFAULTS, bot_environment, cli, start_bot
from servers.eutils import FakeEutils

from bot.pubmed import query as pubmed_query
from storage import Store

SAMPLE = "fatcat__pubmedsample_2019.xml"
CORPUS_DAY = date(2018, 6, 6)  # the sample's newest Entrez date but one: served as today


@pytest.fixture
def fake(sample_pubmed: FakeEutils) -> FakeEutils:
    sample_pubmed.reset()
    sample_pubmed.shift_dates(CORPUS_DAY, datetime.now(UTC).date())
    return sample_pubmed


def environment(fake: FakeEutils, folder: Path, **extra: str) -> dict[str, str]:
    return {
        "PUBMED_EUTILS_URL": fake.url,
        "NCBI_EMAIL": "dev@example.org",
        "DATABASE_PATH": str(folder / "ps.db"),
        "ALERTS_DIR": str(folder / "alerts"),
        "BACKFILL_DAYS": "3650",
        **extra,
    }


def subscribe(store: Store, platform: str, chat_id: str, query: str, **settings: str) -> int:
    """A chat of another platform with one subscription, as its own commands would make it."""
    chat = store.chats.get_or_create(
        platform, "T1" if platform == "slack" else "", chat_id, DEFAULTS
    )
    if settings:
        store.chats.update(chat.id, **settings)
    store.chats.add_subscription(chat.id, query, pubmed_query.normalize(query), 50)
    return chat.id


@pytest.fixture
def polled(fake: FakeEutils, tmp_path: Path) -> tuple[dict[str, str], FakeEutils]:
    """A database after one real poll: the local chat got its papers; a Telegram chat in digest
    mode waits for its own (Telegram is not configured); a Slack chat was retired."""
    env = environment(fake, tmp_path)
    assert cli("cmd", "subscribe humans", env=env)[0] == 0
    store = Store(env["DATABASE_PATH"])
    try:
        telegram = subscribe(
            store, "telegram", "555", "all[sb]", mode="digest", timezone="Asia/Seoul"
        )
        paused = store.chats.add_subscription(telegram, "cancer", "cancer", 50)
        store.chats.set_status(telegram, paused.number, "paused")
        slack = subscribe(store, "slack", "C9", "zebrafish")
        store.chats.deactivate(slack, "channel_not_found")
    finally:
        store.close()
    code, _, err = cli("poll", env=env)
    assert code == 0, err
    return env, fake


def window(fake: FakeEutils, query: str) -> set[str]:
    today = datetime.now(UTC).date()
    return set(fake.ids_between(query, today - timedelta(days=3650), today))


# --- stats -------------------------------------------------------------------------------------


def test_stats_json_counts_what_a_real_poll_left(polled: tuple[dict[str, str], FakeEutils]) -> None:
    """`stats --format json` counts chats per platform, subscriptions, queries, papers,
    deliveries by state, the oldest pending one, the last poll and the database's size."""
    env, fake = polled
    humans, everything = window(fake, "humans"), window(fake, "all[sb]")
    code, out, err = cli("stats", "--format", "json", env=env)
    assert (code, err) == (0, "")
    stats = json.loads(out)
    assert set(stats) == {
        "chats",
        "subscriptions",
        "queries",
        "papers",
        "deliveries",
        "oldest_pending",
        "last_poll",
        "database",
    }
    assert stats["chats"] == {
        "local": {"active": 1, "retired": 0},
        "slack": {"active": 0, "retired": 1},
        "telegram": {"active": 1, "retired": 0},
    }
    assert stats["subscriptions"] == {"active": 3, "paused": 1}
    assert stats["queries"] == 2  # the retired chat's and the paused one are not polled
    assert stats["papers"] == len(humans | everything)
    assert stats["deliveries"] == {
        "pending": len(everything),
        "sent": len(humans),
        "failed": 0,
        "cancelled": 0,
    }
    with sqlite3.connect(env["DATABASE_PATH"]) as db:
        oldest = db.execute("SELECT MIN(created_at) FROM deliveries WHERE state = 'pending'")
        assert stats["oldest_pending"] == oldest.fetchone()[0]
    poll = stats["last_poll"]
    assert poll["id"] == 1
    assert poll["finished_at"] is not None
    assert (poll["queries"], poll["failed_queries"]) == (2, 0)
    assert poll["new_papers"] == stats["papers"]
    assert poll["deliveries"] == len(humans) + len(everything)
    size = stats["database"]
    path = Path(env["DATABASE_PATH"])
    assert size["path"] == str(path)
    assert size["file_bytes"] == path.stat().st_size
    assert size["bytes"] == size["file_bytes"] + size["wal_bytes"] > 0


def test_stats_text_is_a_short_readable_screen(polled: tuple[dict[str, str], FakeEutils]) -> None:
    """The text form says the same in a few lines a person reads at a glance."""
    env, fake = polled
    humans, everything = window(fake, "humans"), window(fake, "all[sb]")
    code, out, _ = cli("stats", env=env)
    assert code == 0
    lines = out.splitlines()
    assert len(lines) <= 8
    assert lines[0].startswith(f"Database: {env['DATABASE_PATH']}, ")
    assert "write-ahead log" in lines[0]
    assert "Chats: local 1 active; slack 0 active, 1 retired; telegram 1 active" in out
    assert "Subscriptions: 3 active, 1 paused; distinct queries polled: 2" in out
    assert f"Papers stored: {len(humans | everything)}" in out
    assert (
        f"Deliveries: {len(everything)} pending, {len(humans)} sent, 0 given up, 0 cancelled" in out
    )
    assert "Oldest pending delivery: " in out
    assert "Last poll: #1 at " in out
    assert ", ok: 2 queries," in out


def test_stats_of_a_fresh_database_says_no_poll_yet(tmp_path: Path) -> None:
    """Before any poll: zero figures, no oldest pending line, and 'none yet' for the last poll."""
    env = {"DATABASE_PATH": str(tmp_path / "ps.db")}
    assert cli("cmd", "list", env=env)[0] == 0  # the local chat's first command makes the file
    code, out, _ = cli("stats", env=env)
    assert code == 0
    assert "Papers stored: 0" in out
    assert "Oldest pending" not in out
    assert out.endswith("Last poll: none yet\n")
    stats = json.loads(cli("stats", "--format", "json", env=env)[1])
    assert (stats["last_poll"], stats["oldest_pending"]) == (None, None)


def test_stats_and_chats_without_a_database_are_one_line_and_make_none(tmp_path: Path) -> None:
    """A wrong DATABASE_PATH is exit 1 with one line naming it, and no empty database is made."""
    path = tmp_path / "nowhere.db"
    for command in ("stats", "chats"):
        code, out, err = cli(command, env={"DATABASE_PATH": str(path)})
        assert (code, out) == (1, "")
        assert err.count("\n") == 1
        assert f"no database at {path}" in err
    assert not path.exists()


@pytest.mark.parametrize("command", ["stats", "chats", "backup"])
def test_a_file_that_is_not_a_database_is_one_line(command: str, tmp_path: Path) -> None:
    """DATABASE_PATH naming some other file: exit 1 with one line, never a traceback."""
    path = tmp_path / "notes.txt"
    path.write_text("not a database, " * 500)
    args = [command, str(tmp_path / "copy.db")] if command == "backup" else [command]
    code, out, err = cli(*args, env={"DATABASE_PATH": str(path)})
    assert (code, out) == (1, "")
    assert err.count("\n") == 1
    assert "file is not a database" in err
    assert path.read_text() == "not a database, " * 500
    assert not (tmp_path / "copy.db").exists()


@pytest.mark.parametrize("command", ["stats", "chats"])
def test_an_unknown_format_is_bad_usage(command: str, tmp_path: Path) -> None:
    """`--format yaml` is a usage error: exit 2."""
    with pytest.raises(SystemExit) as caught:
        cli(command, "--format", "yaml", env={"DATABASE_PATH": str(tmp_path / "ps.db")})
    assert caught.value.code == 2


# --- chats -------------------------------------------------------------------------------------


def test_chats_json_lists_every_chat_with_settings_and_subscriptions(
    polled: tuple[dict[str, str], FakeEutils],
) -> None:
    """Every chat, retired ones too, with its settings and its subscriptions' ids and queries."""
    env, _ = polled
    code, out, _ = cli("chats", "--format", "json", env=env)
    assert code == 0
    chats = json.loads(out)["chats"]
    summary = [
        (c["platform"], c["workspace"], c["chat_id"], c["mode"], c["timezone"], c["active"])
        for c in chats
    ]
    assert summary == [
        ("local", "", "local", "instant", "UTC", True),
        ("telegram", "", "555", "digest", "Asia/Seoul", True),
        ("slack", "T1", "C9", "instant", "UTC", False),
    ]
    assert chats[0]["subscriptions"] == [{"id": 1, "query": "humans", "paused": False}]
    assert chats[1]["subscriptions"] == [
        {"id": 1, "query": "all[sb]", "paused": False},
        {"id": 2, "query": "cancer", "paused": True},
    ]
    assert chats[2]["retired_because"] == "channel_not_found"
    assert {"language", "digest_time", "paused", "created_at"} <= set(chats[0])


def test_chats_text_shows_each_chat_and_its_subscriptions(
    polled: tuple[dict[str, str], FakeEutils],
) -> None:
    """The text form: a line per chat, its subscriptions indented under it, a total at the end."""
    env, _ = polled
    code, out, _ = cli("chats", env=env)
    assert code == 0
    assert out == (
        "local local (en, UTC, instant) active\n"
        "  #1 humans\n"
        "telegram 555 (en, Asia/Seoul, digest at 08:00) active\n"
        "  #1 all[sb]\n"
        "  #2 cancer (paused)\n"
        "slack T1/C9 (en, UTC, instant) retired: channel_not_found\n"
        "  #1 zebrafish\n"
        "3 chats, 4 subscriptions\n"
    )


# --- backup ------------------------------------------------------------------------------------


def integrity(path: Path) -> str:
    with sqlite3.connect(path) as db:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])


def test_backup_while_a_writer_commits_is_consistent_and_complete(tmp_path: Path) -> None:
    """A backup taken while another connection keeps committing holds every row committed
    before it began, no half of a later transaction, passes integrity_check, and is 0600."""
    path = tmp_path / "ps.db"
    Store(path).close()
    committed: list[int] = []
    stop = threading.Event()

    def writer() -> None:
        store = Store(path)
        try:
            number = 0
            while not stop.is_set():
                with store.transaction() as db:  # two rows a transaction: never half of one
                    for half in ("a", "b"):
                        db.execute(
                            "INSERT INTO chats (platform, chat_id, language, timezone, mode,"
                            " digest_time, created_at) VALUES ('writer', ?, 'en', 'UTC',"
                            " 'instant', '08:00', '')",
                            [f"{number}{half}"],
                        )
                committed.append(number)
                number += 1
        finally:
            store.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while len(committed) < 50 and time.monotonic() < deadline:
            time.sleep(0.01)
        before = len(committed)
        code, out, err = cli("backup", str(tmp_path / "copy.db"), env={"DATABASE_PATH": str(path)})
        after = len(committed)
    finally:
        stop.set()
        thread.join()
    assert (code, err) == (0, ""), err
    assert out.startswith(f"Backed up {path} to {tmp_path / 'copy.db'} (")
    copy = tmp_path / "copy.db"
    assert integrity(copy) == "ok"
    with sqlite3.connect(copy) as db:
        ids = [r[0] for r in db.execute("SELECT chat_id FROM chats WHERE platform = 'writer'")]
    assert before >= 50
    numbers = sorted({int(i[:-1]) for i in ids})
    assert before <= len(numbers) <= after + 1
    assert numbers == list(range(len(numbers)))  # a prefix of the commits: one moment in time
    assert len(ids) == 2 * len(numbers)  # both rows of every transaction
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("copy", ".copy"))) == [
        "copy.db"
    ]


def test_backup_refuses_to_overwrite_a_file(tmp_path: Path) -> None:
    """An existing target is left untouched: one line on stderr, exit 1."""
    env = {"DATABASE_PATH": str(tmp_path / "ps.db")}
    assert cli("cmd", "list", env=env)[0] == 0  # makes the database
    target = tmp_path / "keep.db"
    target.write_text("precious")
    code, out, err = cli("backup", str(target), env=env)
    assert (code, out) == (1, "")
    assert (
        err
        == f"paper-surfer: {target} exists; choose a new file name (a backup never overwrites)\n"
    )
    assert target.read_text() == "precious"


def test_backup_to_a_folder_that_is_not_there_is_one_line_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    """A target in a missing folder, or under a file, is exit 1 with one line; nothing is left."""
    env = {"DATABASE_PATH": str(tmp_path / "ps.db")}
    assert cli("cmd", "list", env=env)[0] == 0
    (tmp_path / "file.txt").write_text("x")
    for target in (tmp_path / "missing" / "b.db", tmp_path / "file.txt" / "b.db"):
        code, out, err = cli("backup", str(target), env=env)
        assert (code, out) == (1, "")
        assert err.count("\n") == 1
        assert err.startswith("paper-surfer: no folder ")
    assert not [p for p in tmp_path.rglob("*") if "b.db" in p.name]


def test_backup_without_a_database_is_one_line(tmp_path: Path) -> None:
    """Nothing to copy: exit 1, one line naming the missing database, no file written."""
    code, out, err = cli(
        "backup", str(tmp_path / "b.db"), env={"DATABASE_PATH": str(tmp_path / "none.db")}
    )
    assert (code, out, err) == (1, "", f"paper-surfer: no database at {tmp_path / 'none.db'}\n")
    assert not (tmp_path / "b.db").exists()


def test_backup_of_the_running_bot_holds_its_papers_and_the_prune_job_is_scheduled(
    fake: FakeEutils, tmp_path: Path
) -> None:
    """While `paper-surfer run` works, a backup holds what it committed; its start-up log says
    the daily prune job is scheduled."""
    env = bot_environment(
        tmp_path, PUBMED_EUTILS_URL=fake.url, NCBI_EMAIL="dev@example.org", BACKFILL_DAYS="3650"
    )
    assert cli("cmd", "subscribe all[sb]", env=env)[0] == 0
    path = Path(env["DATABASE_PATH"])
    expected = len(window(fake, "all[sb]"))
    process = start_bot(env, tmp_path)
    try:
        deadline = time.monotonic() + 60
        sent = 0
        while time.monotonic() < deadline and sent < expected:
            assert process.poll() is None, process.communicate()
            with sqlite3.connect(path) as db:
                sent = db.execute(
                    "SELECT COUNT(*) FROM deliveries WHERE state = 'sent'"
                ).fetchone()[0]
            time.sleep(0.1)
        code, _, err = cli("backup", str(tmp_path / "copy.db"), env=env)
        assert (code, err) == (0, "")
    finally:
        process.send_signal(signal.SIGTERM)
        _, log = process.communicate(timeout=30)
    assert process.returncode == 0, log
    assert "retention: papers not needed for 365 days are pruned daily, next at " in log
    copy = tmp_path / "copy.db"
    assert integrity(copy) == "ok"
    with sqlite3.connect(copy) as db:
        assert db.execute("SELECT COUNT(*) FROM papers").fetchone()[0] == expected
        states = dict(db.execute("SELECT state, COUNT(*) FROM deliveries GROUP BY state"))
    assert states == {"sent": expected}
    assert os.access(copy, os.R_OK)
