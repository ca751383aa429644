"""Settings: every setting of INTERFACES.md, read once at start from the environment and `.env`.

A bad value raises `ConfigError` naming the setting; the CLI turns it into one line on stderr,
so the program never starts half-configured.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

from bot.errors import ConfigError
from bot.i18n import LANGUAGES
from bot.models import CHAT_MODES, ChatMode

MODES = CHAT_MODES
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")
SLACK_CHANGERS = ("anyone", "admins")
_TIME = re.compile(r"^([01]?[0-9]|2[0-3]):([0-5][0-9])$")  # ASCII digits only: "٨:٠٣" is not a time
_WEBHOOK_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # what Telegram accepts as secret_token

EUTILS_URL = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/"
TELEGRAM_API_URL = "https://api.telegram.org/bot"
SLACK_API_URL = "https://slack.com/api/"
NCBI_MAX_RPS_WITH_KEY = 10.0  # NCBI_MAX_RPS unless set, with an API key (NCBI allows 10)

V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class Settings:
    """The whole configuration; secrets are kept out of repr() so they never reach a log."""

    database_path: Path = Path("paper_surfer.db")
    pubmed_eutils_url: str = EUTILS_URL
    ncbi_api_key: str = field(default="", repr=False)
    ncbi_email: str = ""
    ncbi_tool: str = "paper-surfer"
    ncbi_max_rps: float = 3.0
    poll_interval_minutes: float = 60.0
    backfill_days: int = 7
    full_poll_hours: float = 6.0
    default_language: str = "en"
    default_timezone: str = "UTC"
    default_mode: ChatMode = "instant"
    digest_time: str = "08:00"
    max_cards_per_poll: int = 10
    score_high: float = 0.7
    score_medium: float = 0.4
    alerts_dir: Path = Path("alerts")
    retention_days: int = 365
    # Follow-up messages when a paper a chat received or saved is retracted, corrected, or
    # becomes free in PMC (bot/notices.py, bot/followups.py).
    followups: bool = True
    telegram_bot_token: str = field(default="", repr=False)
    telegram_api_url: str = TELEGRAM_API_URL
    telegram_webhook_url: str = ""
    telegram_webhook_secret: str = field(default="", repr=False)
    telegram_webhook_port: int = 8443
    slack_bot_token: str = field(default="", repr=False)
    slack_signing_secret: str = field(default="", repr=False)
    slack_app_token: str = field(default="", repr=False)
    slack_api_url: str = SLACK_API_URL
    slack_port: int = 3000
    slack_changes_by: str = "anyone"
    llm_base_url: str = ""
    llm_api_key: str = field(default="", repr=False)
    llm_model: str = ""
    llm_timeout_seconds: float = 30.0
    log_level: str = "INFO"
    log_format: str = "text"
    health_port: int | None = None  # None: no /healthz and /metrics listener
    # Where the listeners (Slack HTTP, Telegram webhook, /healthz) accept connections: this
    # machine only by default, for a reverse proxy in front; 0.0.0.0 or :: for every interface.
    bind_address: str = "127.0.0.1"

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret value that is set, for scrubbing logs."""
        values = (
            self.ncbi_api_key,
            self.telegram_bot_token,
            self.telegram_webhook_secret,
            self.slack_bot_token,
            self.slack_signing_secret,
            self.slack_app_token,
            self.llm_api_key,
        )
        return tuple(v for v in values if v)

    @classmethod
    def from_env(cls, environ: Mapping[str, str], env_file: Path | None = Path(".env")) -> Settings:
        """Settings from `environ`, with `env_file` filling in what the environment lacks."""
        values: dict[str, str] = {}
        if env_file is not None and env_file.is_file():
            values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
        values.update(environ)
        return _build(_Reader(values))


class _Reader:
    """Reads one setting at a time, treating an empty value as "not set"."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = values

    def raw(self, name: str) -> str:
        return self._values.get(name, "").strip()

    def get(self, name: str, default: V, convert: Callable[[str], V], expected: str) -> V:
        raw = self.raw(name)
        if not raw:
            return default
        try:
            return convert(raw)
        except (ValueError, ZoneInfoNotFoundError) as exc:
            raise ConfigError(name, f"{raw!r} is not {expected}") from exc


def _build(read: _Reader) -> Settings:
    """Each field from its variable (the field's name in capitals), its default when unset."""
    text = (str, "text")
    how: dict[str, tuple[Callable[[str], Any], str]] = {
        "database_path": (Path, "a path"),
        "pubmed_eutils_url": (_url, "a URL"),
        "ncbi_api_key": text,
        "ncbi_email": (_email, "an e-mail address"),
        "ncbi_tool": (_tool, "a name without spaces"),
        "ncbi_max_rps": (_positive_float, "a positive number"),
        "poll_interval_minutes": (_positive_float, "a positive number of minutes"),
        "backfill_days": (_days, "a whole number of days from 1 to 3650"),
        "full_poll_hours": (_hours, "a number of hours, 0 or more"),
        "default_language": (_choice(LANGUAGES), " or ".join(LANGUAGES)),
        "default_timezone": (_zone, "an IANA time zone"),
        "default_mode": (_choice(MODES), " or ".join(MODES)),
        "digest_time": (parse_time, "a time as HH:MM"),
        "max_cards_per_poll": (_positive_int, "a positive whole number"),
        "score_high": (_fraction, "a number from 0 to 1"),
        "score_medium": (_fraction, "a number from 0 to 1"),
        "alerts_dir": (Path, "a path"),
        "retention_days": (_retention_days, "a whole number of days from 1 to 36500"),
        "followups": (_on_off, "on or off"),
        "telegram_bot_token": text,
        "telegram_api_url": (_url, "a URL"),
        "telegram_webhook_url": (_url, "a URL"),
        "telegram_webhook_secret": text,
        "telegram_webhook_port": (_port, "a port number"),
        "slack_bot_token": text,
        "slack_signing_secret": text,
        "slack_app_token": text,
        "slack_api_url": (_url, "a URL"),
        "slack_port": (_port, "a port number"),
        "slack_changes_by": (_choice(SLACK_CHANGERS), " or ".join(SLACK_CHANGERS)),
        "llm_base_url": (_url, "a URL"),
        "llm_api_key": text,
        "llm_model": text,
        "llm_timeout_seconds": (_positive_float, "a positive number of seconds"),
        "log_level": (_log_level, "one of " + ", ".join(LOG_LEVELS)),
        "log_format": (_choice(LOG_FORMATS), " or ".join(LOG_FORMATS)),
        "health_port": (_port, "a port number from 1 to 65535"),
        "bind_address": (_ip_address, "an IPv4 or IPv6 address such as 127.0.0.1"),
    }
    values: dict[str, Any] = {
        f.name: read.get(f.name.upper(), f.default, *how[f.name]) for f in fields(Settings)
    }
    if values["ncbi_api_key"] and not read.raw("NCBI_MAX_RPS"):
        values["ncbi_max_rps"] = NCBI_MAX_RPS_WITH_KEY
    settings = Settings(**values)
    _check_combinations(settings)
    return settings


def _check_combinations(s: Settings) -> None:
    if s.score_medium > s.score_high:
        raise ConfigError("SCORE_MEDIUM", f"{s.score_medium} is above SCORE_HIGH ({s.score_high})")
    if s.telegram_webhook_url:
        if not s.telegram_webhook_url.startswith("https://"):
            raise ConfigError("TELEGRAM_WEBHOOK_URL", "Telegram calls webhooks over https only")
        if not _WEBHOOK_SECRET.match(s.telegram_webhook_secret):
            raise ConfigError(
                "TELEGRAM_WEBHOOK_SECRET",
                "webhook mode needs a secret of 1-256 characters A-Z, a-z, 0-9, _ or -",
            )
    if s.slack_bot_token and not (s.slack_signing_secret or s.slack_app_token):
        raise ConfigError(
            "SLACK_BOT_TOKEN",
            "needs SLACK_SIGNING_SECRET (HTTP mode) or SLACK_APP_TOKEN (Socket Mode)",
        )
    if bool(s.llm_base_url) != bool(s.llm_model):
        missing = "LLM_MODEL" if s.llm_base_url else "LLM_BASE_URL"
        raise ConfigError(missing, "LLM_BASE_URL and LLM_MODEL are needed together")


def parse_time(value: str) -> str:
    """'8:05' -> '08:05'; anything but a 24-hour HH:MM raises ValueError."""
    match = _TIME.match(value.strip())
    if not match:
        raise ValueError(value)
    return f"{int(match.group(1)):02d}:{match.group(2)}"


def parse_zone(value: str) -> str:
    """An IANA zone name as given, checked against the tz database (ValueError if unknown)."""
    return _zone(value)


def _zone(value: str) -> str:
    if not value or value.startswith(("/", ".")) or ".." in value:
        raise ValueError(value)
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, IsADirectoryError) as exc:
        raise ValueError(value) from exc
    return value


def _url(value: str) -> str:
    if not re.match(r"^https?://[^\s/]+", value):
        raise ValueError(value)
    return value


def _email(value: str) -> str:
    if not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", value):
        raise ValueError(value)
    return value


def _tool(value: str) -> str:
    if any(c.isspace() for c in value):
        raise ValueError(value)
    return value


def _positive_float(value: str) -> float:
    number = float(value)
    if not number > 0 or number == float("inf"):
        raise ValueError(value)
    return number


def _hours(value: str) -> float:
    number = float(value)
    if not 0 <= number < float("inf"):
        raise ValueError(value)
    return number


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


def _days(value: str) -> int:
    number = int(value)
    if not 1 <= number <= 3650:
        raise ValueError(value)
    return number


def _on_off(value: str) -> bool:
    """'on' or 'off' (as README and .env.example write them)."""
    choice = value.lower()
    if choice not in ("on", "off"):
        raise ValueError(value)
    return choice == "on"


def _retention_days(value: str) -> int:
    number = int(value)
    if not 1 <= number <= 36500:  # a hundred years; more would overflow date arithmetic
        raise ValueError(value)
    return number


def _fraction(value: str) -> float:
    number = float(value)
    if not 0 <= number <= 1:
        raise ValueError(value)
    return number


def _port(value: str) -> int:
    number = int(value)
    if not 1 <= number <= 65535:
        raise ValueError(value)
    return number


def _ip_address(value: str) -> str:
    """An IP literal, as written canonically ('::0001' -> '::1'); a host name is refused: a
    name can resolve to several addresses, or to another one tomorrow."""
    return str(ipaddress.ip_address(value))


def _choice(options: tuple[str, ...]) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value.lower() not in options:
            raise ValueError(value)
        return value.lower()

    return check


def _log_level(value: str) -> str:
    if value.upper() not in LOG_LEVELS:
        raise ValueError(value)
    return value.upper()
