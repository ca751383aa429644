"""HEALTH_PORT: `paper-surfer run` answers GET /healthz and GET /metrics while it works, and says
when it is not alive; checked on the real bot with `requests` against a fake E-utilities."""

from __future__ import annotations

import signal
import socket
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from fixtures import bot_environment, free_port, start_bot
from prometheus_client.parser import text_string_to_metric_families
from servers.eutils import FakeEutils

from bot.cli import main

SAMPLE = "fatcat__pubmedsample_2019.xml"
QUERY = "cells"  # four papers of the sample in the ten years the bot looks back


@pytest.fixture
def pubmed(sample_pubmed: FakeEutils) -> FakeEutils:
    sample_pubmed.reset()
    # The sample's newest papers appear as this week's, so the bot's real clock finds them.
    sample_pubmed.shift_dates(date(2018, 11, 15), datetime.now(UTC).date())
    return sample_pubmed


def subscribed_env(pubmed: FakeEutils, folder: Path, **settings: str) -> dict[str, str]:
    """A bot environment with HEALTH_PORT on a free port and one subscription stored."""
    env = bot_environment(
        folder,
        PUBMED_EUTILS_URL=pubmed.url,
        NCBI_EMAIL="dev@example.org",
        BACKFILL_DAYS="3650",
        HEALTH_PORT=str(free_port()),
        **settings,
    )
    code = main(["cmd", f"subscribe {QUERY}"], environ=env)
    assert code == 0
    pubmed.reset()  # what the subscription asked PubMed is not the running bot's
    return env


def wait_for(check: Callable[[], Any], process: subprocess.Popen[str], seconds: float = 60) -> Any:
    """`check()`'s first truthy answer; fails if the bot exits or the time runs out first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        answer = check()
        if answer:
            return answer
        time.sleep(0.05)
    pytest.fail("the bot never got there")


def get(env: dict[str, str], path: str) -> requests.Response | None:
    """GET on the bot's health port; None while nothing listens yet."""
    try:
        return requests.get(f"http://127.0.0.1:{env['HEALTH_PORT']}{path}", timeout=10)
    except requests.ConnectionError:
        return None


def healthz_when(env: dict[str, str], status: int) -> dict[str, Any] | None:
    """/healthz's JSON body if it answers `status` now, else None."""
    answer = get(env, "/healthz")
    if answer is None or answer.status_code != status:
        return None
    body: dict[str, Any] = answer.json()
    return body


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a /metrics page by (name, labels)."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(
    page: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return page[(name, frozenset(labels.items()))]


def stop(process: subprocess.Popen[str]) -> str:
    """SIGTERM, and the log once the bot has exited 0 without a traceback."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err[-3000:]
    assert "Traceback" not in err
    assert err.rstrip().endswith("stopped")
    return err


def test_healthz_and_metrics_describe_a_poll_that_delivered(
    pubmed: FakeEutils, tmp_path: Path
) -> None:
    """After the first poll /healthz is 200 with the poll in its JSON, and /metrics counts the
    poll, each E-utilities attempt by outcome, the papers stored and the local deliveries."""
    env = subscribed_env(pubmed, tmp_path, POLL_INTERVAL_MINUTES="10")
    pubmed.inject("status", endpoint="esearch", status=503)  # one retried attempt to count
    started = time.time()
    process = start_bot(env, tmp_path)
    try:

        def delivered() -> dict[Any, float] | None:
            answer = get(env, "/metrics")
            if answer is None:
                return None
            page = samples(answer.text)
            sent = page.get(
                (
                    "paper_surfer_deliveries_total",
                    frozenset({("platform", "local"), ("outcome", "sent")}),
                ),
                0,
            )
            return page if sent >= 4 else None

        page = wait_for(delivered, process)
        health = get(env, "/healthz")
        assert health is not None
        assert health.status_code == 200
        assert health.headers["Content-Type"].startswith("application/json")
        body = health.json()
        assert (body["status"], body["scheduler"]) == ("ok", "running")
        assert (body["last_poll_result"], body["last_poll_ok"]) == ("ok", True)
        assert datetime.fromisoformat(body["last_poll"]).timestamp() >= started - 1

        with sqlite3.connect(env["DATABASE_PATH"]) as db:
            papers = db.execute("SELECT COUNT(*) FROM papers").fetchone()[0]
            sent = db.execute("SELECT COUNT(*) FROM deliveries WHERE state = 'sent'").fetchone()[0]
        assert value(page, "paper_surfer_polls_total", result="ok") == 1
        assert value(page, "paper_surfer_polls_total", result="queries_failed") == 0
        assert value(page, "paper_surfer_papers_stored_total") == papers == 4
        assert (
            value(page, "paper_surfer_deliveries_total", platform="local", outcome="sent") == sent
        )
        assert value(page, "paper_surfer_pending_deliveries") == 0
        assert started - 1 <= value(page, "paper_surfer_last_poll_timestamp_seconds") <= time.time()
        attempts = {
            (dict(labels)["endpoint"], dict(labels)["outcome"]): count
            for (name, labels), count in page.items()
            if name == "paper_surfer_eutils_requests_total" and count
        }
        assert attempts == {
            ("esearch", "server_error"): 1,
            ("esearch", "ok"): 1,
            ("efetch", "ok"): 1,
        }
        assert sum(attempts.values()) == len(pubmed.requests)  # every request the fake saw

        nowhere = get(env, "/nowhere")
        assert nowhere is not None
        assert nowhere.status_code == 404
        refused = requests.post(f"http://127.0.0.1:{env['HEALTH_PORT']}/healthz", timeout=10)
        assert refused.status_code == 405
    finally:
        stop(process)


def test_healthz_is_503_while_a_poll_hangs_and_200_once_it_completes(
    pubmed: FakeEutils, tmp_path: Path
) -> None:
    """A PubMed that never answers keeps the poll from completing: after two poll intervals
    /healthz is 503 with the reason, and 200 again once PubMed answers."""
    env = subscribed_env(pubmed, tmp_path, POLL_INTERVAL_MINUTES="0.05")  # two intervals: 6 s
    answer = threading.Event()
    pubmed.inject("slow", endpoint="esearch", seconds=120, until=answer)
    process = start_bot(env, tmp_path)
    try:
        body = wait_for(lambda: healthz_when(env, 503), process)
        assert body["status"] == "unhealthy"
        assert body["scheduler"] == "running"
        assert body["last_poll"] is None
        assert "no poll has completed" in body["reason"]
        assert "more than two poll intervals (6 s)" in body["reason"]
        assert "the current poll has run for" in body["reason"]

        answer.set()
        healthy = wait_for(lambda: healthz_when(env, 200), process)
        assert healthy["last_poll_ok"] is True
    finally:
        answer.set()
        stop(process)


def test_healthz_says_stopping_while_sigterm_lets_the_poll_finish(
    pubmed: FakeEutils, tmp_path: Path
) -> None:
    """Between SIGTERM and the end of the poll under way /healthz is 503 "stopping"; then the
    bot exits 0."""
    env = subscribed_env(pubmed, tmp_path, POLL_INTERVAL_MINUTES="10")
    answer = threading.Event()
    pubmed.inject("slow", endpoint="esearch", seconds=120, until=answer)
    process = start_bot(env, tmp_path)
    try:
        wait_for(lambda: pubmed.requests and healthz_when(env, 200), process)  # polling, listening
        process.send_signal(signal.SIGTERM)
        stopping = wait_for(lambda: healthz_when(env, 503), process)
        assert stopping["scheduler"] == "stopping"
        assert stopping["reason"] == "the scheduler is not running (stopping)"
    finally:
        answer.set()
    err = stop(process)
    assert "waiting up to" in err  # it did wait for the poll


def test_a_health_port_in_use_stops_the_bot_with_one_line(tmp_path: Path) -> None:
    """When HEALTH_PORT is taken, `run` exits 1 with one line naming the setting."""
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))  # noqa: S104 - the bot binds every interface too
        taken.listen()
        port = taken.getsockname()[1]
        env = bot_environment(
            tmp_path, HEALTH_PORT=str(port), PUBMED_EUTILS_URL="http://127.0.0.1:9/"
        )
        process = start_bot(env, tmp_path)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 1
    assert err.splitlines()[-1].startswith(
        f"paper-surfer: HEALTH_PORT: cannot listen on port {port}"
    )
    assert "Traceback" not in err
