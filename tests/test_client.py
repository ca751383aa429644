"""The E-utilities client against a loopback fake of NCBI: limits, retries, PubMed messages."""

from __future__ import annotations

import socket
import threading
import time
from datetime import date

import pytest
from servers.eutils import FakeEutils

from bot.errors import PubMedMalformed, PubMedRejected, PubMedUnreachable
from bot.pubmed.client import EFETCH_BATCH, EutilsClient, RateLimiter, RetryPolicy

SAMPLE = "fatcat__pubmedsample_2019.xml"
FAST_RETRY = RetryPolicy(attempts=4, backoff=0.01, max_backoff=0.05)


@pytest.fixture
def fake(sample_pubmed: FakeEutils) -> FakeEutils:
    sample_pubmed.reset()
    sample_pubmed.rate_limit = None
    return sample_pubmed


def client_for(fake: FakeEutils, **options: object) -> EutilsClient:
    options.setdefault("retry", FAST_RETRY)
    options.setdefault("max_rps", 50.0)
    options.setdefault("email", "dev@example.org")
    return EutilsClient(fake.url, **options)  # type: ignore[arg-type]


def test_every_request_carries_tool_email_and_api_key(fake: FakeEutils) -> None:
    """NCBI asks for tool, email and api_key on every request, searches and fetches alike."""
    client = client_for(fake, api_key="key-123", tool="ps-test")
    result = client.esearch("neoplasms")
    client.efetch(result.pmids)
    assert len(fake.requests) == 2
    for request in fake.requests:
        assert request.params["tool"] == "ps-test"
        assert request.params["email"] == "dev@example.org"
        assert request.params["api_key"] == "key-123"


def test_efetch_posts_at_most_200_ids_per_request(fake: FakeEutils) -> None:
    """A long id list is split into POSTs of at most 200 ids; unknown ids are simply missing."""
    known = list(client_for(fake).esearch("humans", retmax=500).pmids)
    asked = known + [str(90_000_000 + i) for i in range(450 - len(known))]
    fake.reset()
    papers = client_for(fake).efetch(asked)
    assert {p.pmid for p in papers} == set(known)
    assert [r.method for r in fake.requests] == ["POST", "POST", "POST"]
    sizes = [len(r.params["id"].split(",")) for r in fake.requests]
    assert sizes == [EFETCH_BATCH, EFETCH_BATCH, 50]


def test_unknown_pmid_gives_an_empty_list(fake: FakeEutils) -> None:
    """efetch of a PMID PubMed does not have returns nothing, not an error."""
    assert client_for(fake).efetch(["999999999"]) == []


def test_phrase_not_found_comes_back_with_the_results(fake: FakeEutils) -> None:
    """PubMed drops an unknown phrase, says so, and still returns the rest of the query's hits."""
    result = client_for(fake).esearch("neoplasms zzqxunknown")
    assert result.phrases_not_found == ("zzqxunknown",)
    assert result.count == 11
    assert len(result.pmids) == 11
    assert result.query_translation


def test_no_results_is_data_not_an_error(fake: FakeEutils) -> None:
    """A query with no hits gives count 0 and PubMed's 'No items found.' warning."""
    result = client_for(fake).esearch('"completely absent phrase"')
    assert result.count == 0
    assert result.pmids == ()
    assert "No items found." in result.warnings


def test_paging_with_retstart_returns_every_id_once(fake: FakeEutils) -> None:
    """search() pages with retstart when the page size is smaller than the count."""
    whole = client_for(fake).search("humans")
    fake.reset()
    paged = client_for(fake).search("humans", page_size=40)
    assert paged.pmids == whole.pmids
    assert len(paged.pmids) == whole.count == 109
    assert [r.params["retstart"] for r in fake.requests] == ["0", "40", "80"]
    assert paged.requests == 3


def test_a_date_window_is_sent_as_entrez_dates(fake: FakeEutils) -> None:
    """mindate/maxdate go out as YYYY/MM/DD with datetype=edat, and PubMed filters by them."""
    result = client_for(fake).esearch(
        "humans", mindate=date(2017, 1, 1), maxdate=date(2018, 12, 31)
    )
    params = fake.requests[-1].params
    assert (params["datetype"], params["mindate"], params["maxdate"]) == (
        "edat",
        "2017/01/01",
        "2018/12/31",
    )
    assert 0 < result.count < 109


def test_a_rejected_query_is_a_clear_error_without_retries(fake: FakeEutils) -> None:
    """An <ERROR> about the query itself is PubMedRejected at once: retrying cannot fix it."""
    with pytest.raises(PubMedRejected, match="Empty term"):
        client_for(fake).esearch("")
    assert len(fake.requests) == 1


def test_http_400_is_rejected_with_ncbis_message(fake: FakeEutils) -> None:
    """A 4xx answer is not retried, and the error carries NCBI's own message."""
    fake.inject("status", endpoint="esearch", status=400, body='{"error":"API key invalid"}')
    with pytest.raises(PubMedRejected, match="API key invalid"):
        client_for(fake).esearch("neoplasms")
    assert len(fake.requests) == 1


def test_500_then_success(fake: FakeEutils) -> None:
    """A server error is retried and the second answer is used."""
    fake.inject("status", endpoint="esearch", status=500)
    assert client_for(fake).esearch("neoplasms").count == 11
    assert [r.status for r in fake.requests] == [500, 200]


def test_429_then_success_waits_the_retry_after(fake: FakeEutils) -> None:
    """After a 429 with Retry-After: 1 the next request comes at least a second later."""
    fake.inject("429", endpoint="esearch", retry_after=1)
    client = client_for(fake)
    assert client.esearch("neoplasms").count == 11
    assert client.limiter.margin > 0.03  # it learnt that its margin was too thin
    first, second = fake.requests
    assert (first.status, second.status) == (429, 200)
    assert second.at - first.at >= 0.95


def test_retry_after_beyond_patience_is_reported_not_waited(fake: FakeEutils) -> None:
    """A Retry-After of an hour is not slept through: the caller hears it at once."""
    fake.inject("429", endpoint="esearch", retry_after=3600)
    started = time.monotonic()
    with pytest.raises(PubMedUnreachable, match="3600"):
        client_for(fake).esearch("neoplasms")
    assert time.monotonic() - started < 5


def test_gives_up_after_the_bound_with_a_clear_error(fake: FakeEutils) -> None:
    """Five hundred errors in a row end after the configured attempts with a readable error."""
    fake.inject("status", endpoint="esearch", status=503, times=10)
    with pytest.raises(PubMedUnreachable, match=r"HTTP 503 \(after 4 attempts\)"):
        client_for(fake).esearch("neoplasms")
    assert len(fake.requests) == 4


@pytest.mark.parametrize("kind", ["truncate", "disconnect", "html"])
def test_broken_answers_are_retried(fake: FakeEutils, kind: str) -> None:
    """A truncated body, a dropped connection or an HTML outage page is retried."""
    pmids = _some_pmids(fake)
    fake.inject(kind, endpoint="efetch")
    papers = client_for(fake).efetch(pmids)
    assert len(papers) == 3
    assert len([r for r in fake.requests if r.endpoint == "efetch"]) == 2


def test_timeouts_are_retried(fake: FakeEutils) -> None:
    """An answer slower than the read timeout is abandoned and asked again."""
    fake.inject("slow", endpoint="esearch", seconds=1.5)
    client = client_for(fake, timeout=(1.0, 0.5))
    assert client.esearch("neoplasms").count == 11
    assert len(fake.requests) == 2


def test_malformed_xml_every_time_is_a_malformed_error(fake: FakeEutils) -> None:
    """A well-delivered but broken XML answer, again and again, ends as PubMedMalformed."""
    pmids = _some_pmids(fake)
    fake.inject("cut_xml", endpoint="efetch", times=10)
    with pytest.raises(PubMedMalformed, match="efetch"):
        client_for(fake).efetch(pmids)


def test_unreachable_host_is_a_clear_error() -> None:
    """Nothing listening at the URL: PubMedUnreachable naming the URL, after the retries."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = EutilsClient(f"http://127.0.0.1:{port}/eutils/", retry=FAST_RETRY)
    with pytest.raises(PubMedUnreachable, match=f"127.0.0.1:{port}.*connection failed"):
        client.esearch("neoplasms")


def test_rate_limit_holds_across_threads(fake: FakeEutils) -> None:
    """Four threads sharing one client never start more than 10 requests in any second, and the
    server, enforcing NCBI's limit, never has to answer 429."""
    starts: list[float] = []

    class Recording(RateLimiter):
        def acquire(self) -> None:
            super().acquire()
            starts.append(time.monotonic())

    fake.rate_limit = 10
    fake.rate_window = 0.97  # tolerate 30 ms of thread scheduling between client and server
    client = client_for(fake, limiter=Recording(10.0))

    def work() -> None:
        for _ in range(8):
            client.esearch("neoplasms")

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(fake.requests) == 32
    assert all(r.status == 200 for r in fake.requests)  # the fake never had to say 429
    starts.sort()
    for earlier, later in zip(starts, starts[10:], strict=False):
        assert later - earlier >= 1.0
    arrivals = [r.at for r in fake.requests]
    for earlier, later in zip(arrivals, arrivals[10:], strict=False):
        assert later - earlier >= 0.97
    assert starts[-1] - starts[0] >= (32 - 10) / 10


def test_limiter_spaces_bursts_by_the_window() -> None:
    """With a fake clock: rate 3 lets three requests go 1/6 s apart, the fourth a second after
    the first."""
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(3, margin=0.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(7):
        limiter.acquire()
    assert slept == pytest.approx([1 / 6, 1 / 6, 2 / 3, 1 / 6, 1 / 6, 2 / 3])
    assert sum(slept) == pytest.approx(2.0)  # requests 1, 4 and 7 one second apart
    limiter.hold(5)
    limiter.acquire()
    assert slept[-1] == pytest.approx(5.0)


def test_a_429_widens_the_limiters_margin() -> None:
    """Each 429 doubles the margin for clock jitter (to at least 50 ms), up to a quarter second."""
    limiter = RateLimiter(10, margin=0.03)
    margins = []
    for _ in range(5):
        limiter.widen()
        margins.append(limiter.margin)
    assert margins == pytest.approx([0.06, 0.12, 0.24, 0.25, 0.25])


def test_the_margin_narrows_again_after_a_calm_minute() -> None:
    """After a 429 the wider margin holds for a minute; then each calm minute halves it, back
    to where it started, so one burst of jitter does not slow the bot for good."""
    now = [100.0]
    limiter = RateLimiter(10, margin=0.05, clock=lambda: now[0], sleep=lambda s: None)
    limiter.widen()
    limiter.widen()
    assert limiter.margin == pytest.approx(0.2)
    now[0] += 59
    limiter.acquire()
    assert limiter.margin == pytest.approx(0.2)
    now[0] += 1
    limiter.acquire()
    assert limiter.margin == pytest.approx(0.1)
    now[0] += 60
    limiter.acquire()
    now[0] += 60
    limiter.acquire()
    assert limiter.margin == pytest.approx(0.05)


def _some_pmids(fake: FakeEutils) -> list[str]:
    """Three PMIDs the fake knows, found without recording a request."""
    pmids = list(client_for(fake).esearch("neoplasms", retmax=3).pmids)
    fake.reset()
    return pmids
