"""A fake NCBI E-utilities server (PubMed esearch and efetch) on loopback, for tests.

It is the yardstick the project's client and parser are measured against, so it imports nothing
from `bot`, `handlers` or `storage`: it reads the records with lxml itself and answers in the
byte layout of the real NCBI captures in tests/fixtures/pubmed.

    with FakeEutils(rate_limit=3.0) as fake:
        fake.load(fixture("fatcat__pubmedsample_2019.xml"))
        requests.get(fake.url + "esearch.fcgi", params={"db": "pubmed", "term": "cancer"})

What it mimics
--------------
* `esearch.fcgi` and `efetch.fcgi` under `<base>/`, GET (query string) or POST (form body).
  Anything else is a 404 with a short HTML page. Every request is recorded in `requests`.
* NCBI's rate limit: at most `rate_limit` requests in any sliding 1 s window per client IP, or
  `keyed_rate_limit` per `api_key`; beyond that HTTP 429 with NCBI's JSON body, `Retry-After: 1`
  and X-RateLimit-Limit / X-RateLimit-Remaining (also sent on normal answers). A 429 does not
  count toward the window. Bodies are gzip-encoded when the client accepts it (like NCBI).
* esearch: `db`, `term`, `field`, `retmax` (default 20, capped at 9,999), `retstart` (at most
  9,998), `datetype` (edat default, pdat, mdat, mhda), `mindate`/`maxdate` (YYYY, YYYY/MM,
  YYYY/MM/DD, inclusive; maxdate defaults to `today`), `reldate`. Results: visible records
  sorted by Entrez date, newest first, then PMID descending (so `retmax=1` gives the record
  entered last, as PubMed's "most recent" order does). In-band `<ERROR>`s for a wrong db, an
  empty term and retstart > 9998, with NCBI's wording.
* efetch: `db`, `id` (comma-separated); the raw bytes of each known visible record, in the order
  asked, in NCBI's PubmedArticleSet envelope (their Entrez, MeSH and revised dates moved by
  `shift_dates`); unknown ids are left out. No `id` gives NCBI's
  "Empty id list - nothing todo"; an `id` with no well-formed id gives its HTTP 400.

The query language
------------------
Quoted phrases, bare words, a `[tag]` right after a term (case-insensitive; `:noexp` and other
`:suffix`es are accepted and ignored), AND / OR / NOT in capitals evaluated strictly left to right
(PubMed has no precedence), adjacent terms = AND, parentheses, a trailing `*` wildcard. A tag after
several bare words applies to the whole run as one phrase (`smith j[au]`, `kidney allograft[tiab]`).
Words are compared whole, case- and diacritic-insensitively, after splitting on anything that is
not a letter or digit; a phrase must appear as consecutive words within one field value.

Fields: untagged and [all] = title, abstract, keywords, MeSH, authors, journal; [tiab] = title,
abstract (incl. OtherAbstract) and author keywords (as PubMed documents it); [tw] = title,
abstract, keywords, MeSH, publication types; [ti], [ab], [ot]/[kw], [mh], [majr], [ta]/[journal],
[pt], [la] (code or English name); [au]: "smith j" = last name Smith with initials starting
with J (or "smith john"), or words of a CollectiveName; [pmid]/[uid]; [sb] (`all[sb]` = every
record, `hasabstract[sb]`); date tags [dp]/[pdat], [edat], [mdat]/[lr] (DateRevised) and
[mhda] (the MeSH date: the History date with PubStatus "medline", as MEDLINE format's MHDA; the
Entrez date when there is none) with a value or a range (`2021/06/01:2021/06/08[edat]`), also
OR-ed with each other and with the query (`(asthma[mh]) AND (2021/06/06:2021/06/07[edat] OR
2021/06/06:2021/06/07[mhda])`), shifted like mindate/maxdate by `shift_dates`. A bare
`hasabstract` is understood too.

Records that change after they entered
--------------------------------------
Most records enter PubMed without MeSH headings and get them days or weeks later, their Entrez
date unchanged. `withhold_headings(pmids)` serves loaded records as they entered (no headings,
MeSH and modification date = Entrez date); `add_headings(pmids, on=day)` indexes them: from then
they are found by their headings and by `day` as their [mhda] and [mdat], and efetch serves them
whole, with that DateRevised.

What PubMed reports about a query, the way it reports it: an unquoted term that matches nothing
among the visible records -> `ErrorList/PhraseNotFound` and the query is evaluated as if the term
were not there (`cancer AND zzq` = `cancer`); a quoted phrase likewise, but reported as
`WarningList/QuotedPhraseNotFound` ("with its quotes"); an unknown field tag ->
`ErrorList/FieldNotFound` and the term is searched in all fields; an untagged, unquoted stopword ->
`WarningList/PhraseIgnored` and dropped; Count 0 -> `WarningList/OutputMessage` "No items found.".
A page cut short by the 9,999 cap gets NCBI's "Restrictions achieved..." OutputMessage.
`TranslationSet` is always empty (no automatic term mapping); `QueryTranslation` is the query as
evaluated, e.g. `("liver metastases"[All Fields]) AND chemotherapy[All Fields] AND
2021/06/01:2021/06/08[Date - Entry]`.

Invented by the fake (NCBI's behaviour unknown): an `<ERROR>` for a malformed mindate/maxdate/
reldate/retmax/retstart or an unknown datetype, and for efetch retmode other than xml. Not done:
usehistory/WebEnv/query_key, retmode=json, sort, automatic term mapping, MeSH explosion.

Faults: `inject(kind, endpoint="esearch"|"efetch"|"*", times=1, **options)`, see `inject`.
"""

from __future__ import annotations

import calendar
import contextlib
import dataclasses
import functools
import gzip
import http
import json
import re
import socket
import socketserver
import threading
import time
import traceback
import unicodedata
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from xml.sax.saxutils import escape

from lxml import etree

__all__ = ["FAULT_KINDS", "FakeEutils", "Recorded"]

BASE_PATH = "/entrez/eutils/"
ESEARCH_CAP = 9_999  # PubMed's esearch hands out only the first 9,999 ids of a result
FAULT_KINDS = frozenset(
    {"status", "429", "slow", "truncate", "cut_xml", "disconnect", "error", "html"}
)

ESEARCH_PROLOG = (
    b'<?xml version="1.0" encoding="UTF-8" ?>\n'
    b'<!DOCTYPE eSearchResult PUBLIC "-//NLM//DTD esearch 20060628//EN" '
    b'"https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20060628/esearch.dtd">\n'
)
EFETCH_PROLOG = (
    b'<?xml version="1.0" ?>\n'
    b'<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2025//EN" '
    b'"https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">\n'
)
# NCBI's own DOCTYPE really says "eEfetchResult" (live captures, 2025-2026).
EFETCH_ERROR_PROLOG = (
    b'<?xml version="1.0" encoding="UTF-8" ?>\n'
    b'<!DOCTYPE eEfetchResult PUBLIC "-//NLM//DTD efetch 20131226//EN" '
    b'"https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20131226/efetch.dtd">\n'
)
RETSTART_ERROR = (
    "Search Backend failed: Exception:\n'retstart' cannot be larger than 9998. For PubMed, "
    "ESearch can only retrieve the first 9,999 records matching the query. To obtain more than "
    "9,999 PubMed records, consider using EDirect that contains additional logic to batch "
    "PubMed search results automatically so that an arbitrary number can be retrieved. For "
    "details see https://www.ncbi.nlm.nih.gov/books/NBK25499/"
)
XML_TYPE = "text/xml; charset=UTF-8"
HTML_TYPE = "text/html; charset=UTF-8"
JSON_TYPE = "application/json"
NOT_FOUND_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head>"
    b"<body><h1>Not Found</h1><p>The requested URL was not found on this server.</p>"
    b"</body></html>\n"
)
OUTAGE_PAGE = (
    b'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
    b"<title>NCBI - Service Unavailable</title></head><body><h1>Service unavailable</h1>"
    b"<p>The E-utilities are temporarily unavailable for maintenance. "
    b"Please try again later.</p></body></html>\n"
)

# PubMed's published stopword list.
STOPWORDS = frozenset(
    """a about again all almost also although always among an and another any are as at be
    because been before being between both but by can could did do does done due during each
    either enough especially etc for found from further had has have having here how however i
    if in into is it its itself just kg km made mainly make may mg might ml mm most mostly must
    nearly neither no nor obtained of often on our overall perhaps pmid quite rather really
    regarding seem seen several should show showed shown shows significantly since so some such
    than that the their theirs them then there therefore these they this those through thus to
    upon use used using various very was we were what when which while with within without
    would""".split()  # noqa: SIM905 - a 130-word list literal would fill two screens
)

LANGUAGES = {
    "afr": "afrikaans", "ara": "arabic", "bul": "bulgarian", "cat": "catalan", "chi": "chinese",
    "cze": "czech", "dan": "danish", "dut": "dutch", "eng": "english", "est": "estonian",
    "fin": "finnish", "fre": "french", "geo": "georgian", "ger": "german", "gre": "greek",
    "heb": "hebrew", "hrv": "croatian", "hun": "hungarian", "ice": "icelandic",
    "ind": "indonesian", "ita": "italian", "jpn": "japanese", "kor": "korean", "lav": "latvian",
    "lit": "lithuanian", "mul": "multiple languages", "nor": "norwegian", "per": "persian",
    "pol": "polish", "por": "portuguese", "rum": "romanian", "rus": "russian", "slo": "slovak",
    "slv": "slovenian", "spa": "spanish", "srp": "serbian", "swe": "swedish", "tha": "thai",
    "tur": "turkish", "ukr": "ukrainian", "und": "undetermined", "vie": "vietnamese",
}  # fmt: skip

# Tag (lower case, spaces collapsed, ":suffix" removed) -> what it searches.
TAGS = {
    "all": "all", "all fields": "all",
    "tw": "tw", "text word": "tw", "textword": "tw",
    "tiab": "tiab", "title/abstract": "tiab",
    "ti": "ti", "title": "ti",
    "ab": "ab", "abstract": "ab",
    "ot": "kw", "kw": "kw", "keyword": "kw", "keywords": "kw", "other term": "kw",
    "mh": "mh", "mesh": "mh", "mesh terms": "mh", "mesh term": "mh",
    "majr": "majr", "mesh major topic": "majr",
    "au": "au", "author": "au", "auth": "au", "fau": "au", "full author name": "au",
    "ta": "ta", "journal": "ta", "jour": "ta",
    "pt": "pt", "publication type": "pt", "ptyp": "pt",
    "la": "la", "language": "la", "lang": "la",
    "pmid": "pmid", "uid": "pmid",
    "sb": "sb", "subset": "sb", "filter": "sb",
    "dp": "pdat", "pdat": "pdat", "publication date": "pdat", "date - publication": "pdat",
    "edat": "edat", "entry date": "edat", "entrez date": "edat", "date - entry": "edat",
    "mdat": "mdat", "lr": "mdat", "modification date": "mdat", "date - modification": "mdat",
    "mhda": "mhda", "mesh date": "mhda", "date - mesh": "mhda",
}  # fmt: skip
TAG_NAMES = {
    "all": "All Fields", "tw": "Text Word", "tiab": "Title/Abstract", "ti": "Title",
    "ab": "Abstract", "kw": "Other Term", "mh": "MeSH Terms", "majr": "MeSH Major Topic",
    "au": "Author", "ta": "Journal", "pt": "Publication Type", "la": "Language", "pmid": "UID",
    "sb": "sb",
    "pdat": "Date - Publication", "edat": "Date - Entry", "mdat": "Date - Modification",
    "mhda": "Date - MeSH",
}  # fmt: skip
FIELDS = {
    "all": ("ti", "ab", "kw", "mh", "au", "jour"),
    "tw": ("ti", "ab", "kw", "mh", "pt"),
    "tiab": ("ti", "ab", "kw"),
    "ti": ("ti",),
    "ab": ("ab",),
    "kw": ("kw",),
    "mh": ("mh",),
    "majr": ("majr",),
    "ta": ("jour",),
    "pt": ("pt",),
    "la": ("la",),
}
DATE_KINDS = ("pdat", "edat", "mdat", "mhda")
FLOOR_DATE = date(1800, 1, 1)
MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_abbr) if m}


# --- what the server remembers ---


@dataclass
class Recorded:
    """One request as the fake received it, and the HTTP status it answered (0 = none)."""

    endpoint: str  # "esearch", "efetch", or the unknown path's last part
    method: str
    params: dict[str, str]  # query string and form body merged; repeated keys joined by ","
    at: float  # time.monotonic() on arrival
    status: int = 0

    @property
    def id_count(self) -> int:
        """How many ids the request's `id` parameter named."""
        return len([i for i in re.split(r"[,\s]+", self.params.get("id", "")) if i])


@dataclass(slots=True)
class _Record:
    pmid: str
    raw: bytes
    edat: date | None
    pdates: tuple[date, ...]
    mdat: date | None
    mhda: date | None  # the MeSH date: when headings were added; the Entrez date until then
    text: dict[str, str]  # field -> " w w w \n w w " (one line per value)
    authors: tuple[tuple[tuple[str, ...], tuple[str, ...], str], ...]  # (last, fore, initials)
    collectives: str
    has_abstract: bool
    # esearch's order: Entrez date, then PMID (computed once: sorting a big result by it is
    # much of a search's time).
    order: tuple[int, int] = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        self.order = (self.edat.toordinal() if self.edat else 0, int(self.pmid))


@dataclass
class _Fault:
    kind: str
    endpoint: str
    left: int
    options: dict[str, Any]


# --- reading NLM / efetch files ---

_RECORD_START = re.compile(rb"<(PubmedArticle|PubmedBookArticle)[\s>]")
_PMID = re.compile(rb"<PMID[^>]*>\s*(\d+)\s*</PMID>")
_WORD = re.compile(r"[^\W_]+")
_AUTHOR_PARTS = etree.XPath(
    "AuthorList[not(@Type) or @Type='authors']/Author"
    "/*[self::LastName or self::ForeName or self::Initials or self::CollectiveName]"
)
_PUBLICATION_TYPES = etree.XPath("PublicationTypeList/PublicationType | PublicationType")
_COMBINING = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def _raw_records(path: Path) -> Iterator[bytes]:
    """The exact bytes of each PubmedArticle / PubmedBookArticle of a file, streamed.

    Records are top-level children of PubmedArticleSet and never nest, and a "<" in XML text is
    always markup, so a record runs from its start tag to the first matching end tag.
    """
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as stream:
        buf, pos = b"", 0
        while chunk := stream.read(1 << 22):
            buf, pos = buf[pos:] + chunk, 0
            while True:
                start = _RECORD_START.search(buf, pos)
                if start is None:
                    pos = max(pos, len(buf) - 32)  # a start tag may straddle chunks
                    break
                end_tag = b"</" + start.group(1) + b">"
                end = buf.find(end_tag, start.end())
                if end < 0:
                    pos = start.start()
                    break
                end += len(end_tag)
                yield buf[start.start() : end]
                pos = end


def _renumber(raw: bytes, old: str, new: str) -> bytes:
    """The record's bytes with its own PMID (the first PMID element, and the pubmed ArticleId of
    its PubmedData) changed; the PMIDs it cites or corrects are left alone."""
    raw = re.sub(
        rb"(<PMID[^>]*>\s*)" + old.encode() + rb"(\s*</PMID>)",
        rb"\g<1>" + new.encode() + rb"\g<2>",
        raw,
        count=1,
    )
    data = raw.find(b"<PubmedData")
    if data < 0:
        data = raw.find(b"<PubmedBookData")
    head, tail = raw[:data], raw[data:]
    tail = tail.replace(
        b'<ArticleId IdType="pubmed">' + old.encode() + b"</ArticleId>",
        b'<ArticleId IdType="pubmed">' + new.encode() + b"</ArticleId>",
        1,
    )
    return head + tail


def _set_date(raw: bytes, start: bytes, end: bytes, day: date) -> bytes:
    """The record's bytes with the Year/Month/Day of the element between `start` and `end`."""
    at = raw.find(start)
    if at < 0:
        return raw
    stop = raw.find(end, at)
    inner = raw[at + len(start) : stop]
    for tag, value in ((b"Year", day.year), (b"Month", day.month), (b"Day", day.day)):
        text = f"{value:02d}".encode()
        inner = re.sub(
            b"<" + tag + b">[^<]*</" + tag + b">",
            b"<" + tag + b">" + text + b"</" + tag + b">",
            inner,
            count=1,
        )
    return raw[: at + len(start)] + inner + raw[stop:]


_PROCESSING_DATE = re.compile(
    rb'(<PubMedPubDate PubStatus="(?:entrez|pubmed|medline)">|<DateRevised>)\s*'
    rb"<Year>(\d+)</Year>\s*<Month>(\d+)</Month>\s*<Day>(\d+)</Day>"
)


def _shifted(raw: bytes, shift: timedelta) -> bytes:
    """The record's bytes with the dates PubMed gives it (Entrez, MeSH, revised) moved by
    `shift`, so that a corpus served as this week's says so in efetch too."""

    def move(found: re.Match[bytes]) -> bytes:
        day = _safe_date(int(found.group(2)), int(found.group(3)), int(found.group(4)))
        if day is None:
            return found.group(0)
        day += shift
        return b"%s<Year>%d</Year><Month>%02d</Month><Day>%02d</Day>" % (
            found.group(1),
            day.year,
            day.month,
            day.day,
        )

    return _PROCESSING_DATE.sub(move, raw)


def _without_headings(record: _Record) -> _Record:
    """The record as it entered PubMed: no MeshHeadingList, In-Process, its MeSH date and
    modification date its Entrez date."""
    raw = re.sub(rb"\s*<MeshHeadingList>.*?</MeshHeadingList>", b"", record.raw, flags=re.S)
    raw = raw.replace(b'Status="MEDLINE"', b'Status="In-Process"', 1)
    if record.edat is not None:
        raw = _set_date(raw, b"<DateRevised>", b"</DateRevised>", record.edat)
        raw = _set_date(
            raw, b'<PubMedPubDate PubStatus="medline">', b"</PubMedPubDate>", record.edat
        )
    text = {**record.text, "mh": "", "majr": ""}
    return dataclasses.replace(record, raw=raw, text=text, mdat=record.edat, mhda=record.edat)


@functools.lru_cache(maxsize=4)
def _read_file(
    path: str, mtime_ns: int, size: int, limit: int | None, wanted: frozenset[str] | None
) -> tuple[_Record, ...]:
    """The records of a file, parsed once per test session (records are never modified)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    records = []
    for raw in _raw_records(Path(path)):
        if limit is not None and len(records) >= limit:
            break
        if wanted is not None:
            found = _PMID.search(raw)
            if found is None or str(int(found.group(1))) not in wanted:
                continue
        records.append(_parse_record(raw, parser))
    return tuple(records)


def _fold(text: str) -> str:
    """Lower case without diacritics (é -> e, ß stays)."""
    if text.isascii():
        return text.lower()
    return _COMBINING.sub("", unicodedata.normalize("NFKD", text)).lower()


def _tokens(text: str) -> list[str]:
    """Lower-case, diacritic-free words of `text`."""
    return _WORD.findall(_fold(text))


def _lines(values: Iterable[str]) -> str:
    """Searchable text of a field: one ' w w w ' line per value."""
    return "\n".join(f" {' '.join(t)} " for t in map(_tokens, values) if t)


def _text(element: etree._Element | None) -> str:
    return "".join(element.itertext()) if element is not None else ""


def _int(text: str | None) -> int | None:
    text = (text or "").strip()
    return int(text) if text.isdigit() else None


def _month(text: str | None) -> int | None:
    text = (text or "").strip()
    if text.isdigit():
        return int(text)
    return MONTHS.get(text[:3].lower())


def _safe_date(year: int | None, month: int | None, day: int | None) -> date | None:
    """A date from parts; a missing month or day counts as the first (PubMed's convention)."""
    if year is None:
        return None
    month = month if month and 1 <= month <= 12 else 1
    day = day if day and 1 <= day <= calendar.monthrange(year, month)[1] else 1
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _date_of(element: etree._Element | None) -> date | None:
    if element is None:
        return None
    year = _int(element.findtext("Year"))
    if year is None:  # <MedlineDate>1998 Dec-1999 Jan</MedlineDate>
        found = re.match(r"\s*(\d{4})(?:\s+([A-Za-z]{3}))?", element.findtext("MedlineDate") or "")
        if not found:
            return None
        return _safe_date(int(found.group(1)), _month(found.group(2)), None)
    return _safe_date(year, _month(element.findtext("Month")), _int(element.findtext("Day")))


def _parse_record(raw: bytes, parser: etree.XMLParser) -> _Record:
    # The reference lists (siblings at the end of PubmedData) are a third of a daily file and
    # hold nothing searchable; leaving them out of the tree halves the parsing time.
    first, last = raw.find(b"<ReferenceList"), raw.rfind(b"</ReferenceList>")
    if 0 < first < last:
        root = etree.fromstring(raw[:first] + raw[last + len(b"</ReferenceList>") :], parser)
    else:
        root = etree.fromstring(raw, parser)
    book = root.tag == "PubmedBookArticle"
    citation = root.find("BookDocument" if book else "MedlineCitation")
    if citation is None:
        raise ValueError(f"<{root.tag}> without MedlineCitation/BookDocument")
    pmid = str(int((citation.findtext("PMID") or "").strip()))
    data = root.find("PubmedBookData" if book else "PubmedData")
    article = citation if book else citation.find("Article")
    if article is None:
        article = citation

    title = _text(article.find("ArticleTitle"))
    if book and not title.strip():
        title = _text(citation.find("Book/BookTitle"))
    abstracts = [_text(a) for a in article.iterfind("Abstract/AbstractText")]
    abstracts += [_text(a) for a in citation.iterfind("OtherAbstract/AbstractText")]
    keywords = [_text(k) for k in citation.iterfind("KeywordList/Keyword")]
    headings = list(citation.iterfind("MeshHeadingList/MeshHeading"))
    mesh = [_text(h.find("DescriptorName")) for h in headings]
    major = [
        _text(h.find("DescriptorName"))
        for h in headings
        if any(e.get("MajorTopicYN") == "Y" for e in h)
    ]
    authors: list[tuple[tuple[str, ...], tuple[str, ...], str]] = []
    collectives: list[str] = []
    author_lines: list[str] = []
    # One XPath per record: per-author find() calls cost seconds on a daily update file.
    names: dict[str, str] = {}
    owner = None
    for part in [*_AUTHOR_PARTS(article), None]:
        parent = part.getparent() if part is not None else None
        if parent is not owner and names:
            last, fore = _tokens(names.get("LastName", "")), _tokens(names.get("ForeName", ""))
            if last:
                initials = "".join(_tokens(names.get("Initials", "")))
                authors.append((tuple(last), tuple(fore), initials))
                author_lines += [f" {' '.join(last)} {initials} ", f" {' '.join(last + fore)} "]
            collective = names.get("CollectiveName", "")
            if collective.strip():
                collectives.append(collective)
            names = {}
        owner = parent
        if part is not None:
            names[part.tag] = "".join(part.itertext())
    journal = [
        _text(article.find("Journal/Title")),
        _text(article.find("Journal/ISOAbbreviation")),
        _text(citation.find("MedlineJournalInfo/MedlineTA")),
    ]
    types = [_text(t) for t in _PUBLICATION_TYPES(article)]  # books have no list around them
    languages = []
    for language in article.iterfind("Language"):
        code = _text(language).strip().lower()
        languages += [code, LANGUAGES.get(code, "")]

    history = data.find("History") if data is not None else None
    edat = mhda = None
    if history is not None:
        edat = _date_of(history.find("PubMedPubDate[@PubStatus='entrez']")) or _date_of(
            history.find("PubMedPubDate[@PubStatus='pubmed']")
        )
        # MEDLINE format's MHDA is the History date with PubStatus "medline".
        mhda = _date_of(history.find("PubMedPubDate[@PubStatus='medline']"))
    if book:
        published = [_date_of(citation.find("Book/PubDate"))]
    else:
        published = [_date_of(article.find("Journal/JournalIssue/PubDate"))]
        published += [_date_of(d) for d in article.iterfind("ArticleDate")]
    return _Record(
        pmid=pmid,
        raw=raw,
        edat=edat,
        pdates=tuple(d for d in published if d),
        mdat=_date_of(citation.find("DateRevised")),
        mhda=mhda or edat,
        text={
            "ti": _lines([title]),
            "ab": _lines(abstracts),
            "kw": _lines(keywords),
            "mh": _lines(mesh),
            "majr": _lines(major),
            "au": "\n".join([*author_lines, _lines(collectives)]).strip("\n"),
            "jour": _lines(journal),
            "pt": _lines(types),
            "la": _lines(languages),
        },
        authors=tuple(authors),
        collectives=_lines(collectives),
        has_abstract=any(a.strip() for a in abstracts),
    )


# --- the query language ---

_LEX = re.compile(
    r"""\s*(?:
        (?P<lp>\() | (?P<rp>\)) |
        "(?P<phrase>[^"]*)"? |
        \[(?P<tag>[^\]]*)\]? |
        (?P<word>[^\s()"\[\]]+)
    )""",
    re.VERBOSE,
)
OPERATORS = ("AND", "OR", "NOT")


@dataclass(frozen=True)
class _Term:
    text: str
    tag: str | None = None  # as written, without brackets
    quoted: bool = False


_Item = tuple[str | None, Any]  # (operator before it, node); a node is a _Term or a list


def _lex(query: str) -> list[tuple[str, str]]:
    tokens = []
    for found in _LEX.finditer(query):
        kind = found.lastgroup
        if kind is not None:
            tokens.append((kind, found.group(kind)))
    return tokens


def _parse(query: str) -> list[_Item]:
    """The query as nested sequences of (operator, operand), to evaluate left to right."""
    tokens = _lex(query)
    pos = 0

    def take_tag() -> str | None:
        nonlocal pos
        if pos < len(tokens) and tokens[pos][0] == "tag":
            pos += 1
            return tokens[pos - 1][1]
        return None

    def sequence(depth: int) -> list[_Item]:
        nonlocal pos
        items: list[_Item] = []
        pending: str | None = None

        def add(node: Any) -> None:
            nonlocal pending
            items.append(((pending or "AND") if items else None, node))
            pending = None

        while pos < len(tokens):
            kind, value = tokens[pos]
            if kind == "rp":
                pos += 1
                if depth:
                    break
                continue  # a stray ")" is ignored
            if kind == "word" and value in OPERATORS:
                pos += 1
                if items:
                    pending = value
                continue
            if kind == "tag":  # a tag after ")" or at the start has nothing to apply to
                pos += 1
                continue
            if kind == "lp":
                pos += 1
                add(sequence(depth + 1))
            elif kind == "phrase":
                pos += 1
                add(_Term(value, take_tag(), quoted=True))
            else:
                words = []
                while pos < len(tokens) and tokens[pos][0] == "word":
                    if tokens[pos][1] in OPERATORS:
                        break
                    words.append(tokens[pos][1])
                    pos += 1
                tag = take_tag()
                if tag is None:
                    for word in words:
                        add(_Term(word))
                else:
                    add(_Term(" ".join(words), tag))
        return _merge_date_ranges(items)

    return sequence(0)


def _tag_kind(tag: str | None) -> tuple[str | None, str]:
    """(what a tag searches or None if unknown, its ':suffix')."""
    if tag is None:
        return "all", ""
    base, _, suffix = " ".join(tag.lower().split()).partition(":")
    return TAGS.get(base.strip()), suffix.strip()


def _merge_date_ranges(items: list[_Item]) -> list[_Item]:
    """`"2020/01/01"[dp] : "2021"[dp]` (PubMed's own spelling of a range) as one range term."""
    merged: list[_Item] = []
    for op, node in items:
        if (
            isinstance(node, _Term)
            and len(merged) >= 2
            and isinstance(merged[-1][1], _Term)
            and merged[-1][1].text == ":"
            and isinstance(merged[-2][1], _Term)
            and _tag_kind(merged[-2][1].tag)[0] in DATE_KINDS
            and _tag_kind(node.tag)[0] == _tag_kind(merged[-2][1].tag)[0]
        ):
            first = merged[-2]
            merged[-2:] = [(first[0], _Term(f"{first[1].text}:{node.text}", node.tag))]
            continue
        merged.append((op, node))
    return merged


def _parse_date(text: str, *, end: bool) -> date | None:
    """YYYY, YYYY/MM or YYYY/MM/DD; the first day of the span, or its last when `end`."""
    found = re.fullmatch(r"(\d{4})(?:[/.-](\d{1,2})(?:[/.-](\d{1,2}))?)?", text.strip())
    if not found:
        return None
    year = int(found.group(1))
    month = int(found.group(2)) if found.group(2) else (12 if end else 1)
    if not 1 <= month <= 12:
        return None
    last = calendar.monthrange(year, month)[1]
    day = int(found.group(3)) if found.group(3) else (last if end else 1)
    if not 1 <= day <= last:
        return None
    return date(year, month, day)


def _date_range(text: str) -> tuple[date, date] | None:
    first, _, second = "".join(text.split()).partition(":")
    low = _parse_date(first, end=False)
    high = _parse_date(second or first, end=True)
    if low is None or high is None:
        return None
    return low, high


def _slash(day: date) -> str:
    return f"{day.year:04d}/{day.month:02d}/{day.day:02d}"


class _Search:
    """One esearch query evaluated over a snapshot of the visible records."""

    def __init__(
        self,
        records: list[_Record],
        default_tag: str | None,
        postings: Callable[[str], dict[str, set[str]]],
        shift: timedelta = timedelta(0),
        dated: dict[tuple[str, date, date], set[str]] | None = None,
        visible: dict[str, _Record] | None = None,
    ) -> None:
        self.records = records
        self.default_tag = default_tag
        self.postings = postings  # field -> word -> PMIDs whose field has that word
        self.shift = shift  # dates in the query are the client's: the corpus's plus this
        # (kind, first, last) -> PMIDs dated within, for this snapshot: every poll's search
        # names the same windows, and a scan of the daily file per date term is slow.
        self.dated = dated if dated is not None else {}
        self._visible: dict[str, _Record] | None = visible
        self.phrases_not_found: list[str] = []
        self.fields_not_found: list[str] = []
        self.phrases_ignored: list[str] = []
        self.quoted_not_found: list[str] = []

    # Each evaluation gives (pmids or None when dropped, translation, translation incl. dropped).
    def sequence(self, items: list[_Item]) -> tuple[set[str] | None, str | None, str]:
        # A group of date terms only, `(W[edat] OR W[mhda] OR W[mdat])`, is the same in every
        # poll's search: its union of thousands of PMIDs is made once per snapshot.
        key = None
        if all(isinstance(n, _Term) and _tag_kind(n.tag)[0] in DATE_KINDS for _, n in items):
            key = ("group", *((op, n.text, n.tag) for op, n in items))
            if key in self.dated:
                return self.dated[key]  # type: ignore[return-value]
        answer = self._sequence(items)
        if key is not None:
            self.dated[key] = answer  # type: ignore[assignment]
        return answer

    def _sequence(self, items: list[_Item]) -> tuple[set[str] | None, str | None, str]:
        result: set[str] | None = None
        text: str | None = None
        full = ""
        for op, node in items:
            if isinstance(node, list):
                got, got_text, got_full = self.sequence(node)
                got_text = f"({got_text})" if got_text else None
                got_full = f"({got_full})"
            else:
                got, got_text, got_full = self.term(node)
            full = f"{full} {op} {got_full}" if full and op else got_full
            if got is None:
                continue
            if result is None:
                if op == "NOT":
                    continue  # "dropped NOT x": nothing to take x away from
                result, text = got, got_text
            elif op == "OR":
                result, text = result | got, f"{text} OR {got_text}"
            elif op == "NOT":
                result, text = result - got, f"{text} NOT {got_text}"
            else:
                result, text = result & got, f"{text} AND {got_text}"
        return result, text, full

    def term(self, term: _Term) -> tuple[set[str] | None, str | None, str]:
        tag = term.tag if term.tag is not None else self.default_tag
        kind, suffix = _tag_kind(tag)
        if kind is None:
            self.fields_not_found.append(tag or "")
            kind, suffix = "all", ""
        name = TAG_NAMES[kind] + (f":{suffix}" if suffix == "noexp" else "")
        shown = (f'"{term.text}"' if term.quoted else term.text) + f"[{name}]"

        if not term.quoted and term.text.lower() == "hasabstract":
            return (
                {r.pmid for r in self.records if r.has_abstract},
                "hasabstract[All Fields]",
                shown,
            )
        if kind in DATE_KINDS:
            return self.dates(term, kind, name)
        if kind == "sb":  # all[sb]: every record; hasabstract[sb]
            value = term.text.strip().lower()
            if value in ("all", "hasabstract", "fha"):
                return (
                    {r.pmid for r in self.records if value == "all" or r.has_abstract},
                    shown,
                    shown,
                )
            self.phrases_not_found.append(term.text)
            return None, None, shown
        if kind == "pmid":
            pmid = term.text.strip().lstrip("0")
            return {r.pmid for r in self.records if r.pmid == pmid}, shown, shown
        if (
            term.tag is None
            and not term.quoted
            and " " not in term.text
            and term.text.lower() in STOPWORDS
        ):
            self.phrases_ignored.append(term.text)
            return None, None, shown

        words = []
        for piece in term.text.split():
            found = _tokens(piece)
            if found and piece.endswith("*"):
                found[-1] += "*"
            words += found
        if not words:
            return None, None, shown  # only punctuation: nothing to search
        if kind == "au":
            # Every author line and collective name is in the "au" text: its word index narrows
            # the records to those with the first word before the exact test.
            pool = self.records
            if not words[0].endswith("*"):
                visible = self.visible
                pool = [visible[p] for p in self.postings("au").get(words[0], ()) if p in visible]
            got = {r.pmid for r in pool if _author_matches(r, words)}
        else:
            fields = FIELDS[kind]
            matches = _matcher(words)
            got = {
                r.pmid
                for r in self.candidates(words, fields)
                if any(matches(r.text[f]) for f in fields)
            }
        if not got:
            if term.quoted:
                self.quoted_not_found.append(f'"{term.text}"')
            else:
                self.phrases_not_found.append(term.text)
            return None, None, shown
        return got, shown, shown

    @property
    def visible(self) -> dict[str, _Record]:
        """The records of the snapshot by PMID."""
        if self._visible is None:
            self._visible = {r.pmid: r for r in self.records}
        return self._visible

    def candidates(self, words: list[str], fields: tuple[str, ...]) -> list[_Record]:
        """The records whose `fields` hold every whole word of `words` (a superset of matches).

        The word index narrows a phrase to a few records before the exact test of word order:
        scanning all 20,788 records of the daily file took ~170 ms a term, too slow to answer
        the 10 searches a second NCBI allows with a key.
        """
        exact = [w for w in words if not w.endswith("*")]
        pmids: set[str] = set()
        for field in fields:
            index = self.postings(field)
            if exact:
                lists = sorted((index.get(w, set()) for w in exact), key=len)
                pmids |= lists[0].intersection(*lists[1:])
            else:
                prefix = words[0][:-1]
                for word, found in index.items():
                    if word.startswith(prefix):
                        pmids |= found
        visible = self.visible
        return [visible[p] for p in pmids if p in visible]

    def dates(self, term: _Term, kind: str, name: str) -> tuple[set[str] | None, str | None, str]:
        window = _date_range(term.text)
        if window is None:
            self.phrases_not_found.append(term.text)
            return None, None, f"{term.text}[{name}]"
        low, high = window
        shown = f"{_slash(low)}:{_slash(high)}[{name}]"
        key = (kind, low - self.shift, high - self.shift)
        found = self.dated.get(key)
        if found is None:  # set operations below make new sets: the cached one is never changed
            found = {r.pmid for r in self.records if _dated_within(r, kind, key[1], key[2])}
            self.dated[key] = found
        return found, shown, shown


def _matcher(words: list[str]) -> Any:
    """A test of a field's text for `words` as consecutive whole words (`*` = any ending)."""
    if not any(w.endswith("*") for w in words):
        needle = f" {' '.join(words)} "
        return lambda text: needle in text
    pattern = re.compile(
        " "
        + " ".join(re.escape(w[:-1]) + r"\S*" if w.endswith("*") else re.escape(w) for w in words)
        + " "
    )
    return lambda text: pattern.search(text) is not None


def _author_matches(record: _Record, words: list[str]) -> bool:
    """`smith j` / `smith john` / `smith` against each author; words of a CollectiveName."""
    for last, fore, initials in record.authors:
        if list(last) != words[: len(last)]:
            continue
        rest = words[len(last) :]
        if not rest:
            return True
        if len(rest) == 1:
            want = rest[0].rstrip("*")
            if initials.startswith(want) or (fore and fore[0].startswith(want)):
                return True
        if [w.rstrip("*") for w in rest] == list(fore[: len(rest)]):
            return True
    return bool(record.collectives) and _matcher(words)(record.collectives)


def _dated_within(record: _Record, kind: str, low: date, high: date) -> bool:
    if kind == "edat":
        return record.edat is not None and low <= record.edat <= high
    if kind == "mdat":
        return record.mdat is not None and low <= record.mdat <= high
    if kind == "mhda":
        return record.mhda is not None and low <= record.mhda <= high
    return any(low <= d <= high for d in record.pdates)


# --- answers ---


def _esearch_error(message: str) -> bytes:
    body = f"<eSearchResult><ERROR>{escape(message)}</ERROR></eSearchResult>\n"
    return ESEARCH_PROLOG + body.encode()


def _efetch_error(message: str) -> bytes:
    body = f"<eFetchResult>\n\t<ERROR>{escape(message)}</ERROR>\n</eFetchResult>\n"
    return EFETCH_ERROR_PROLOG + body.encode()


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _merge_params(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    params: dict[str, str] = {}
    for key, value in pairs:
        params[key] = f"{params[key]},{value}" if key in params else value
    return params


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeEutils

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)  # skip HTTPServer's getfqdn() lookup
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: a client hanging up mid-answer is what several faults are about."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    sent = False

    def version_string(self) -> str:
        return "Finatra"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: nothing on stderr."""

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes: without this, Nagle's algorithm holds the
        # body until the client's delayed ACK of the headers, 40 ms a request on Linux.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.fake._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.fake._track(self.connection, add=False)

    def do_GET(self) -> None:
        self.server.fake._serve(self)

    do_POST = do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_GET


# --- the fake ---


class FakeEutils:
    """A loopback stand-in for https://eutils.ncbi.nlm.nih.gov/entrez/eutils/ (PubMed only)."""

    def __init__(
        self,
        *,
        rate_limit: float | None = 3.0,
        keyed_rate_limit: float = 10.0,
        today: date | None = None,
        compress: bool = True,
    ) -> None:
        self.rate_limit = rate_limit
        self.keyed_rate_limit = keyed_rate_limit
        self.today: date = today or date.today()
        self.visible_until: date | None = None
        # Corpus dates appear this much later, so 2021 records can stand for this week's papers
        # when the code under test uses the real date (visible_until is in shifted dates too).
        self.date_shift = timedelta(0)
        # PMIDs not yet visible whatever their date: a paper PubMed adds later the same day.
        self.hidden: set[str] = set()
        self.compress = compress  # gzip bodies for clients that accept it, as NCBI does
        self.requests: list[Recorded] = []
        self.errors: list[str] = []  # tracebacks of the fake's own bugs (answered with a 500)
        self._lock = threading.Lock()
        self._records: dict[str, _Record] = {}
        # The whole record of those whose MeSH headings are withheld (see withhold_headings).
        self._indexed: dict[str, _Record] = {}
        self._ordered: list[_Record] | None = None
        self._seen: Any = None  # the last _visible() answer and what it was for
        self._postings: dict[str, dict[str, set[str]]] = {}  # field -> word -> PMIDs
        self._faults: list[_Fault] = []
        self._windows: dict[str, deque[float]] = {}
        # NCBI's window is one second; a test may narrow it slightly to allow for the time our
        # own threads take to be scheduled on a busy machine (that is not the client's doing).
        self.rate_window = 1.0
        self._connections: set[socket.socket] = set()
        self._stop = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle --------------------------------------------------------------------------

    def __enter__(self) -> FakeEutils:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        """Serve on 127.0.0.1, a free port, from a daemon thread."""
        if self._server is not None:
            return
        self._stop.clear()
        server = _Server(("127.0.0.1", 0), _Handler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving, end kept-alive connections and release the port."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stop.set()
        server.shutdown()
        server.server_close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @property
    def url(self) -> str:
        """The base URL, ending with "/", e.g. http://127.0.0.1:PORT/entrez/eutils/."""
        if self._server is None:
            raise RuntimeError("FakeEutils is not running; use it as a context manager")
        return f"http://127.0.0.1:{self._server.server_port}{BASE_PATH}"

    # --- the corpus -----------------------------------------------------------------------------

    def load(
        self,
        path: str | Path,
        *,
        limit: int | None = None,
        pmids: Iterable[str | int] | None = None,
    ) -> int:
        """Add the PubmedArticle / PubmedBookArticle records of an efetch or NLM file.

        `limit` stops after that many records have been taken; `pmids` takes only those.
        A PMID loaded again is replaced by its newer version (NLM update semantics);
        DeleteCitation blocks are ignored. Returns how many distinct PMIDs this call stored.
        The bytes kept are the file's own, from "<PubmedArticle" to its end tag. Parsed files
        are cached per process (by path, mtime, size, limit, pmids): the whole daily update file
        takes ~10 s the first time, nothing after.
        """
        wanted = frozenset(str(int(p)) for p in pmids) if pmids is not None else None
        file = Path(path).resolve()
        stat = file.stat()
        records = _read_file(str(file), stat.st_mtime_ns, stat.st_size, limit, wanted)
        self._add({r.pmid: r for r in records})  # in file order: a later version wins
        return len({r.pmid for r in records})

    def echo(self, pmid_offset: int) -> int:
        """Add every loaded record again under PMID + `pmid_offset`, for a test that needs a
        busier PubMed than a fixture holds (more hits than esearch pages through). The copy's
        bytes are the original's with its own PMID and its pubmed ArticleId rewritten; its
        dates and text are the original's. Returns how many records were added."""
        with self._lock:
            originals = list(self._records.values())
        copies = {}
        for record in originals:
            pmid = str(int(record.pmid) + pmid_offset)
            raw = _renumber(record.raw, record.pmid, pmid)
            copies[pmid] = dataclasses.replace(record, pmid=pmid, raw=raw)
        self._add(copies)
        return len(copies)

    def _add(self, batch: dict[str, _Record]) -> None:
        if batch:
            with self._lock:
                self._records.update(batch)
                for pmid in batch:
                    self._indexed.pop(pmid, None)
                self._ordered = None
                self._postings = {}

    # --- records that change after they entered ------------------------------------------------

    def withhold_headings(self, pmids: Iterable[str | int]) -> None:
        """These records entered PubMed without their MeSH headings, as most do (98% of the new
        records of a daily update file have none): [mh], [majr] and the untagged or [tw] search
        of a heading do not find them, efetch serves them without a MeshHeadingList (status
        In-Process), and their MeSH date and modification date are their Entrez date.
        `add_headings` indexes them later; their Entrez date never moves."""
        with self._lock:
            for pmid in map(str, pmids):
                full = self._indexed.setdefault(pmid, self._records[pmid])
                self._records[pmid] = _without_headings(full)
            self._ordered = None

    def add_headings(self, pmids: Iterable[str | int], on: date | None = None) -> None:
        """The MeSH headings of these withheld records arrive `on` (default: `today`; a date as
        the client sees it, like `visible_until`): from now on esearch finds them by their
        headings and by `on` as their MeSH date [mhda] and modification date [mdat], and efetch
        serves the whole record with DateRevised and its "medline" History date set to `on`."""
        day = (on or self.today) - self.date_shift
        with self._lock:
            for pmid in map(str, pmids):
                full = self._indexed[pmid]
                raw = _set_date(full.raw, b"<DateRevised>", b"</DateRevised>", day)
                raw = _set_date(
                    raw, b'<PubMedPubDate PubStatus="medline">', b"</PubMedPubDate>", day
                )
                self._records[pmid] = dataclasses.replace(full, raw=raw, mdat=day, mhda=day)
            self._ordered = None

    @property
    def pmids(self) -> list[str]:
        """Every loaded PMID (visible or not), in esearch order: newest Entrez date first."""
        return [r.pmid for r in self._snapshot()]

    def entrez_date(self, pmid: str) -> date | None:
        """The Entrez date the fake uses for a loaded record (None if it has none)."""
        with self._lock:
            record = self._records.get(str(pmid))
        return record.edat if record else None

    def raw(self, pmid: str) -> bytes:
        """The stored bytes of one record, as efetch serves them."""
        with self._lock:
            return self._records[str(pmid)].raw

    def _snapshot(self) -> list[_Record]:
        with self._lock:
            if self._ordered is None:
                self._ordered = sorted(self._records.values(), key=lambda r: r.order, reverse=True)
                self._seen = None
            return self._ordered

    def _field_postings(self, field: str) -> dict[str, set[str]]:
        """field -> word -> PMIDs of every loaded record, built on first use after a load.

        A record whose headings are withheld is indexed with them: the index only narrows the
        candidates, each is then tested against the version PubMed serves now."""
        with self._lock:
            index = self._postings.get(field)
            if index is None:
                index = {}
                for record in [*self._records.values(), *self._indexed.values()]:
                    for word in set(record.text[field].split()):
                        index.setdefault(word, set()).add(record.pmid)
                self._postings[field] = index
            return index

    def ids_between(self, term: str, start: date, end: date) -> list[str]:
        """What an esearch for `term` over the Entrez dates `start`..`end` answers, newest first:
        the yardstick tests hold a poll's results against. Not recorded as a request."""
        _, body = self._esearch(
            {
                "db": "pubmed",
                "term": term,
                "datetype": "edat",
                "mindate": f"{start:%Y/%m/%d}",
                "maxdate": f"{end:%Y/%m/%d}",
                "retmax": str(ESEARCH_CAP),
            }
        )
        return [e.text or "" for e in etree.fromstring(body).iterfind("IdList/Id")]

    def answer(self, **params: str) -> tuple[int, list[str]]:
        """The Count and ids esearch answers to `params` (db=pubmed, retmax 9,999 unless
        given), not recorded as a request: for benchmarks that measure results, not HTTP."""
        _, body = self._esearch({"db": "pubmed", "retmax": str(ESEARCH_CAP), **params})
        root = etree.fromstring(body)
        return int(root.findtext("Count") or 0), [e.text or "" for e in root.iterfind("IdList/Id")]

    def build_index(self) -> None:
        """Index every field's words now, so that no timed search pays for it (benchmarks)."""
        for field in {f for fields in FIELDS.values() for f in fields}:
            self._field_postings(field)

    def shift_dates(self, corpus_day: date, appears_as: date) -> None:
        """Serve the corpus as if `corpus_day` were `appears_as`: date windows, today, and the
        Entrez, MeSH and revised dates of the records efetch serves."""
        self.date_shift = appears_as - corpus_day
        self.today = appears_as

    def _until(self) -> date | None:
        """visible_until in corpus dates."""
        return None if self.visible_until is None else self.visible_until - self.date_shift

    def _visible(
        self,
    ) -> tuple[list[_Record], dict[str, _Record], dict[tuple[str, date, date], set[str]]]:
        """The records esearch sees now, by PMID too, and the cache of their date-term sets:
        kept until the records, `visible_until` or `hidden` change (rebuilding them for each
        search of the daily file cost more than the search)."""
        until = self._until()
        records = self._snapshot()
        hidden = frozenset(self.hidden)
        with self._lock:
            if self._seen is not None and self._seen[0] == (
                until,
                hidden,
                id(records),
                self.date_shift,
            ):
                return self._seen[1], self._seen[2], self._seen[3]
        visible = records
        if until is not None or hidden:
            visible = [
                r
                for r in records
                if r.pmid not in hidden and (until is None or r.edat is None or r.edat <= until)
            ]
        by_pmid = {r.pmid: r for r in visible}
        dated: dict[tuple[str, date, date], set[str]] = {}
        with self._lock:
            self._seen = ((until, hidden, id(records), self.date_shift), visible, by_pmid, dated)
        return visible, by_pmid, dated

    # --- faults and the record of requests --------------------------------------------------

    def inject(self, kind: str, *, endpoint: str = "*", times: int = 1, **options: Any) -> None:
        """Queue a fault for the next `times` requests to `endpoint` (FIFO across faults).

        kinds and their options:
          "status": HTTP options["status"] with options["body"] (str/bytes; default an HTML page
              for 5xx, JSON {"error": ...} for 4xx), options["content_type"], and
              options["retry_after"] as a Retry-After header.
          "429": NCBI's rate-limit answer; options["retry_after"] (default "1"; None = no header).
          "slow": wait options["seconds"], then answer normally; with options["until"], a
              threading.Event, answer as soon as it is set.
          "truncate": declare the full Content-Length, send options["fraction"] (0.5) of the
              bytes, hang up.
          "cut_xml": a complete 200 answer whose body is the first options["fraction"] (0.5) of
              the normal XML.
          "disconnect": hang up without answering.
          "error": 200 with <eSearchResult>/<eFetchResult><ERROR>options["message"]</ERROR>.
          "html": 200 text/html maintenance page (options["body"] to replace it).

        Any fault takes options["term"]: then it only hits esearch requests for that term,
        alone or in parentheses before date limits, as a poll asks: `(TERM) AND (...)`.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {sorted(FAULT_KINDS)}")
        if endpoint not in ("esearch", "efetch", "*"):
            raise ValueError(f"endpoint must be 'esearch', 'efetch' or '*', not {endpoint!r}")
        if times < 1:
            raise ValueError("times must be at least 1")
        if kind == "status" and "status" not in options:
            raise ValueError("a 'status' fault needs status=...")
        if kind == "slow" and "seconds" not in options:
            raise ValueError("a 'slow' fault needs seconds=...")
        if kind == "error" and "message" not in options:
            raise ValueError("an 'error' fault needs message=...")
        with self._lock:
            self._faults.append(_Fault(kind, endpoint, times, dict(options)))

    def reset(self) -> None:
        """Forget recorded requests, queued faults and rate-limit windows."""
        with self._lock:
            self.requests.clear()
            self._faults.clear()
            self._windows.clear()

    def _take_fault(self, endpoint: str, params: dict[str, str]) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                term, asked = fault.options.get("term"), params.get("term") or ""
                if term is not None and asked != term and not asked.startswith(f"({term}) AND "):
                    continue
                if fault.endpoint in ("*", endpoint):
                    fault.left -= 1
                    if fault.left <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def _track(self, connection: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    # --- HTTP -------------------------------------------------------------------------------

    def _serve(self, h: _Handler) -> None:
        at = time.monotonic()
        h.sent = False
        try:
            self._answer(h, at)
        except OSError:  # the client hung up (after a timeout, say): nothing to answer
            h.close_connection = True
        except Exception:
            with self._lock:
                self.errors.append(traceback.format_exc())
            h.close_connection = True
            if not h.sent:
                with contextlib.suppress(OSError):
                    message = b"fake E-utilities bug, see FakeEutils.errors\n"
                    self._send(h, None, 500, message, "text/plain")

    def _answer(self, h: _Handler, at: float) -> None:
        split = urlsplit(h.path)
        pairs = parse_qsl(split.query, keep_blank_values=True)
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length > 0 else b""
        content_type = (h.headers.get("Content-Type") or "").lower()
        if body and (not content_type or "x-www-form-urlencoded" in content_type):
            pairs += parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        params = _merge_params(pairs)

        name = split.path[len(BASE_PATH) :] if split.path.startswith(BASE_PATH) else split.path
        endpoint = {"esearch.fcgi": "esearch", "efetch.fcgi": "efetch"}.get(name)
        label = endpoint or name.rsplit("/", 1)[-1].removesuffix(".fcgi")
        record = Recorded(label, h.command, params, at)
        with self._lock:
            self.requests.append(record)
        if endpoint is None or h.command not in ("GET", "POST"):
            self._send(h, record, 404, NOT_FOUND_PAGE, HTML_TYPE)
            return

        key, limit = h.client_address[0], self.rate_limit
        if params.get("api_key"):
            key, limit = params["api_key"], self.keyed_rate_limit
        headers: list[tuple[str, str]] = []
        count = 0
        if limit is not None:
            with self._lock:
                window = self._windows.setdefault(key, deque())
                while window and window[0] <= at - self.rate_window:
                    window.popleft()
                count = len(window) + 1
                if count <= limit:
                    window.append(at)
            if count > limit:
                self._send_429(h, record, key, count, limit, "1")
                return
            headers = [
                ("X-RateLimit-Limit", _number(limit)),
                ("X-RateLimit-Remaining", str(max(0, int(limit) - count))),
            ]

        fault = self._take_fault(endpoint, record.params)
        kind = fault.kind if fault else None
        options = fault.options if fault else {}
        if kind == "429":
            if limit is not None:
                with self._lock, contextlib.suppress(ValueError):
                    self._windows[key].remove(at)  # a 429 does not count toward the window
            retry_after = options.get("retry_after", "1")
            self._send_429(h, record, key, max(count, 1), limit or 3, retry_after)
            return
        if kind == "disconnect":
            record.status = 0
            h.close_connection = True
            with contextlib.suppress(OSError):
                h.connection.shutdown(socket.SHUT_RDWR)
            return
        if kind == "status":
            status = int(options["status"])
            try:
                phrase = http.HTTPStatus(status).phrase
            except ValueError:
                phrase = "Error"
            payload = options.get("body")
            if payload is None and status >= 500:
                payload = (
                    f"<!DOCTYPE html>\n<html><head><title>{status} {phrase}</title></head>"
                    f"<body><h1>{status} {phrase}</h1></body></html>\n"
                )
                default_type = HTML_TYPE
            elif payload is None:
                payload = json.dumps({"error": phrase}, separators=(",", ":"))
                default_type = JSON_TYPE
            else:
                start = payload if isinstance(payload, str) else bytes(payload).decode("latin-1")
                default_type = JSON_TYPE if start.lstrip().startswith("{") else HTML_TYPE
            retry_after = options.get("retry_after")
            if retry_after is not None:
                if isinstance(retry_after, int | float):
                    retry_after = _number(retry_after)
                headers.append(("Retry-After", str(retry_after)))
            data = payload.encode() if isinstance(payload, str) else bytes(payload)
            content_type = options.get("content_type", default_type)
            self._send(h, record, status, data, content_type, headers)
            return
        if kind == "html":
            payload = options.get("body", OUTAGE_PAGE)
            data = payload.encode() if isinstance(payload, str) else bytes(payload)
            self._send(h, record, 200, data, HTML_TYPE, headers)
            return
        if kind == "error":
            message = str(options["message"])
            data = _esearch_error(message) if endpoint == "esearch" else _efetch_error(message)
            self._send(h, record, 200, data, XML_TYPE, headers)
            return
        if kind == "slow":
            release: threading.Event | None = options.get("until")
            deadline = time.monotonic() + float(options["seconds"])
            while not self._stop.is_set() and time.monotonic() < deadline:
                if release is not None and release.is_set():
                    break
                self._stop.wait(0.01)
            if self._stop.is_set():
                h.close_connection = True  # shutting down: leave without answering
                return

        status, data = self._esearch(params) if endpoint == "esearch" else self._efetch(params)
        fraction = float(options.get("fraction", 0.5))
        if kind == "cut_xml":
            data = data[: int(len(data) * fraction)]
        cut = fraction if kind == "truncate" else None
        self._send(h, record, status, data, XML_TYPE, headers, truncate=cut)

    def _send_429(
        self,
        h: _Handler,
        record: Recorded,
        key: str,
        count: int,
        limit: float,
        retry_after: Any,
    ) -> None:
        body = json.dumps(
            {
                "error": "API rate limit exceeded",
                "api-key": key,
                "count": str(count),
                "limit": _number(limit),
            },
            separators=(",", ":"),
        ).encode()
        headers = [("X-RateLimit-Limit", _number(limit)), ("X-RateLimit-Remaining", "0")]
        if isinstance(retry_after, int | float):
            headers.append(("Retry-After", _number(retry_after)))
        elif retry_after is not None:
            headers.append(("Retry-After", str(retry_after)))
        self._send(h, record, 429, body, JSON_TYPE, headers)

    def _send(
        self,
        h: _Handler,
        record: Recorded | None,
        status: int,
        body: bytes,
        content_type: str,
        headers: Iterable[tuple[str, str]] = (),
        *,
        truncate: float | None = None,
    ) -> None:
        extra = list(headers)
        accepts = (h.headers.get("Accept-Encoding") or "").lower()
        if self.compress and body and "gzip" in accepts:
            body = gzip.compress(body, compresslevel=5, mtime=0)
            extra.append(("Content-Encoding", "gzip"))
        if record is not None:
            record.status = status  # before the client can see the answer
        h.sent = True
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(body)))
        h.send_header("Cache-Control", "private")
        h.send_header("Access-Control-Allow-Origin", "*")
        h.send_header("Access-Control-Expose-Headers", "X-RateLimit-Limit,X-RateLimit-Remaining")
        for name, value in extra:
            h.send_header(name, value)
        h.end_headers()
        if h.command == "HEAD":
            return
        if truncate is None:
            h.wfile.write(body)
            return
        h.wfile.write(body[: min(len(body) - 1, int(len(body) * truncate))])
        h.wfile.flush()
        h.close_connection = True
        with contextlib.suppress(OSError):
            h.connection.shutdown(socket.SHUT_RDWR)

    # --- the two E-utilities --------------------------------------------------------------

    def _esearch(self, p: dict[str, str]) -> tuple[int, bytes]:
        db = (p.get("db") or "pubmed").strip()
        if db.lower() != "pubmed":
            return 200, _esearch_error(f"Invalid db name specified: {db}")
        term = (p.get("term") or "").strip()
        if not term:
            return 200, _esearch_error("Empty term and query_key - nothing todo")
        try:
            retmax = int(p.get("retmax") or 20)
            retstart = int(p.get("retstart") or 0)
        except ValueError:
            return 200, _esearch_error("Invalid retmax or retstart value")  # invented wording
        retmax, retstart = max(0, retmax), max(0, retstart)
        if retstart > ESEARCH_CAP - 1:
            return 200, _esearch_error(RETSTART_ERROR)

        window = self._window(p)
        if isinstance(window, str):
            return 200, _esearch_error(window)
        records, by_pmid, dated = self._visible()
        search = _Search(
            records, p.get("field") or None, self._field_postings, self.date_shift, dated, by_pmid
        )
        found, translation, full = search.sequence(_parse(term))
        if found is None:
            found, translation = set(), f"({full})"
        visible = search.visible
        if window is not None:
            kind, low, high = window
            within = dated.get((kind, low, high))
            if within is None:
                within = {r.pmid for r in records if _dated_within(r, kind, low, high)}
                dated[(kind, low, high)] = within
            found = found & within
            translation = f"{translation} AND {_slash(low)}:{_slash(high)}[{TAG_NAMES[kind]}]"
        # The snapshot's order (newest Entrez date first, then PMID), without walking it all.
        ids = sorted(found, key=lambda pmid: visible[pmid].order, reverse=True)

        count = len(ids)
        end = min(retstart + min(retmax, ESEARCH_CAP), ESEARCH_CAP)
        page = ids[retstart:end]
        messages = []
        if end < min(retstart + retmax, count):
            messages.append(
                f"Restrictions achieved. start and count adjusted to {retstart}, {len(page)}"
            )
        if count == 0:
            messages.append("No items found.")

        out = [
            f"<eSearchResult><Count>{count}</Count><RetMax>{len(page)}</RetMax>"
            f"<RetStart>{retstart}</RetStart>"
        ]
        if page:
            out.append("<IdList>\n" + "".join(f"<Id>{i}</Id>\n" for i in page) + "</IdList>")
        else:
            out.append("<IdList/>")
        out.append(
            f"<TranslationSet/><QueryTranslation>{escape(translation or '')}</QueryTranslation>"
        )
        errors = [f"<PhraseNotFound>{escape(t)}</PhraseNotFound>" for t in search.phrases_not_found]
        errors += [f"<FieldNotFound>{escape(t)}</FieldNotFound>" for t in search.fields_not_found]
        if errors:
            out.append("<ErrorList>" + "".join(errors) + "</ErrorList>")
        warnings = [f"<PhraseIgnored>{escape(t)}</PhraseIgnored>" for t in search.phrases_ignored]
        warnings += [
            f"<QuotedPhraseNotFound>{escape(t)}</QuotedPhraseNotFound>"
            for t in search.quoted_not_found
        ]
        warnings += [f"<OutputMessage>{escape(m)}</OutputMessage>" for m in messages]
        if warnings:
            out.append("<WarningList>" + "".join(warnings) + "</WarningList>")
        out.append("</eSearchResult>\n")
        return 200, ESEARCH_PROLOG + "".join(out).encode()

    def _window(self, p: dict[str, str]) -> tuple[str, date, date] | str | None:
        """(datetype, first day, last day) of the date limits, an error message, or None."""
        mindate, maxdate = (p.get("mindate") or "").strip(), (p.get("maxdate") or "").strip()
        reldate = (p.get("reldate") or "").strip()
        if not (mindate or maxdate or reldate):
            return None
        datetype = (p.get("datetype") or "edat").strip().lower()
        if datetype not in DATE_KINDS:
            return f"Invalid datetype: {datetype}"  # invented wording
        if mindate or maxdate:
            low = _parse_date(mindate, end=False) if mindate else FLOOR_DATE
            high = _parse_date(maxdate, end=True) if maxdate else self.today
            if low is None or high is None:
                return f"Invalid date: {mindate if low is None else maxdate}"  # invented
            return datetype, low - self.date_shift, high - self.date_shift
        if not reldate.lstrip("-").isdigit():
            return f"Invalid reldate: {reldate}"  # invented wording
        low, high = self.today - timedelta(days=int(reldate)), self.today
        return datetype, low - self.date_shift, high - self.date_shift

    def _efetch(self, p: dict[str, str]) -> tuple[int, bytes]:
        db = (p.get("db") or "pubmed").strip()
        if db.lower() != "pubmed":
            return 200, _efetch_error(f"Invalid db name specified: {db}")
        retmode = (p.get("retmode") or "xml").strip().lower()
        if retmode != "xml":
            return 200, _efetch_error(f"fake E-utilities serve retmode=xml only, not {retmode}")
        given = [i for i in re.split(r"[,\s]+", p.get("id") or "") if i]
        if not given:
            return 200, _efetch_error("Empty id list - nothing todo")
        ids = [str(int(i)) for i in given if i.isdigit() and int(i) > 0]
        if not ids:
            return 400, _efetch_error("ID list is empty! Possibly it has no correct IDs.")
        until = self._until()
        with self._lock:
            found = [self._records.get(i) for i in dict.fromkeys(ids)]
        hidden = set(self.hidden)
        shift = self.date_shift
        raws = [
            _shifted(r.raw, shift) if shift else r.raw
            for r in found
            if r is not None
            and r.pmid not in hidden
            and (until is None or r.edat is None or r.edat <= until)
        ]
        return 200, EFETCH_PROLOG + b"<PubmedArticleSet>\n" + b"".join(
            raws
        ) + b"</PubmedArticleSet>"
