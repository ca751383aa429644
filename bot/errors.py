"""The errors of Paper Surfer, drawn once so every layer knows what it may catch.

PaperSurferError
├── ConfigError          a setting has a bad value; the program does not start
├── UsageError           a user's mistake in a command; answered with the usage line
│   └── QueryRefused     a query we refuse before asking PubMed (empty, too long, unbalanced)
├── PubMedError          E-utilities did not give us what we asked for
│   ├── PubMedUnreachable    network errors, timeouts, 5xx and 429 after every retry
│   ├── PubMedRejected       PubMed refused the request itself (bad query, bad parameters)
│   └── PubMedMalformed      the response is not the XML PubMed promises
├── ParseError           a PubMed XML file is broken; records before the fault were yielded
└── DeliveryFailed       a chat platform did not take a message (temporary or permanent)
"""

from __future__ import annotations


class PaperSurferError(Exception):
    """Base of every error this program raises on purpose."""


class ConfigError(PaperSurferError):
    """A setting has a value the program cannot run with."""

    def __init__(self, setting: str, problem: str) -> None:
        super().__init__(f"{setting}: {problem}")
        self.setting = setting


class UsageError(PaperSurferError):
    """A command was used wrongly; the message is meant for the user."""


class QueryRefused(UsageError):
    """A query we will not send to PubMed; `key` names the reason in `bot.i18n`."""

    def __init__(self, key: str, **params: object) -> None:
        from bot.i18n import t

        super().__init__(t("en", key, **params))
        self.key = key
        self.params = params

    def reason(self, language: str) -> str:
        from bot.i18n import t

        return t(language, self.key, **self.params)


class PubMedError(PaperSurferError):
    """E-utilities failed to answer a request as we needed."""


class PubMedUnreachable(PubMedError):
    """The service could not be reached or kept failing after every retry."""


class PubMedRejected(PubMedError):
    """PubMed refused the request (for example a query it cannot parse)."""


class PubMedMalformed(PubMedError):
    """The response was not the XML we expected (truncated, HTML, wrong root)."""


class ParseError(PaperSurferError):
    """A PubMed XML document is malformed or truncated at a known place."""


class DeliveryFailed(PaperSurferError):
    """A platform did not take a message.

    `permanent` means the chat can never receive again (bot blocked, chat deleted, channel
    archived): the chat is deactivated. Otherwise the outbox retries later, not before
    `retry_after` seconds when the platform said so.
    """

    def __init__(
        self, message: str, *, permanent: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after
