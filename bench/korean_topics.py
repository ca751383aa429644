"""Korean topics on the whole daily file: how many topic terms are shown in Korean, and whether
the Korean topic names the same headings as the English one (issue 14.5).

For every paper of the file, the offline summary's topic terms (bot.topics.topics) are taken in
English and in Korean, and each Korean term is rendered alone (bot.topics.topic_in) to see whether
the glossary named it in Hangul. Printed as a Markdown table:

- papers with a topic, and where their topic comes from (MeSH headings or author keywords);
- topic terms shown in Korean, all and by source, and topics with all or some terms in Korean;
- Korean topics that name other terms than the English one (as a set, and in another order);
- Korean topics with more Latin letters than Hangul.

    python bench/korean_topics.py                   # the current code
    python bench/korean_topics.py --before db2bc6f  # that commit's code, then the current
    python bench/korean_topics.py --unknown 40      # and the 40 terms most often in English

`--before REV` extracts REV's `bot/` package with `git archive` into a temporary folder and
measures it in a child process, so both columns read the same file with their own parser.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.corpus import DAILY_FILE, require  # noqa: E402

HANGUL = re.compile("[\uac00-\ud7a3]")
LATIN = re.compile("[A-Za-z]")


def measure(path: Path, unknown: int) -> dict[str, Any]:
    """The figures for the `bot` package first on sys.path (the current one or --code's)."""
    from bot.models import Paper
    from bot.pubmed.parse import iter_records
    from bot.topics import GENERIC_HEADINGS, topic_in, topics

    counts: Counter[str] = Counter()
    left_in_english: Counter[str] = Counter()
    for record in iter_records(path):
        if not isinstance(record, Paper):
            continue
        counts["papers"] += 1
        english = topics(record, "en")
        korean = topics(record, "ko")
        if not english and not korean:
            continue
        counts["with topic"] += 1
        has_mesh = any(m not in GENERIC_HEADINGS for m in record.mesh_terms)
        source = "mesh" if has_mesh else "keywords"
        counts[f"with topic from {source}"] += 1
        if set(korean) != set(english):
            counts["other terms"] += 1
        elif korean != english:
            counts["other order"] += 1
        in_korean = [bool(HANGUL.search(topic_in("ko", [term]))) for term in korean]
        counts["all in Korean"] += all(in_korean)
        counts["some in Korean"] += any(in_korean)
        for term in korean:
            counts["terms"] += 1
            counts[f"terms from {source}"] += 1
            if HANGUL.search(topic_in("ko", [term])):
                counts["terms in Korean"] += 1
                counts[f"terms in Korean from {source}"] += 1
            else:
                left_in_english[term.casefold()] += 1
        shown = topic_in("ko", korean)
        if len(LATIN.findall(shown)) > len(HANGUL.findall(shown)):
            counts["mostly Latin"] += 1
    return {"counts": dict(counts), "unknown": left_in_english.most_common(unknown)}


def run(code: Path, path: Path, unknown: int) -> dict[str, Any]:
    """measure() in a child process that imports `bot` from `code`."""
    command = [sys.executable, __file__, "--file", str(path), "--unknown", str(unknown)]
    out = subprocess.run(
        [*command, "--measure", str(code)],
        check=True,
        capture_output=True,
        text=True,
        cwd=code,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def share(part: int, whole: int) -> str:
    return f"{part:,} of {whole:,} ({100 * part / whole:.1f}%)" if whole else "0 of 0"


ROWS = (
    ("papers with a topic", "with topic", "papers"),
    ("… from MeSH headings", "with topic from mesh", "with topic"),
    ("… from author keywords (no MeSH yet)", "with topic from keywords", "with topic"),
    ("topic terms shown in Korean", "terms in Korean", "terms"),
    ("… of MeSH headings", "terms in Korean from mesh", "terms from mesh"),
    ("… of author keywords", "terms in Korean from keywords", "terms from keywords"),
    ("Korean topics with every term in Korean", "all in Korean", "with topic"),
    ("Korean topics with at least one term in Korean", "some in Korean", "with topic"),
    ("Korean topic names other terms than the English", "other terms", "with topic"),
    ("Korean topic has the same terms in another order", "other order", "with topic"),
    ("Korean topic has more Latin letters than Hangul", "mostly Latin", "with topic"),
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=DAILY_FILE)
    parser.add_argument("--before", metavar="REV", help="also measure this commit's code")
    parser.add_argument("--unknown", type=int, default=0, metavar="N")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    path = require(args.file.resolve())
    if args.measure:  # child process: the code under args.measure, figures as JSON
        sys.path.insert(0, str(args.measure))
        print(json.dumps(measure(path, args.unknown)))
        return 0

    columns: dict[str, dict[str, Any]] = {}
    if args.before:
        with tempfile.TemporaryDirectory() as folder:
            archive = subprocess.run(
                ["git", "archive", args.before, "bot"], check=True, capture_output=True, cwd=ROOT
            ).stdout
            subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
            columns[f"before ({args.before})"] = run(Path(folder), path, args.unknown)
    columns["now"] = run(ROOT, path, args.unknown)

    print(f"file: {path.name}")
    print()
    print("| | " + " | ".join(columns) + " |")
    print("|---|" + "---:|" * len(columns))
    for label, part, whole in ROWS:
        cells = [
            share(column["counts"].get(part, 0), column["counts"].get(whole, 0))
            for column in columns.values()
        ]
        print(f"| {label} | " + " | ".join(cells) + " |")
    if args.unknown:
        for name, column in columns.items():
            print()
            print(f"terms most often left in English, {name}:")
            print(", ".join(f"{term} ({count})" for term, count in column["unknown"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
