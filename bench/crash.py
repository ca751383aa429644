"""Crash test at length: SIGKILL `paper-surfer run` at random moments, many times, and count.

The bot runs as a real process against loopback fakes of PubMed and Telegram (see
tests/crash_harness.py); it is killed at a random moment 0.3-3 s after each start, while it
polls and delivers, and restarted each time. Afterwards every matching paper must have reached
every chat, and repeats must be at most one per kill (a send whose confirmation the kill cut off).

    python bench/crash.py --kills 25 --seed 1
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import crash_harness  # noqa: E402 - the tests folder has to be on the path first


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=25)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        trial = crash_harness.run(Path(folder), args.kills, args.seed, drain_seconds=600)
    expected = sum(len(p) for p in trial.expected.values())
    print(f"machine: {platform.machine()}, Python {platform.python_version()}")
    print()
    print("| kills | chats | papers owed | delivered | lost | repeats | repeats ≤ kills | time |")
    print("|---:|---:|---:|---:|---:|---:|---|---:|")
    print(
        f"| {trial.kills} | {len(trial.expected)} | {expected} | {trial.delivered} | "
        f"{trial.lost} | {trial.duplicates} | {'yes' if trial.duplicates <= trial.kills else 'NO'}"
        f" | {trial.seconds:.0f} s |"
    )
    return 0 if trial.lost == 0 and trial.duplicates <= trial.kills else 1


if __name__ == "__main__":
    sys.exit(main())
