"""Count MeSH descriptors and publication types in a PubMed file, for the Korean glossary.

`bot/data/glossary_ko.json` translates PubMed publication types and the most frequent MeSH
descriptor headings into Korean. This script regenerates its list of terms: it reads a PubMed
XML file (by default the whole daily update file that `make bench-data` fetches) with the
project's own parser and prints, as TSV sorted by count, every descriptor with the number of
papers that carry it and the number that carry it as a major topic (MajorTopicYN="Y" on the
descriptor or on one of its qualifiers), then every publication type with its count.

    .venv/bin/python tools/mesh_frequency.py --top 400 > /tmp/mesh.tsv
    .venv/bin/python tools/mesh_frequency.py --top 200 --sort major

Run it from the repository root (or with the project installed) so that `bot` is importable.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from bot.models import Paper
from bot.pubmed.parse import iter_records

DEFAULT_INPUT = Path(__file__).resolve().parent.parent / "bench" / "data" / "pubmed21n1298.xml.gz"


def count_terms(path: Path) -> tuple[Counter[str], Counter[str], Counter[str], int]:
    """Descriptor counts (all, major topic), publication type counts and the number of papers."""
    mesh: Counter[str] = Counter()
    major: Counter[str] = Counter()
    types: Counter[str] = Counter()
    papers = 0
    for record in iter_records(path):
        if not isinstance(record, Paper):
            continue
        papers += 1
        mesh.update(set(record.mesh_terms))
        major.update(set(record.mesh_major))
        types.update(set(record.publication_types))
    return mesh, major, types, papers


def _ranked(counts: Counter[str], key: Counter[str]) -> list[str]:
    """Terms by descending `key` count, then descending `counts`, then alphabetically."""
    return sorted(counts, key=lambda term: (-key[term], -counts[term], term))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input", nargs="?", type=Path, default=DEFAULT_INPUT, help="PubMed XML")
    parser.add_argument("--top", type=int, default=0, help="print only the N first descriptors")
    parser.add_argument(
        "--sort",
        choices=("count", "major"),
        default="count",
        help="rank descriptors by all occurrences (default) or by major-topic occurrences",
    )
    parser.add_argument(
        "--section",
        choices=("all", "mesh", "types"),
        default="all",
        help="print descriptors, publication types or both (default)",
    )
    args = parser.parse_args(argv)

    mesh, major, types, papers = count_terms(args.input)
    out = sys.stdout
    out.write(f"# {args.input.name}: {papers} papers, {len(mesh)} descriptors, ")
    out.write(f"{len(types)} publication types\n")
    if args.section in ("all", "mesh"):
        ranked = _ranked(mesh, major if args.sort == "major" else mesh)
        if args.top > 0:
            ranked = ranked[: args.top]
        out.write("# mesh\nterm\tcount\tmajor_count\n")
        for term in ranked:
            out.write(f"{term}\t{mesh[term]}\t{major[term]}\n")
    if args.section in ("all", "types"):
        out.write("# publication_types\nterm\tcount\tmajor_count\n")
        for term in _ranked(types, types):
            out.write(f"{term}\t{types[term]}\t\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
