"""Slack: acknowledgement latency of /papers under 200 concurrent commands, and 1,000 cards to 50
channels against the fake Web API's one message per second per channel.

Everything Slack-side is `tests/servers/slack.py` (FakeSlack) and PubMed is
`tests/servers/eutils.py` (FakeEutils, NCBI's 10 requests/s per API key), both in this process.
The app and the load run in child processes of their own, so neither shares an event loop (or a
GIL) with the other or with the fakes.

Part 1, commands: the real app (App.create, SlackChannel: slack-bolt AsyncApp over aiohttp on
SLACK_PORT) in a child process; another child fires signed slash commands at POST /slack/events,
all at once, with aiohttp (one connection each) and times each acknowledgement.

- warm-up: one `help` per channel, one at a time (creates the chats; not measured).
- quick:   200 commands (help, list, status in turn) over 50 channels; they answer in the ack.
- subscribe: 200 `subscribe <word>` (50 channels x 4 words from the corpus' titles); acked at
           once, answered through response_url after PubMed (the fake, 10 requests/s).
- mixed:   20 subscribes, then 0.5 s later the 200 quick commands again: quick verbs while
           PubMed work is pending (as when several people subscribe at once).

Part 2, delivery: 50 channels each owed 20 papers from the NLM daily update file (real records,
so cards have their real size), MAX_CARDS_PER_POLL = 20, so each paper is one card:

- ours:        bot.delivery.deliver_pending with the real SlackChannel (Pacer at CHANNEL_PACE
               per channel, slack_sdk's AsyncRateLimitErrorRetryHandler) on a real Store (temp
               SQLite file), called again, as the scheduler's retry job would, until nothing is
               pending (sleeping until the earliest next attempt, at most
               DELIVERY_INTERVAL_SECONDS, in between).
- naive:       the 1,000 messages ours posted (same text and blocks, same order) with a bare
               slack_sdk AsyncWebClient: one task per channel posting its cards in order, all
               channels at once, no pacing; a 429 is counted and the card dropped.
- naive+retry: the same with slack_sdk's AsyncRateLimitErrorRetryHandler (its default: one
               retry after Retry-After plus up to 1 s of jitter).

Each sender gets a fresh fake and a child process. Lost, duplicated and 429s are counted by the
fake; a card's PMID is read from its 💾 button's value (fb:save:PMID).

    python bench/slack.py                            # both parts
    python bench/slack.py --part commands --quick-only --chat-read-first   # an experiment
    python bench/slack.py --part delivery --no-naive --concurrent-chats 16  # another

Experiments patch constants (or, where named so, one method) in the child processes only.

Goals (issue): ack p99 < 300 ms for 200 concurrent quick commands (Slack allows 3 s); delivery
within 10% of the floor (cards per channel / 1 message/s), none lost, none twice.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import logging
import os
import platform
import re
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this file's folder comes first on sys.path and this file would shadow
# slack_sdk's legacy `slack` package: take the folder off.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from bench.corpus import DAILY_FILE, require  # noqa: E402
from bench.outbox_runs import Timings, drain_outbox, load_papers, quantile  # noqa: E402

CORPUS_DAY = date(2021, 6, 7)  # the newest Entrez date in the daily file
SECRET = "bench-signing-secret"  # noqa: S105 - made up, for the fake
API_KEY = "bench-api-key"
TEAM = "T0BENCH"
CHANNEL_PER_SECOND = 1  # Slack (and the fake): chat.postMessage per channel
DEFAULTS = {"language": "en", "timezone": "UTC", "mode": "instant", "digest_time": "08:00"}
QUICK_VERBS = ("help", "list", "status")
ACK_GOAL = 0.300  # seconds, p99 of the quick run
SLACK_ACK_LIMIT = 3.0
SENDERS = ("ours", "naive", "naive+retry")
STOPWORDS = frozenset(
    {
        "analysis", "between", "patients", "through", "without", "studies", "effects", "clinical",
        "results", "systematic", "associated", "association", "treatment", "disease", "compared",
        "including", "outcomes", "respectively", "different", "however", "against", "following",
    }
)  # fmt: skip


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Machine:
    """CPU the whole machine spent (from /proc/stat) against what this process and its waited-for
    children spent: the difference is other load on the machine."""

    def __init__(self, pids: Iterable[int] = ()) -> None:
        self.tick = os.sysconf("SC_CLK_TCK")
        self.pids = list(pids)  # running children of ours (not counted by RUSAGE_CHILDREN yet)
        self.busy0, self.own0, self.wall0 = self._busy(), self._own(), time.monotonic()

    def _busy(self) -> float:
        with open("/proc/stat") as stat:
            fields = [int(x) for x in stat.readline().split()[1:]]
        idle = fields[3] + fields[4]  # idle + iowait
        return (sum(fields[:8]) - idle) / self.tick

    def _own(self) -> float:
        me = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        total = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
        for pid in self.pids:
            try:
                with open(f"/proc/{pid}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / self.tick  # utime, stime
            except (OSError, IndexError, ValueError):
                pass
        return total

    def other(self) -> tuple[float, float]:
        """(core-seconds used by other processes, wall seconds) since creation."""
        busy = self._busy() - self.busy0
        own = self._own() - self.own0
        return max(0.0, busy - own), time.monotonic() - self.wall0


# --- the workload ---------------------------------------------------------------------------------


def title_words(papers: list[Any], count: int) -> list[str]:
    """The `count` most frequent title words (7+ letters, not stopwords): subscription queries."""
    words: Counter[str] = Counter()
    for paper in papers:
        words.update({w.lower() for w in re.findall(r"[A-Za-z]{7,}", paper.title or "")})
    ranked = [w for w, _ in words.most_common() if w not in STOPWORDS]
    if len(ranked) < count:
        raise SystemExit(f"only {len(ranked)} distinct title words; {count} are needed")
    return ranked[:count]


def channel_ids(count: int) -> list[str]:
    return [f"C{n:08d}" for n in range(1, count + 1)]


def build_database(
    path: Path, papers: list[Any], channels: list[str], cards: int
) -> dict[str, list[str]]:
    """A Slack chat per channel, each owed its own `cards` papers, as a poll leaves them: matches
    and pending deliveries, one subscription per chat. Returns the PMIDs owed per channel, best
    first (the order the cards should arrive in)."""
    from bot.models import MatchReason, Score
    from storage import Store

    store = Store(path)
    owed: dict[str, list[str]] = {}
    try:
        store.papers.save(papers)
        reasons = (MatchReason("crispr", ("title",)),)
        for number, channel in enumerate(channels):
            batch = papers[number * cards : (number + 1) * cards]
            chat = store.chats.get_or_create("slack", TEAM, channel, DEFAULTS)
            query = f"bench query {number}"
            sub = store.chats.add_subscription(chat.id, query, query, 100)
            store.polls.commit_query(
                store.polls.start(),
                sub.normalized,
                CORPUS_DAY,
                "2021/06/07-2021/06/07",
                len(batch),
                [sub],
                [
                    (sub, p.pmid, Score(0.9 - 0.01 * i, "high", reasons))
                    for i, p in enumerate(batch)
                ],
            )
            owed[channel] = [p.pmid for p in batch]
    finally:
        store.close()
    return owed


def card_pmid(message: dict[str, Any]) -> str | None:
    """The PMID of a card, from its 💾 button's value "fb:save:PMID"."""
    for block in message.get("blocks") or []:
        for element in block.get("elements") or []:
            value = element.get("value", "") if isinstance(element, dict) else ""
            if value.startswith("fb:save:"):
                return str(value.split(":")[2])
    return None


# --- instrumentation shared by the children -------------------------------------------------------


def instrument_to_thread(timings: Callable[[], Timings]) -> None:
    """Time every asyncio.to_thread call: waiting for a pool thread, and running in it (into
    `timings()`, looked up at each call)."""
    real_to_thread = asyncio.to_thread

    async def to_thread(func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        name = getattr(func, "__name__", "call")
        submitted = time.perf_counter()

        def timed() -> Any:
            started = time.perf_counter()
            timings().add(f"pool wait: {name}", started - submitted)
            try:
                return func(*args, **kwargs)
            finally:
                timings().add(f"in thread: {name}", time.perf_counter() - started)

        return await real_to_thread(timed)

    asyncio.to_thread = to_thread


def set_pool(threads: int) -> int:
    """The default executor (asyncio.to_thread's pool): `threads` workers, or asyncio's own size."""
    workers = threads or min(32, (os.cpu_count() or 1) + 4)  # asyncio's default
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=workers))
    return workers


class LogCounter(logging.Handler):
    """Counts warnings and errors by logger, with a few samples."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.by_logger: Counter[str] = Counter()
        self.samples: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.by_logger[f"{record.levelname} {record.name}"] += 1
        if len(self.samples) < 5:
            self.samples.append(f"{record.levelname} {record.name}: {record.getMessage()[:200]}")


# --- part 1, child: the app -----------------------------------------------------------------------


class AppStats:
    """What the app child saw of each request (by bench id), reset at every dump."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.marks: defaultdict[str, dict[str, float]] = defaultdict(dict)
        self.timings = Timings()
        self.lags: list[float] = []
        self.polls = 0  # Bolt's asyncio.sleep(0.01) while it waits for ack()
        self.cpu = time.process_time()
        self.wall = time.monotonic()

    def mark(self, rid: str, stage: str) -> None:
        if rid:
            self.marks[rid].setdefault(stage, time.monotonic())

    def dump(self, logs: LogCounter) -> dict[str, Any]:
        lags = self.lags or [0.0]
        by_logger, samples = dict(logs.by_logger), list(logs.samples)
        logs.by_logger.clear()
        logs.samples.clear()
        return {
            "marks": dict(self.marks),
            "timings": self.timings.summary(),
            "cpu": time.process_time() - self.cpu,
            "wall": time.monotonic() - self.wall,
            "lag_p50": quantile(lags, 0.5),
            "lag_p99": quantile(lags, 0.99),
            "lag_max": max(lags),
            "lag_over_50ms": sum(1 for x in lags if x > 0.05),
            "polls": self.polls,
            "threads": os.cpu_count(),
            "logs": by_logger,
            "log_samples": samples,
        }


def child_app(spec: dict[str, Any]) -> None:
    if not spec["profile"]:
        asyncio.run(_app(spec))
        return
    import cProfile

    with cProfile.Profile() as profile:  # the event loop's thread only
        asyncio.run(_app(spec))
    profile.dump_stats(spec["profile"])


async def _app(spec: dict[str, Any]) -> None:
    from aiohttp import web
    from slack_bolt.async_app import AsyncApp

    from bot.app import App
    from bot.config import Settings
    from handlers import slack as slack_module
    from handlers.slack import SlackChannel

    logs = LogCounter()
    logging.getLogger().addHandler(logs)
    to_stderr = logging.StreamHandler(sys.stderr)  # with tracebacks, into the app's log file
    to_stderr.setLevel(logging.WARNING)
    logging.getLogger().addHandler(to_stderr)
    stats = AppStats()
    workers = set_pool(spec["threads"])
    instrument_to_thread(lambda: stats.timings)
    if spec["answer_within"] is not None:
        slack_module.ANSWER_WITHIN = spec["answer_within"]
    if spec["chat_read_first"]:  # experiment: a known chat costs a read, not a write
        from storage.chats import Chats

        real_get_or_create = Chats.get_or_create

        def get_or_create(
            self: Chats, platform: str, workspace: str, chat_id: str, defaults: dict[str, str]
        ) -> Any:
            found = self.find(platform, workspace, chat_id)
            if found is not None:
                return found
            return real_get_or_create(self, platform, workspace, chat_id, defaults)

        Chats.get_or_create = get_or_create  # type: ignore[method-assign]
    real_sleep = asyncio.sleep

    async def sleep(delay: float, result: Any = None) -> Any:
        if delay == 0.01:  # slack_bolt's AsyncioListenerRunner polls for ack() every 10 ms
            stats.polls += 1
        return await real_sleep(delay, result)

    asyncio.sleep = sleep

    @web.middleware
    async def timing(request: web.Request, handler: Any) -> web.StreamResponse:
        rid = request.headers.get("X-Bench-Id", "")
        stats.mark(rid, "in")
        try:
            return await handler(request)  # type: ignore[no-any-return]
        finally:
            stats.mark(rid, "out")

    real_web_app = AsyncApp.web_app

    def web_app(self: AsyncApp, path: str = "/slack/events", port: int = 3000) -> web.Application:
        application = real_web_app(self, path=path, port=port)
        application.middlewares.append(timing)
        return application

    AsyncApp.web_app = web_app  # type: ignore[method-assign]
    real_on_command = SlackChannel._on_command

    # Same parameter names as the original: Bolt passes arguments by name.
    async def on_command(self: SlackChannel, ack: Any, body: dict[str, Any], respond: Any) -> None:
        rid = str(body.get("trigger_id", "")).removeprefix("bench.")
        stats.mark(rid, "listener")

        async def timed_ack(*args: Any, **kwargs: Any) -> Any:
            stats.mark(rid, "ack")
            return await ack(*args, **kwargs)

        await real_on_command(self, timed_ack, body, respond)
        stats.mark(rid, "done")

    SlackChannel._on_command = on_command  # type: ignore[method-assign]

    settings = Settings.from_env(
        {
            "DATABASE_PATH": spec["database"],
            "ALERTS_DIR": str(Path(spec["database"]).parent / "alerts"),
            "PUBMED_EUTILS_URL": spec["pubmed_url"],
            "NCBI_API_KEY": API_KEY,
            "SLACK_BOT_TOKEN": spec["token"],
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": spec["api_url"],
            "SLACK_PORT": str(spec["port"]),
            "BACKFILL_DAYS": "7",
        },
        env_file=None,
    )
    app = App.create(settings, io.StringIO())
    channel = app.channels["slack"]
    assert isinstance(channel, SlackChannel)
    await channel.start()
    await asyncio.wait_for(channel.ready.wait(), timeout=30)

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def dump() -> None:
        print(json.dumps(stats.dump(logs)), flush=True)
        stats.reset()

    loop.add_signal_handler(signal.SIGUSR1, dump)
    loop.add_signal_handler(signal.SIGTERM, stop.set)

    async def monitor() -> None:  # event loop lag: how late a 5 ms sleep wakes up
        while True:
            began = loop.time()
            await asyncio.sleep(0.005)
            stats.lags.append(loop.time() - began - 0.005)

    watcher = asyncio.create_task(monitor())
    print(json.dumps({"ready": True, "port": channel.port, "workers": workers}), flush=True)
    await stop.wait()
    watcher.cancel()
    await channel.stop()
    app.close()


# --- part 1, child: the load ----------------------------------------------------------------------


def child_client(spec: dict[str, Any]) -> dict[str, Any]:
    return asyncio.run(_client(spec))


async def _client(spec: dict[str, Any]) -> dict[str, Any]:
    import aiohttp
    from servers.slack import signed_request_headers, slash_command_body

    url = spec["url"]
    limit = asyncio.Semaphore(spec["concurrency"] or len(spec["requests"]))
    results: list[dict[str, Any]] = []
    connector = aiohttp.TCPConnector(limit=0, force_close=True)  # a connection per command
    timeout = aiohttp.ClientTimeout(total=spec["timeout"])
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        prepared = []
        for r in spec["requests"]:
            body = slash_command_body(
                "/papers",
                r["text"],
                response_url=r["response_url"],
                channel_id=r["channel"],
                channel_name=r["channel"].lower(),
                team_id=TEAM,
                user_id=f"U{r['id']:07d}",
                trigger_id=f"bench.{r['id']}",
            )
            headers = signed_request_headers(SECRET, body)
            headers["X-Bench-Id"] = str(r["id"])
            prepared.append((r, body.encode(), headers))
        origin = time.monotonic() + 0.2

        async def one(r: dict[str, Any], body: bytes, headers: dict[str, str]) -> None:
            await asyncio.sleep(max(0.0, origin + r.get("at", 0.0) - time.monotonic()))
            async with limit:
                sent = time.monotonic()
                status, text, error = 0, "", ""
                try:
                    async with session.post(url, data=body, headers=headers) as answer:
                        raw = await answer.read()
                        status = answer.status
                    done = time.monotonic()
                    try:
                        text = str(json.loads(raw).get("text", "")) if raw else ""
                    except ValueError:
                        text = raw[:80].decode("utf-8", "replace")
                except (aiohttp.ClientError, TimeoutError) as exc:
                    done = time.monotonic()
                    error = f"{type(exc).__name__}: {exc}"[:120]
            results.append(
                {
                    "id": r["id"],
                    "verb": r["text"].split()[0],
                    "sent": sent,
                    "done": done,
                    "status": status,
                    "text": text[:120],
                    "error": error,
                }
            )

        cpu = time.process_time()
        await asyncio.gather(*(one(*p) for p in prepared))
        cpu = time.process_time() - cpu
    return {"results": results, "cpu": cpu}


# --- part 1, parent -------------------------------------------------------------------------------


class AppProcess:
    """The app child: started, asked for its figures (SIGUSR1), stopped (SIGTERM)."""

    def __init__(self, spec_file: Path, log_file: Path) -> None:
        self._log = log_file.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--child", "app", "--spec", str(spec_file)],
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            cwd=ROOT,
        )
        self.log_file = log_file
        ready = self._line(60)
        self.port, self.workers = ready["port"], ready["workers"]

    def _line(self, timeout: float) -> dict[str, Any]:
        import select

        assert self.proc.stdout is not None
        readable, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if readable else ""
        if not line:
            self.stop()
            sys.stderr.write(self.log_file.read_text()[-3000:])
            raise SystemExit("the app child did not answer")
        return json.loads(line)  # type: ignore[no-any-return]

    def figures(self) -> dict[str, Any]:
        self.proc.send_signal(signal.SIGUSR1)
        return self._line(60)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def run_client(name: str, spec: dict[str, Any], workdir: Path) -> dict[str, Any]:
    spec_file = workdir / f"client-{name}.json"
    spec_file.write_text(json.dumps(spec))
    out = subprocess.run(
        [sys.executable, __file__, "--child", "client", "--spec", str(spec_file)],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if out.returncode != 0:
        sys.stderr.write(out.stderr)
        raise SystemExit(f"the client for {name} failed with exit status {out.returncode}")
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def command_runs(
    args: argparse.Namespace, papers: list[Any], workdir: Path
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    from servers.eutils import FakeEutils
    from servers.slack import FakeSlack

    channels = channel_ids(args.channels)
    words = title_words(papers, args.commands + args.mixed_subscribes)
    runs: list[dict[str, Any]] = []
    info: dict[str, Any] = {}
    with (
        FakeSlack(team_id=TEAM) as slack,
        FakeEutils(rate_limit=3.0, keyed_rate_limit=10.0) as pubmed,
    ):
        say(f"loading {args.file.name} into the fake E-utilities ...")
        started = time.perf_counter()
        info["pubmed_records"] = pubmed.load(args.file)
        info["pubmed_load"] = time.perf_counter() - started
        pubmed.shift_dates(CORPUS_DAY, datetime.now(UTC).date())
        for channel in channels:
            slack.add_channel(channel, name=channel.lower())
        spec = {
            "database": str(workdir / "app" / "ps.db"),
            "pubmed_url": pubmed.url,
            "token": slack.token,
            "api_url": slack.api_url,
            "port": free_port(),
            "threads": args.threads,
            "answer_within": args.answer_within,
            "profile": str(args.profile_app or ""),
            "chat_read_first": args.chat_read_first,
        }
        (workdir / "app").mkdir()
        (workdir / "app.json").write_text(json.dumps(spec))
        say("starting the app ...")
        app = AppProcess(workdir / "app.json", workdir / "app.log")
        info["workers"] = app.workers
        url = f"http://127.0.0.1:{app.port}/slack/events"
        serial = iter(range(1, 1_000_000))

        def request(text: str, channel: str, at: float = 0.0) -> dict[str, Any]:
            rid = next(serial)
            key = f"r{rid}"
            return {
                "id": rid,
                "text": text,
                "channel": channel,
                "at": at,
                "key": key,
                "response_url": slack.response_url(key),
            }

        def quick(at: float = 0.0) -> list[dict[str, Any]]:
            return [
                request(QUICK_VERBS[i % len(QUICK_VERBS)], channels[i % len(channels)], at)
                for i in range(args.commands)
            ]

        plan = [
            ("warm-up", [request("help", c) for c in channels], 1, False),
            ("quick", quick(), 0, False),
            (
                "subscribe",
                [
                    request(f"subscribe {words[i]}", channels[i % len(channels)])
                    for i in range(args.commands)
                ],
                0,
                True,
            ),
        ]
        if args.quick_only:
            plan = plan[:2] + [(f"quick #{n}", quick(), 0, False) for n in range(2, 6)]
        elif args.mixed_subscribes:
            subs = [
                request(f"subscribe {words[args.commands + i]}", channels[i % len(channels)])
                for i in range(args.mixed_subscribes)
            ]
            plan.append(("mixed", subs + quick(at=args.mixed_delay), 0, True))
        try:
            for name, requests, concurrency, wait_answers in plan:
                say(f"commands: {name} ({len(requests)} requests) ...")
                app.figures()  # reset the app's figures
                pubmed_before = len(pubmed.requests)
                machine = Machine([app.proc.pid])
                client = run_client(
                    name,
                    {
                        "url": url,
                        "requests": requests,
                        "concurrency": concurrency,
                        "timeout": args.client_timeout,
                    },
                    workdir,
                )
                answered_at: dict[str, float] = {}
                if wait_answers:
                    keys = {r["key"] for r in requests if r["text"].startswith("subscribe")}
                    slack.wait_for(
                        lambda keys=keys: (
                            len({c.method for c in slack.response_calls} & keys) == len(keys)
                        ),
                        args.answer_timeout,
                    )
                    time.sleep(0.5)  # let quick verbs' follow-ups land too
                for call in list(slack.response_calls):
                    answered_at.setdefault(call.method, call.at)
                figures = app.figures()
                other, wall = machine.other()
                pubmed_calls = pubmed.requests[pubmed_before:]
                runs.append(
                    {
                        "name": name,
                        "requests": requests,
                        "client": client,
                        "app": figures,
                        "answered_at": answered_at,
                        "answers": {
                            r["key"]: [x.get("text", "") for x in slack.responses(r["key"])]
                            for r in requests
                        },
                        "pubmed_requests": len(pubmed_calls),
                        "pubmed_429": sum(1 for c in pubmed_calls if c.status == 429),
                        "other_cpu": other,
                        "wall": wall,
                    }
                )
        finally:
            app.stop()
        info["fake_errors"] = list(slack.errors) + list(pubmed.errors)
        if args.keep_app_log:
            args.keep_app_log.write_text(app.log_file.read_text())
    return runs, info


def summarize_run(run: dict[str, Any]) -> dict[str, Any]:
    """Latencies from the client's clock and the app's marks (one monotonic clock: Linux's)."""
    by_id = {r["id"]: r for r in run["requests"]}
    marks = run["app"]["marks"]
    out: dict[str, Any] = {"name": run["name"], "groups": {}}
    groups: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    for result in run["client"]["results"]:
        kind = "subscribe" if result["verb"] == "subscribe" else "quick"
        groups[kind].append(result)
    for kind, results in groups.items():
        latency = [r["done"] - r["sent"] for r in results]
        stages: defaultdict[str, list[float]] = defaultdict(list)
        for r in results:
            m = marks.get(str(r["id"]), {})
            if "in" in m:
                stages["client send -> app handler"].append(m["in"] - r["sent"])
            if "in" in m and "listener" in m:
                stages["handler -> listener (Bolt)"].append(m["listener"] - m["in"])
            if "listener" in m and "ack" in m:
                stages["listener -> ack() (our code)"].append(m["ack"] - m["listener"])
            if "ack" in m and "out" in m and m["ack"] <= m["out"]:
                stages["ack() -> response (Bolt)"].append(m["out"] - m["ack"])
            if "out" in m:
                stages["response -> client has it"].append(r["done"] - m["out"])
        answers = []
        for r in results:
            key = by_id[r["id"]]["key"]
            if key in run["answered_at"]:
                answers.append(run["answered_at"][key] - r["sent"])
        texts = Counter(
            "working (answer follows)"
            if r["text"].startswith("⏳")
            else f"HTTP {r['status']} {r['error']}".strip()
            if r["status"] != 200
            else "answer in the ack"
            for r in results
        )
        replies = Counter(
            re.sub(r"\d+", "N", (run["answers"][by_id[r["id"]]["key"]] or ["(none)"])[0]).split(
                ":"
            )[0][:40]
            for r in results
            if r["verb"] == "subscribe"
        )
        sent = [r["sent"] for r in results]
        # After Bolt's 3 s it answers 404 and drops what ack() is given later.
        late_acks = sum(1 for r in results if marks.get(str(r["id"]), {}).get("ack", 0) > r["done"])
        never = sum(
            1
            for r in results
            if not (r["status"] == 200 and not r["text"].startswith("⏳"))
            and by_id[r["id"]]["key"] not in run["answered_at"]
        )
        out["groups"][kind] = {
            "late_acks": late_acks,
            "never": never,
            "count": len(results),
            "p50": quantile(latency, 0.5),
            "p95": quantile(latency, 0.95),
            "p99": quantile(latency, 0.99),
            "max": max(latency),
            "over_3s": sum(1 for x in latency if x >= SLACK_ACK_LIMIT),
            "send_spread": max(sent) - min(sent),
            "acks": dict(texts),
            "stages": {k: (quantile(v, 0.5), quantile(v, 0.99), max(v)) for k, v in stages.items()},
            "answer": (
                (quantile(answers, 0.5), quantile(answers, 0.95), max(answers), len(answers))
                if answers
                else None
            ),
            "replies": dict(replies.most_common(4)),
        }
    return out


# --- part 2, children -----------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _slot_from_start(self: Any, key: Any) -> AsyncIterator[None]:
    """Experiment: handlers.pace.Pacer.slot as it was before a756a77: the next turn counts from
    the start of this one, so time spent in slack_sdk's 429 retry inside the slot is not
    waited again."""
    loop = asyncio.get_running_loop()
    async with self._locks[key]:
        wait = self._next.get(key, 0.0) - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        self._next[key] = loop.time() + self.interval
        yield


def child_ours(spec: dict[str, Any]) -> dict[str, Any]:
    return asyncio.run(_ours(spec))


async def _ours(spec: dict[str, Any]) -> dict[str, Any]:
    import aiohttp

    from bot import delivery
    from bot.app import App
    from bot.config import Settings
    from handlers import slack as slack_module

    logs = LogCounter()
    logging.getLogger().addHandler(logs)
    if spec["concurrent_chats"]:
        delivery.CONCURRENT_CHATS = spec["concurrent_chats"]
    if spec["channel_pace"] is not None:
        slack_module.CHANNEL_PACE = spec["channel_pace"]
    if spec["pace_from_start"]:
        from handlers import pace

        pace.Pacer.slot = _slot_from_start  # type: ignore[method-assign]
    workers = set_pool(spec["threads"])
    timings = Timings()
    instrument_to_thread(lambda: timings)
    cls = slack_module.SlackChannel
    cls._post = timings.wrap_async("_post (pacer wait + API call)", cls._post)  # type: ignore[method-assign]
    cls.send = timings.wrap_async("send", cls.send)  # type: ignore[method-assign]
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
            timings.add("one chat's pass", time.perf_counter() - start)

    delivery._deliver_chat = deliver_chat

    settings = Settings.from_env(
        {
            "DATABASE_PATH": spec["database"],
            "ALERTS_DIR": str(Path(spec["database"]).parent / "alerts"),
            "SLACK_BOT_TOKEN": spec["token"],
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": spec["api_url"],
            "SLACK_PORT": str(free_port()),
            "MAX_CARDS_PER_POLL": str(spec["cards"]),
        },
        env_file=None,
    )
    app = App.create(settings, io.StringIO())
    channel = app.channels["slack"]
    assert isinstance(channel, slack_module.SlackChannel)
    if spec["shared_session"]:  # experiment: keep connections instead of one session per call
        channel.client.session = aiohttp.ClientSession()
    channel.client.chat_postMessage = timings.wrap_async(  # type: ignore[method-assign]
        "chat_postMessage (incl. 429 retries)", channel.client.chat_postMessage
    )
    await channel.start()
    await asyncio.wait_for(channel.ready.wait(), timeout=30)
    drained = await drain_outbox(app)
    await channel.stop()
    app.close()
    return {
        **drained,
        "timings": timings.summary(),
        "max_active_chats": active["max"],
        "concurrent_chats": delivery.CONCURRENT_CHATS,
        "channel_pace": slack_module.CHANNEL_PACE,
        "threads": workers,
        "shared_session": spec["shared_session"],
        "pace_from_start": spec["pace_from_start"],
        "logs": dict(logs.by_logger),
        "log_samples": logs.samples,
    }


def child_naive(spec: dict[str, Any], retry: bool) -> dict[str, Any]:
    return asyncio.run(_naive(spec, retry))


async def _naive(spec: dict[str, Any], retry: bool) -> dict[str, Any]:
    from slack_sdk.errors import SlackApiError
    from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
    from slack_sdk.web.async_client import AsyncWebClient

    messages = json.loads(Path(spec["messages"]).read_text())
    by_channel: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    for message in messages:
        by_channel[message["channel"]].append(message)
    if retry:
        client = AsyncWebClient(
            token=spec["token"],
            base_url=spec["api_url"],
            retry_handlers=[AsyncRateLimitErrorRetryHandler()],
        )
    else:  # bare: slack_sdk's defaults (they retry a dropped connection, never a 429)
        client = AsyncWebClient(token=spec["token"], base_url=spec["api_url"])
    errors: Counter[str] = Counter()

    async def one_channel(channel: str, queue: list[dict[str, Any]]) -> None:
        for message in queue:
            try:
                await client.chat_postMessage(
                    channel=channel,
                    text=message["text"],
                    blocks=message["blocks"],
                    unfurl_links=False,
                    unfurl_media=False,
                )
            except SlackApiError as exc:
                errors[str(exc.response.get("error", "?"))] += 1

    start, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one_channel(c, q) for c, q in by_channel.items()))
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu
    return {"seconds": seconds, "cpu": cpu, "errors": dict(errors)}


# --- part 2, parent -------------------------------------------------------------------------------


def run_sender(
    name: str,
    spec: dict[str, Any],
    owed: dict[str, list[str]],
    workdir: Path,
    keep_posted: Path | None = None,
) -> dict[str, Any]:
    """Start a fresh fake with the channels, run one sender in a child process, read the fake."""
    from servers.slack import FakeSlack

    with FakeSlack(team_id=TEAM, enforce_limits=True) as fake:
        for channel in owed:
            fake.add_channel(channel, name=channel.lower())
        spec = {**spec, "token": fake.token, "api_url": fake.api_url}
        spec_file = workdir / f"{name}.json"
        spec_file.write_text(json.dumps(spec))
        say(f"delivery: {name} ...")
        machine = Machine()
        cpu = time.process_time()
        out = subprocess.run(
            [sys.executable, __file__, "--child", name, "--spec", str(spec_file)],
            check=False,
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        fake_cpu = time.process_time() - cpu
        other, wall = machine.other()
        if out.returncode != 0:
            sys.stderr.write(out.stderr)
            raise SystemExit(f"{name} failed with exit status {out.returncode}")
        result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
        result.update(fake_cpu=fake_cpu, other_cpu=other, wall=wall)
        result.update(read_fake(fake, owed))
        if keep_posted is not None:  # what this sender posted, for the next ones to send
            posted = [
                {"channel": m["channel"], "text": m["text"], "blocks": m["blocks"]}
                for m in fake.all_posted()
            ]
            keep_posted.write_text(json.dumps(posted))
    return result


def read_fake(fake: Any, owed: dict[str, list[str]]) -> dict[str, Any]:
    """Lost, duplicated, out of order, 429s and the timeline, from what the fake saw."""
    delivered: Counter[tuple[str, str]] = Counter()
    arrived: defaultdict[str, list[str]] = defaultdict(list)
    strays = 0
    for message in fake.all_posted():
        pmid = card_pmid(message)
        if pmid is None:
            strays += 1
            continue
        delivered[(message["channel"], pmid)] += 1
        arrived[message["channel"]].append(pmid)
    wanted = {(channel, pmid) for channel, pmids in owed.items() for pmid in pmids}
    lost = sum(1 for key in wanted if key not in delivered)
    duplicated = sum(n - 1 for n in delivered.values() if n > 1)
    unexpected = sum(n for key, n in delivered.items() if key not in wanted)
    out_of_order = 0
    for channel, pmids in owed.items():
        rank = {pmid: i for i, pmid in enumerate(pmids)}
        seen = [rank[p] for p in arrived.get(channel, []) if p in rank]
        out_of_order += seen != sorted(seen)

    posts = fake.calls_to("chat.postMessage")
    accepted = sorted(c.at for c in posts if c.status == 200)
    span = accepted[-1] - accepted[0] if len(accepted) > 1 else 0.0
    last_ok: dict[str, float] = {}
    gaps: list[float] = []
    first_by_channel: dict[str, float] = {}
    # A 429 "after a retry": the channel's previous accepted card had itself been refused first.
    refused_since_ok: Counter[str] = Counter()
    ok_was_retry: dict[str, bool] = {}
    after_retry = 0
    for call in sorted(posts, key=lambda c: c.at):
        channel = str(call.params.get("channel"))
        if call.status == 200:
            if channel in last_ok:
                gaps.append(call.at - last_ok[channel])
            last_ok[channel] = call.at
            first_by_channel.setdefault(channel, call.at)
            ok_was_retry[channel] = refused_since_ok[channel] > 0
            refused_since_ok[channel] = 0
        elif call.status == 429:
            if refused_since_ok[channel] == 0 and ok_was_retry.get(channel):
                after_retry += 1
            refused_since_ok[channel] += 1
    spans = [last_ok[c] - first_by_channel[c] for c in first_by_channel]
    starts = sorted(first_by_channel.values())
    return {
        "accepted": sum(fake.accepted.values()),
        "throttled": sum(fake.throttled.values()),
        "refused": sum(fake.refused.values()),
        "other_status": dict(Counter(str(c.status) for c in posts if c.status not in (200, 429))),
        "fake_errors": list(fake.errors),
        "requests": len(posts),
        "lost": lost,
        "duplicated": duplicated,
        "unexpected": unexpected,
        "strays": strays,
        "out_of_order": out_of_order,
        "span": span,
        "gap_min": min(gaps) if gaps else 0.0,
        "gap_p50": quantile(gaps, 0.5) if gaps else 0.0,
        "gap_p95": quantile(gaps, 0.95) if gaps else 0.0,
        "channel_span_mean": statistics.fmean(spans) if spans else 0.0,
        "first_post_spread": starts[-1] - starts[0] if starts else 0.0,
        "after_retry_429": after_retry,
        "channels_429": sum(1 for n in fake.throttled.values() if n),
    }


def delivery_runs(
    args: argparse.Namespace, papers: list[Any], workdir: Path
) -> tuple[dict[str, dict[str, Any]], list[int], dict[str, list[str]]]:
    channels = channel_ids(args.channels)
    template = workdir / "template.db"
    owed = build_database(template, papers, channels, args.cards)
    messages = workdir / "messages.json"
    common = {
        "cards": args.cards,
        "concurrent_chats": args.concurrent_chats,
        "channel_pace": args.channel_pace,
        "threads": args.threads,
        "shared_session": args.shared_session,
        "pace_from_start": args.pace_from_start,
        "messages": str(messages),
    }
    ours_db = workdir / "ours" / "ps.db"
    ours_db.parent.mkdir()
    ours_db.write_bytes(template.read_bytes())
    # The naive senders post exactly the messages ours posted (same text, same blocks, same
    # order per channel): no second renderer that could drift from the product's.
    results = {
        "ours": run_sender("ours", {**common, "database": str(ours_db)}, owed, workdir, messages)
    }
    sent = json.loads(messages.read_text())
    sizes = [len(json.dumps(m["blocks"], ensure_ascii=False)) for m in sent]
    if args.naive:
        for name in ("naive", "naive+retry"):
            results[name] = run_sender(name, common, owed, workdir)
    return results, sizes, owed


# --- the report -----------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{1000 * seconds:,.0f}"


def print_commands(
    args: argparse.Namespace, runs: list[dict[str, Any]], info: dict[str, Any]
) -> bool:
    print("## Part 1: slash command acknowledgements")
    print()
    print(
        f"- app: App.create + SlackChannel (slack-bolt {_version('slack_bolt')}, aiohttp "
        f"{_version('aiohttp')}) in a child process, {info['workers']} to_thread workers, "
        f"ANSWER_WITHIN = {args.answer_within if args.answer_within is not None else 'as shipped'}"
        + (", EXPERIMENT: known chats read, not written" if args.chat_read_first else "")
    )
    print(
        f"- load: a second child process, aiohttp, one connection per command, all of a run at "
        f"once; {args.commands} commands over {args.channels} channels; PubMed: FakeEutils with "
        f"{info['pubmed_records']:,} records (loaded in {info['pubmed_load']:.0f} s), 10 "
        "requests/s per API key"
    )
    print()
    print(
        "| run | commands | ack p50 (ms) | p95 | p99 | max | ≥ 3 s | HTTP 200 | acks | "
        "answer via response_url p50 / p95 / max (s) | never answered | app CPU s | "
        "other load (cores) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---:|")
    summaries = [summarize_run(run) for run in runs]
    quick_p99 = None
    repeats: list[float] = []
    for run, summary in zip(runs, summaries, strict=True):
        for kind, g in summary["groups"].items():
            ok = sum(
                1
                for r in run["client"]["results"]
                if r["status"] == 200 and ((r["verb"] == "subscribe") == (kind == "subscribe"))
            )
            answer = (
                f"{g['answer'][0]:.1f} / {g['answer'][1]:.1f} / {g['answer'][2]:.1f} "
                f"({g['answer'][3]} answered)"
                if g["answer"]
                else "-"
            )
            acks = ", ".join(f"{k} {v}" for k, v in g["acks"].items())
            print(
                f"| {summary['name']}: {kind} | {g['count']} | {ms(g['p50'])} | {ms(g['p95'])} | "
                f"{ms(g['p99'])} | {ms(g['max'])} | {g['over_3s']} | {ok} | {acks} | {answer} | "
                f"{g['never']} | {run['app']['cpu']:.1f} | {run['other_cpu'] / run['wall']:.2f} |"
            )
            if summary["name"] == "quick":
                quick_p99 = g["p99"]
            if summary["name"].startswith("quick #"):
                repeats.append(g["p99"])
    print()
    print("Where the time goes (p50 / p99 / max, ms; from the client's and the app's clocks):")
    print()
    stages = [
        "client send -> app handler",
        "handler -> listener (Bolt)",
        "listener -> ack() (our code)",
        "ack() -> response (Bolt)",
        "response -> client has it",
    ]
    print("| run | " + " | ".join(stages) + " |")
    print("|---|" + "---:|" * len(stages))
    for summary in summaries:
        for kind, g in summary["groups"].items():
            cells = [
                "/".join(ms(x) for x in g["stages"][s]) if s in g["stages"] else "-" for s in stages
            ]
            print(f"| {summary['name']}: {kind} | " + " | ".join(cells) + " |")
    print()
    for run, summary in zip(runs, summaries, strict=True):
        a = run["app"]
        t = a["timings"]
        pool = ", ".join(
            f"{name} p50 {ms(s['p50'])} / p99 {ms(s['p99'])} / max {ms(s['max'])} ms ({s['count']})"
            for name, s in sorted(t.items())
        )
        print(
            f"- {summary['name']}: app event loop lag p50 {ms(a['lag_p50'])} / p99 "
            f"{ms(a['lag_p99'])} / max {ms(a['lag_max'])} ms ({a['lag_over_50ms']} wake-ups > "
            f"50 ms); Bolt's 10 ms polls for ack() {a['polls']:,} "
            f"({a['polls'] / max(1, len(run['requests'])):.0f} per command); "
            f"app CPU {a['cpu']:.1f} s in {a['wall']:.1f} s; client CPU "
            f"{run['client']['cpu']:.1f} s; PubMed requests {run['pubmed_requests']} "
            f"({run['pubmed_429']} × 429)"
        )
        print(f"  - to_thread: {pool}")
        for kind, g in summary["groups"].items():
            if g["replies"]:
                print(f"  - {kind} answers (first words): {g['replies']}")
            print(f"  - {kind}: requests sent within {ms(g['send_spread'])} ms of each other")
        if a["logs"]:
            print(f"  - app log warnings/errors {a['logs']}; e.g. {a['log_samples'][:2]}")
    if info["fake_errors"]:
        print(f"- fake errors: {info['fake_errors'][:3]}")
    print()
    met = quick_p99 is not None and quick_p99 < ACK_GOAL
    print(
        f"- Goal: ack p99 < {ms(ACK_GOAL)} ms for {args.commands} concurrent quick commands: "
        f"{ms(quick_p99 or float('nan'))} ms ({'met' if met else 'NOT met'})"
        + (f"; the same burst again: p99 {', '.join(ms(x) for x in repeats)} ms" if repeats else "")
    )
    for summary in summaries:
        for kind, g in summary["groups"].items():
            if summary["name"] != "warm-up" and g["over_3s"]:
                print(
                    f"- {summary['name']}: {kind}: {g['over_3s']} of {g['count']} acks took 3 s "
                    f"or more: Slack would show the user an error; our ack() came after Bolt had "
                    f"given up for {g['late_acks']}; {g['never']} commands were never answered"
                )
    print()
    return met


def print_delivery(
    args: argparse.Namespace,
    results: dict[str, dict[str, Any]],
    sizes: list[int],
) -> bool:
    total = args.channels * args.cards
    floor = args.cards / CHANNEL_PER_SECOND
    ours = results["ours"]
    print("## Part 2: delivery")
    print()
    print(
        f"- workload: {total:,} cards to {args.channels} channels ({args.cards} each), papers from "
        f"{args.file.name}; blocks JSON per card: mean {statistics.fmean(sizes):,.0f} chars, "
        f"max {max(sizes):,}"
    )
    print(
        f"- limit: {CHANNEL_PER_SECOND} message/s per channel (the fake's window: 0.95 s); "
        f"floor (the issue's) = {args.cards} cards / {CHANNEL_PER_SECOND} per s = {floor:.0f} s; "
        f"strictly, the first card of a channel needs no wait, so the last one can go "
        f"({args.cards} - 1) × 0.95 s = {(args.cards - 1) * 0.95:.2f} s after it"
    )
    print(
        f"- ours: CONCURRENT_CHATS = {ours['concurrent_chats']}, CHANNEL_PACE = "
        f"{ours['channel_pace']} s, {ours['threads']} to_thread workers"
        + (", EXPERIMENT: one shared aiohttp session" if ours["shared_session"] else "")
        + (", EXPERIMENT: pace counted from the request" if ours["pace_from_start"] else "")
    )
    print()
    print(
        "| sender | seconds | ÷ floor | 429s | requests | other errors | lost | duplicated | "
        "out of order (channels) | outbox not sent | CPU s (sender / fake) | other load (cores) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in results.items():
        others = r["refused"] + sum(r["other_status"].values())
        not_sent = (
            str(sum(v for k, v in r["outbox"].items() if k != "sent")) if "outbox" in r else "-"
        )
        print(
            f"| {name} | {r['seconds']:.1f} | {r['seconds'] / floor:.2f} | {r['throttled']:,} | "
            f"{r['requests']:,} | {others} | {r['lost']} | {r['duplicated']} | "
            f"{r['out_of_order']} | {not_sent} | {r['cpu']:.1f} / {r['fake_cpu']:.1f} | "
            f"{r['other_cpu'] / r['wall']:.2f} |"
        )
    print()
    for name, r in results.items():
        print(
            f"- {name}: at the fake, first to last card {r['span']:.1f} s; a channel's "
            f"{args.cards} cards span {r['channel_span_mean']:.1f} s on average; channels' first "
            f"cards spread over {r['first_post_spread']:.1f} s; gap between a channel's cards min "
            f"{r['gap_min']:.2f} s, median {r['gap_p50']:.2f} s, p95 {r['gap_p95']:.2f} s; "
            f"429s in {r['channels_429']} channels"
            + (
                f", {r['after_retry_429']} of them for the card right after a card that had "
                "been refused and retried"
                if name != "naive"  # the bare sender never retries
                else ""
            )
        )
        if r["fake_errors"] or r["unexpected"] or r["strays"]:
            print(
                f"  - fake errors {r['fake_errors'][:3]}, unexpected {r['unexpected']}, "
                f"messages without a card button {r['strays']}"
            )
        if "errors" in r:
            print(f"  - errors raised to the sender: {r['errors'] or 'none'}")
    print(
        f"- ours: {len(ours['passes'])} delivery passes "
        + ", ".join(
            f"[{p['at']:.0f} s: sent {p['sent']}, failed {p['failed']}]" for p in ours["passes"]
        )
    )
    print(
        f"- ours: exceptions out of deliver_pending {len(ours['exceptions'])}; outbox "
        f"{ours['outbox']}; last errors {ours['last_errors']}; chats in delivery at once: at most "
        f"{ours['max_active_chats']}"
    )
    if ours["logs"]:
        print(f"- ours: log warnings/errors {ours['logs']}; e.g. {ours['log_samples'][:2]}")
    print()
    print("Profile of ours (seconds):")
    print()
    print("| step | count | total | mean | p50 | p95 | p99 | max |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, s in sorted(ours["timings"].items()):
        print(
            f"| {name} | {s['count']:,} | {s['total']:.1f} | {s['mean']:.4f} | {s['p50']:.4f} | "
            f"{s['p95']:.4f} | {s['p99']:.4f} | {s['max']:.4f} |"
        )
    print()
    waves = -(-args.channels // ours["concurrent_chats"])
    per_chat = (args.cards - 1) * ours["channel_pace"]
    print(
        f"- model: ⌈{args.channels} channels / CONCURRENT_CHATS {ours['concurrent_chats']}⌉ = "
        f"{waves} waves × ({args.cards} - 1) × CHANNEL_PACE {ours['channel_pace']} s = "
        f"{waves * per_chat:.1f} s, plus a round trip per card (the pace counts from Slack's "
        "answer)"
    )
    goal = ours["seconds"] <= 1.1 * floor
    unsent = sum(v for k, v in ours["outbox"].items() if k != "sent")
    goals = [
        (
            f"time within 10% of the floor ({floor:.0f} s)",
            goal,
            f"{ours['seconds']:.1f} s = {ours['seconds'] / floor:.2f} × floor",
        ),
        ("none lost", ours["lost"] == 0 and unsent == 0, f"{ours['lost']} lost, {unsent} unsent"),
        ("none twice", ours["duplicated"] == 0, str(ours["duplicated"])),
    ]
    for label, ok, figure in goals:
        print(f"- Goal: {label}: {figure} ({'met' if ok else 'NOT met'})")
    print(f"- 429s seen by ours: {ours['throttled']}")
    for name in ("naive", "naive+retry"):
        if name in results:
            r = results[name]
            print(
                f"- {name} for comparison: {r['seconds']:.1f} s, {r['throttled']:,} 429s, "
                f"{r['lost']} lost"
            )
    print()
    return all(ok for _, ok, _ in goals)


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=DAILY_FILE)
    parser.add_argument("--part", choices=("all", "commands", "delivery"), default="all")
    parser.add_argument("--commands", type=int, default=200, help="commands per run (200)")
    parser.add_argument("--channels", type=int, default=50, help="channels (50)")
    parser.add_argument("--cards", type=int, default=20, help="cards per channel (20)")
    parser.add_argument(
        "--mixed-subscribes",
        type=int,
        default=20,
        metavar="N",
        help="subscribes fired before the quick commands in the mixed run (20; 0: no mixed run)",
    )
    parser.add_argument("--mixed-delay", type=float, default=0.5, metavar="SECONDS")
    parser.add_argument("--client-timeout", type=float, default=15.0, metavar="SECONDS")
    parser.add_argument("--answer-timeout", type=float, default=120.0, metavar="SECONDS")
    parser.add_argument(
        "--chat-read-first",
        action="store_true",
        help="experiment: Chats.get_or_create looks the chat up before its INSERT OR IGNORE "
        "(a patched method), so a known chat's command takes no write lock",
    )
    parser.add_argument(
        "--quick-only",
        action="store_true",
        help="part 1: the warm-up and five runs of quick commands, no subscribes",
    )
    parser.add_argument(
        "--profile-app",
        type=Path,
        metavar="FILE",
        help="part 1: cProfile the app's event loop thread, stats to FILE (pstats)",
    )
    parser.add_argument(
        "--keep-app-log", type=Path, metavar="FILE", help="copy part 1's app log (stderr) there"
    )
    parser.add_argument(
        "--naive",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run the naive senders (default: yes)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        metavar="N",
        help="experiment: to_thread workers in the app (default: asyncio's own)",
    )
    parser.add_argument(
        "--concurrent-chats",
        type=int,
        default=0,
        metavar="N",
        help="experiment: set bot.delivery.CONCURRENT_CHATS (default: as shipped)",
    )
    parser.add_argument(
        "--channel-pace",
        type=float,
        default=None,
        metavar="SECONDS",
        help="experiment: set handlers.slack.CHANNEL_PACE (default: as shipped)",
    )
    parser.add_argument(
        "--answer-within",
        type=float,
        default=None,
        metavar="SECONDS",
        help="experiment: set handlers.slack.ANSWER_WITHIN (default: as shipped)",
    )
    parser.add_argument(
        "--shared-session",
        action="store_true",
        help="experiment: give ours' AsyncWebClient one aiohttp session (keep-alive)",
    )
    parser.add_argument(
        "--pace-from-start",
        action="store_true",
        help="experiment: count a channel's next turn from the start of the request, as "
        "handlers.pace.Pacer did before a756a77 (a patched Pacer.slot)",
    )
    parser.add_argument("--child", choices=("app", "client", *SENDERS), help=argparse.SUPPRESS)
    parser.add_argument("--spec", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    require(args.file)
    if args.child:  # child process
        spec = json.loads(args.spec.read_text())
        if args.child == "app":
            child_app(spec)
            return 0
        result = (
            child_client(spec)
            if args.child == "client"
            else child_ours(spec)
            if args.child == "ours"
            else child_naive(spec, retry=args.child == "naive+retry")
        )
        print(json.dumps(result))
        return 0

    started = time.monotonic()
    machine = Machine()
    load = os.getloadavg()
    total = args.channels * args.cards
    say(f"reading {total:,} papers from {args.file.name} ...")
    papers = load_papers(args.file, max(total, 2000))
    ok = True
    command_results = delivery_results = None
    with tempfile.TemporaryDirectory(prefix="bench-slack-") as tmp:
        workdir = Path(tmp)
        if args.part in ("all", "commands"):
            command_results = command_runs(args, papers, workdir)
        if args.part in ("all", "delivery"):
            delivery_results = delivery_runs(args, papers[:total], workdir)
    other, wall = machine.other()
    print(
        f"Run {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}: `{' '.join(sys.argv)}`; "
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; load average at start {load[0]:.2f}; other processes "
        f"used {other:.0f} core-seconds in the {wall:.0f} s run ({other / wall:.2f} cores)"
    )
    print()
    if command_results:
        ok = print_commands(args, *command_results) and ok
    if delivery_results:
        ok = print_delivery(args, delivery_results[0], delivery_results[1]) and ok
    say(f"done in {time.monotonic() - started:.0f} s; goals {'all met' if ok else 'NOT all met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
