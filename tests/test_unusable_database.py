"""A database the bot cannot work with is one clear line and exit 1, never a traceback, and a
new database is readable by its owner only."""

from __future__ import annotations

import resource
import signal
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

from fixtures import bot_environment

from storage import Store


def run(folder: Path, *argv: str, file_size_limit: int | None = None) -> tuple[int, str, str]:
    """`paper-surfer ARGV` as a child process, optionally unable to write files past a size."""

    def limit() -> None:  # in the child: writes past the limit fail with EFBIG, like a full disk
        if file_size_limit is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

    done = subprocess.run(
        [str(Path(sys.executable).with_name("paper-surfer")), *argv],
        capture_output=True,
        text=True,
        env=bot_environment(folder),
        cwd=folder,
        timeout=60,
        check=False,
        preexec_fn=limit,  # only sets limits, before exec
    )
    return done.returncode, done.stdout, done.stderr


def test_a_file_that_is_not_a_database_is_one_line(tmp_path: Path) -> None:
    """DATABASE_PATH naming some other file: exit 1, one line naming it, the file untouched."""
    (tmp_path / "ps.db").write_text("these are my notes, not a database\n" * 200)
    code, out, err = run(tmp_path, "cmd", "list")
    assert (code, out) == (1, "")
    assert (
        err
        == f"paper-surfer: cannot use the database {tmp_path / 'ps.db'}: file is not a database\n"
    )
    assert (tmp_path / "ps.db").read_text().startswith("these are my notes")


def test_a_damaged_database_is_one_line(tmp_path: Path) -> None:
    """A database whose first page was overwritten: exit 1 and one line, no traceback."""
    Store(tmp_path / "ps.db").close()
    with (tmp_path / "ps.db").open("r+b") as file:
        file.seek(0)
        file.write(b"\x00" * 4096)
    code, _, err = run(tmp_path, "cmd", "list")
    assert code == 1
    assert err.count("\n") == 1
    assert err.startswith(f"paper-surfer: cannot use the database {tmp_path / 'ps.db'}: ")


def test_a_database_from_a_newer_version_is_refused_by_name(tmp_path: Path) -> None:
    """A schema migration this version does not know means a newer Paper Surfer wrote the file:
    it is refused with the migration's name, and left as it was."""
    Store(tmp_path / "ps.db").close()
    con = sqlite3.connect(tmp_path / "ps.db")
    with con:
        con.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at)"
            " VALUES ('paper_surfer', 'm099_from_the_future', '2027-01-01')"
        )
        con.execute("CREATE TABLE future_things (id INTEGER PRIMARY KEY)")
    con.close()
    code, _, err = run(tmp_path, "stats")
    assert code == 1
    assert err.count("\n") == 1
    assert "was upgraded by a newer Paper Surfer (schema m099_from_the_future)" in err
    assert "run the newer version, or restore a backup" in err


def test_a_full_disk_at_start_is_one_line(tmp_path: Path) -> None:
    """When the new database cannot grow (the process may not write past 8 KB, as on a full
    disk), the command says so in one line and exits 1."""
    code, _, err = run(tmp_path, "cmd", "list", file_size_limit=8192)
    assert code == 1
    assert err.count("\n") == 1
    assert err.startswith(f"paper-surfer: cannot use the database {tmp_path / 'ps.db'}: ")


def test_a_new_database_and_its_wal_are_readable_by_the_owner_only(tmp_path: Path) -> None:
    """The database file and its -wal and -shm companions are created with mode 0600."""
    store = Store(tmp_path / "data" / "ps.db")
    try:
        store.chats.get_or_create(
            "local",
            "",
            "me",
            {"language": "en", "timezone": "UTC", "mode": "instant", "digest_time": "08:00"},
        )
        for name in ("ps.db", "ps.db-wal", "ps.db-shm"):
            mode = stat.S_IMODE((tmp_path / "data" / name).stat().st_mode)
            assert mode == 0o600, (name, oct(mode))
    finally:
        store.close()
