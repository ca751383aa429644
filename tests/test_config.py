"""Settings come from the environment and .env, and a bad value stops the program with its name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import Settings
from bot.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent


def test_defaults_match_the_interfaces_table() -> None:
    """With nothing set, every setting has the default INTERFACES.md promises."""
    s = Settings.from_env({}, env_file=None)
    assert s.database_path == Path("paper_surfer.db")
    assert s.pubmed_eutils_url == "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/"
    assert (s.ncbi_tool, s.ncbi_max_rps, s.poll_interval_minutes) == ("paper-surfer", 3.0, 60.0)
    assert (s.backfill_days, s.default_language, s.default_timezone) == (7, "en", "UTC")
    assert (s.default_mode, s.digest_time, s.max_cards_per_poll) == ("instant", "08:00", 10)
    assert (s.score_high, s.score_medium, s.alerts_dir) == (0.7, 0.4, Path("alerts"))
    assert s.telegram_api_url == "https://api.telegram.org/bot"
    assert (s.telegram_webhook_port, s.slack_port) == (8443, 3000)
    assert s.slack_api_url == "https://slack.com/api/"
    assert (s.llm_timeout_seconds, s.log_level, s.log_format) == (30.0, "INFO", "text")
    assert s.health_port is None  # no listener unless asked for
    assert s.bind_address == "127.0.0.1"  # this machine only: a reverse proxy in front
    assert s.slack_changes_by == "anyone"
    assert s.followups is True  # FOLLOWUPS=on


def test_an_api_key_raises_the_default_rate_to_ten() -> None:
    """NCBI allows 10 requests/s with a key, so the client takes 10 unless told otherwise."""
    assert Settings.from_env({"NCBI_API_KEY": "k"}, env_file=None).ncbi_max_rps == 10.0
    explicit = {"NCBI_API_KEY": "k", "NCBI_MAX_RPS": "4"}
    assert Settings.from_env(explicit, env_file=None).ncbi_max_rps == 4.0


def test_env_file_fills_in_and_the_environment_wins(tmp_path: Path) -> None:
    """A .env value is used unless the environment sets the same name."""
    env_file = tmp_path / ".env"
    env_file.write_text("BACKFILL_DAYS=3\nDEFAULT_LANGUAGE=ko\n# a comment\n", encoding="utf-8")
    s = Settings.from_env({"BACKFILL_DAYS": "5"}, env_file=env_file)
    assert s.backfill_days == 5
    assert s.default_language == "ko"


def test_env_example_lists_every_setting_and_loads_cleanly() -> None:
    """The shipped .env.example is a valid configuration naming every setting."""
    names = {
        line.split("=", 1)[0]
        for line in (REPO / ".env.example").read_text(encoding="utf-8").splitlines()
        if "=" in line and not line.startswith("#")
    }
    interfaces = (REPO / "docs" / "interfaces.md").read_text(encoding="utf-8")
    table = interfaces.split("## Settings", 1)[1].split("\n## ", 1)[0]
    first_cells = [row.split("|")[1] for row in table.splitlines() if row.startswith("| `")]
    documented = {name for cell in first_cells for name in re.findall(r"`([A-Z0-9_]+)`", cell)}
    assert len(documented) >= 30
    assert documented <= names
    Settings.from_env({}, env_file=REPO / ".env.example")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DEFAULT_LANGUAGE", "fr"),
        ("DEFAULT_TIMEZONE", "Mars/Olympus_Mons"),
        ("DEFAULT_TIMEZONE", "../../etc/passwd"),
        ("DIGEST_TIME", "25:00"),
        ("DIGEST_TIME", "8am"),
        ("POLL_INTERVAL_MINUTES", "hourly"),
        ("POLL_INTERVAL_MINUTES", "0"),
        ("BACKFILL_DAYS", "-1"),
        ("NCBI_MAX_RPS", "fast"),
        ("MAX_CARDS_PER_POLL", "0"),
        ("SCORE_HIGH", "1.5"),
        ("DEFAULT_MODE", "weekly"),
        ("PUBMED_EUTILS_URL", "eutils.ncbi.nlm.nih.gov"),
        ("SLACK_PORT", "70000"),
        ("LOG_LEVEL", "LOUD"),
        ("NCBI_EMAIL", "not-an-address"),
        ("LOG_FORMAT", "xml"),
        ("HEALTH_PORT", "0"),
        ("HEALTH_PORT", "65536"),
        ("HEALTH_PORT", "metrics"),
        ("BIND_ADDRESS", "localhost"),
        ("BIND_ADDRESS", "10.0.0.300"),
        ("BIND_ADDRESS", "0.0.0.0:8080"),
        ("SLACK_CHANGES_BY", "owners"),
        ("FOLLOWUPS", "yes"),
    ],
)
def test_a_bad_value_names_its_setting(name: str, value: str) -> None:
    """Each malformed value stops start-up with an error that names the setting and the value."""
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({name: value}, env_file=None)
    assert caught.value.setting == name
    assert str(caught.value).startswith(f"{name}: ")
    assert value in str(caught.value)


def test_bind_address_takes_ipv4_and_ipv6_literals_and_every_interface() -> None:
    """BIND_ADDRESS accepts an IPv4 or IPv6 address, 0.0.0.0 and :: included, written the
    canonical way."""
    for value, kept in (
        ("0.0.0.0", "0.0.0.0"),  # noqa: S104 - the setting's "every IPv4 interface"
        ("::", "::"),
        ("::0001", "::1"),
        (" 192.168.1.20 ", "192.168.1.20"),
    ):
        assert Settings.from_env({"BIND_ADDRESS": value}, env_file=None).bind_address == kept


def test_settings_that_only_make_sense_together_are_checked() -> None:
    """Combinations that cannot work are refused with the setting to fix."""
    cases = [
        ({"SCORE_HIGH": "0.3", "SCORE_MEDIUM": "0.5"}, "SCORE_MEDIUM"),
        (
            {"TELEGRAM_BOT_TOKEN": "t", "TELEGRAM_WEBHOOK_URL": "https://x.org/h"},
            "TELEGRAM_WEBHOOK_SECRET",
        ),
        (
            {"TELEGRAM_WEBHOOK_URL": "http://x.org/h", "TELEGRAM_WEBHOOK_SECRET": "s"},
            "TELEGRAM_WEBHOOK_URL",
        ),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_BOT_TOKEN"),
        ({"LLM_BASE_URL": "http://127.0.0.1:1/v1"}, "LLM_MODEL"),
    ]
    for environ, setting in cases:
        with pytest.raises(ConfigError) as caught:
            Settings.from_env(environ, env_file=None)
        assert caught.value.setting == setting, environ


def test_secrets_never_appear_in_the_settings_repr() -> None:
    """Logging the settings object cannot leak a token or key."""
    s = Settings.from_env(
        {
            "NCBI_API_KEY": "ncbi-secret-1",
            "TELEGRAM_BOT_TOKEN": "123:tg-secret-2",
            "SLACK_BOT_TOKEN": "xoxb-secret-3",
            "SLACK_SIGNING_SECRET": "signing-secret-4",
            "LLM_BASE_URL": "http://127.0.0.1:9/v1",
            "LLM_MODEL": "m",
            "LLM_API_KEY": "llm-secret-5",
        },
        env_file=None,
    )
    text = repr(s)
    for secret in s.secrets:
        assert secret not in text
    assert len(s.secrets) == 5


def test_digest_time_is_normalised_to_two_digit_hours() -> None:
    """'7:30' is understood as 07:30."""
    assert Settings.from_env({"DIGEST_TIME": "7:30"}, env_file=None).digest_time == "07:30"
