"""What follow-ups cost a poll in E-utilities requests, with 100 and with 100,000 papers
delivered (issue 15).

On the loopback E-utilities serving NLM's daily file 1298 (its newest Entrez date 2021-06-07 is
"today"), one chat follows `crispr[tiab]`. A first poll on 2021-06-05 delivers its papers; then
the outbox is given N sent deliveries in all, over 100 chats: 60 of the papers that the file's
retraction notices, errata and expressions of concern concern (delivered to one chat, so each
run owes the same follow-ups) and, for the rest, made-up PMIDs. The poll of 2021-06-07 then runs
the notice watch: its requests, the notice esearches and efetches, the follow-ups owed and the
time of the SQL matching are printed for each N. Goal: the same requests for every N.

Then the weekly re-check of saved papers: 10,000 saved papers (made-up PMIDs: the fake answers
without them, the requests are what counts) should cost ⌈10,000 ÷ 200⌉ = 50 efetches.

    python bench/followups_requests.py            # about a minute on 2 cores
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from servers.eutils import FakeEutils  # noqa: E402

from bench.corpus import DAILY_FILE, require  # noqa: E402
from bot import recheck  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.models import NOTICE_LINKS, Paper  # noqa: E402
from bot.poller import poll_cycle  # noqa: E402
from bot.pubmed import query as pubmed_query  # noqa: E402
from bot.pubmed.client import EFETCH_BATCH, EutilsClient  # noqa: E402
from bot.pubmed.parse import iter_records  # noqa: E402
from storage import Store  # noqa: E402

FIRST, TODAY = date(2021, 6, 5), date(2021, 6, 7)
DEFAULTS = {"language": "en", "timezone": "UTC", "mode": "instant", "digest_time": "08:00"}
SENT = "2021-06-05T12:00:00+00:00"
CONCERNED = 60


def targets(path: Path, since: date) -> list[str]:
    """The PMIDs that the file's notices entered since `since` concern (RetractionOf,
    ErratumFor, ExpressionOfConcernFor): what the poll of TODAY reads."""
    found: dict[str, None] = {}
    for record in iter_records(path):
        if (
            isinstance(record, Paper)
            and record.kind == "notice"
            and record.entrez_date >= since.isoformat()
        ):
            for link in record.corrections:
                if link.type in NOTICE_LINKS and link.pmid:
                    found[link.pmid] = None
    return list(found)


def one_run(
    fake: FakeEutils, folder: Path, delivered: int, concerned: list[str]
) -> dict[str, float]:
    store = Store(folder / f"{delivered}.db")
    settings = Settings.from_env(
        {"PUBMED_EUTILS_URL": fake.url, "BACKFILL_DAYS": "2"}, env_file=None
    )
    try:
        chat = store.chats.get_or_create("local", "", "reader", DEFAULTS)
        store.chats.add_subscription(
            chat.id, "crispr[tiab]", pubmed_query.normalize("crispr[tiab]"), 50
        )
        client = EutilsClient(fake.url, max_rps=1000)
        fake.visible_until, fake.today = FIRST, FIRST
        poll_cycle(store, client, settings, today=lambda: FIRST)
        with store.transaction() as db:  # as if delivered
            db.execute("UPDATE deliveries SET state = 'sent', sent_at = ?", [SENT])
            have = db.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0]
            chats = [
                store.chats.get_or_create("local", "", f"chat{n}", DEFAULTS).id for n in range(100)
            ]
            rows = [(chats[0], pmid) for pmid in concerned]
            filler = max(0, delivered - have - len(rows))
            rows += [(chats[n % 100], str(90_000_000 + n)) for n in range(filler)]
            db.conn.executemany(
                "INSERT OR IGNORE INTO deliveries (chat, pmid, state, kind, created_at, sent_at,"
                " message_id) VALUES (?, ?, 'sent', 'card', ?, ?, 'm')",
                [(c, p, SENT, SENT) for c, p in rows],
            )
            total = db.execute("SELECT COUNT(*) FROM deliveries WHERE state = 'sent'").fetchone()
        fake.reset()
        fake.visible_until, fake.today = None, TODAY
        started = time.perf_counter()
        report = poll_cycle(store, client, settings, today=lambda: TODAY)
        seconds = time.perf_counter() - started
        notice_searches = [r for r in fake.requests if "[pt]" in r.params.get("term", "")]
        return {
            "delivered": int(total[0]),
            "requests": report.requests,
            "notice_searches": len(notice_searches),
            "efetches": len([r for r in fake.requests if r.endpoint == "efetch"]),
            "notices": report.notices,
            "followups": report.followups,
            "seconds": seconds,
        }
    finally:
        store.close()


def saved_run(fake: FakeEutils, folder: Path, saved: int) -> dict[str, float]:
    store = Store(folder / "saved.db")
    try:
        chat = store.chats.get_or_create("local", "", "keeper", DEFAULTS)
        pmids = [str(80_000_000 + n) for n in range(saved)]
        with store.transaction() as db:
            db.conn.executemany(
                "INSERT INTO papers (pmid, record, fetched_at) VALUES (?, ?, ?)",
                [(p, json.dumps({"pmid": p}), SENT) for p in pmids],
            )
            db.conn.executemany(
                "INSERT INTO feedback (chat, user, pmid, kind, created_at)"
                " VALUES (?, 'u', ?, 'save', ?)",
                [(chat.id, p, SENT) for p in pmids],
            )
        fake.reset()
        client = EutilsClient(fake.url, max_rps=1000)
        started = time.perf_counter()
        checked = recheck.recheck_saved(store, client)
        return {
            "saved": saved,
            "requests": checked.requests,
            "seconds": time.perf_counter() - started,
        }
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=DAILY_FILE)
    parser.add_argument("--sizes", default="100,100000")
    parser.add_argument("--saved", type=int, default=10_000)
    args = parser.parse_args()
    path = require(args.file)
    # Enough of them to owe follow-ups, few enough that the small run stays at 100 papers.
    concerned = targets(path, FIRST)[:CONCERNED]
    with FakeEutils(rate_limit=None) as fake, tempfile.TemporaryDirectory() as folder:
        fake.load(path)
        fake.build_index()
        runs = [one_run(fake, Path(folder), int(size), concerned) for size in args.sizes.split(",")]
        saved = saved_run(fake, Path(folder), args.saved)
    print(f"Delivered to one chat: {len(concerned)} PMIDs that notices of the file concern.\n")
    print(
        "| papers delivered | poll requests | notice esearches | efetches | notices read |"
        " follow-ups owed | poll time |"
    )
    print("|---|---|---|---|---|---|---|")
    for run in runs:
        print(
            f"| {run['delivered']:,} | {run['requests']} | {run['notice_searches']} |"
            f" {run['efetches']} | {run['notices']} | {run['followups']} |"
            f" {run['seconds']:.2f} s |"
        )
    same = len({(r["requests"], r["followups"]) for r in runs}) == 1
    print(f"\nSame requests and follow-ups for every size: {'yes' if same else 'NO'}")
    expected = math.ceil(args.saved / EFETCH_BATCH)
    print(
        f"Weekly re-check of {saved['saved']:,} saved papers: {saved['requests']} requests"
        f" (goal {expected}), {saved['seconds']:.2f} s:"
        f" {'met' if saved['requests'] == expected else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
