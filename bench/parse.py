"""Parsing speed and memory: our parser against Biopython and against a bare lxml floor.

All three read the same NLM daily update file (20,788 records, 233 MB of XML, gzip-compressed),
each in a fresh Python process so its peak memory is its own:

- floor:     lxml iterparse over the records, clearing each, extracting nothing
- ours:      bot.pubmed.parse.iter_records, every field of the paper record
- biopython: Bio.Entrez.read, which builds the whole document in memory

    python bench/parse.py                 # all three, then the ratios and the goals
    python bench/parse.py --skip biopython

Goals (issue 2): at least 8x Biopython's records/s, within 2x of the floor's time, peak < 150 MB.
"""

from __future__ import annotations

import argparse
import gzip
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.corpus import DAILY_FILE, require  # noqa: E402

CONTENDERS = ("floor", "ours", "biopython")


def run_floor(path: Path) -> int:
    from lxml import etree

    count = 0
    with gzip.open(path) as stream:
        for _, elem in etree.iterparse(
            stream,
            events=("end",),
            tag=("PubmedArticle", "PubmedBookArticle"),
            load_dtd=False,
            no_network=True,
            resolve_entities=False,
            huge_tree=True,
        ):
            count += 1
            elem.clear(keep_tail=False)
            parent = elem.getparent()
            while elem.getprevious() is not None:
                del parent[0]
    return count


def run_ours(path: Path) -> int:
    from bot.models import Paper
    from bot.pubmed.parse import iter_records

    return sum(1 for record in iter_records(path) if isinstance(record, Paper))


def run_biopython(path: Path) -> int:
    from Bio import Entrez

    with gzip.open(path) as stream:
        document = Entrez.read(stream, validate=False)
    return len(document["PubmedArticle"]) + len(document["PubmedBookArticle"])


def measure(name: str, path: Path) -> dict[str, float]:
    """Run one contender in this process and report records, seconds and peak memory."""
    runner = {"floor": run_floor, "ours": run_ours, "biopython": run_biopython}[name]
    start = time.perf_counter()
    cpu_start = time.process_time()
    records = runner(path)
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    return {"records": records, "seconds": seconds, "cpu": cpu, "peak_mb": peak_memory_mb()}


def peak_memory_mb() -> float:
    """This process's own peak resident memory. Linux's ru_maxrss carries over fork and exec
    (a child would report its parent's peak), so read VmHWM where /proc has it."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=DAILY_FILE)
    parser.add_argument("--skip", action="append", default=[], choices=CONTENDERS)
    parser.add_argument("--contender", choices=CONTENDERS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    require(args.file)
    if args.contender:  # child process: measure one and print JSON
        print(json.dumps(measure(args.contender, args.file)))
        return 0

    results: dict[str, dict[str, float]] = {}
    for name in CONTENDERS:
        if name in args.skip:
            continue
        print(f"running {name} ...", file=sys.stderr, flush=True)
        out = subprocess.run(
            [sys.executable, __file__, "--contender", name, "--file", str(args.file)],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        results[name] = json.loads(out.stdout)

    print(f"file: {args.file.name} ({args.file.stat().st_size / 1e6:.0f} MB compressed)")
    print(f"machine: {platform.machine()}, Python {platform.python_version()}")
    print()
    print("| parser | records | seconds | records/s | CPU s | peak memory |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, r in results.items():
        rate = r["records"] / r["seconds"]
        print(
            f"| {name} | {r['records']:,.0f} | {r['seconds']:.1f} | {rate:,.0f} | "
            f"{r['cpu']:.1f} | {r['peak_mb']:,.0f} MB |"
        )
    print()
    ours = results.get("ours")
    if ours:
        if "biopython" in results:
            bio = results["biopython"]
            speedup = (ours["records"] / ours["seconds"]) / (bio["records"] / bio["seconds"])
            verdict = "met" if speedup >= 8 else "NOT met"
            print(f"- throughput vs Biopython: {speedup:.1f}x (goal >= 8x: {verdict})")
            print(f"- memory vs Biopython: {bio['peak_mb'] / ours['peak_mb']:.0f}x less")
        if "floor" in results:
            ratio = ours["seconds"] / results["floor"]["seconds"]
            verdict = "met" if ratio <= 2 else "NOT met"
            print(f"- time vs bare iterparse floor: {ratio:.2f}x (goal <= 2x: {verdict})")
        verdict = "met" if ours["peak_mb"] < 150 else "NOT met"
        print(f"- peak memory: {ours['peak_mb']:.0f} MB (goal < 150 MB: {verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
