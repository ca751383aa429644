"""A thread pool that takes turns between chats, for the commands that wait on PubMed.

A plain pool serves jobs first come, first served: 60 searches from one chat put another
chat's single search behind all of them (42 s measured, under NCBI's 3 requests a second).
Here each chat's jobs wait in a queue of their own; a free worker takes the next job of the chat
with the fewest jobs running (of those, the one whose turn came longest ago), and one chat never
has more than `per_chat` jobs running. So a chat's job starts as soon as a worker is free,
whatever other chats have queued; the requests of the jobs running still share the one PubMed
rate limiter (bot/pubmed/client.py).

The threads are a `ThreadPoolExecutor`'s (started when needed, ended with the process); jobs
are handed to it only when a worker is free, so its own first-come queue never decides.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
_Job = tuple[Hashable, "Future[Any]", Callable[[], Any]]


class FairPool:
    def __init__(self, workers: int, per_chat: int, *, name: str = "fair") -> None:
        self.workers, self.per_chat = workers, per_chat
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix=name)
        self._lock = threading.Lock()
        # Chats with jobs waiting, in turn order (dicts keep insertion order): served from the
        # front, a chat goes to the back after each job it starts.
        self._waiting: dict[Hashable, deque[tuple[Future[Any], Callable[[], Any]]]] = {}
        self._running: Counter[Hashable] = Counter()
        self._free = workers

    def submit(self, chat: Hashable, job: Callable[[], T]) -> Future[T]:
        """Queue `job` in `chat`'s turn; its future completes with the job's result."""
        future: Future[T] = Future()
        with self._lock:
            self._waiting.setdefault(chat, deque()).append((future, job))
            ready = self._take()
        self._start(ready)
        return future

    def _take(self) -> list[_Job]:
        """The jobs to start now, one per free worker, in turn (call with the lock held)."""
        ready: list[_Job] = []
        while self._free > 0:
            # The chat with the fewest jobs running goes first (the one that waited longest
            # among equals): a chat with nothing running is never behind one that has some.
            turn = [c for c in self._waiting if self._running[c] < self.per_chat]
            if not turn:
                break
            chat = min(turn, key=self._running.__getitem__)
            jobs = self._waiting.pop(chat)
            future, job = jobs.popleft()
            if jobs:
                self._waiting[chat] = jobs  # to the back of the turn
            self._running[chat] += 1
            self._free -= 1
            ready.append((chat, future, job))
        return ready

    def _start(self, ready: list[_Job]) -> None:
        for chat, future, job in ready:
            self._executor.submit(self._run, chat, future, job)

    def _run(self, chat: Hashable, future: Future[Any], job: Callable[[], Any]) -> None:
        try:
            if future.set_running_or_notify_cancel():  # not cancelled while it waited
                try:
                    future.set_result(job())
                except BaseException as exc:  # the caller gets it, as from any pool
                    future.set_exception(exc)
        finally:
            with self._lock:
                self._running[chat] -= 1
                if self._running[chat] <= 0:
                    del self._running[chat]
                self._free += 1
                ready = self._take()
            self._start(ready)
