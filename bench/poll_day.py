"""A day of hourly polls while PubMed changes in batches, and what the MeSH and modification
dates add to each search (issue 16).

Part 1, requests per day: 3,000 distinct queries (3,000 subscriptions in 300 chats, built from
the daily update file as bench/poll.py builds them) polled every hour for one simulated day,
2021-06-07, on the loopback E-utilities serving NLM's daily file 1298:

- PubMed changes in four batches: the day's 5,315 new records appear in thirds at 04:00, 10:00
  and 16:00 UTC, and at 13:00 the 335 records that carry MeSH headings in the file get them
  (they are served without until then; their MeSH and modification dates become the day).
- today's poller: bot/ and storage/ of BASELINE (the commit before issue 16), taken with `git
  archive` and run in the same way: one Entrez-date search per query per poll. By default it
  runs at each change and the two hours after it; its later calm hours repeat the hour before
  (same PubMed, same cursors, same requests; the two measured calm hours show it), which halves
  the run time; `--baseline-hours all` runs it every hour.
- ours: the current poller, FULL_POLL_HOURS=6, on a simulated clock.

Both start from the same state (a first poll at 23:00 the day before, not counted) and see the
same PubMed at each hour: each runs in a child process of its own and the fake changes only
between hours. The fake has no rate limit here and the clients allow 1,000 requests a second:
the figures are requests (counted by the fake), not time.

Part 2, the cost of the wider search on the daily file: for the same 3,000 queries, a steady
poll's window (2021-06-06..07) searched by Entrez date only, as today, and with `OR W[mhda] OR
W[mdat]`: with the records limited to those entered since the subscriptions' first look back
(7 days, as the poller does), and without that limit (the bare form). Added ids, the ids that
no earlier window of the query had found (what a poll would have to efetch), and the pages.

    python bench/poll_day.py                 # both parts, about 8 minutes on 2 cores
    python bench/poll_day.py --queries 600   # smaller
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
CODE = os.environ.get("BENCH_CODE")  # the child of today's poller imports bot/ from there
if CODE:
    sys.path.insert(0, CODE)
sys.path.insert(1 if CODE else 0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from bench.corpus import DAILY_FILE, require  # noqa: E402

BASELINE = "4ad042f046139da4085241d9148e1c4d140ecf7d"  # the commit before issue 16: today's poller
DAY = date(2021, 6, 7)  # the newest Entrez date of the daily file: the simulated day
BATCHES = {4: 0, 10: 1, 16: 2}  # hour -> which third of the day's new records appears
INDEXING_HOUR = 13
EFETCH_BATCH = 200
ESEARCH_CAP = 9_999


# --- the children: one poller each, polls on request ---------------------------------------------


def child(kind: str, spec: dict[str, Any], lines: IO[str], out: IO[str]) -> None:
    """Poll whenever the parent says so; answer each poll with one JSON line."""
    import bot
    from bot.config import Settings
    from bot.poller import poll_cycle
    from bot.pubmed.client import EutilsClient
    from storage import Store

    if kind == "today" and not str(Path(bot.__file__)).startswith(str(CODE)):
        raise SystemExit(f"today's poller imported bot from {bot.__file__}, not {CODE}")
    settings = Settings.from_env(
        {
            "DATABASE_PATH": spec["db"],
            "PUBMED_EUTILS_URL": spec["url"],
            "NCBI_MAX_RPS": "1000",
            "BACKFILL_DAYS": "7",
            "FULL_POLL_HOURS": str(spec["full_poll_hours"]),
        },
        env_file=None,
    )
    from bench.poll import populate

    populate(settings.database_path, spec["held"])  # with this poller's own schema
    store = Store(settings.database_path)
    client = EutilsClient.from_settings(settings)
    out.write("{}\n")  # ready
    out.flush()
    for line in lines:
        step = json.loads(line)
        today = date.fromisoformat(step["today"])
        moment = datetime.fromisoformat(step["now"])
        started = time.monotonic()
        clock: dict[str, Any] = {"today": lambda day=today: day}
        if kind == "ours":  # today's poller has no simulated clock: it never needed one
            clock["now"] = lambda at=moment: at
        report = poll_cycle(store, client, settings, **clock)
        answer = {
            "requests": report.requests,
            "queries": report.queries,
            "skipped": getattr(report, "skipped", 0),
            "new_papers": report.new_papers,
            "matches": report.matches,
            "deliveries": report.deliveries,
            "failures": len(report.failures),
            "wall": time.monotonic() - started,
        }
        out.write(json.dumps(answer) + "\n")
        out.flush()


class Poller:
    """A child process running one poller, driven one poll at a time."""

    def __init__(self, kind: str, spec: dict[str, Any], workdir: Path, code: Path | None) -> None:
        self.kind = kind
        path = workdir / f"{kind}.json"
        path.write_text(json.dumps(spec))
        env = {k: v for k, v in os.environ.items() if k != "BENCH_CODE"}
        if code is not None:
            env["BENCH_CODE"] = str(code)
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--child", kind, "--spec", str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=env,
        )
        assert self.process.stdout is not None
        if not self.process.stdout.readline():  # the subscriptions are in: ready to poll
            raise SystemExit(f"bench: the {kind} poller did not start")

    def poll(self, today: date, now: datetime) -> dict[str, Any]:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(json.dumps({"today": today.isoformat(), "now": now.isoformat()}))
        self.process.stdin.write("\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit(f"bench: the {self.kind} poller died")
        return dict(json.loads(line))

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=60)


def baseline_tree(commit: str, into: Path) -> Path:
    """bot/ and storage/ as they were at `commit`, from git."""
    found = subprocess.run(
        ["git", "archive", "--format=tar", commit, "bot", "storage"],
        cwd=ROOT,
        check=False,
        capture_output=True,
    )
    if found.returncode:
        problem = found.stderr.decode(errors="replace").strip()
        sys.exit(f"bench: cannot take today's poller from git commit {commit[:7]}: {problem}")
    archive = found.stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def traffic(fake: Any) -> dict[str, int]:
    seen = list(fake.requests)
    efetch = [r for r in seen if r.endpoint == "efetch"]
    return {
        "esearch": sum(1 for r in seen if r.endpoint == "esearch"),
        "efetch": len(efetch),
        "efetch_ids": sum(r.id_count for r in efetch),
        "errors": sum(1 for r in seen if r.status != 200),
    }


# --- part 2: result sizes on the daily file ------------------------------------------------------


def result_sizes(fake: Any, queries: list[str], say: Any) -> dict[str, Any]:
    """Per query, the ids of a steady poll's window searched three ways."""
    from bot.pubmed.query import normalize

    start, end = DAY - timedelta(days=1), DAY
    window = f"{start:%Y/%m/%d}:{end:%Y/%m/%d}"
    since = DAY - timedelta(days=7)  # the subscriptions' first look back: a week-old bot
    figures: Counter[str] = Counter()
    added_since: set[str] = set()
    added_bare: set[str] = set()
    unseen_since: set[str] = set()
    bare_pages = since_pages = edat_pages = 0
    for number, query in enumerate(queries, 1):
        q = normalize(query)
        if fake.answer(term=q, retmax="0")[0] == 0:
            # Nothing in the file matches it: PubMed would drop the query and search the dates
            # alone; the poller counts such a search as finding nothing (bot/poller.py).
            figures["nowhere"] += 1
            continue
        wide = f"({q}) AND ({window}[edat] OR {window}[mhda] OR {window}[mdat])"
        dates = {"datetype": "edat", "maxdate": f"{end:%Y/%m/%d}"}
        count_edat, edat = fake.answer(term=q, mindate=f"{start:%Y/%m/%d}", **dates)
        count_since, limited = fake.answer(term=wide, mindate=f"{since:%Y/%m/%d}", **dates)
        count_bare, bare = fake.answer(term=wide)
        # What the query's earlier windows had found: those ids are stored and matched already.
        before = set(
            fake.answer(
                term=q,
                mindate=f"{since:%Y/%m/%d}",
                maxdate=f"{start - timedelta(days=1):%Y/%m/%d}",
                datetype="edat",
            )[1]
        )
        figures["edat"] += count_edat
        figures["since"] += count_since
        figures["bare"] += count_bare
        figures["queries_with_more"] += count_since > count_edat
        figures["queries_with_more_bare"] += count_bare > count_edat
        added_since |= set(limited) - set(edat)
        added_bare |= set(bare) - set(edat)
        unseen_since |= set(limited) - set(edat) - before
        edat_pages += max(1, math.ceil(count_edat / ESEARCH_CAP))
        since_pages += max(1, math.ceil(count_since / ESEARCH_CAP))
        bare_pages += max(1, math.ceil(count_bare / ESEARCH_CAP))
        if number % 500 == 0:
            say(f"  result sizes: {number} of {len(queries)} queries")
    return {
        **figures,
        "added_since": len(added_since),
        "added_bare": len(added_bare),
        "unseen_since": len(unseen_since),
        "edat_pages": edat_pages,
        "since_pages": since_pages,
        "bare_pages": bare_pages,
    }


# --- the run -------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=DAILY_FILE)
    parser.add_argument("--queries", type=int, default=3000)
    parser.add_argument("--chats", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1298)
    parser.add_argument("--baseline", default=BASELINE, help="commit of today's poller")
    parser.add_argument("--full-poll-hours", type=float, default=6.0)
    parser.add_argument(
        "--baseline-hours",
        choices=("changes", "all"),
        default="changes",
        help="run today's poller every hour (all), or at each change and the two hours after "
        "it, its later calm hours repeating the last (changes, the default: half the run time)",
    )
    parser.add_argument("--child", choices=("ours", "today"), help=argparse.SUPPRESS)
    parser.add_argument("--spec", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, json.loads(args.spec.read_text()), sys.stdin, sys.stdout)
        return 0
    require(args.file)

    import random

    from servers.eutils import FakeEutils

    from bench.poll import assign, build_queries, corpus_vocabulary, machine

    def say(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    rng = random.Random(args.seed)
    began = time.monotonic()
    with (
        FakeEutils(rate_limit=None, today=DAY - timedelta(days=1)) as fake,
        tempfile.TemporaryDirectory(prefix="bench-poll-day-") as tmp,
    ):
        workdir = Path(tmp)
        say(f"loading {args.file.name} ...")
        records = fake.load(args.file)
        fake.build_index()
        say("building queries and subscriptions ...")
        vocab = corpus_vocabulary(fake, DAY - timedelta(days=7), DAY)
        queries = build_queries(vocab, args.queries, rng)
        held, _ = assign(queries, args.queries, args.chats, rng)

        # Part 2 first, on the whole file as it is at the end of the day.
        fake.today = DAY
        say(f"part 2: result sizes of {len(queries):,} queries ...")
        sizes = result_sizes(fake, queries, say)

        # Part 1: the day.
        new_today = [p for p in fake.pmids if fake.entrez_date(p) == DAY]
        thirds = [new_today[i::3] for i in range(3)]
        with_headings = [p for p in fake.pmids if b"<MeshHeadingList>" in fake.raw(p)]
        fake.withhold_headings(with_headings)
        fake.hidden = set(new_today)
        code = baseline_tree(args.baseline, workdir / "baseline")
        spec = {"url": fake.url, "full_poll_hours": args.full_poll_hours, "held": held}
        pollers = {
            "today": Poller("today", {**spec, "db": str(workdir / "today.db")}, workdir, code),
            "ours": Poller("ours", {**spec, "db": str(workdir / "ours.db")}, workdir, None),
        }
        steps: list[tuple[str, date, datetime, str]] = [
            ("warm-up", DAY - timedelta(days=1), datetime(2021, 6, 6, 23, tzinfo=UTC), "")
        ]
        for hour in range(24):
            event = ""
            if hour in BATCHES:
                event = f"{len(thirds[BATCHES[hour]]):,} new records"
            if hour == INDEXING_HOUR:
                event = f"{len(with_headings):,} records indexed"
            steps.append((f"{hour:02d}:00", DAY, datetime(2021, 6, 7, hour, tzinfo=UTC), event))
        rows: list[dict[str, Any]] = []
        calm = 0
        try:
            for label, today, moment, event in steps:
                fake.today = today
                if label != "warm-up":
                    hour = moment.hour
                    if hour in BATCHES:
                        fake.hidden -= set(thirds[BATCHES[hour]])
                    if hour == INDEXING_HOUR:
                        fake.add_headings(with_headings, on=DAY)
                # How many hours since PubMed last changed (a new day is a change too).
                calm = 0 if label in ("warm-up", "00:00") or event else calm + 1
                row: dict[str, Any] = {"label": label, "event": event, "calm": calm}
                for kind, poller in pollers.items():
                    if kind == "today" and args.baseline_hours == "changes" and calm >= 3:
                        # The same PubMed, the same cursors: the same requests as the hour
                        # before, as the two measured calm hours after each change show.
                        row[kind] = {**rows[-1][kind], "repeated": True, "wall": 0.0}
                        continue
                    fake.reset()
                    result = poller.poll(today, moment)
                    result.update(traffic(fake))
                    row[kind] = result
                rows.append(row)
                say(
                    f"{label}: today's {row['today']['requests']:,} requests, ours "
                    f"{row['ours']['requests']:,} ({row['ours']['skipped']:,} queries skipped)"
                )
        finally:
            for poller in pollers.values():
                poller.close()
        errors = list(fake.errors)

    day = rows[1:]

    def total(kind: str, key: str) -> float:
        return float(sum(r[kind][key] for r in day))

    print(f"date: {datetime.now():%Y-%m-%d %H:%M}")
    print(f"command: python bench/poll_day.py {' '.join(sys.argv[1:])}".rstrip())
    print(f"machine: {machine()}")
    print(
        f"corpus: {args.file.name}, {records:,} records; simulated day {DAY}: "
        f"{len(new_today):,} new records in 3 batches, {len(with_headings):,} indexed at "
        f"{INDEXING_HOUR}:00; {len(queries):,} distinct queries, one subscription each, in "
        f"{args.chats} chats; today's poller: {args.baseline[:7]}; FULL_POLL_HOURS="
        f"{args.full_poll_hours:g}; run time {time.monotonic() - began:.0f} s"
    )
    print()
    print(
        "| hour (UTC) | PubMed | today's requests | ours | ours: queries searched "
        "| ours: efetch | today's: efetch |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        searched = r["ours"]["queries"] - r["ours"]["skipped"]
        repeated = " (as the hour before)" if r["today"].get("repeated") else ""
        print(
            f"| {r['label']} | {r['event']} | {r['today']['requests']:,}{repeated} | "
            f"{r['ours']['requests']:,} | {searched:,} | {r['ours']['efetch']:,} | "
            f"{r['today']['efetch']:,} |"
        )
    today_requests, our_requests = total("today", "requests"), total("ours", "requests")
    full = sum(1 for r in day if r["ours"]["skipped"] == 0)
    calm_pairs = [
        (a["today"]["requests"], b["today"]["requests"])
        for a, b in itertools.pairwise(day)
        if (a["calm"], b["calm"]) == (1, 2)
    ]
    print()
    print(
        f"- requests over the day's 24 polls: today's poller {today_requests:,.0f}, ours "
        f"{our_requests:,.0f} ({today_requests / our_requests:.1f}x fewer); ours made {full} "
        f"full polls and {24 - full} that asked one question only"
    )
    if args.baseline_hours == "changes":
        same = all(x == y for x, y in calm_pairs)
        print(
            f"- today's poller ran at each change and the two hours after it; its other hours "
            f"repeat the hour before (measured pairs of calm hours equal: {same}, {calm_pairs})"
        )
    print(
        f"- efetch requests: today's {total('today', 'efetch'):,.0f} "
        f"({total('today', 'efetch_ids'):,.0f} ids), ours {total('ours', 'efetch'):,.0f} "
        f"({total('ours', 'efetch_ids'):,.0f} ids)"
    )
    print(
        f"- new papers stored: today's {total('today', 'new_papers'):,.0f}, ours "
        f"{total('ours', 'new_papers'):,.0f}; matches: today's {total('today', 'matches'):,.0f}, "
        f"ours {total('ours', 'matches'):,.0f}; deliveries queued: today's "
        f"{total('today', 'deliveries'):,.0f}, ours {total('ours', 'deliveries'):,.0f}; "
        f"failed queries: {total('today', 'failures'):,.0f} / {total('ours', 'failures'):,.0f}"
    )
    measured = sum(1 for r in day if not r["today"].get("repeated"))
    print(
        f"- poll time summed: today's {total('today', 'wall'):,.0f} s over its {measured} "
        f"measured polls, ours {total('ours', 'wall'):,.0f} s over 24 (no rate limit: CPU and "
        "SQLite, not NCBI's pace)"
    )
    print(
        f"- HTTP errors: {sum(r[k]['errors'] for r in rows for k in ('today', 'ours'))}; "
        f"fake's own errors: {len(errors)}"
    )
    print()
    s = sizes
    print(
        f"Part 2, one steady poll's window ({DAY - timedelta(days=1)}..{DAY}) on the daily file, "
        f"{len(queries):,} queries:"
    )
    print()
    print("| search | ids returned (sum over queries) | vs Entrez date only | esearch pages |")
    print("|---|---:|---:|---:|")
    print(f"| Entrez date only (today's) | {s['edat']:,} | | {s['edat_pages']:,} |")
    print(
        f"| OR [mhda] OR [mdat], entered since the first look back (ours) | {s['since']:,} | "
        f"+{s['since'] - s['edat']:,} ({(s['since'] - s['edat']) / max(1, s['edat']):.1%}) | "
        f"{s['since_pages']:,} |"
    )
    print(
        f"| OR [mhda] OR [mdat], no Entrez-date limit | {s['bare']:,} | "
        f"+{s['bare'] - s['edat']:,} ({(s['bare'] - s['edat']) / max(1, s['edat']):.1%}) | "
        f"{s['bare_pages']:,} |"
    )
    print()
    print(
        f"- {s['nowhere']:,} queries match no record of the file (counted as finding nothing: "
        "PubMed drops a term it cannot find, which would leave the dates alone)"
    )
    print(
        f"- distinct ids added: {s['added_since']:,} with the limit "
        f"({s['queries_with_more']:,} queries find more), {s['added_bare']:,} without it "
        f"({s['queries_with_more_bare']:,} queries find more)"
    )
    print(
        f"- of those added with the limit, {s['unseen_since']:,} were not found by the query's "
        f"earlier windows: at most ceil({s['unseen_since']:,} / 200) = "
        f"{math.ceil(s['unseen_since'] / EFETCH_BATCH)} extra efetches for a poll (fewer when "
        "another query had stored them); the rest were matched before and cost nothing"
    )
    if errors:
        print(f"the fake logged {len(errors)} internal errors; first:\n{errors[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
