"""The operator's view of the database: figures, every chat, and a consistent backup copy."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from bot.models import (
    DELIVERY_STATES,
    ChatOverview,
    ChatSubscription,
    DatabaseSize,
    PlatformChats,
    Stats,
    SubscriptionCounts,
)
from storage.errors import BackupError
from storage.rows import moment, rows, stamp

if TYPE_CHECKING:
    from storage import Store


class Admin:
    def __init__(self, store: Store) -> None:
        self._store = store

    def stats(self) -> Stats:
        """Figures for `paper-surfer stats`."""
        db = self._store.db
        chats: dict[str, PlatformChats] = {}
        for platform, active, retired in db.execute(
            "SELECT platform, SUM(active = 1), SUM(active = 0) FROM chats"
            " GROUP BY platform ORDER BY platform"
        ):
            chats[platform] = PlatformChats(int(active), int(retired))
        by_status = dict(
            db.execute(
                "SELECT status, COUNT(*) FROM subscriptions WHERE status != 'removed'"
                " GROUP BY status"
            ).fetchall()
        )
        # The queries a poll searches: those of active subscriptions in active, unpaused chats.
        queries = db.execute(
            "SELECT COUNT(DISTINCT s.normalized) FROM subscriptions s JOIN chats c ON c.id = s.chat"
            " WHERE s.status = 'active' AND c.active = 1 AND c.paused = 0"
        ).fetchone()[0]
        states = dict(db.execute("SELECT state, COUNT(*) FROM deliveries GROUP BY state"))
        oldest = db.execute(
            "SELECT MIN(created_at) FROM deliveries WHERE state = 'pending'"
        ).fetchone()[0]
        return Stats(
            chats=chats,
            subscriptions=SubscriptionCounts(
                active=int(by_status.get("active", 0)), paused=int(by_status.get("paused", 0))
            ),
            queries=int(queries),
            papers=int(db.execute("SELECT COUNT(*) FROM papers").fetchone()[0]),
            deliveries={state: int(states.get(state, 0)) for state in DELIVERY_STATES},
            oldest_pending=moment(oldest),
            last_poll=self._store.polls.latest(),
            database=self.size(),
        )

    def size(self) -> DatabaseSize:
        """The database's bytes on disk: the file plus its write-ahead log."""
        path = self._store.path
        file_bytes = _bytes(path)
        wal_bytes = _bytes(path.with_name(path.name + "-wal"))
        return DatabaseSize(str(path), file_bytes + wal_bytes, file_bytes, wal_bytes)

    def chats(self) -> list[ChatOverview]:
        """Every chat, active or retired, with its settings and subscriptions (removed ones
        left out), in the order they first talked to the bot."""
        db = self._store.db
        subscriptions: dict[int, list[ChatSubscription]] = {}
        for row in rows(
            db.execute(
                "SELECT chat, number, query, status FROM subscriptions"
                " WHERE status != 'removed' ORDER BY chat, number"
            )
        ):
            subscriptions.setdefault(row["chat"], []).append(
                ChatSubscription(row["number"], row["query"], row["status"] == "paused")
            )
        return [
            ChatOverview(
                platform=row["platform"],
                workspace=row["workspace"],
                chat_id=row["chat_id"],
                language=row["language"],
                timezone=row["timezone"],
                mode=row["mode"],
                digest_time=row["digest_time"],
                active=bool(row["active"]),
                paused=bool(row["paused"]),
                retired_because=row["deactivated_reason"],
                created_at=stamp(row["created_at"]),
                subscriptions=tuple(subscriptions.get(row["id"], [])),
                digest_day=row["digest_day"],
            )
            for row in rows(db.execute("SELECT * FROM chats ORDER BY id"))
        ]


def backup(database: Path, target: Path) -> None:
    """Copy `database` to `target` with SQLite's online backup, while others keep writing.

    The copy is one consistent snapshot (a plain file copy of a WAL database can miss what is
    still in the -wal file). It is written under a temporary name in the target's folder and
    put in place only once it is complete and passes integrity_check, so a failed backup
    leaves no half file; it is never put over an existing file. Mode 0600: it holds every
    chat's data.
    """
    if not database.is_file():
        raise BackupError(f"no database at {database}")
    if target.exists() or target.is_symlink():
        raise BackupError(f"{target} exists; choose a new file name (a backup never overwrites)")
    folder = target.parent
    if not folder.is_dir():
        raise BackupError(f"no folder {folder} to write {target.name} in")
    partial = folder / f".{target.name}.{os.getpid()}.partial"
    try:
        os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as exc:
        raise BackupError(f"cannot write in {folder}: {exc.strerror or exc}") from exc
    try:
        _copy(database, partial)
        _put_in_place(partial, target)
    except FileExistsError as exc:
        raise BackupError(f"{target} exists; choose a new file name") from exc
    except (OSError, sqlite3.Error) as exc:
        raise BackupError(f"backup failed: {exc}") from exc
    finally:
        for leftover in (partial, *_sidecars(partial)):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
    _sync_folder(folder)


def _copy(database: Path, partial: Path) -> None:
    # Read-only: a backup never creates or migrates the database it copies.
    source = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True, timeout=30.0)
    copy = sqlite3.connect(partial)
    try:
        # All pages in one step: one read snapshot, never restarted by the bot's writes.
        source.backup(copy)
        # One self-contained file: no -wal beside it to lose when it is moved or restored.
        copy.execute("PRAGMA journal_mode=DELETE")
        result = [row[0] for row in copy.execute("PRAGMA integrity_check").fetchall()]
        if result != ["ok"]:
            raise BackupError(f"the copy failed its integrity check: {'; '.join(result[:3])}")
    finally:
        copy.close()
        source.close()
    with partial.open("rb+") as file:
        os.fsync(file.fileno())


def _put_in_place(partial: Path, target: Path) -> None:
    # A hard link puts the file in place atomically and, unlike a rename, fails if a file of
    # that name appeared in the meantime.
    try:
        os.link(partial, target)
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links
        if target.exists():
            raise FileExistsError(target) from None
        os.rename(partial, target)


def _sidecars(path: Path) -> list[Path]:
    return [path.with_name(path.name + suffix) for suffix in ("-journal", "-wal", "-shm")]


def _sync_folder(folder: Path) -> None:
    """Make the new file name itself durable."""
    with contextlib.suppress(OSError):  # not every platform lets a folder be opened
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _bytes(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
