"""Where the shared PubMed fixture files live, and how tests start `paper-surfer` processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

# The repository is /work/main and the shared, read-only fixtures are in /work/shared.
FIXTURES = Path(__file__).resolve().parent.parent.parent / "shared" / "fixtures" / "pubmed"


def fixture(name: str) -> Path:
    """The path of one fixture file, by its file name in the fixtures folder."""
    return FIXTURES / name


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


def free_port() -> int:
    """A TCP port nobody listens on now, for a listener the child process opens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
