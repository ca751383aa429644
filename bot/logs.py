"""Logging for the whole program: one format, and secrets never written out.

Libraries log URLs and headers (httpx logs every Bot API URL, which carries the Telegram token);
a filter on the handler replaces every configured secret with *** before a line is written.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import IO

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


def setup(level: str, secrets: Iterable[str], stream: IO[str] | None = None) -> None:
    """Log to stderr at `level`, with `secrets` redacted from every line."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(Redact(secrets))
    handler.set_name(_HANDLER)
    root = logging.getLogger()
    for old in list(root.handlers):
        if old.get_name() == _HANDLER:  # ours from an earlier call; other handlers stay
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    if level != "DEBUG":
        for name in _QUIET:
            logging.getLogger(name).setLevel(logging.WARNING)
