"""Telegram delivery: 2,000 cards to 200 chats against the fake Bot API and its flood limits.

`tests/servers/telegram.py` (FakeTelegram) enforces Telegram's limits - 30 messages/s overall,
1 message/s per private chat (20/min per group) - and answers 429 with retry_after beyond them.
Each of 200 private chats is owed 10 papers from the NLM daily update file (real records, so the
cards have their real size), MAX_CARDS_PER_POLL = 10, so each paper is one card message:

- ours:  bot.delivery.deliver_pending with the real TelegramChannel (PTB Application,
         Spacing at OVERALL_RATE, PRIVATE_PACE per private chat) on a real Store (temp SQLite file),
         called again, as the scheduler's retry job would, until nothing is pending (sleeping
         until the earliest next attempt in between, at most DELIVERY_INTERVAL_SECONDS).
- naive: the same 2,000 messages (same HTML, same buttons) with a bare `telegram.Bot`, one task
         per chat sending its cards in order, all chats at once, no limiter; on a 429 it sleeps
         the retry_after Telegram gave and sends again.

The fake runs in this process; each sender runs in a child process of its own (Telegram's
servers are not on our CPU), with a fresh fake each. Lost, duplicated and 429s are counted by the
fake: a card's PMID is read from its buttons' callback_data.

    python bench/telegram.py                        # ours, then the naive baseline
    python bench/telegram.py --no-naive
    python bench/telegram.py --concurrent-chats 32  # experiment: patch bot.delivery's constant

Experiments patch the child only, never the product: --concurrent-chats, --private-pace,
--threads, --overall-burst / --overall-rate, --limiter-retries (see --help).

Goals (issue): at least 90% of the rate the limits allow (floor / time >= 0.9, where floor =
max(cards / 30 per s, cards per chat / 1 per s)), none lost, none twice, no 429 left unhandled.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import logging
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this file's folder comes first on sys.path and this file would shadow PTB's
# `telegram` package: take the folder off.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from bench.corpus import DAILY_FILE, require  # noqa: E402
from bench.outbox_runs import Timings, drain_outbox, load_papers  # noqa: E402

OVERALL_PER_SECOND = 30  # Telegram: messages per second, all chats together
PRIVATE_PER_SECOND = 1  # Telegram: messages per second to one private chat
DEFAULTS = {"language": "en", "timezone": "UTC", "mode": "instant", "digest_time": "08:00"}
SENDERS = ("ours", "naive")


# --- the workload ---------------------------------------------------------------------------------


def build_database(path: Path, papers: list[Any], chats: int, cards: int) -> dict[int, list[str]]:
    """Chats 1..`chats` (Telegram private chats), each owed its own `cards` papers, as a poll
    leaves them: matches and pending deliveries, one subscription per chat. Returns the PMIDs
    owed per Telegram chat id."""
    from bot.models import MatchReason, Score
    from storage import Store

    store = Store(path)
    owed: dict[int, list[str]] = {}
    try:
        store.papers.save(papers)
        reasons = (MatchReason("crispr", ("title",)),)
        for number in range(1, chats + 1):
            batch = papers[(number - 1) * cards : number * cards]
            chat = store.chats.get_or_create("telegram", "", str(number), DEFAULTS)
            query = f"bench query {number}"
            sub = store.chats.add_subscription(chat.id, query, query, 100)
            store.polls.commit_query(
                store.polls.start(),
                sub.normalized,
                date(2021, 6, 7),
                "2021/06/07-2021/06/07",
                len(batch),
                [sub],
                [
                    (sub, p.pmid, Score(0.9 - 0.01 * i, "high", reasons))
                    for i, p in enumerate(batch)
                ],
            )
            owed[number] = [p.pmid for p in batch]
    finally:
        store.close()
    return owed


def render_messages(path: Path) -> list[dict[str, Any]]:
    """The messages ours will send, rendered as bot.delivery renders a card (for the naive
    sender): per chat, best first, each card's HTML and inline keyboard. Reads the database
    without planning it."""
    from bot.cards import Card, Collection
    from handlers.telegram_html import card_message
    from storage import Store

    store = Store(path)
    now = datetime.now(UTC).replace(tzinfo=None)  # the chats' time zone is UTC
    out = []
    try:
        papers = store.papers.get_many(p for c in store.chats.all() for p in _owed(store, c.id))
        for chat in store.chats.all():
            for pmid in _owed(store, chat.id):
                matched = tuple(store.outbox.matched_queries(chat.id, pmid))
                collection = Collection(
                    now, tuple(m.query for m in matched), matched[0].score if matched else None
                )
                card = Card.build(papers[pmid], chat.language, collection)
                part = card_message(card, matched)
                keyboard = [
                    [{"text": b.text, "url": b.url, "data": b.data} for b in line]
                    for line in part.keyboard
                ]
                out.append({"chat": int(chat.chat_id), "html": part.html, "keyboard": keyboard})
    finally:
        store.close()
    return out


def _owed(store: Any, chat: int) -> list[str]:
    rows = sorted(store.outbox.all_for_chat(chat), key=lambda d: (-d.score, d.pmid))
    return [d.pmid for d in rows]


# --- child: ours ----------------------------------------------------------------------------------


class LogCounter(logging.Handler):
    """Counts log records: warnings and errors by logger, and PTB's limiter retrying a 429."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.by_level: Counter[str] = Counter()
        self.limiter_retries = 0
        self.limiter_gave_up = 0
        self.samples: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.name.startswith("telegram.ext") and "Rate limit hit. Retrying" in text:
            self.limiter_retries += 1
        if "Rate limit hit after maximum" in text:
            self.limiter_gave_up += 1
        if record.levelno >= logging.WARNING:
            self.by_level[f"{record.levelname} {record.name}"] += 1
            if len(self.samples) < 5:
                self.samples.append(f"{record.levelname} {record.name}: {text[:200]}")


def child_ours(spec: dict[str, Any]) -> dict[str, Any]:
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    return asyncio.run(_ours(spec))


async def _ours(spec: dict[str, Any]) -> dict[str, Any]:
    from bot import delivery
    from bot.app import App
    from bot.config import Settings
    from handlers import telegram as tg

    logs = LogCounter()
    logging.getLogger().addHandler(logs)
    logging.getLogger().setLevel(logging.INFO)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if spec["concurrent_chats"]:
        delivery.CONCURRENT_CHATS = spec["concurrent_chats"]
    if spec["private_pace"] is not None:
        tg.PRIVATE_PACE = spec["private_pace"]
    burst = spec.get("overall_burst") or OVERALL_PER_SECOND
    rate = spec.get("overall_rate") or OVERALL_PER_SECOND
    forced: dict[str, Any] = {}
    if (burst, rate) != (OVERALL_PER_SECOND, OVERALL_PER_SECOND):
        forced.update(overall_max_rate=burst, overall_time_period=burst / rate)
    if spec.get("limiter_retries") is not None:
        forced["max_retries"] = spec["limiter_retries"]
    if forced:
        shipped = tg.AIORateLimiter

        def limiter(*args: Any, **kwargs: Any) -> Any:
            return shipped(*args, **{**kwargs, **forced})

        tg.AIORateLimiter = limiter  # type: ignore[assignment,misc]
    loop = asyncio.get_running_loop()
    workers = spec["threads"] or min(32, (os.cpu_count() or 1) + 4)  # asyncio's default
    loop.set_default_executor(ThreadPoolExecutor(max_workers=workers))

    timings = Timings()
    real_to_thread = asyncio.to_thread

    async def to_thread(func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        # Time in the pool's queue plus in the thread, and in the thread alone.
        name = getattr(func, "__name__", "call")
        start = time.perf_counter()
        try:
            return await real_to_thread(timings.wrap_sync(f"db {name}", func), *args, **kwargs)
        finally:
            timings.add(f"to_thread {name}", time.perf_counter() - start)

    asyncio.to_thread = to_thread  # type: ignore[assignment]
    tg.TelegramChannel._post = timings.wrap_async("post", tg.TelegramChannel._post)  # type: ignore[method-assign]
    tg.TelegramChannel.send = timings.wrap_async("send", tg.TelegramChannel.send)  # type: ignore[method-assign]
    active = {"now": 0, "max": 0}
    real_deliver_chat = delivery._deliver_chat

    async def deliver_chat(*args: Any, **kwargs: Any) -> None:
        active["now"] += 1
        active["max"] = max(active["max"], active["now"])
        start = time.perf_counter()
        try:
            await real_deliver_chat(*args, **kwargs)
        finally:
            active["now"] -= 1
            timings.add("chat", time.perf_counter() - start)

    delivery._deliver_chat = deliver_chat  # type: ignore[assignment]

    settings = Settings.from_env(
        {
            "DATABASE_PATH": spec["database"],
            "ALERTS_DIR": str(Path(spec["database"]).parent / "alerts"),
            "TELEGRAM_BOT_TOKEN": spec["token"],
            "TELEGRAM_API_URL": spec["base_url"],
            "MAX_CARDS_PER_POLL": str(spec["cards"]),
            "LOG_LEVEL": "INFO",
        },
        env_file=None,
    )
    app = App.create(settings, io.StringIO())
    channel = app.channels["telegram"]
    await channel.start()
    await asyncio.wait_for(channel.ready.wait(), timeout=30)  # type: ignore[attr-defined]
    drained = await drain_outbox(app)
    await channel.stop()  # type: ignore[attr-defined]
    app.close()
    return {
        **drained,
        "timings": timings.summary(),
        "max_active_chats": active["max"],
        "concurrent_chats": delivery.CONCURRENT_CHATS,
        "private_pace": tg.PRIVATE_PACE,
        "spacing_rate": tg.OVERALL_RATE,
        "threads": workers,
        "overall_burst": burst,
        "overall_rate": rate,
        "max_retries": spec.get("limiter_retries"),
        "logs": dict(logs.by_level),
        "log_samples": logs.samples,
        "limiter_retries": logs.limiter_retries,
        "limiter_gave_up": logs.limiter_gave_up,
    }


# --- child: naive ---------------------------------------------------------------------------------


def child_naive(spec: dict[str, Any]) -> dict[str, Any]:
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    return asyncio.run(_naive(spec))


async def _naive(spec: dict[str, Any]) -> dict[str, Any]:
    from datetime import timedelta

    from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions
    from telegram.error import RetryAfter, TelegramError
    from telegram.request import HTTPXRequest

    messages = json.loads(Path(spec["messages"]).read_text())
    by_chat: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for message in messages:
        by_chat[message["chat"]].append(message)
    retries: Counter[str] = Counter()
    given_up = 0
    # A pool as large as the number of chats, so the pool is not a hidden limiter.
    request = HTTPXRequest(connection_pool_size=len(by_chat) + 8, pool_timeout=30)

    def markup(keyboard: list[list[dict[str, str | None]]]) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(str(b["text"]), url=b["url"])
                    if b["url"]
                    else InlineKeyboardButton(str(b["text"]), callback_data=b["data"])
                    for b in line
                ]
                for line in keyboard
            ]
        )

    async def one_chat(bot: Bot, chat_id: int, queue: list[dict[str, Any]]) -> None:
        nonlocal given_up
        for message in queue:
            for _attempt in range(50):
                try:
                    await bot.send_message(
                        chat_id,
                        message["html"],
                        parse_mode="HTML",
                        reply_markup=markup(message["keyboard"]),
                        link_preview_options=LinkPreviewOptions(is_disabled=True),
                    )
                    break
                except RetryAfter as exc:
                    retries["429"] += 1
                    wait = exc.retry_after
                    seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
                    await asyncio.sleep(seconds)
                except TelegramError as exc:
                    retries[f"{type(exc).__name__}: {exc}"[:80]] += 1
                    await asyncio.sleep(1)
            else:
                given_up += 1

    async with Bot(spec["token"], base_url=spec["base_url"], request=request) as bot:
        start, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(one_chat(bot, chat, queue) for chat, queue in by_chat.items()))
        seconds = time.perf_counter() - start
        cpu = time.process_time() - cpu
    return {"seconds": seconds, "cpu": cpu, "retries": dict(retries), "given_up": given_up}


# --- parent: the fake, the children, the verdicts -------------------------------------------------


def card_pmid(message: dict[str, Any]) -> str | None:
    for line in (message.get("reply_markup") or {}).get("inline_keyboard", []):
        for button in line:
            data = button.get("callback_data", "")
            if data.startswith("fb:"):
                return str(data.split(":")[2])
    return None


def run_sender(
    name: str, spec: dict[str, Any], owed: dict[int, list[str]], workdir: Path
) -> dict[str, Any]:
    """Start a fresh fake with the chats, run one sender in a child process, read the fake."""
    from servers.telegram import FakeTelegram

    with FakeTelegram(enforce_limits=True) as fake:
        for chat_id in owed:
            fake.add_private_chat(chat_id)
        spec = {**spec, "token": fake.token, "base_url": fake.base_url}
        spec_file = workdir / f"{name}.json"
        spec_file.write_text(json.dumps(spec))
        print(f"running {name} ...", file=sys.stderr, flush=True)
        cpu = time.process_time()
        out = subprocess.run(
            [sys.executable, __file__, "--child", name, "--spec", str(spec_file)],
            check=False,
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        fake_cpu = time.process_time() - cpu
        if out.returncode != 0:
            sys.stderr.write(out.stderr)
            raise SystemExit(f"{name} failed with exit status {out.returncode}")
        result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
        result["fake_cpu"] = fake_cpu
        result.update(read_fake(fake, owed))
    return result


def read_fake(fake: Any, owed: dict[int, list[str]]) -> dict[str, Any]:
    """Lost, duplicated, 429s and the timeline, from what the fake saw."""
    delivered: Counter[tuple[int, str]] = Counter()
    strays = 0
    for message in fake.all_sent():
        pmid = card_pmid(message)
        if pmid is None:
            strays += 1
            continue
        delivered[(message["chat"]["id"], pmid)] += 1
    wanted = {(chat, pmid) for chat, pmids in owed.items() for pmid in pmids}
    lost = sum(1 for key in wanted if key not in delivered)
    duplicated = sum(n - 1 for n in delivered.values() if n > 1)
    unexpected = sum(n for key, n in delivered.items() if key not in wanted)

    sends = [c for c in fake.calls("sendMessage")]
    accepted = [c for c in sends if c.status == 200]
    times = sorted(c.at for c in accepted)
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    # The busiest second, and how many 429s were for the chat's pace rather than the total.
    busiest, left = 0, 0
    for right, moment in enumerate(times):
        while times[left] <= moment - 1.0:
            left += 1
        busiest = max(busiest, right - left + 1)
    last_ok: dict[int, float] = {}
    per_chat_429 = overall_429 = 0
    gaps: list[float] = []
    for call in sorted(sends, key=lambda c: c.at):
        chat = int(call.params.get("chat_id"))
        if call.status == 200:
            if chat in last_ok:
                gaps.append(call.at - last_ok[chat])
            last_ok[chat] = call.at
        elif call.status == 429:
            if chat in last_ok and call.at - last_ok[chat] < 1.0:
                per_chat_429 += 1
            else:
                overall_429 += 1
    first_by_chat: dict[int, float] = {}
    last_by_chat: dict[int, float] = {}
    for call in accepted:
        chat = int(call.params.get("chat_id"))
        first_by_chat.setdefault(chat, call.at)
        last_by_chat[chat] = call.at
    chat_spans = [last_by_chat[c] - first_by_chat[c] for c in first_by_chat]
    gaps.sort()
    return {
        "accepted": sum(fake.accepted.values()),
        "throttled": sum(fake.throttled.values()),
        "refused": sum(fake.refused.values()),
        "other_status": Counter(str(c.status) for c in sends if c.status not in (200, 429)),
        "fake_errors": list(fake.errors),
        "lost": lost,
        "duplicated": duplicated,
        "unexpected": unexpected,
        "strays": strays,
        "span": span,
        "busiest_second": busiest,
        "per_chat_429": per_chat_429,
        "overall_429": overall_429,
        "gap_min": gaps[0] if gaps else 0.0,
        "gap_p50": gaps[len(gaps) // 2] if gaps else 0.0,
        "gap_p95": gaps[int(len(gaps) * 0.95)] if gaps else 0.0,
        "chat_span_mean": statistics.fmean(chat_spans) if chat_spans else 0.0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=DAILY_FILE)
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--cards", type=int, default=10, help="cards per chat (default 10)")
    parser.add_argument(
        "--naive",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run the naive sender (default: yes)",
    )
    parser.add_argument(
        "--concurrent-chats",
        type=int,
        default=0,
        metavar="N",
        help="experiment: set bot.delivery.CONCURRENT_CHATS in the child (default: as shipped)",
    )
    parser.add_argument(
        "--private-pace",
        type=float,
        default=None,
        metavar="SECONDS",
        help="experiment: set handlers.telegram.PRIVATE_PACE in the child (default: as shipped)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        metavar="N",
        help="experiment: worker threads for asyncio.to_thread (default: asyncio's own)",
    )
    parser.add_argument(
        "--overall-burst",
        type=int,
        default=0,
        metavar="N",
        help="experiment: add PTB's overall limiter, a bucket of N messages filling at 30/s "
        "(AIORateLimiter(overall_max_rate=N, overall_time_period=N/30)), on top of "
        "handlers.pace.Spacing; shipped: off",
    )
    parser.add_argument(
        "--overall-rate",
        type=float,
        default=0,
        metavar="R",
        help="experiment: PTB's overall limiter (see --overall-burst) fills at R messages/s",
    )
    parser.add_argument(
        "--limiter-retries",
        type=int,
        default=None,
        metavar="N",
        help="experiment: AIORateLimiter(max_retries=N), retries of a 429 inside PTB, each "
        "after halting every request for retry_after + 0.1 s (shipped: 0)",
    )
    parser.add_argument("--child", choices=SENDERS, help=argparse.SUPPRESS)
    parser.add_argument("--spec", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    require(args.file)
    if args.child:  # child process: run one sender and print JSON
        spec = json.loads(args.spec.read_text())
        result = child_ours(spec) if args.child == "ours" else child_naive(spec)
        print(json.dumps(result))
        return 0

    total = args.chats * args.cards
    floor = max(total / OVERALL_PER_SECOND, args.cards / PRIVATE_PER_SECOND)
    print(f"reading {total:,} papers from {args.file.name} ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    papers = load_papers(args.file, total)
    parse_seconds = time.perf_counter() - started
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-telegram-") as tmp:
        workdir = Path(tmp)
        owed = build_database(workdir / "template.db", papers, args.chats, args.cards)
        sizes = []
        if args.naive:
            messages = render_messages(workdir / "template.db")
            sizes = [len(m["html"]) for m in messages]
            (workdir / "messages.json").write_text(json.dumps(messages))
        common = {
            "cards": args.cards,
            "concurrent_chats": args.concurrent_chats,
            "private_pace": args.private_pace,
            "threads": args.threads,
            "overall_burst": args.overall_burst,
            "overall_rate": args.overall_rate,
            "limiter_retries": args.limiter_retries,
            "messages": str(workdir / "messages.json"),
        }
        # ours gets its own copy of the database: the template stays unplanned.
        ours_db = workdir / "ours" / "ps.db"
        ours_db.parent.mkdir()
        ours_db.write_bytes((workdir / "template.db").read_bytes())
        results["ours"] = run_sender("ours", {**common, "database": str(ours_db)}, owed, workdir)
        if args.naive:
            results["naive"] = run_sender("naive", common, owed, workdir)

    print_report(args, total, floor, parse_seconds, sizes, results)
    return 0


def print_report(
    args: argparse.Namespace,
    total: int,
    floor: float,
    parse_seconds: float,
    sizes: list[int],
    results: dict[str, dict[str, Any]],
) -> None:
    ours = results["ours"]
    print(
        f"workload: {total:,} cards to {args.chats} private chats ({args.cards} each), papers "
        f"from {args.file.name} (read in {parse_seconds:.1f} s)"
    )
    if sizes:
        print(
            f"card HTML: mean {statistics.fmean(sizes):,.0f} chars, max {max(sizes):,} "
            f"(Telegram's limit is 4,096 UTF-16 units of text after parsing)"
        )
    print(
        f"limits: {OVERALL_PER_SECOND} msg/s overall, {PRIVATE_PER_SECOND} msg/s per private "
        f"chat; floor = max({total:,} / {OVERALL_PER_SECOND}, {args.cards} / "
        f"{PRIVATE_PER_SECOND}) = {floor:.1f} s, i.e. {total / floor:.1f} msg/s allowed"
    )
    print(
        f"ours: CONCURRENT_CHATS = {ours['concurrent_chats']}, PRIVATE_PACE = "
        f"{ours['private_pace']} s, {ours['threads']} to_thread workers"
        + (
            f", EXPERIMENT: PTB's overall limiter a bucket of {ours['overall_burst']} filling "
            f"at {ours['overall_rate']:g}/s"
            if (ours["overall_burst"], ours["overall_rate"]) != (30, 30)
            else ""
        )
        + (
            f", EXPERIMENT: AIORateLimiter max_retries={ours['max_retries']}"
            if ours["max_retries"] is not None
            else ""
        )
    )
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print()
    print(
        "| sender | seconds | msg/s | % of allowed rate | 429s | other errors | lost | "
        "duplicated | outbox not sent | CPU s (sender / fake) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in results.items():
        rate = total / r["seconds"]
        others = r["refused"] + sum(r["other_status"].values())
        not_sent = (
            str(sum(v for k, v in r["outbox"].items() if k != "sent")) if "outbox" in r else "-"
        )
        print(
            f"| {name} | {r['seconds']:.1f} | {rate:.1f} | {100 * floor / r['seconds']:.1f}% | "
            f"{r['throttled']:,} | {others} | {r['lost']} | {r['duplicated']} | {not_sent} | "
            f"{r['cpu']:.1f} / {r['fake_cpu']:.1f} |"
        )
    print()
    for name, r in results.items():
        print(
            f"- {name}: at the fake, first to last message {r['span']:.1f} s, busiest second "
            f"{r['busiest_second']} messages (by arrival time); 429s for a chat's pace "
            f"{r['per_chat_429']}, for the total {r['overall_429']}; gap between a chat's "
            f"messages min {r['gap_min']:.2f} s, median {r['gap_p50']:.2f} s, p95 "
            f"{r['gap_p95']:.2f} s; a chat's {args.cards} cards span {r['chat_span_mean']:.1f} s "
            "on average"
        )
        if r["fake_errors"] or r["unexpected"] or r["strays"]:
            print(
                f"  fake errors {r['fake_errors'][:3]}, unexpected {r['unexpected']}, "
                f"messages without a card button {r['strays']}"
            )
    naive = results.get("naive")
    if naive:
        print(f"- naive retries: {naive['retries']}, given up: {naive['given_up']}")
    print(
        f"- ours: {len(ours['passes'])} delivery passes "
        + ", ".join(
            f"[{p['at']:.0f} s: sent {p['sent']}, failed {p['failed']}]" for p in ours["passes"]
        )
    )
    print(
        f"- ours: 429s retried inside PTB's AIORateLimiter {ours['limiter_retries']}, given up "
        f"by it (to the outbox) {ours['limiter_gave_up']}; exceptions out of deliver_pending "
        f"{len(ours['exceptions'])}; outbox {ours['outbox']}; last errors {ours['last_errors']}"
    )
    if ours["logs"]:
        print(f"- ours: log warnings/errors {ours['logs']}; e.g. {ours['log_samples'][:2]}")
    print()
    print("Profile of ours (seconds):")
    print()
    print("| step | count | total | mean | p50 | p95 | max |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, s in sorted(ours["timings"].items()):
        print(
            f"| {name} | {s['count']:,} | {s['total']:.1f} | {s['mean']:.4f} | {s['p50']:.4f} | "
            f"{s['p95']:.4f} | {s['max']:.4f} |"
        )
    print()
    print(f"- chats in delivery at once: at most {ours['max_active_chats']}")
    ideal = ours["concurrent_chats"] / max(ours["private_pace"], 1 / PRIVATE_PER_SECOND)
    print(
        f"- CONCURRENT_CHATS / PRIVATE_PACE = {ours['concurrent_chats']} / "
        f"{ours['private_pace']} s, capped by OVERALL_RATE {ours['spacing_rate']}: at most "
        f"{min(ideal, ours['spacing_rate']):.1f} msg/s (of {OVERALL_PER_SECOND} allowed)"
    )
    print()
    rate_share = floor / ours["seconds"]
    unhandled = (
        ours["lost"]
        + len(ours["exceptions"])
        + sum(v for k, v in ours["outbox"].items() if k != "sent")
    )
    goals = [
        ("rate >= 90% of the allowed rate", rate_share >= 0.9, f"{100 * rate_share:.1f}%"),
        ("none lost", ours["lost"] == 0, str(ours["lost"])),
        ("none twice", ours["duplicated"] == 0, str(ours["duplicated"])),
        (
            "no 429 left unhandled",
            unhandled == 0,
            f"{ours['throttled']} 429s, {unhandled} unsent/lost/raised",
        ),
    ]
    for label, ok, figure in goals:
        print(f"- {label}: {figure} ({'met' if ok else 'NOT met'})")
    if naive:
        print(
            f"- naive for comparison: {naive['seconds']:.1f} s, {naive['throttled']:,} 429s "
            f"({naive['throttled'] / total:.1f} per message)"
        )


if __name__ == "__main__":
    sys.exit(main())
