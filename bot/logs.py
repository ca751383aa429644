"""Logging for the whole program: one line per record, secrets never written out, control
characters never passed to a terminal.

Libraries log URLs and headers (httpx logs every Bot API URL, which carries the Telegram token);
a filter on the handler replaces every configured secret with *** before a line is written.

Messages carry text from outside (chat titles, PubMed's error messages, a user's query), and a
terminal or log viewer obeys the control characters in it: ESC starts colour or cursor moves,
a carriage return or a newline can forge a line that looks like our own. So the message part
of every line is written with each control character escaped (`\\x1b`, `\\n`...), newlines
included: one record is one line. Backslashes are left alone, so paths and queries stay
readable; a user who typed a literal "\\x1b" looks the same as an escaped ESC, which is
harmless. A traceback keeps its newlines (it is ours and reads best as lines) and has every
other control character escaped. LOG_FORMAT=json writes one JSON object per line instead, with
the same escaping inside the strings (so `jq -r .message` prints no raw escapes either).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import IO

from bot.escape import escape, escape_lines

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_HANDLER = "paper-surfer"
# Chatty at INFO: one line per HTTP request, with the URL.
_QUIET = ("httpx", "httpcore", "apscheduler.executors.default", "slack_bolt.AsyncApp")


class Redact(logging.Filter):
    """Replaces each secret in the formatted message (arguments and tracebacks included)."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        text = record.exc_text or ""
        for secret in self._secrets:
            message = message.replace(secret, "***")
            text = text.replace(secret, "***")
        record.msg, record.args = message, None
        record.exc_text = text or None
        if record.exc_text:
            record.exc_info = None  # the redacted text stands in for the traceback
        return True


def _details(formatter: logging.Formatter, record: logging.LogRecord) -> str:
    """The record's traceback and stack, escaped; '' when it has none."""
    if record.exc_info and not record.exc_text:
        record.exc_text = formatter.formatException(record.exc_info)
    parts = [record.exc_text or "", formatter.formatStack(record.stack_info or "")]
    return escape_lines("\n".join(part for part in parts if part))


class TextFormatter(logging.Formatter):
    """`time LEVEL logger: message`, the message escaped, a traceback on the lines below."""

    def __init__(self) -> None:
        super().__init__(FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        record.message = escape(record.getMessage())
        record.asctime = self.formatTime(record, self.datefmt)
        line = self.formatMessage(record)
        details = _details(self, record)
        return f"{line}\n{details}" if details else line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (ISO 8601, UTC), level, logger, message[, exception]."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": escape(record.getMessage()),
        }
        details = _details(self, record)
        if details:
            entry["exception"] = details
        return json.dumps(entry, ensure_ascii=False)


def json_line(level: str, logger: str, message: str) -> str:
    """A line in the LOG_FORMAT=json layout, for text that does not go through `logging`."""
    record = logging.LogRecord(logger, logging.getLevelName(level), "", 0, message, None, None)
    return JsonFormatter().format(record)


def _ours() -> logging.Handler | None:
    for handler in logging.getLogger().handlers:
        if handler.get_name() == _HANDLER:
            return handler
    return None


def setup(
    level: str, secrets: Iterable[str], stream: IO[str] | None = None, *, log_format: str = "text"
) -> None:
    """Log to stderr at `level` in `format` (text or json), with `secrets` redacted."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(Redact(secrets))
    handler.set_name(_HANDLER)
    root = logging.getLogger()
    old = _ours()  # from an earlier call; other handlers stay
    while old is not None:
        root.removeHandler(old)
        old = _ours()
    root.addHandler(handler)
    root.setLevel(level)
    if level != "DEBUG":
        for name in _QUIET:
            logging.getLogger(name).setLevel(logging.WARNING)
