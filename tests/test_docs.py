"""README and .env.example stay true to the contract in docs/interfaces.md: every command, verb
and setting is documented, and the program has exactly the commands and verbs it names."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from bot.cli import _parser
from bot.commands import VERBS

REPO = Path(__file__).resolve().parent.parent
INTERFACES = (REPO / "docs" / "interfaces.md").read_text(encoding="utf-8")
README = (REPO / "README.md").read_text(encoding="utf-8")


def _settings_in_interfaces() -> set[str]:
    table = INTERFACES.split("## Settings", 1)[1].split("\n## ", 1)[0]
    cells = [row.split("|")[1] for row in table.splitlines() if row.startswith("| `")]
    return {name for cell in cells for name in re.findall(r"`([A-Z0-9_]+)`", cell)}


def test_every_setting_is_in_readme_and_env_example() -> None:
    """Each setting of INTERFACES.md appears in README's table and in .env.example."""
    example = (REPO / ".env.example").read_text(encoding="utf-8")
    settings = _settings_in_interfaces()
    assert len(settings) >= 30
    for name in settings:
        assert f"`{name}`" in README, name
        assert re.search(rf"^{name}=", example, re.M), name


def test_every_cli_command_is_in_readme() -> None:
    """The program's subcommands are those of the contract's table, and README has a row each."""
    subparsers = next(a for a in _parser()._actions if a.dest == "command")
    commands = set(subparsers.choices)  # type: ignore[arg-type]
    table = INTERFACES.split("## Command line", 1)[1].split("\n## ", 1)[0]
    assert commands == set(re.findall(r"^\| `paper-surfer (\w+)", table, re.M))
    for command in commands:
        assert f"`paper-surfer {command}" in README, command


def test_every_chat_verb_is_in_readme_and_in_the_grammar() -> None:
    """The verbs of INTERFACES.md are exactly the grammar's verbs, and README lists each."""

    def verbs(text: str) -> set[str]:
        table = text.split("## Chat commands", 1)[1].split("\n## ", 1)[0]
        cells = [row.split("|")[1] for row in table.splitlines() if row.startswith("| `")]
        return {verb for cell in cells for verb in re.findall(r"`(\w+)", cell)}

    listed = {verb.name for verb in VERBS if verb.listed}
    assert verbs(INTERFACES) == listed
    assert verbs(README) == listed


def test_quick_start_has_exactly_two_commands_and_ci_runs_the_test_one() -> None:
    """README's Quick start shows two commands; .ci/run runs the same test command."""
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = quick.split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["make run", "make test"]
    assert "make test" in (REPO / ".ci" / "run").read_text(encoding="utf-8")


def test_slack_manifests_declare_the_command_scopes_and_request_urls() -> None:
    """Both manifests register /papers with the scopes the bot uses; HTTP mode points every
    request URL at /slack/events, Socket Mode is switched on in the other."""
    http = (REPO / "manifests" / "slack-http.yml").read_text(encoding="utf-8")
    socket_mode = (REPO / "manifests" / "slack-socket-mode.yml").read_text(encoding="utf-8")
    for manifest in (http, socket_mode):
        assert "- command: /papers" in manifest
        for scope in ("commands", "chat:write", "im:write", "files:write"):
            assert f"- {scope} " in manifest
        assert "- app_home_opened" in manifest
    assert http.count("url: https://YOUR-HOST/slack/events") == 3
    assert "socket_mode_enabled: false" in http
    assert "socket_mode_enabled: true" in socket_mode
    assert "YOUR-HOST" not in socket_mode


def make_dry_run(tmp_path: Path, target: str) -> str:
    """The commands `make TARGET` would run in a fresh checkout (no .venv yet)."""
    for name in ("Makefile", "pyproject.toml"):
        (tmp_path / name).write_bytes((REPO / name).read_bytes())
    # Under `make test` the outer make's variables would make this one print its directory.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    done = subprocess.run(
        ["make", "--no-print-directory", "-n", target],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return done.stdout


def test_make_run_installs_the_runtime_only_and_make_test_adds_the_test_tools(
    tmp_path: Path,
) -> None:
    """`make run` installs the package without extras; `make test` installs the test extra."""
    run = make_dry_run(tmp_path, "run")
    assert "pip install --quiet -e .\n" in run
    assert "[test" not in run
    assert "bench" not in run
    assert run.rstrip().endswith(".venv/bin/paper-surfer run")
    test = make_dry_run(tmp_path, "test")
    assert "pip install --quiet -e '.[test]'" in test
    assert "bench" not in test
