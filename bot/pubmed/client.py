"""PubMed E-utilities over `requests`: esearch and efetch, rate-limited and retried.

NCBI allows 3 requests per second per site, 10 with an API key, and answers 429 beyond that.
One `RateLimiter` is shared by every thread of the process, so the limit holds however the work
is spread. Temporary failures (429, 5xx, timeouts, dropped connections, truncated bodies) are
retried with exponential backoff and jitter, a bounded number of times; what PubMed says about
a query (errors, phrases not found, its translation) comes back as data.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, TypeVar

import requests
from lxml import etree

from bot.errors import ParseError, PubMedMalformed, PubMedRejected, PubMedUnreachable
from bot.models import Paper, SearchResult
from bot.pubmed import ESEARCH_CAP as ESEARCH_CAP  # re-exported: its home before
from bot.pubmed.parse import parse_bytes

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.metrics import Metrics

log = logging.getLogger(__name__)
T = TypeVar("T")

EFETCH_BATCH = 200
# Messages inside <ERROR> that mean "try again", not "your query is wrong".
_TRANSIENT_ERRORS = ("backend failed", "temporarily unavailable", "timed out", "timeout")


CALM_AFTER = 60.0  # seconds without a 429 after which the limiter's margin narrows again


class RateLimiter:
    """Lets at most `rate` requests start in any window of one second, across all threads.

    A small margin on the window absorbs jitter between our clock and the server's; each 429
    widens it (`widen()`), since it means the jitter is larger than we allowed for, and each
    minute without one halves it again: one burst of jitter must not slow a bot that runs for
    weeks for good. A 429's Retry-After is applied to everyone through `hold()`. Starts are also
    kept half an even interval apart (1/20 s at 10/s): requests started at the same instant
    queue for the same CPU, and reach the server late by different amounts, which the margin
    would have to absorb (two 429s in 3,050 requests of bench/poll.py's load run before this).
    """

    def __init__(
        self,
        rate: float,
        *,
        margin: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        # A fractional rate (0.5/s) becomes one request per 2 s window.
        self._burst = max(1, int(rate))
        self._period = self._burst / rate
        self.margin = self._base_margin = margin
        self._window = self._period + margin
        self._widened_at = 0.0
        self._spread = self._period / self._burst / 2
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._starts: deque[float] = deque()
        self._hold_until = 0.0

    def acquire(self) -> None:
        """Block until this caller may send one request."""
        with self._lock:
            now = self._clock()
            if self.margin > self._base_margin and now - self._widened_at >= CALM_AFTER:
                self.margin = max(self._base_margin, self.margin / 2)
                self._window = self._period + self.margin
                self._widened_at = now  # the next halving after another calm minute
            slot = max(now, self._hold_until)
            if self._starts:
                slot = max(slot, self._starts[-1] + self._spread)
            if len(self._starts) >= self._burst:
                slot = max(slot, self._starts[0] + self._window)
                self._starts.popleft()
            self._starts.append(slot)
        if slot > now:
            self._sleep(slot - now)

    def widen(self, most: float = 0.25) -> None:
        """The server counted more requests in a window than we sent: allow more jitter."""
        with self._lock:
            self.margin = min(most, max(0.05, self.margin * 2))
            self._window = self._period + self.margin
            self._widened_at = self._clock()

    def hold(self, seconds: float) -> None:
        """Nobody starts a request for `seconds` from now."""
        with self._lock:
            self._hold_until = max(self._hold_until, self._clock() + seconds)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently temporary failures are retried."""

    attempts: int = 5
    backoff: float = 0.5  # first retry waits up to this long; doubles each time
    max_backoff: float = 16.0
    max_retry_after: float = 120.0  # a longer Retry-After is reported, not waited out

    def delay(self, attempt: int) -> float:
        """Full-jitter exponential backoff before retry number `attempt` (1-based)."""
        return random.uniform(0, min(self.max_backoff, self.backoff * 2 ** (attempt - 1)))


class EutilsClient:
    """esearch and efetch against one E-utilities base URL."""

    def __init__(
        self,
        base_url: str,
        *,
        tool: str = "paper-surfer",
        email: str = "",
        api_key: str = "",
        limiter: RateLimiter | None = None,
        max_rps: float | None = None,
        retry: RetryPolicy | None = None,
        timeout: tuple[float, float] = (10.0, 60.0),
        session: requests.Session | None = None,
        retry_log_level: int = logging.WARNING,
    ) -> None:
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self._identity = {"tool": tool}
        if email:
            self._identity["email"] = email
        if api_key:
            self._identity["api_key"] = api_key
        rate = max_rps if max_rps is not None else (10.0 if api_key else 3.0)
        self.limiter = limiter or RateLimiter(rate)
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        # The bot logs each retry as a warning; a one-shot command, whose contract is one line
        # on stderr when it fails, logs them at DEBUG.
        self.retry_log_level = retry_log_level
        self._local = threading.local()
        self._session = session
        self._count_lock = threading.Lock()
        self.requests_made = 0
        self.metrics: Metrics | None = None  # the app's, which counts every attempt's outcome

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: object) -> EutilsClient:
        return cls(
            settings.pubmed_eutils_url,
            tool=settings.ncbi_tool,
            email=settings.ncbi_email,
            api_key=settings.ncbi_api_key,
            max_rps=settings.ncbi_max_rps,
            **overrides,  # type: ignore[arg-type]
        )

    # --- esearch ------------------------------------------------------------------------------

    def esearch(
        self,
        term: str,
        *,
        mindate: date | None = None,
        maxdate: date | None = None,
        reldate: int | None = None,
        datetype: str = "edat",
        retmax: int = 20,
        retstart: int = 0,
        attempts: int | None = None,
    ) -> SearchResult:
        """One esearch request: ids of one page, the count and PubMed's messages.

        `attempts` overrides the retry policy's for a question not worth retrying.
        """
        params: dict[str, str] = {
            "db": "pubmed",
            "term": term,
            "retmax": str(max(0, min(retmax, ESEARCH_CAP))),
            "retstart": str(retstart),
        }
        if mindate or maxdate or reldate is not None:
            params["datetype"] = datetype
        if mindate or maxdate:
            params["mindate"] = (mindate or date(1800, 1, 1)).strftime("%Y/%m/%d")
            params["maxdate"] = (maxdate or date(3000, 1, 1)).strftime("%Y/%m/%d")
        if reldate is not None:
            params["reldate"] = str(reldate)
        return self._call("esearch.fcgi", params, "GET", _read_esearch, attempts)

    def search(
        self,
        term: str,
        *,
        limit: int = ESEARCH_CAP,
        page_size: int = ESEARCH_CAP,
        **window: object,
    ) -> SearchResult:
        """Every id of a query up to `limit` (at most PubMed's cap), paging with retstart."""
        limit = min(limit, ESEARCH_CAP)
        first = self.esearch(term, retmax=min(page_size, limit), **window)  # type: ignore[arg-type]
        pmids = list(first.pmids)
        requests_made = 1
        wanted = min(first.count, limit)
        while len(pmids) < wanted:
            page = self.esearch(
                term,
                retmax=min(page_size, wanted - len(pmids)),
                retstart=len(pmids),
                **window,  # type: ignore[arg-type]
            )
            requests_made += 1
            if not page.pmids:  # the result shrank while we paged; take what we have
                break
            pmids.extend(page.pmids)
        warnings = first.warnings
        if first.count > ESEARCH_CAP and limit == ESEARCH_CAP:
            warnings += (
                f"PubMed found {first.count:,} papers but lets us retrieve only the first "
                f"{ESEARCH_CAP:,}",
            )
        return SearchResult(
            count=first.count,
            pmids=tuple(dict.fromkeys(pmids)),  # paging can overlap when papers arrive meanwhile
            query_translation=first.query_translation,
            phrases_not_found=first.phrases_not_found,
            fields_not_found=first.fields_not_found,
            warnings=warnings,
            requests=requests_made,
        )

    # --- efetch -------------------------------------------------------------------------------

    def efetch(self, pmids: Iterable[str]) -> list[Paper]:
        """Full records of `pmids` (POST, at most 200 per request); unknown ids are left out."""
        wanted = list(dict.fromkeys(pmids))
        papers: list[Paper] = []
        for start in range(0, len(wanted), EFETCH_BATCH):
            batch = wanted[start : start + EFETCH_BATCH]
            params = {"db": "pubmed", "id": ",".join(batch), "retmode": "xml"}
            papers.extend(self._call("efetch.fcgi", params, "POST", _read_efetch))
        return papers

    # --- the one place where HTTP happens -----------------------------------------------------

    def _call(
        self,
        endpoint: str,
        params: Mapping[str, str],
        method: str,
        read: Callable[[bytes], T],
        attempts: int | None = None,
    ) -> T:
        url = self.base_url + endpoint
        tries = attempts or self.retry.attempts
        name = endpoint.removesuffix(".fcgi")
        payload = {**params, **self._identity}
        problem = ""
        malformed = False  # did the last attempt get an answer we could not use?
        for attempt in range(1, tries + 1):
            if attempt > 1:
                time.sleep(self.retry.delay(attempt - 1))
            self.limiter.acquire()
            with self._count_lock:
                self.requests_made += 1
            outcome = "rejected"  # what the attempt's outcome is when a branch below raises
            try:
                if method == "POST":
                    response = self._http().post(url, data=payload, timeout=self.timeout)
                else:
                    response = self._http().get(url, params=payload, timeout=self.timeout)
                body = response.content
            except requests.Timeout:
                problem, malformed, outcome = "timed out", False, "timeout"
            except requests.RequestException as exc:
                problem, malformed = f"connection failed ({type(exc).__name__})", False
                outcome = "connection_error"
            else:
                malformed = False
                status = response.status_code
                if status == 429:
                    outcome = "rate_limited"
                    retry_after = _retry_after(response.headers.get("Retry-After"))
                    problem = "rate limited (HTTP 429)"
                    self.limiter.widen()
                    if retry_after is not None:
                        if retry_after > self.retry.max_retry_after:
                            raise PubMedUnreachable(
                                f"PubMed asks us to wait {retry_after:.0f} s before the next "
                                "request; try again later"
                            )
                        self.limiter.hold(retry_after)
                elif status >= 500:
                    problem, outcome = f"HTTP {status}", "server_error"
                elif status >= 400:
                    raise PubMedRejected(
                        f"PubMed refused the request (HTTP {status}): {_error_message(body)}"
                    )
                else:
                    try:
                        answer = read(body)
                    except _Transient as exc:
                        problem, outcome = str(exc), "unusable"
                        malformed = exc.malformed
                    else:
                        outcome = "ok"
                        return answer
            finally:
                if self.metrics is not None:
                    self.metrics.eutils_attempt(name, outcome)
            log.log(
                self.retry_log_level,
                "%s attempt %d/%d: %s",
                endpoint,
                attempt,
                tries,
                problem,
            )
        if self.metrics is not None:
            self.metrics.eutils_failed(name)
        if malformed:
            raise PubMedMalformed(
                f"PubMed kept sending an unusable answer to {endpoint}: {problem}"
            )
        raise PubMedUnreachable(
            f"PubMed is unreachable at {self.base_url}: {problem} (after {tries} attempts)"
        )

    def _http(self) -> requests.Session:
        """A session per thread: requests.Session is not documented as thread-safe."""
        if self._session is not None:
            return self._session
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["User-Agent"] = f"{self._identity['tool']} (python-requests)"
            self._local.session = session
        return session


class _Transient(Exception):
    """A 200 answer we cannot use but that a retry may fix (truncated, backend hiccup)."""

    def __init__(self, message: str, *, malformed: bool = True) -> None:
        super().__init__(message)
        self.malformed = malformed


_XML_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True
)


def _read_esearch(body: bytes) -> SearchResult:
    try:
        root = etree.fromstring(body, _XML_PARSER)
    except etree.XMLSyntaxError as exc:
        raise _Transient(f"malformed esearch XML: {exc.msg}") from exc
    if root.tag != "eSearchResult":
        raise _Transient(f"malformed esearch answer: root element <{root.tag}>")
    error = " ".join((root.findtext("ERROR") or "").split())
    if error:
        if _is_transient(error):
            raise _Transient(f"PubMed reported a temporary error: {error}", malformed=False)
        raise PubMedRejected(f"PubMed rejected the query: {error}")
    count_text = root.findtext("Count")
    if count_text is None or not count_text.strip().isdigit():
        raise _Transient("malformed esearch answer: no Count")
    warnings = [
        f"{_words(w.tag)}: {_words(w.text)}"
        for w in root.iterfind("WarningList/*")
        if w.tag not in ("OutputMessage", "QuotedPhraseNotFound") and w.text
    ]
    warnings += [_words(w.text) for w in root.iterfind("WarningList/OutputMessage") if w.text]
    return SearchResult(
        count=int(count_text),
        pmids=tuple(i.text.strip() for i in root.iterfind("IdList/Id") if i.text),
        query_translation=" ".join((root.findtext("QueryTranslation") or "").split()),
        # An unquoted term PubMed lacks is an error, a quoted one a warning; both were dropped.
        phrases_not_found=_all_text(root, "ErrorList/PhraseNotFound")
        + _all_text(root, "WarningList/QuotedPhraseNotFound"),
        fields_not_found=_all_text(root, "ErrorList/FieldNotFound"),
        warnings=tuple(warnings),
    )


def _read_efetch(body: bytes) -> list[Paper]:
    head = body[:2000].lower()
    if b"<error>" in head and b"<pubmedarticle" not in head:
        message = _error_message(body)
        if _is_transient(message):
            raise _Transient(f"PubMed reported a temporary error: {message}", malformed=False)
        raise PubMedRejected(f"PubMed refused the efetch request: {message}")
    try:
        return parse_bytes(body, "efetch answer")
    except ParseError as exc:
        raise _Transient(f"malformed efetch XML: {exc}") from exc


def _is_transient(error: str) -> bool:
    """Backend hiccups are worth a retry; "Search Backend failed: 'retstart' cannot be larger
    than 9998" is not, whatever its first words say."""
    lowered = error.lower()
    if "cannot be larger" in lowered or "can only retrieve" in lowered:
        return False
    return any(marker in lowered for marker in _TRANSIENT_ERRORS)


def _words(text: str | None) -> str:
    return " ".join((text or "").split())


def _all_text(root: etree._Element, path: str) -> tuple[str, ...]:
    return tuple(_words(e.text) for e in root.iterfind(path) if e.text and e.text.strip())


def _error_message(body: bytes) -> str:
    """The human part of an E-utilities error body (JSON `error`, XML `<ERROR>`, or text)."""
    text = body.decode("utf-8", "replace").strip()
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if isinstance(value, dict) and value.get("error"):
            return str(value["error"])
    if "<ERROR>" in text:
        return _words(text.split("<ERROR>", 1)[1].split("</ERROR>", 1)[0])
    return _words(text)[:200] or "no details given"


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
