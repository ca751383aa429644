"""What storage raises. Each error carries what the caller needs as attributes, so no caller
reads `args[0]` or cuts a message apart.

    StorageError
     ├── DatabaseUnusable        the file cannot be opened for work (message for the user)
     ├── BackupError             a backup was not made (message for the operator)
     ├── NoSuchChat              .chat: the id asked for
     ├── DuplicateSubscription   .existing: the chat's subscription with the same query
     └── SubscriptionLimit       .count, .limit: the chat is full
"""

from __future__ import annotations

from bot.models import Subscription


class StorageError(Exception):
    """Anything storage refuses or cannot do."""


class DatabaseUnusable(StorageError):
    """The database cannot be opened for work: not SQLite, damaged, read-only, full, or made by
    a newer Paper Surfer. The message is one line for the user."""


class BackupError(StorageError):
    """A backup that could not be made; nothing was left behind at the target."""


class NoSuchChat(StorageError):
    """No chat has this id."""

    def __init__(self, chat: int) -> None:
        super().__init__(f"no chat {chat}")
        self.chat = chat


class DuplicateSubscription(StorageError):
    """The chat already follows this (normalised) query."""

    def __init__(self, existing: Subscription) -> None:
        super().__init__(f"the chat already follows this query as #{existing.number}")
        self.existing = existing


class SubscriptionLimit(StorageError):
    """The chat already has as many subscriptions as it may."""

    def __init__(self, count: int, limit: int) -> None:
        super().__init__(f"the chat has {count} subscriptions (at most {limit})")
        self.count = count
        self.limit = limit
