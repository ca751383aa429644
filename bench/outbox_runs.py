"""What bench/telegram.py and bench/slack.py share: the cards' papers, timings, and running the
outbox dry.

Imported as `bench.outbox_runs` (the scripts put the repository root on sys.path).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BUDGET_SECONDS = 540  # a delivery run that has not finished by then is stopped and reported


def quantile(values: Iterable[float], q: float) -> float:
    """The q-quantile (nearest rank): p99 of 200 values is the 198th smallest."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(q * len(ordered) + 0.4999)))
    return ordered[rank - 1]


class Timings:
    """Durations by name, in seconds."""

    def __init__(self) -> None:
        self.values: defaultdict[str, list[float]] = defaultdict(list)

    def add(self, name: str, seconds: float) -> None:
        self.values[name].append(seconds)

    def wrap_sync(self, name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                self.add(name, time.perf_counter() - start)

        return timed

    def wrap_async(self, name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        async def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return await func(*args, **kwargs)
            finally:
                self.add(name, time.perf_counter() - start)

        return timed

    def summary(self) -> dict[str, dict[str, float]]:
        out = {}
        for name, values in self.values.items():
            out[name] = {
                "count": len(values),
                "total": sum(values),
                "mean": statistics.fmean(values),
                "p50": quantile(values, 0.5),
                "p95": quantile(values, 0.95),
                "p99": quantile(values, 0.99),
                "max": max(values),
            }
        return out


def load_papers(path: Path, count: int) -> list[Any]:
    """The first `count` distinct papers of the file, in file order."""
    from bot.models import Paper
    from bot.pubmed.parse import iter_records

    found: dict[str, Paper] = {}
    for record in iter_records(path):
        if isinstance(record, Paper) and record.pmid not in found:
            found[record.pmid] = record
            if len(found) == count:
                break
    if len(found) < count:
        raise SystemExit(f"{path.name} holds only {len(found)} papers; {count} are needed")
    return list(found.values())


async def drain_outbox(app: Any) -> dict[str, Any]:
    """Call deliver_pending, as the scheduler's retry job would, until nothing is pending.

    In between it sleeps until the earliest next attempt (at most DELIVERY_INTERVAL_SECONDS).
    Returns the time and CPU taken, each pass's report, the exceptions out of a pass, the
    outbox's counts and its most common last errors.
    """
    from bot import delivery
    from bot.scheduler import DELIVERY_INTERVAL_SECONDS

    store = app.store
    passes = []
    exceptions = []
    start, cpu = time.perf_counter(), time.process_time()
    while True:
        began = time.perf_counter() - start
        try:
            report = await delivery.deliver_pending(store, app.channels, app.settings)
            passes.append({"at": began, **dataclasses.asdict(report)})
        except Exception as exc:  # an exception out of a pass is a failure of the run
            exceptions.append(f"{type(exc).__name__}: {exc}")
            logging.getLogger(__name__).exception("deliver_pending raised")
        if not store.outbox.counts()["pending"]:
            break
        if time.perf_counter() - start > BUDGET_SECONDS:
            break
        row = store.db.execute(
            "SELECT MIN(MAX(next_attempt_at, lease_until)) FROM deliveries WHERE state = 'pending'"
        ).fetchone()
        due = datetime.fromisoformat(row[0]) if row and row[0] else datetime.now(UTC)
        wait = (due - datetime.now(UTC)).total_seconds()
        # Timestamps are whole seconds: wake just after the due second has begun.
        await asyncio.sleep(min(max(wait, 0.0) + 0.05, DELIVERY_INTERVAL_SECONDS))
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu
    errors = Counter(
        r[0][:80]
        for r in store.db.execute(
            "SELECT last_error FROM deliveries WHERE last_error != ''"
        ).fetchall()
    )
    return {
        "seconds": seconds,
        "cpu": cpu,
        "passes": passes,
        "exceptions": exceptions,
        "outbox": store.outbox.counts(),
        "last_errors": dict(errors.most_common(5)),
    }
