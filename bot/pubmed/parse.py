"""Streaming parser of PubMed XML: efetch output and NLM update/baseline files.

One pass of lxml `iterparse`; each record is turned into a `Paper` and then cleared from the tree,
so memory stays flat whatever the size of the file. Identifiers are read only from the article's
own `ArticleIdList` / `ELocationID`, never from its `ReferenceList`, and every text is the whole
text of its element with inline markup (`<i>`, `<sub>`, MathML) flattened.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from lxml import etree

from bot.errors import ParseError
from bot.models import (
    CORRECTION_TYPES,
    AbstractSection,
    AuthorName,
    Correction,
    Deletion,
    Grant,
    Paper,
)

_RECORD_TAGS = ("PubmedArticle", "PubmedBookArticle", "DeleteCitation")
_ROOT_TAGS = ("PubmedArticleSet", "PubmedBookArticleSet")
_GZIP_MAGIC = b"\x1f\x8b"

_MONTHS = {
    name: f"{number:02d}"
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}

_CORRECTION_TYPES = frozenset(CORRECTION_TYPES)

Element = etree._Element
_tostring = etree.tostring


def iter_records(
    source: str | Path | IO[bytes], name: str | None = None
) -> Iterator[Paper | Deletion]:
    """Yield every paper and deletion in a PubMed XML document (`.xml`, `.xml.gz` or a stream).

    On a malformed or truncated document the records before the fault are yielded first, then a
    `ParseError` says where it broke.
    """
    if isinstance(source, str | Path):
        label = name or str(source)
        try:
            raw: IO[bytes] = open(source, "rb")  # noqa: SIM115 - closed in the finally below
        except OSError as exc:
            raise ParseError(f"{label}: cannot read: {exc.strerror or exc}") from exc
    else:
        label = name or str(getattr(source, "name", None) or "<stream>")
        raw = source
    try:
        yield from _iter_stream(_maybe_gunzip(raw), label)
    finally:
        if raw is not source:
            raw.close()


def parse_bytes(data: bytes, name: str = "<response>") -> list[Paper]:
    """Parse an efetch response body; deletions are dropped."""
    return [r for r in _iter_stream(io.BytesIO(data), name) if isinstance(r, Paper)]


def _maybe_gunzip(raw: IO[bytes]) -> IO[bytes]:
    """Decompress transparently when the stream starts with the gzip magic bytes."""
    buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(_Readable(raw))
    if buffered.peek(2)[:2] == _GZIP_MAGIC:
        return _Gunzip(buffered)  # type: ignore[return-value] # unbuffered: a buffer would drop data on the final error
    return buffered


class _Readable(io.RawIOBase):
    """Adapts any object with `read()` (sys.stdin.buffer, BytesIO) so it can be peeked."""

    def __init__(self, inner: IO[bytes]) -> None:
        self._inner = inner

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        chunk = self._inner.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


class _Gunzip(io.RawIOBase):
    """gzip decompression that hands over every byte it could decompress before failing.

    `gzip.GzipFile` raises EOFError on a truncated file and drops the data it had already
    decompressed for that read, which would lose the last complete records before the cut.
    Output is produced in bounded pieces, so a small file that inflates enormously (a zip bomb)
    never sits in memory whole.
    """

    PIECE = 1 << 16

    def __init__(self, compressed: IO[bytes]) -> None:
        self._compressed = compressed
        self._inflate = zlib.decompressobj(wbits=31)
        self._pending = b""
        self._offset = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while self._offset >= len(self._pending):
            if not self._refill():
                return 0
        size = min(len(buffer), len(self._pending) - self._offset)
        buffer[:size] = self._pending[self._offset : self._offset + size]
        self._offset += size
        return size

    def _refill(self) -> bool:
        """Decompress the next piece; False at the clean end of the data."""
        if self._inflate.eof:  # a member ended: the data is done, or another member follows
            data = self._inflate.unused_data or self._compressed.read(self.PIECE)
            if not data:
                return False
            self._inflate = zlib.decompressobj(wbits=31)
        else:
            data = self._inflate.unconsumed_tail or self._compressed.read(self.PIECE)
            if not data:
                raise EOFError("the gzip data ends before its end-of-stream marker")
        self._pending = self._inflate.decompress(data, self.PIECE)
        self._offset = 0
        return True


def _iter_stream(stream: IO[bytes], label: str) -> Iterator[Paper | Deletion]:
    context = etree.iterparse(
        stream,
        events=("end",),
        tag=_RECORD_TAGS,
        load_dtd=False,
        no_network=True,
        resolve_entities=False,
        # No huge_tree: libxml2's limits (10 MB per text node, nesting depth) refuse absurd
        # documents with an error instead of reading them into memory; real records fit.
    )
    count = 0
    try:
        for _, elem in context:
            tag = elem.tag
            if tag == "DeleteCitation":
                for pmid in elem.iterfind("PMID"):
                    yield Deletion(_text(pmid))
            elif tag == "PubmedArticle":
                yield _article(elem)
                count += 1
            else:
                yield _book(elem)
                count += 1
            # Drop the finished record and its already-cleared predecessors: flat memory.
            elem.clear(keep_tail=False)
            parent = elem.getparent()
            if parent is not None:
                while elem.getprevious() is not None:
                    del parent[0]
    except etree.XMLSyntaxError as exc:
        line, column = exc.position
        raise ParseError(
            f"{label}: malformed XML at line {line}, column {column} after {count} records: "
            f"{exc.msg}"
        ) from exc
    except (EOFError, OSError, zlib.error) as exc:
        raise ParseError(f"{label}: broken gzip data after {count} records: {exc}") from exc
    root = context.root
    if root is None or root.tag not in _ROOT_TAGS:
        found = "nothing" if root is None else f"<{root.tag}>"
        raise ParseError(f"{label}: not a PubMed article set (root element is {found})")


def _text(elem: Element | None) -> str:
    """The whole text of an element, inline markup flattened and whitespace normalised."""
    if elem is None:
        return ""
    # Inline markup inside: serialise the text content in C, in document order.
    text = _tostring(elem, method="text", encoding=str, with_tail=False) if len(elem) else elem.text
    if not text:
        return ""
    # Most texts are normal already: checked in C without splitting an abstract into words.
    # Every whitespace character but " " is unprintable, so a printable text has only spaces.
    if text.isprintable() and "  " not in text and text[0] != " " and text[-1] != " ":
        return text
    return " ".join(text.split())


# The extractors below walk each element's children once and dispatch on the tag: lxml's
# find() goes through a Python path engine, and one find per field made the parser twice
# as slow as the bare iterparse it is measured against (bench/parse.py).


def _article(elem: Element) -> Paper:
    fields: dict[str, object] = {}
    medline_ta = ""
    for part in elem:
        if part.tag == "MedlineCitation":
            medline_ta = _citation(part, fields)
        elif part.tag == "PubmedData":
            _pubmed_data(part, fields)
    if "pmid" not in fields:
        raise ParseError(f"PubmedArticle without a PMID (line {elem.sourceline})")
    if not fields.get("journal_abbrev"):
        fields["journal_abbrev"] = medline_ta
    _finish_doi(fields)
    return Paper(**fields)  # type: ignore[arg-type]


def _citation(citation: Element, fields: dict[str, object]) -> str:
    """Fill `fields` from MedlineCitation; returns MedlineTA, the fallback journal abbreviation."""
    medline_ta = ""
    keywords: list[str] = []
    for child in citation:
        tag = child.tag
        if tag == "PMID":
            fields["pmid"] = _text(child)
        elif tag == "Article":
            _article_body(child, fields)
        elif tag == "MeshHeadingList":
            fields["mesh_terms"], fields["mesh_major"] = _mesh(child)
        elif tag == "KeywordList":
            keywords.extend(_child_texts(child, "Keyword"))
        elif tag == "CommentsCorrectionsList":
            fields["corrections"] = _corrections(child)
        elif tag == "CoiStatement":
            fields["coi_statement"] = _text(child)
        elif tag == "MedlineJournalInfo":
            for info in child:
                if info.tag == "MedlineTA":
                    medline_ta = _text(info)
    fields["keywords"] = tuple(keywords)
    return medline_ta


def _article_body(article: Element, fields: dict[str, object]) -> None:
    """Fill `fields` from an Article (journal articles) or a BookDocument (books)."""
    languages: list[str] = []
    elocation_doi = ""
    for child in article:
        tag = child.tag
        if tag == "ArticleTitle":
            fields["title"] = _text(child)
        elif tag == "Abstract":
            fields["abstract_sections"] = _abstract(child)
        elif tag == "AuthorList":
            if child.get("Type", "authors") == "authors":
                fields["authors"], fields["author_names"] = _authors(child)
        elif tag == "Journal":
            _journal(child, fields)
        elif tag == "Language":
            languages.append(_text(child))
        elif tag == "PublicationTypeList":
            fields["publication_types"] = _child_texts(child, "PublicationType")
        elif tag == "PublicationType":  # books list them directly under BookDocument
            fields["publication_types"] = (*fields.get("publication_types", ()), _text(child))  # type: ignore[misc]
        elif tag == "GrantList":
            fields["grants"] = _grants(child)
        elif tag == "ELocationID":
            if not elocation_doi and child.get("EIdType") == "doi" and child.get("ValidYN") != "N":
                elocation_doi = _text(child)
        elif tag == "VernacularTitle":
            fields["vernacular_title"] = _text(child)
        elif tag == "Pagination":
            for page in child:
                if page.tag == "MedlinePgn":
                    fields["pages"] = _text(page)
        elif tag == "KeywordList":  # books carry keywords on the BookDocument
            fields["keywords"] = (*fields.get("keywords", ()), *_child_texts(child, "Keyword"))  # type: ignore[misc]
    fields["languages"] = tuple(t for t in languages if t)
    if elocation_doi:
        fields["elocation_doi"] = elocation_doi


def _journal(journal: Element, fields: dict[str, object]) -> None:
    for child in journal:
        tag = child.tag
        if tag == "Title":
            fields["journal"] = _text(child)
        elif tag == "ISOAbbreviation":
            fields["journal_abbrev"] = _text(child)
        elif tag == "JournalIssue":
            for item in child:
                if item.tag == "Volume":
                    fields["volume"] = _text(item)
                elif item.tag == "Issue":
                    fields["issue"] = _text(item)
                elif item.tag == "PubDate":
                    fields["pub_date"], fields["pub_date_text"] = _pub_date(item)


def _pubmed_data(data: Element, fields: dict[str, object]) -> None:
    """Identifiers and the Entrez date, from PubmedData or PubmedBookData (never references)."""
    for child in data:
        if child.tag == "ArticleIdList":
            _article_ids(child, fields)
        elif child.tag == "History":
            fields["entrez_date"] = _entrez_date(child)


def _article_ids(id_list: Element, fields: dict[str, object]) -> None:
    for article_id in id_list:
        id_type = article_id.get("IdType")
        if id_type == "doi" and not fields.get("doi"):
            fields["doi"] = _text(article_id)
        elif id_type == "pmc" and not fields.get("pmcid"):
            fields["pmcid"] = _text(article_id)


def _finish_doi(fields: dict[str, object]) -> None:
    """The ArticleIdList DOI wins; the article's own ELocationID is the fallback."""
    elocation_doi = fields.pop("elocation_doi", "")
    if not fields.get("doi"):
        fields["doi"] = elocation_doi


def _book(elem: Element) -> Paper:
    fields: dict[str, object] = {"is_book": True}
    book_title = publisher = ""
    book_authors: tuple[tuple[str, ...], tuple[AuthorName, ...]] = ((), ())
    for part in elem:
        if part.tag == "BookDocument":
            _article_body(part, fields)
            for child in part:
                if child.tag == "PMID":
                    fields["pmid"] = _text(child)
                elif child.tag == "ArticleIdList":  # the book document's own identifiers
                    _article_ids(child, fields)
                elif child.tag == "Book":
                    for item in child:
                        tag = item.tag
                        if tag == "BookTitle":
                            book_title = _text(item)
                        elif tag == "Publisher":
                            publisher = _text(item.find("PublisherName"))
                        elif tag == "PubDate":
                            fields["pub_date"], fields["pub_date_text"] = _pub_date(item)
                        elif tag == "AuthorList" and item.get("Type") == "authors":
                            book_authors = _authors(item)
                        elif tag == "ELocationID" and item.get("EIdType") == "doi":
                            fields.setdefault("elocation_doi", _text(item))
        elif part.tag == "PubmedBookData":
            _pubmed_data(part, fields)
    if "pmid" not in fields:
        raise ParseError(f"PubmedBookArticle without a PMID (line {elem.sourceline})")
    _finish_doi(fields)
    if fields.get("title"):  # a chapter: it appears in the book as an article in a journal
        fields["journal"] = book_title
    else:  # the whole book: its title is the title, its publisher stands where a journal would
        fields["title"] = book_title
        fields["journal"] = publisher
    if not fields.get("authors"):
        fields["authors"], fields["author_names"] = book_authors
    return Paper(**fields)  # type: ignore[arg-type]


def _child_texts(parent: Element, tag: str) -> tuple[str, ...]:
    texts = []
    for child in parent:
        if child.tag == tag:
            text = _text(child)
            if text:
                texts.append(text)
    return tuple(texts)


def _abstract(abstract: Element) -> tuple[AbstractSection, ...]:
    sections = []
    for part in abstract:
        if part.tag != "AbstractText":
            continue
        text = _text(part)
        label = " ".join((part.get("Label") or "").split())
        if text or label:
            sections.append(AbstractSection(label, text, part.get("NlmCategory") or ""))
    return tuple(sections)


def _authors(author_list: Element) -> tuple[tuple[str, ...], tuple[AuthorName, ...]]:
    """Display names and PubMed's own name parts, for the same authors in the same order."""
    names: list[str] = []
    parted: list[AuthorName] = []
    for author in author_list:
        if author.tag != "Author" or author.get("ValidYN") == "N":
            continue
        last = fore = initials = suffix = collective = ""
        for child in author:
            tag = child.tag
            if tag == "LastName":
                last = _text(child)
            elif tag == "ForeName":
                fore = _text(child)
            elif tag == "Initials":
                initials = _text(child)
            elif tag == "Suffix":
                suffix = _text(child)
            elif tag == "CollectiveName":
                collective = _text(child)
        if collective:
            name = collective
        elif suffix:
            name = _join(fore, last, suffix) if fore else _join(last, initials, suffix)
        elif fore:
            name = f"{fore} {last}" if last else fore
        else:
            name = f"{last} {initials}" if last and initials else last or initials
        if name:
            names.append(name)
            parted.append(AuthorName(last, fore, initials, suffix, collective))
    return tuple(names), tuple(parted)


def _corrections(link_list: Element) -> tuple[Correction, ...]:
    links = []
    for link in link_list:
        ref_type = link.get("RefType", "")
        if link.tag != "CommentsCorrections" or ref_type not in _CORRECTION_TYPES:
            continue
        pmid = source = ""
        for child in link:
            if child.tag == "PMID":
                pmid = _text(child)
            elif child.tag == "RefSource":
                source = _text(child)
        links.append(Correction(ref_type, pmid, source))
    return tuple(links)


def _join(*parts: str) -> str:
    return " ".join([p for p in parts if p])


def _pub_date(date: Element) -> tuple[str, str]:
    """ISO date (as precise as the record) and the date as the record writes it."""
    parts = {child.tag: _text(child) for child in date}
    medline = parts.get("MedlineDate", "")
    if medline:
        return _medline_date(medline), medline
    year, month, day = parts.get("Year", ""), parts.get("Month", ""), parts.get("Day", "")
    written = _join(year, month or parts.get("Season", ""), day)
    if not year:
        return "", written
    iso_month = _month(month)
    if not iso_month:
        return year, written
    if day.isdigit():
        return f"{year}-{iso_month}-{int(day):02d}", written
    return f"{year}-{iso_month}", written


def _medline_date(text: str) -> str:
    """First year-month of a free-text MedlineDate: '1998 Dec-1999 Jan' -> '1998-12'."""
    words = text.replace("-", " ").replace("/", " ").split()
    for index, word in enumerate(words):
        if len(word) == 4 and word.isdigit():
            following = words[index + 1] if index + 1 < len(words) else ""
            month = _month(following)
            return f"{word}-{month}" if month else word
    return ""


def _month(value: str) -> str:
    if value.isdigit():
        return f"{int(value):02d}" if 1 <= int(value) <= 12 else ""
    return _MONTHS.get(value[:3].lower(), "")


def _mesh(heading_list: Element) -> tuple[tuple[str, ...], tuple[str, ...]]:
    terms: list[str] = []
    major: list[str] = []
    for heading in heading_list:
        name, is_major = "", False
        for child in heading:
            if child.tag == "DescriptorName":
                name = _text(child)
            if child.get("MajorTopicYN") == "Y":  # on the descriptor or on one of its qualifiers
                is_major = True
        if name:
            terms.append(name)
            if is_major:
                major.append(name)
    return tuple(terms), tuple(major)


def _grants(grant_list: Element) -> tuple[Grant, ...]:
    grants = []
    for grant in grant_list:
        if grant.tag == "Grant":
            parts = {child.tag: _text(child) for child in grant}
            grants.append(
                Grant(parts.get("GrantID", ""), parts.get("Agency", ""), parts.get("Country", ""))
            )
    return tuple(grants)


def _entrez_date(history: Element) -> str:
    for date in history:
        if date.get("PubStatus") == "entrez":
            parts = {child.tag: _text(child) for child in date}
            year, month, day = parts.get("Year", ""), parts.get("Month", ""), parts.get("Day", "")
            if year.isdigit() and month.isdigit() and day.isdigit():
                return f"{year}-{int(month):02d}-{int(day):02d}"
    return ""
