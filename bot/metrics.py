"""What the bot counts for Prometheus (served at /metrics when HEALTH_PORT is set).

Every metric lives in the app's own CollectorRegistry, never prometheus_client's global one, so
two Apps in one process (tests) count apart. Recording is a labelled counter increment (a dict
lookup and a lock): cheap enough for every E-utilities attempt and every delivery.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, disable_created_metrics

from bot.health import POLL_RESULTS

# The outcome of one E-utilities HTTP attempt. Every outcome but "ok" and "rejected" is retried
# (bot/pubmed/client.py's RetryPolicy) until the call gives up.
EUTILS_OUTCOMES = (
    "ok",  # a usable answer
    "rejected",  # HTTP 4xx or an <ERROR> about the query: not retried
    "rate_limited",  # HTTP 429
    "server_error",  # HTTP 5xx
    "timeout",
    "connection_error",
    "unusable",  # a 200 that was cut short, malformed, or a temporary <ERROR> of PubMed's
)
DELIVERY_OUTCOMES = ("sent", "postponed", "retry", "gave_up", "chat_gone")


class Metrics:
    """The bot's counters and gauges, in a registry of their own."""

    def __init__(self) -> None:
        # No `_created` series beside each counter: they double the page and nobody reads them.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.polls = Counter(
            "paper_surfer_polls",
            "Poll cycles that ended, by result (ok; queries_failed: PubMed failed some queries, "
            "retried next poll; error: the cycle itself failed)",
            ["result"],
            registry=r,
        )
        self.eutils_requests = Counter(
            "paper_surfer_eutils_requests",
            "E-utilities HTTP attempts, by endpoint and outcome",
            ["endpoint", "outcome"],
            registry=r,
        )
        self.eutils_gave_up = Counter(
            "paper_surfer_eutils_gave_up",
            "E-utilities calls that failed after every retry, by endpoint",
            ["endpoint"],
            registry=r,
        )
        self.papers_stored = Counter(
            "paper_surfer_papers_stored", "Papers new to the database, stored by polls", registry=r
        )
        self.deliveries = Counter(
            "paper_surfer_deliveries",
            "Papers handed to a chat platform, by platform and outcome (sent; postponed: the "
            "platform asked to wait; retry: a temporary failure; gave_up: after the last "
            "attempt; chat_gone: the chat blocked or removed the bot)",
            ["platform", "outcome"],
            registry=r,
        )
        self.pending_deliveries = Gauge(
            "paper_surfer_pending_deliveries",
            "Deliveries owed to chats and not yet sent (read from the database at each scrape)",
            registry=r,
        )
        self.last_poll = Gauge(
            "paper_surfer_last_poll_timestamp_seconds",
            "When the last poll cycle ended (Unix time); 0 before the first",
            registry=r,
        )
        for result in POLL_RESULTS:  # every series exists from the start, at 0
            self.polls.labels(result)
        for endpoint in ("esearch", "efetch"):
            self.eutils_gave_up.labels(endpoint)
            for outcome in EUTILS_OUTCOMES:
                self.eutils_requests.labels(endpoint, outcome)

    def eutils_attempt(self, endpoint: str, outcome: str) -> None:
        """One HTTP attempt to esearch or efetch ended with `outcome` (one of EUTILS_OUTCOMES)."""
        self.eutils_requests.labels(endpoint, outcome).inc()

    def eutils_failed(self, endpoint: str) -> None:
        self.eutils_gave_up.labels(endpoint).inc()

    def poll_ended(self, result: str, new_papers: int, at: float) -> None:
        """A poll cycle ended at Unix time `at`."""
        self.polls.labels(result).inc()
        self.papers_stored.inc(new_papers)
        self.last_poll.set(at)

    def delivered(self, platform: str, outcome: str, papers: int) -> None:
        """`papers` papers for one chat on `platform` had `outcome` (one of DELIVERY_OUTCOMES)."""
        self.deliveries.labels(platform, outcome).inc(papers)
