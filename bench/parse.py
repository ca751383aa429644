"""Parsing speed and memory: `paper-surfer parse` end to end, a bare lxml floor, Biopython.

All read the same NLM daily update file (20,788 records, 233 MB of XML, 40 MB gzipped), decompressed
once to a temporary `.xml` for the `.xml` runs. Each run is a fresh Python process, timed by this
script from its start to its exit (interpreter start and imports included, for every run alike);
each reports its own peak memory (VmHWM). Every contender runs --repeat times, interleaved, and
the best time counts: the machine is shared, and the best run is the one least disturbed.

- floor:        `etree.iterparse(path, tag=("PubmedArticle", "PubmedBookArticle"))`, `clear()`
                each record and delete the ones before it, extract nothing (the parser's own
                loop without the parser). On `.xml.gz` it reads the gzip stream the parser reads
                (`bot.pubmed.parse`'s own decompression, zlib in pieces), since lxml's iterparse
                does not decompress a path itself.
- parse:        `paper-surfer parse FILE > out.jsonl` (bot.cli.main, output to a file)
- iter_records: the parser alone, every field of every paper, nothing written (what the poller's
                efetch batches use)
- biopython:    `Bio.Entrez.read(handle, validate=False)` on the `.xml`: the whole document in
                memory

    python bench/parse.py                      # everything, 3 runs each (about 3 minutes)
    python bench/parse.py --repeat 5 --skip biopython
    python bench/parse.py --xml /tmp/pubmed21n1298.xml   # reuse a decompressed copy

Goals (issue 18): `parse` on `.xml` within 1.5x the `.xml` floor, at least 8x Biopython, peak at
most 50 MB.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.corpus import DAILY_FILE, require  # noqa: E402

# (name, input): the runs, in the order of the table.
RUNS = (
    ("floor", "xml"),
    ("floor", "gz"),
    ("parse", "xml"),
    ("parse", "gz"),
    ("iter_records", "xml"),
    ("biopython", "xml"),
)
NAMES = ("floor", "parse", "iter_records", "biopython")
RECORD_TAGS = ("PubmedArticle", "PubmedBookArticle")


# --- the contenders, each run in a child process ---------------------------------------------


def run_floor(path: Path) -> int:
    from lxml import etree

    from bot.pubmed.parse import _maybe_gunzip

    count = 0
    with open(path, "rb") as raw:
        # The .xml floor hands lxml the path (libxml2 reads the file); .gz, the parser's stream.
        source = str(path) if path.suffix == ".xml" else _maybe_gunzip(raw)
        for _, elem in etree.iterparse(source, tag=RECORD_TAGS):
            count += 1
            elem.clear(keep_tail=False)
            parent = elem.getparent()
            while elem.getprevious() is not None:
                del parent[0]
    return count


def run_parse(path: Path, out: Path) -> int:
    """`paper-surfer parse FILE > out`: the command's own main(), stdout redirected to a file."""
    import io

    from bot.cli import main

    with open(out, "wb") as target:
        os.dup2(target.fileno(), 1)
    note = io.StringIO()
    status = main(["parse", str(path)], stderr=note)
    sys.stdout.flush()
    if status != 0:
        raise SystemExit(f"paper-surfer parse exited {status}: {note.getvalue()}")
    return int(note.getvalue().split()[1])  # "paper-surfer: 20788 records, ..."


def run_iter_records(path: Path) -> int:
    from bot.models import Paper
    from bot.pubmed.parse import iter_records

    return sum(1 for record in iter_records(path) if isinstance(record, Paper))


def run_biopython(path: Path) -> int:
    from Bio import Entrez

    with open(path, "rb") as handle:
        document = Entrez.read(handle, validate=False)
    return len(document["PubmedArticle"]) + len(document["PubmedBookArticle"])


def child(name: str, path: Path, report: Path, out: Path) -> None:
    start = time.perf_counter()
    if name == "parse":
        records = run_parse(path, out)
    else:
        records = {
            "floor": run_floor,
            "iter_records": run_iter_records,
            "biopython": run_biopython,
        }[name](path)
    seconds = time.perf_counter() - start
    cpu = time.process_time()
    report.write_text(
        json.dumps({"records": records, "inner": seconds, "cpu": cpu, "peak_mb": peak_memory_mb()})
    )


def peak_memory_mb() -> float:
    """This process's own peak resident memory. Not getrusage: Linux carries the parent's peak
    over a fork and exec into the child's ru_maxrss."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# --- the parent ---------------------------------------------------------------------------------


def busy_jiffies() -> tuple[int, int]:
    """(busy, total) clock ticks of all cores, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def measure(name: str, path: Path, work: Path) -> dict[str, float]:
    report, out = work / "report.json", work / "out.jsonl"
    command = [sys.executable, __file__, "--child", name, "--file", str(path)]
    command += ["--report", str(report), "--out", str(out)]
    start = time.perf_counter()
    subprocess.run(command, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    result: dict[str, float] = json.loads(report.read_text())
    result["wall"] = wall
    if out.exists():  # after the clock: the lines written must be the records counted
        with open(out, "rb") as written:
            lines = sum(chunk.count(b"\n") for chunk in iter(lambda: written.read(1 << 20), b""))
        out.unlink()
        if lines != result["records"]:
            raise SystemExit(f"{name}: {lines} lines written for {result['records']} records")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=DAILY_FILE, help="the .xml.gz file")
    parser.add_argument(
        "--xml", type=Path, help="its decompressed copy (made in /tmp if not given)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of each contender (3)")
    parser.add_argument("--skip", action="append", default=[], choices=NAMES)
    parser.add_argument("--child", choices=NAMES, help=argparse.SUPPRESS)
    parser.add_argument("--report", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.file, args.report, args.out)
        return 0
    require(args.file)

    with tempfile.TemporaryDirectory(prefix="bench-parse-") as folder:
        work = Path(folder)
        xml = args.xml
        if xml is None:
            xml = work / args.file.name.removesuffix(".gz")
            print(f"decompressing to {xml} ...", file=sys.stderr, flush=True)
            with gzip.open(args.file) as source, open(xml, "wb") as target:
                shutil.copyfileobj(source, target, 1 << 20)
        inputs = {"xml": xml, "gz": args.file}
        runs = [(name, kind) for name, kind in RUNS if name not in args.skip]
        results: dict[tuple[str, str], list[dict[str, float]]] = {run: [] for run in runs}
        load_before = os.getloadavg()
        busy0, total0 = busy_jiffies()
        own_cpu = 0.0
        started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        for round_ in range(args.repeat):
            for name, kind in runs:
                print(
                    f"run {round_ + 1}/{args.repeat}: {name} .{kind} ...",
                    file=sys.stderr,
                    flush=True,
                )
                result = measure(name, inputs[kind], work)
                results[(name, kind)].append(result)
                own_cpu += result["cpu"]
        busy1, total1 = busy_jiffies()
        load_after = os.getloadavg()
        xml_bytes = xml.stat().st_size

    cores = os.cpu_count() or 1
    ticks = os.sysconf("SC_CLK_TCK")
    elapsed_cores = (total1 - total0) / ticks / cores  # wall seconds of the whole run
    other = ((busy1 - busy0) / ticks - own_cpu) / max(elapsed_cores, 1e-9)
    print(
        f"file: {args.file.name} ({args.file.stat().st_size / 1e6:.0f} MB gzipped, "
        f"{xml_bytes / 1e6:.0f} MB as .xml)"
    )
    print(
        f"machine: {platform.machine()}, {cores} cores, Python {platform.python_version()}; "
        f"{started}; best of {args.repeat} runs each, interleaved"
    )
    print(
        f"load: average {load_before[0]:.1f} before, {load_after[0]:.1f} after; other processes "
        f"used {max(other, 0):.1f} of {cores} cores during the runs"
    )
    print()
    print("| run | input | records | seconds (best) | all runs | CPU s | peak memory |")
    print("|---|---|---:|---:|---|---:|---:|")
    best: dict[tuple[str, str], dict[str, float]] = {}
    for (name, kind), rs in results.items():
        top = min(rs, key=lambda r: r["wall"])
        best[(name, kind)] = top
        every = " / ".join(f"{r['wall']:.2f}" for r in rs)
        print(
            f"| {name} | .{kind} | {top['records']:,.0f} | {top['wall']:.2f} | {every} | "
            f"{top['cpu']:.2f} | {max(r['peak_mb'] for r in rs):.0f} MB |"
        )
    print()
    verdicts(best)
    return 0


def verdicts(best: dict[tuple[str, str], dict[str, float]]) -> None:
    def seconds(name: str, kind: str) -> float | None:
        run = best.get((name, kind))
        return run["wall"] if run else None

    parse_xml, floor_xml = seconds("parse", "xml"), seconds("floor", "xml")
    bio = seconds("biopython", "xml")
    if parse_xml and floor_xml:
        ratio = parse_xml / floor_xml
        print(f"- parse .xml vs floor .xml: {ratio:.2f}x (goal <= 1.5x: {_met(ratio <= 1.5)})")
    parse_gz, floor_gz = seconds("parse", "gz"), seconds("floor", "gz")
    if parse_gz and floor_gz:
        print(f"- parse .gz vs floor .gz: {parse_gz / floor_gz:.2f}x")
    if parse_xml and bio:
        speedup = bio / parse_xml
        print(
            f"- parse .xml vs Biopython: {speedup:.1f}x faster (goal >= 8x: {_met(speedup >= 8)})"
        )
        if floor_xml:
            print(f"- floor .xml vs Biopython: {bio / floor_xml:.1f}x faster")
    if ("parse", "xml") in best:
        peak = best[("parse", "xml")]["peak_mb"]
        print(f"- parse .xml peak memory: {peak:.0f} MB (goal <= 50 MB: {_met(peak <= 50)})")
    records = {r["records"] for r in best.values()}
    if len(records) > 1:
        print(f"- WARNING: the runs counted different numbers of records: {sorted(records)}")


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


if __name__ == "__main__":
    sys.exit(main())
