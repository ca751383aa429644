"""Running as a service: the image's health check, the Dockerfile, compose.yaml, the systemd
unit and the installed package agree with each other, with the program and with README.

CI has no Docker, so the Dockerfile is read, not built; what it runs is run here instead.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from datetime import date
from importlib.util import find_spec
from pathlib import Path

import pytest
from fixtures import bot_environment, fixture, free_port, start_bot
from servers.eutils import FakeEutils

from bot.app import STOP_GRACE_SECONDS
from bot.cli import _parser

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")
SERVICE_DOC = README.split("## Running as a service", 1)[1].split("\n## ", 1)[0]
SAMPLE = "fatcat__pubmedsample_2019.xml"
VENV = "/opt/paper-surfer/.venv"


# --- reading the files -------------------------------------------------------------------------


def dockerfile() -> list[tuple[str, str]]:
    """The final stage's instructions as (INSTRUCTION, arguments), continuation lines joined."""
    text = (REPO / "Dockerfile").read_text(encoding="utf-8")
    text = re.sub(r"\\\n", " ", re.sub(r"^\s*#.*\n", "", text, flags=re.M))
    instructions = []
    for line in text.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            instructions.append((word.upper(), " ".join(rest.split())))
    last_from = max(i for i, (word, _) in enumerate(instructions) if word == "FROM")
    return instructions[last_from:]


def instruction(name: str) -> list[str]:
    return [rest for word, rest in dockerfile() if word == name]


def docker_env() -> dict[str, str]:
    env = {}
    for rest in instruction("ENV"):
        env.update(dict(re.findall(r"(\w+)=(\S+)", rest)))
    return env


def unit() -> dict[str, list[str]]:
    """The systemd unit's settings; a key given twice keeps both values, as systemd does."""
    settings: dict[str, list[str]] = {}
    text = (REPO / "deploy" / "paper-surfer.service").read_text(encoding="utf-8")
    for line in text.splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def compose_service() -> dict[str, str]:
    """compose.yaml's `bot` service as flat `key: value` lines (PyYAML is no dependency)."""
    text = (REPO / "compose.yaml").read_text(encoding="utf-8")
    assert "\t" not in text  # YAML forbids tabs for indentation
    body = text.split("\n  bot:\n", 1)[1].split("\nvolumes:\n", 1)[0]
    entries: dict[str, str] = {}
    parent = ""
    for line in body.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        indent = len(line) - len(line.lstrip())
        key, _, value = line.strip().partition(": ")
        if indent == 4:
            parent = key.rstrip(":")
            entries[parent] = value
        else:
            entries[f"{parent}.{key.rstrip(':')}"] = value.strip('"')
    return entries


def seconds(value: str) -> float:
    number, unit_ = re.fullmatch(r"(\d+)\s*(s|min)?", value).groups()  # type: ignore[union-attr]
    return float(number) * (60 if unit_ == "min" else 1)


# --- the health check the image runs -----------------------------------------------------------


def healthcheck_command() -> list[str]:
    """The Dockerfile's HEALTHCHECK command, with this venv's Python for the image's."""
    (rest,) = instruction("HEALTHCHECK")
    command: list[str] = json.loads(rest.split(" CMD ", 1)[1])
    assert command[0] == f"{VENV}/bin/python"
    return [sys.executable, *command[1:]]


def health_check(port: int) -> subprocess.CompletedProcess[str]:
    return run_check(bot_environment(Path.cwd(), HEALTH_PORT=str(port)), Path.cwd())


def run_check(env: dict[str, str], folder: Path) -> subprocess.CompletedProcess[str]:
    """The image's health check, run to its end in `folder` with `env`."""
    return subprocess.run(
        healthcheck_command(),
        capture_output=True,
        text=True,
        env=env,
        cwd=folder,
        timeout=30,
        check=False,
    )


def wait_for_check(
    port: int, bot: subprocess.Popen[str], done: Callable[[subprocess.CompletedProcess[str]], bool]
) -> subprocess.CompletedProcess[str]:
    """Run the health check until `done` says its result is the awaited one; returns it."""
    deadline = time.monotonic() + 60
    while True:
        assert bot.poll() is None, bot.communicate()
        result = health_check(port)
        if done(result) or time.monotonic() > deadline:
            assert done(result), result
            return result
        time.sleep(0.1)


@pytest.fixture
def fake() -> Iterator[FakeEutils]:
    with FakeEutils(rate_limit=None) as server:
        server.load(fixture(SAMPLE))
        newest = server.entrez_date(server.pmids[0])
        assert newest is not None
        server.shift_dates(newest, date.today())  # the sample's papers appear as this week's
        yield server


def test_the_image_health_check_follows_the_bot_from_unhealthy_to_healthy_to_stopped(
    fake: FakeEutils, tmp_path: Path
) -> None:
    """The HEALTHCHECK command fails in one line while the first poll hangs past two intervals,
    passes silently once polls complete, and fails in one line when the bot is gone."""
    port = free_port()
    env = bot_environment(
        tmp_path,
        PUBMED_EUTILS_URL=fake.url,
        NCBI_EMAIL="dev@example.org",
        HEALTH_PORT=str(port),
        POLL_INTERVAL_MINUTES="0.02",  # 1.2 s: unhealthy after 2.4 s without a finished poll
    )
    subscribe = [str(Path(sys.executable).with_name("paper-surfer")), "cmd", "subscribe cancer"]
    subprocess.run(subscribe, env=env, cwd=tmp_path, check=True, capture_output=True, timeout=60)
    release = threading.Event()
    fake.inject("slow", endpoint="esearch", seconds=60, until=release)
    bot = start_bot(env, tmp_path)
    try:
        # Before the bot listens the check fails too ("cannot reach"); wait for its 503.
        result = wait_for_check(port, bot, lambda result: "answered" in result.stdout)
        assert result.returncode == 1
        assert result.stdout.startswith(
            f"healthcheck: http://127.0.0.1:{port}/healthz answered 503: "
        )
        assert "no poll has completed" in result.stdout
        assert result.stdout.count("\n") == 1
        release.set()
        result = wait_for_check(port, bot, lambda result: result.returncode == 0)
        assert result.stdout + result.stderr == ""
    finally:
        release.set()
        bot.send_signal(signal.SIGTERM)
        _, log = bot.communicate(timeout=60)
    assert bot.returncode == 0, log
    result = health_check(port)
    assert result.returncode == 1
    assert result.stdout.startswith(f"healthcheck: cannot reach http://127.0.0.1:{port}/healthz")
    assert result.stdout.count("\n") == 1
    assert result.stderr == ""


def test_the_health_check_without_health_port_says_so(tmp_path: Path) -> None:
    """With HEALTH_PORT unset the check exits 1 with a line naming the setting, not a traceback."""
    env = bot_environment(tmp_path)
    env.pop("HEALTH_PORT", None)  # a developer's own, if exported
    result = run_check(env, tmp_path)
    assert (result.returncode, result.stderr) == (1, "")
    assert result.stdout == "healthcheck: HEALTH_PORT is not set, so the bot serves no /healthz\n"


def test_the_health_check_reads_health_port_from_dot_env_like_the_bot(tmp_path: Path) -> None:
    """A HEALTH_PORT given only in .env is the port the check asks, as the bot would listen."""
    port = free_port()
    (tmp_path / ".env").write_text(f"HEALTH_PORT={port}\n", encoding="utf-8")
    env = bot_environment(tmp_path)
    env.pop("HEALTH_PORT", None)
    result = run_check(env, tmp_path)
    assert result.returncode == 1
    assert f"cannot reach http://127.0.0.1:{port}/healthz" in result.stdout


# --- the Dockerfile ----------------------------------------------------------------------------


def test_the_dockerfile_runs_the_bot_as_a_user_with_its_state_in_the_data_volume() -> None:
    """The image's entry point is the installed `paper-surfer run`, as a non-root user, with the
    database and alerts in /data, the health port set, exposed and checked, and the listeners
    on every interface of the container, so a published port reaches them."""
    assert instruction("ENTRYPOINT") == [f'["{VENV}/bin/paper-surfer"]']
    (cmd,) = instruction("CMD")
    subcommands = next(a for a in _parser()._actions if a.dest == "command").choices
    assert json.loads(cmd) == ["run"]
    assert "run" in subcommands  # type: ignore[operator]
    (user,) = instruction("USER")
    assert user not in ("root", "0")
    env = docker_env()
    assert env["DATABASE_PATH"] == "/data/paper_surfer.db"
    assert env["ALERTS_DIR"] == "/data/alerts"
    assert instruction("VOLUME") == ["/data"]
    assert instruction("WORKDIR") == ["/data"]  # relative paths from a .env land in the volume
    assert instruction("EXPOSE") == [env["HEALTH_PORT"]]
    assert env["BIND_ADDRESS"] == "0.0.0.0"  # noqa: S104 - or the published port reaches nothing
    (check,) = instruction("HEALTHCHECK")
    assert json.loads(check.split(" CMD ", 1)[1])[1:] == ["-m", "bot.healthcheck"]
    assert find_spec("bot.healthcheck") is not None


def test_the_docker_build_context_holds_every_package_pip_installs() -> None:
    """The Dockerfile copies, and .dockerignore lets through, each package pyproject installs,
    while .env (tokens), the database and .venv stay out of the build context."""
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    include = re.search(r"include = \[(.*?)\]", pyproject).group(1)  # type: ignore[union-attr]
    packages = {name.rstrip("*") for name in re.findall(r'"([^"]+)"', include)}
    text = (REPO / "Dockerfile").read_text(encoding="utf-8")
    copied = set(re.findall(r"^COPY (\w+) \1$", text, re.M))
    assert copied == packages
    ignore = (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
    assert ignore[ignore.index("*") :].count("*") == 1  # everything is out unless let in
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    assert allowed == packages | {"pyproject.toml", "README.md"}


# --- compose.yaml and the systemd unit ---------------------------------------------------------


def test_compose_runs_the_image_with_the_data_volume_and_the_health_port() -> None:
    """compose.yaml keeps state in the volume and the health port on, whatever .env says, and
    gives a stopping bot more time than its poll grace."""
    service = compose_service()
    env = docker_env()
    assert service["env_file"] == ".env"
    for name in ("DATABASE_PATH", "ALERTS_DIR", "HEALTH_PORT", "BIND_ADDRESS"):
        assert service[f"environment.{name}"] == env[name]
    assert service["volumes"] == ""
    assert "- paper-surfer-data:/data" in (REPO / "compose.yaml").read_text(encoding="utf-8")
    assert service["restart"] in ("unless-stopped", "always", "on-failure")
    assert seconds(service["stop_grace_period"]) > STOP_GRACE_SECONDS
    ports = (REPO / "compose.yaml").read_text(encoding="utf-8")
    assert f':{env["HEALTH_PORT"]}:{env["HEALTH_PORT"]}"' in ports


def test_the_systemd_unit_runs_the_installed_bot_hardened_and_stops_after_the_grace() -> None:
    """The unit runs `paper-surfer run` from the venv README installs, as its own user, may
    write only its state directory, and waits longer than the bot's stop grace."""
    settings = unit()
    assert settings["ExecStart"] == [f"{VENV}/bin/paper-surfer run"]
    assert settings["Restart"] == ["on-failure"]
    assert seconds(settings["TimeoutStopSec"][0]) > STOP_GRACE_SECONDS
    assert settings["User"] == ["paper-surfer"]
    (state,) = settings["WorkingDirectory"]
    assert settings["ReadWritePaths"] == [state]
    assert settings["StateDirectory"] == [state.removeprefix("/var/lib/")]
    env = dict(value.split("=", 1) for value in settings["Environment"])
    assert Path(env["DATABASE_PATH"]).parent == Path(state)
    assert Path(env["ALERTS_DIR"]).parent == Path(state)
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "PrivateTmp": "yes",
        "ProtectHome": "yes",
    }.items():
        assert settings[key] == [value], key
    # README tells how to put each of these in place.
    (env_file,) = settings["EnvironmentFile"]
    for needed in (env_file, "deploy/paper-surfer.service", VENV, "useradd", state):
        assert needed in SERVICE_DOC, needed


def test_readme_describes_each_way_to_run_the_service() -> None:
    """README's service section covers building, running, volumes, settings, health, upgrading
    and backups, with the files this repository ships."""
    for needed in (
        "docker build",
        "docker compose up",
        "/data",
        "HEALTH_PORT",
        "/healthz",
        "systemctl",
        "Upgrading",
        "Backup",
        "BASE",
    ):
        assert needed in SERVICE_DOC, needed


# --- the installed package ---------------------------------------------------------------------


def test_a_non_editable_install_carries_the_data_files_and_runs(
    fake: FakeEutils, tmp_path: Path
) -> None:
    """The wheel built from what the Dockerfile copies holds every package, the Korean glossary
    and the console script, and the program run from it prints a Korean card."""
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    for package in ("bot", "handlers", "storage"):
        shutil.copytree(REPO / package, source / package, ignore=shutil.ignore_patterns("__py*"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--quiet",
            "--wheel-dir",
            str(tmp_path / "dist"),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = (tmp_path / "dist").glob("paper_surfer-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        scripts = archive.read(entry_points).decode()
        archive.extractall(tmp_path / "installed")
    for needed in ("bot/data/glossary_ko.json", "bot/py.typed", "bot/healthcheck.py"):
        assert needed in names
    for package in ("bot", "handlers", "storage"):
        assert f"{package}/__init__.py" in names
    assert re.search(r"^paper-surfer = bot\.cli:main$", scripts, re.M)
    # The unpacked wheel comes first on the path, before this checkout's editable install.
    env = bot_environment(
        tmp_path, PUBMED_EUTILS_URL=fake.url, PYTHONPATH=str(tmp_path / "installed")
    )
    code = "import bot, sys; sys.argv[0] = 'paper-surfer'; print(bot.__file__, file=sys.stderr);"
    code += " from bot.cli import main; sys.exit(main())"
    pmid = "9626910"  # a research article whose major headings are Heart Diseases, Hepatitis C
    result = subprocess.run(
        [sys.executable, "-c", code, "card", pmid, "--lang", "ko"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith(str(tmp_path / "installed" / "bot"))
    assert pmid in result.stdout
    # The paper's major headings Heart Diseases (not in the glossary, so as written) and
    # Hepatitis C, in Korean from the glossary the wheel carries.
    glossary = json.loads((REPO / "bot" / "data" / "glossary_ko.json").read_text(encoding="utf-8"))
    assert f"주제: Heart Diseases; {glossary['mesh']['Hepatitis C']}." in result.stdout
