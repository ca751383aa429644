"""What the offline summaries say, on a whole NLM daily update file (issue 14, points 3 and 4).

For every English summary: how many key findings are cut (they end in "…"), how many are
boilerplate rather than a finding (a trial registration, "Supplementary data are available…",
a copyright or funding line, a review's aim), how many start mid-sentence (where a splitter
that breaks at "p." or "vol." starts them), how many
research papers with an abstract get no finding, and how often each study design is named.
The criteria are written here, by pattern, independently of bot/finding.py, so that they check
the summaries rather than repeat the code that makes them.

    python bench/summaries.py                      # bench/data/pubmed21n1298.xml.gz
    python bench/summaries.py --file other.xml.gz
    python bench/summaries.py --code /tmp/before   # the bot/ of another checkout (a parent commit)

Goal (issue 14.4): at most 3% of findings cut, no boilerplate finding.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.corpus import DAILY_FILE, require  # noqa: E402

CUT_GOAL = 0.03

# What is not a finding, by pattern (any match anywhere in the finding counts).
BOILERPLATE: dict[str, re.Pattern[str]] = {
    "registration": re.compile(
        r"\b(NCT\d{6,}|ISRCTN\d+|ChiCTR[-\w]*\d|INPLASY\d+|CRD\d{6,}|DRKS\d+|ACTRN\d+|UMIN\d+|"
        r"IRCT\d+|CTRI/\d|KCT\d+|PROSPERO)\b|\btrial registration\b|\bregistered (on|at|with)\b",
        re.I,
    ),
    "supplementary data": re.compile(
        r"\bsupplementary (data|information|materials?)\b[^.]{0,40}\bavailable\b", re.I
    ),
    "copyright": re.compile(r"©|\bcopyright\b|\ball rights reserved\b", re.I),
    "funding": re.compile(
        r"\bfunded by\b|^\(?funding\b|\bfunding:|\b(work|study|research|project|trial) (was|is) "
        r"(partly |partially |financially )?(supported|funded)\b|\bsupported by (a )?grants?\b",
        re.I,
    ),
    "review aim": re.compile(
        r"\bin this (article|review|paper|chapter|mini-?review|overview|perspective)\b"
        r"[^.]{0,40}?\bwe\b[^.]{0,15}?\b(discuss|summari[sz]e|review|describe|highlight|outline)"
        r"|^this (article|review|paper|chapter) (will )?"
        r"(discuss|summari[sz]|review|describ|highlight)",
        re.I,
    ),
}


ABBREVIATIONS = {"al", "e.g", "i.e", "fig", "vs", "approx"}
BEFORE_NUMBERS = {"p", "pp", "vol", "no"}  # "p. 50", "vol. 13"; but "active P. In general"


def starts_a_sentence(before: str, following: str) -> bool:
    """Whether text that follows `before` starts a sentence: `before` is empty or ends with a
    stop (or a colon) that is not an abbreviation's ("p.", "vol.", "et al.")."""
    before = before.rstrip()
    if not before:
        return True
    if not re.search(r"[.!?:][\"'”’)\]]*$", before):
        return False
    word = before.rstrip("\"'”’)]").rstrip(".!?:").split()[-1:] or [""]
    word = word[0].lstrip("([").lower()
    if word in BEFORE_NUMBERS:
        return not following[:1].isdigit()
    return word not in ABBREVIATIONS


def starts_mid_sentence(finding: str, sections: list[str]) -> bool:
    """Whether the finding begins inside a sentence of the abstract, as a splitter that breaks
    at "p." or "vol." leaves it."""
    head = finding[:60]
    befores = [t[: m.start()] for t in sections for m in re.finditer(re.escape(head), t)]
    return bool(befores) and not any(starts_a_sentence(b, finding) for b in befores)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=DAILY_FILE)
    parser.add_argument(
        "--code", type=Path, help="a checkout whose bot/ to measure instead of this one's"
    )
    args = parser.parse_args()
    require(args.file)
    if args.code:  # before anything imports bot
        sys.path.insert(0, str(args.code.resolve()))

    import bot
    from bot.models import Paper
    from bot.pubmed.parse import iter_records
    from bot.summary import summarize

    papers = with_finding = cut = research = research_abstract = research_empty = 0
    fragments = 0
    boilerplate: Counter[str] = Counter()
    designs: Counter[str] = Counter()
    examples: dict[str, str] = {}
    for record in iter_records(args.file):
        if not isinstance(record, Paper):
            continue
        papers += 1
        summary = summarize(record, "en")
        designs[summary.design] += 1
        finding = summary.finding
        if record.kind == "research":
            research += 1
            if record.abstract_sections:
                research_abstract += 1
                research_empty += not finding
        if not finding:
            continue
        with_finding += 1
        cut += finding.endswith("…")
        for name, pattern in BOILERPLATE.items():
            if pattern.search(finding):
                boilerplate[name] += 1
                examples.setdefault(name, f"{record.pmid}: {finding[:100]}")
        if starts_mid_sentence(finding, [s.text for s in record.abstract_sections]):
            fragments += 1
            examples.setdefault("mid-sentence", f"{record.pmid}: {finding[:100]}")

    share = cut / with_finding if with_finding else 0.0
    print(f"file: {args.file.name}; code: {Path(bot.__file__).parent.parent}")
    print()
    print("| figure | value |")
    print("|---|---:|")
    print(f"| papers | {papers:,} |")
    print(f"| English summaries with a key finding | {with_finding:,} |")
    print(f"| findings cut (ending in …) | {cut:,} ({share:.1%}) |")
    for name in BOILERPLATE:
        print(f"| boilerplate findings: {name} | {boilerplate[name]:,} |")
    print(f"| findings starting mid-sentence | {fragments:,} |")
    print(
        f"| research papers (kind) with an abstract but no finding | "
        f"{research_empty:,} of {research_abstract:,} "
        f"({research_empty / max(research_abstract, 1):.1%}; {research:,} research papers) |"
    )
    print()
    print("| design | papers |")
    print("|---|---:|")
    for name, count in designs.most_common():
        print(f"| {name} | {count:,} |")
    print()
    for name, example in examples.items():
        print(f"- e.g. {name}: {example}")
    met = share <= CUT_GOAL and not sum(boilerplate.values()) and not fragments
    print(
        f"- goal (≤ {CUT_GOAL:.0%} cut, no boilerplate or fragment): {'met' if met else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
