"""Crashes: `paper-surfer run` killed with SIGKILL at random moments loses nothing.

What a crash can cause: a message the platform accepted just before the kill, whose
confirmation never reached the database, is sent once more after the restart (the platform has
no way to say it already has it). So at most one repeat per kill, never a loss. Everything else
(a half-done poll, an unfinished window, a card in flight) is redone from the database.
"""

from __future__ import annotations

from pathlib import Path

import crash_harness


def test_three_random_kills_lose_nothing_and_repeat_at_most_one_message_each(
    tmp_path: Path,
) -> None:
    """Four chats, papers arriving over time, three SIGKILLs: every matching paper reaches its
    chat, and repeats are at most one per kill."""
    trial = crash_harness.run(tmp_path, kills=3, seed=7)
    assert all(len(pmids) >= 5 for pmids in trial.expected.values())
    assert trial.lost == 0, trial.logs[-1][-3000:]
    assert trial.duplicates <= trial.kills
    assert "Traceback" not in trial.logs[-1]
