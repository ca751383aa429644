"""Settings: every setting of INTERFACES.md, read once at start from the environment and `.env`.

A bad value raises `ConfigError` naming the setting; the CLI turns it into one line on stderr,
so the program never starts half-configured.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

from bot.errors import ConfigError

LANGUAGES = ("en", "ko")
MODES = ("instant", "digest")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")
_TIME = re.compile(r"^([01]?[0-9]|2[0-3]):([0-5][0-9])$")  # ASCII digits only: "٨:٠٣" is not a time
_WEBHOOK_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # what Telegram accepts as secret_token

EUTILS_URL = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/"
TELEGRAM_API_URL = "https://api.telegram.org/bot"
SLACK_API_URL = "https://slack.com/api/"

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
    default_mode: str = "instant"
    digest_time: str = "08:00"
    max_cards_per_poll: int = 10
    score_high: float = 0.7
    score_medium: float = 0.4
    alerts_dir: Path = Path("alerts")
    retention_days: int = 365
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
    llm_base_url: str = ""
    llm_api_key: str = field(default="", repr=False)
    llm_model: str = ""
    llm_timeout_seconds: float = 30.0
    log_level: str = "INFO"
    log_format: str = "text"
    health_port: int | None = None  # None: no /healthz and /metrics listener

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
    api_key = read.raw("NCBI_API_KEY")
    settings = Settings(
        database_path=Path(read.raw("DATABASE_PATH") or "paper_surfer.db"),
        pubmed_eutils_url=read.get("PUBMED_EUTILS_URL", EUTILS_URL, _url, "a URL"),
        ncbi_api_key=api_key,
        ncbi_email=read.get("NCBI_EMAIL", "", _email, "an e-mail address"),
        ncbi_tool=read.get("NCBI_TOOL", "paper-surfer", _tool, "a name without spaces"),
        ncbi_max_rps=read.get(
            "NCBI_MAX_RPS", 10.0 if api_key else 3.0, _positive_float, "a positive number"
        ),
        poll_interval_minutes=read.get(
            "POLL_INTERVAL_MINUTES", 60.0, _positive_float, "a positive number of minutes"
        ),
        backfill_days=read.get("BACKFILL_DAYS", 7, _days, "a whole number of days from 1 to 3650"),
        full_poll_hours=read.get("FULL_POLL_HOURS", 6.0, _hours, "a number of hours, 0 or more"),
        default_language=read.get("DEFAULT_LANGUAGE", "en", _choice(LANGUAGES), "en or ko"),
        default_timezone=read.get("DEFAULT_TIMEZONE", "UTC", _zone, "an IANA time zone"),
        default_mode=read.get("DEFAULT_MODE", "instant", _choice(MODES), "instant or digest"),
        digest_time=read.get("DIGEST_TIME", "08:00", parse_time, "a time as HH:MM"),
        max_cards_per_poll=read.get(
            "MAX_CARDS_PER_POLL", 10, _positive_int, "a positive whole number"
        ),
        score_high=read.get("SCORE_HIGH", 0.7, _fraction, "a number from 0 to 1"),
        score_medium=read.get("SCORE_MEDIUM", 0.4, _fraction, "a number from 0 to 1"),
        alerts_dir=Path(read.raw("ALERTS_DIR") or "alerts"),
        retention_days=read.get(
            "RETENTION_DAYS", 365, _retention_days, "a whole number of days from 1 to 36500"
        ),
        telegram_bot_token=read.raw("TELEGRAM_BOT_TOKEN"),
        telegram_api_url=read.get("TELEGRAM_API_URL", TELEGRAM_API_URL, _url, "a URL"),
        telegram_webhook_url=read.get("TELEGRAM_WEBHOOK_URL", "", _url, "a URL"),
        telegram_webhook_secret=read.raw("TELEGRAM_WEBHOOK_SECRET"),
        telegram_webhook_port=read.get("TELEGRAM_WEBHOOK_PORT", 8443, _port, "a port number"),
        slack_bot_token=read.raw("SLACK_BOT_TOKEN"),
        slack_signing_secret=read.raw("SLACK_SIGNING_SECRET"),
        slack_app_token=read.raw("SLACK_APP_TOKEN"),
        slack_api_url=read.get("SLACK_API_URL", SLACK_API_URL, _url, "a URL"),
        slack_port=read.get("SLACK_PORT", 3000, _port, "a port number"),
        llm_base_url=read.get("LLM_BASE_URL", "", _url, "a URL"),
        llm_api_key=read.raw("LLM_API_KEY"),
        llm_model=read.raw("LLM_MODEL"),
        llm_timeout_seconds=read.get(
            "LLM_TIMEOUT_SECONDS", 30.0, _positive_float, "a positive number of seconds"
        ),
        log_level=read.get("LOG_LEVEL", "INFO", _log_level, "one of " + ", ".join(LOG_LEVELS)),
        log_format=read.get("LOG_FORMAT", "text", _choice(LOG_FORMATS), "text or json"),
        health_port=read.get("HEALTH_PORT", None, _port, "a port number from 1 to 65535"),
    )
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
