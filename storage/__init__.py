"""Storage: the only code that touches SQLite (through sqlite-utils).

`Store` opens one connection per thread on the same file (WAL mode lets readers and one writer
work at once), applies the migrations at start, and groups its queries by what they are about:
`store.chats` (chats and subscriptions), `store.papers` (papers), `store.outbox` (deliveries),
`store.polls` (poll runs, what they did, and the query cursors that move with them),
`store.feedback` (button presses), `store.followups` (what happened to papers since, and
the follow-up messages it owes chats), `store.retention` (pruning old papers), `store.admin` (the
operator's view). It returns the dataclasses of `bot.models` (the only module it imports), takes
and returns aware `datetime`s, and raises the errors of `storage.errors`.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database

from storage.admin import Admin
from storage.chats import Chats
from storage.errors import (
    BackupError,
    DatabaseUnusable,
    DuplicateSubscription,
    NoSuchChat,
    StorageError,
    SubscriptionLimit,
)
from storage.feedback import Feedback
from storage.followups import Followups
from storage.migrations import migrations
from storage.outbox import Outbox
from storage.papers import Papers
from storage.polls import Polls
from storage.retention import Retention
from storage.summaries import Summaries

__all__ = [
    "BackupError",
    "DatabaseUnusable",
    "DuplicateSubscription",
    "NoSuchChat",
    "StorageError",
    "Store",
    "SubscriptionLimit",
]


class Store:
    """The database of one Paper Surfer installation."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._connections: list[tuple[threading.Thread, sqlite3.Connection]] = []
        self._lock = threading.Lock()
        try:
            self._open()
        except DatabaseUnusable:
            self.close()
            raise
        except (OSError, sqlite3.Error) as exc:
            self.close()
            raise DatabaseUnusable(f"cannot use the database {self.path}: {exc}") from exc
        self.chats = Chats(self)
        self.papers = Papers(self)
        self.outbox = Outbox(self)
        self.polls = Polls(self)
        self.feedback = Feedback(self)
        self.followups = Followups(self)
        self.summaries = Summaries(self)
        self.retention = Retention(self)
        self.admin = Admin(self)

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Chats, their subscriptions and their saved papers are nobody else's business: the
        # file is created readable by its owner only (SQLite gives -wal and -shm its mode).
        os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
        # One IMMEDIATE transaction around them: two processes starting at once (`run` and a
        # `cmd`) apply the migrations one after the other, never both at the same time.
        with self.transaction() as db:
            # Every migration this version has is pending on an empty database.
            known = {migration.name for migration in migrations.pending(Database(memory=True))}
            unknown = sorted({migration.name for migration in migrations.applied(db)} - known)
            if unknown:
                raise DatabaseUnusable(
                    f"the database {self.path} was upgraded by a newer Paper Surfer (schema"
                    f" {unknown[-1]}); this version ({_version()}) knows the schema up to"
                    f" {max(known)}: run the newer version, or restore a backup"
                )
            migrations.apply(db)

    @property
    def db(self) -> Database:
        """This thread's connection (sqlite3 connections must stay in their thread)."""
        db: Database | None = getattr(self._local, "db", None)
        if db is None:
            # Each connection is used by its own thread only; check_same_thread=False just lets
            # close() release them all at shutdown.
            conn = sqlite3.connect(self.path, timeout=30.0, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")  # with WAL: safe against process crashes
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=30000")
            db = Database(conn, execute_plugins=False)
            self._local.db = db
            with self._lock:
                # Worker threads come and go (each poll has its own): close what finished ones
                # left open, or a bot running for weeks would run out of file descriptors.
                kept = []
                for thread, old in self._connections:
                    if thread.is_alive():
                        kept.append((thread, old))
                    else:
                        old.close()
                kept.append((threading.current_thread(), conn))
                self._connections = kept
        return db

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """All or nothing: what happens inside commits together or not at all.

        BEGIN IMMEDIATE takes the write lock up front. A deferred BEGIN that reads and then
        writes can hit "database is locked" at once, without waiting out busy_timeout, when
        another connection wrote in between (SQLite's deadlock rule); IMMEDIATE waits instead.
        """
        db = self.db
        if db.conn.in_transaction:  # nested: a savepoint inside the outer transaction
            with db.atomic():
                yield db
            return
        db.conn.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.conn.rollback()
            raise
        db.conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            for _, conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("paper-surfer")
    except PackageNotFoundError:
        return "unknown"
