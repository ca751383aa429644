"""The PubMed verbs' pool takes turns between chats: one chat's queue never delays another's."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, wait

import pytest
from fixtures import wait_until

from bot.fair_pool import FairPool

WAIT = 10  # seconds, only ever reached when the pool is broken


def held(started: list[str], name: str, gate: threading.Event) -> Callable[[], str]:
    """A job that records its start, then waits for `gate` (a PubMed call taking its time)."""

    def job() -> str:
        started.append(name)
        assert gate.wait(WAIT)
        return name

    return job


def test_another_chats_job_starts_before_a_floods_queue() -> None:
    """Chat A fills the pool and queues 60 more; chat B's one job is the next to start."""
    pool = FairPool(workers=2, per_chat=2)
    started: list[str] = []
    gates = [threading.Event() for _ in range(62)]
    flood = [pool.submit("A", held(started, f"A{i}", gates[i])) for i in range(61)]
    quiet = pool.submit("B", held(started, "B", gates[61]))
    gates[0].set()  # one of A's running jobs ends: a worker is free
    flood[0].result(WAIT)
    gates[61].set()
    assert quiet.result(WAIT) == "B"
    assert started[:3] == ["A0", "A1", "B"]
    for gate in gates:
        gate.set()
    wait(flood, WAIT)
    assert [f.result() for f in flood] == [f"A{i}" for i in range(61)]  # A's own order kept


def test_one_chat_never_runs_more_than_its_share() -> None:
    """With free workers, a chat still runs at most `per_chat` jobs at once; others use the rest."""
    pool = FairPool(workers=4, per_chat=1)
    started: list[str] = []
    gate = threading.Event()
    futures = [pool.submit("A", held(started, f"A{i}", gate)) for i in range(3)]
    futures.append(pool.submit("B", held(started, "B", gate)))
    assert wait_until(lambda: len(started) == 2, WAIT)
    assert sorted(started) == ["A0", "B"]
    gate.set()
    wait(futures, WAIT)
    assert started[2:] == ["A1", "A2"]


def test_a_jobs_error_reaches_its_caller_and_the_pool_goes_on() -> None:
    """An exception in a job is raised to whoever waits for it; the worker serves the next job."""
    pool = FairPool(workers=1, per_chat=1)

    def fail() -> None:
        raise LookupError("PubMed said no")

    failed: Future[None] = pool.submit("A", fail)
    with pytest.raises(LookupError, match="PubMed said no"):
        failed.result(WAIT)
    assert pool.submit("A", lambda: 42).result(WAIT) == 42


def test_a_cancelled_waiting_job_never_runs() -> None:
    """A caller that gave up (its task was cancelled) leaves nothing running behind it."""
    pool = FairPool(workers=1, per_chat=1)
    started: list[str] = []
    gate = threading.Event()
    first = pool.submit("A", held(started, "A0", gate))
    second = pool.submit("A", held(started, "A1", gate))
    assert second.cancel()
    gate.set()
    first.result(WAIT)
    assert pool.submit("A", lambda: "next").result(WAIT) == "next"
    assert started == ["A0"]
