"""Polling cost: our poll cycle against a naive poller, on the loopback E-utilities server.

1,000 subscriptions in 400 chats over 300 distinct queries (a few popular, most rare) are polled
against `tests/servers/eutils.py` serving the NLM daily update file (20,788 records, newest
Entrez date 2021-06-07) with NCBI's rate limit enforced (3 requests/s per IP, 10 per API key):

- ours:  bot.poller.poll_cycle on a real Store (temp SQLite file) with a real EutilsClient:
         one esearch per distinct query, one shared efetch of the unknown PMIDs (200 a request).
         It runs twice: the first poll (every query new, BACKFILL_DAYS window) and the next one
         (cursors set, every paper already stored).
- naive: what the earlier program did, with the same EutilsClient (same limiter and retries):
         per subscription, one esearch over the same window and an efetch of all its ids in
         batches of 200, nothing shared and nothing remembered; each paper is scored, not stored.

The fake runs in this process; each poller runs in a child process of its own, so its CPU time
and peak memory (VmHWM) are its own. Requests and 429s are counted by the fake.

    python bench/poll.py                      # 10 req/s (with an API key), naive run in full
    python bench/poll.py --rate 3             # NCBI's keyless limit
    python bench/poll.py --naive-sample 200   # naive on 200 subscriptions, extrapolated

Goals (issue): requests <= distinct queries x pages + ceil(new PMIDs / 200) (+ 1: the poll's
question of what changed, issue 16), at least 3x fewer
requests than the naive poller, wall time within 10% of the rate-limit floor (requests / rate).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from bench.corpus import DAILY_FILE, require  # noqa: E402

CORPUS_DAY = date(2021, 6, 7)  # the newest Entrez date of the daily file: "today" of the bench
API_KEY = "bench-poll-key"
EFETCH_BATCH = 200
ESEARCH_CAP = 9_999
MAX_SUBSCRIPTIONS_PER_CHAT = 20

# Words of titles and keywords too generic for anyone to subscribe to.
GENERIC = frozenset(
    """study studies patients patient analysis review case report cases effect effects risk
    treatment clinical associated association outcomes outcome role impact evaluation based
    new novel use data model models factors factor development response disease diseases
    health care quality assessment management potential early primary system systematic
    cell cells human therapy acute chronic expression activity gene molecular via among
    during after between through versus using comparison trial results different high low
    level levels diagnosis prognosis prevention children adults adult mortality safety
    surgery stress epidemiology prevalence incidence treatment china survey approach method
    methods performance application applications research single multiple first two three
    years year related specific among toward towards current recent role clinical factors
    case-control cross-sectional retrospective prospective cohort protocol letter editorial
    comment erratum correction""".split()  # noqa: SIM905 - a word list
)
# MeSH check tags and study designs: on most records, searched by nobody.
MESH_CHECK_TAGS = frozenset(
    {
        "humans", "animals", "male", "female", "adult", "aged", "middle aged", "young adult",
        "adolescent", "child", "infant", "pregnancy", "mice", "rats", "aged, 80 and over",
        "child, preschool", "infant, newborn", "retrospective studies", "prospective studies",
        "cross-sectional studies", "treatment outcome", "risk factors", "cohort studies",
        "follow-up studies", "surveys and questionnaires", "time factors",
        "case-control studies",
    }
)  # fmt: skip
_PHRASE = re.compile(r"[a-z0-9][a-z0-9 \-]*[a-z0-9]")
_MESH = re.compile(r"[a-z0-9][a-z0-9 ,\-]*[a-z0-9]")
_TITLE_WORD = re.compile(r"[a-z][a-z0-9\-]*[a-z0-9]")


# --- the workload: queries from the corpus, subscriptions over chats ---------------------------


def _text(element: Any) -> str:
    return " ".join("".join(element.itertext()).split()) if element is not None else ""


def corpus_vocabulary(fake: Any, start: date, end: date) -> dict[str, Any]:
    """Keywords, title words and bigrams, authors of the records in the window; MeSH headings of
    older records (records of the last days are not MeSH-indexed yet, as in PubMed)."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    records: list[dict[str, list[str]]] = []
    keywords: Counter[str] = Counter()
    title_words: Counter[str] = Counter()
    bigrams: Counter[str] = Counter()
    last_names: Counter[str] = Counter()
    mesh: Counter[str] = Counter()
    from bot.pubmed.query import STOPWORDS

    for pmid in fake.pmids:  # newest Entrez date first
        edat = fake.entrez_date(pmid)
        if edat is None or edat > end:
            continue
        raw = fake.raw(pmid)
        cut = raw.find(b"<ReferenceList")
        if cut > 0:
            raw = raw[:cut] + raw[raw.rfind(b"</ReferenceList>") + len(b"</ReferenceList>") :]
        root = etree.fromstring(raw, parser)
        if edat < start:  # older records: only their MeSH headings
            mesh.update({_text(d).lower() for d in root.iterfind(".//MeshHeading/DescriptorName")})
            continue
        kws = sorted(
            {k for k in (_text(e).lower() for e in root.iterfind(".//KeywordList/Keyword")) if k}
        )
        title = _text(root.find(".//ArticleTitle")).lower()
        words = [w for w in _TITLE_WORD.findall(title) if w not in STOPWORDS]
        plain = [w for w in words if len(w) >= 5 and w not in GENERIC and not w[0].isdigit()]
        pairs = [
            f"{a} {b}"
            for a, b in zip(title.split(), title.split()[1:], strict=False)
            if _PHRASE.fullmatch(a)
            and _PHRASE.fullmatch(b)
            and len(a) > 3
            and len(b) > 3
            and a not in STOPWORDS
            and b not in STOPWORDS
            and not ({a, b} & GENERIC)
        ]
        authors = []
        for author in root.iterfind(".//AuthorList/Author"):
            last, initials = _text(author.find("LastName")), _text(author.find("Initials"))
            if last.isascii() and last.isalpha() and initials.isalpha() and len(last) > 2:
                authors.append(f"{last.lower()} {initials[:1].lower()}")
                last_names[last.lower()] += 1
        keywords.update(kws)
        title_words.update(set(plain))
        bigrams.update(set(pairs))
        records.append({"kw": kws, "ti": sorted(set(plain)), "au": authors})
    return {
        "records": records,
        "keywords": keywords,
        "title_words": title_words,
        "bigrams": bigrams,
        "last_names": last_names,
        "mesh": mesh,
    }


def _phrase(text: str, tag: str = "") -> str:
    shown = f'"{text}"' if " " in text or "-" in text else text
    return shown + (f"[{tag}]" if tag else "")


def _keyword_ok(text: str) -> bool:
    return (
        bool(_PHRASE.fullmatch(text))
        and len(text) <= 40
        and len(text.split()) <= 4
        and any(c.isalpha() for c in text)
        and text not in GENERIC
    )


def build_queries(vocab: dict[str, Any], count: int, rng: random.Random) -> list[str]:
    """`count` distinct queries (distinct once normalised), the most popular first."""
    from bot.errors import QueryRefused
    from bot.pubmed.query import normalize

    keywords: Counter[str] = vocab["keywords"]
    good_kw = sorted(k for k in keywords if _keyword_ok(k))
    popular = sorted((k for k in good_kw if keywords[k] >= 15), key=lambda k: -keywords[k])
    rare_kw = [k for k in good_kw if 2 <= keywords[k] <= 14]
    title_words = sorted(w for w, n in vocab["title_words"].items() if 2 <= n <= 30)
    bigrams = sorted(b for b, n in vocab["bigrams"].items() if 2 <= n <= 40)
    mesh = sorted(
        h
        for h, n in vocab["mesh"].items()
        if n >= 2 and _MESH.fullmatch(h) and h not in MESH_CHECK_TAGS and len(h) <= 40
    )
    records = [r for r in vocab["records"] if r["kw"] or r["ti"]]
    rare_authors = sorted(
        {a for r in vocab["records"] for a in r["au"] if vocab["last_names"][a.split()[0]] <= 2}
    )

    def same_record_pair() -> str:
        record = rng.choice(records)
        pool = [_phrase(k, rng.choice(("", "tiab"))) for k in record["kw"] if _keyword_ok(k)]
        pool += [_phrase(w, rng.choice(("", "ti", "tiab"))) for w in record["ti"]]
        if len(pool) < 2:
            return ""
        a, b = rng.sample(pool, 2)
        return f"{a} AND {b}"

    def either() -> str:
        a, b = rng.sample(rare_kw, 2)
        return f"({_phrase(a)} OR {_phrase(b)})"

    def either_and() -> str:
        record = rng.choice([r for r in records if r["kw"]])
        first = rng.choice(record["kw"])
        if not _keyword_ok(first):
            return ""
        other = rng.choice(rare_kw)
        rest = rng.choice(record["ti"]) if record["ti"] else rng.choice(rare_kw)
        return f"({_phrase(first)} OR {_phrase(other)}) AND {_phrase(rest, 'tiab')}"

    makers = {  # kind -> (weight, maker)
        "keyword": (20, lambda: _phrase(rng.choice(rare_kw))),
        "keyword[tiab]": (20, lambda: _phrase(rng.choice(rare_kw), "tiab")),
        "title word": (14, lambda: _phrase(rng.choice(title_words), rng.choice(("", "ti")))),
        "title phrase": (10, lambda: f'"{rng.choice(bigrams)}"' + rng.choice(("", "[tiab]"))),
        "A AND B": (14, same_record_pair),
        "A OR B": (8, either),
        "(A OR B) AND C": (5, either_and),
        "mesh": (4, lambda: _phrase(rng.choice(mesh), rng.choice(("mh", "majr")))),
        "author": (3, lambda: f"{rng.choice(rare_authors)}[au]"),
    }
    kinds = list(makers)
    weights = [makers[k][0] for k in kinds]

    chosen: dict[str, str] = {}  # normalized -> query text

    def add(text: str) -> None:
        if not text:
            return
        try:
            normalized = normalize(text)
        except QueryRefused:
            return
        chosen.setdefault(normalized, text)

    for i, keyword in enumerate(popular[: count // 10]):
        add(_phrase(keyword, "tiab" if i % 3 == 2 else ""))
    attempts = 0
    while len(chosen) < count:
        attempts += 1
        if attempts > 100 * count:
            raise RuntimeError(f"could only build {len(chosen)} distinct queries")
        add(makers[rng.choices(kinds, weights)[0]][1]())
    return list(chosen.values())


def assign(
    queries: list[str], subscriptions: int, chats: int, rng: random.Random
) -> tuple[list[list[str]], list[int]]:
    """Each chat's queries: every query at least once, the rest Zipf-distributed by rank; chats
    hold 1 to MAX_SUBSCRIPTIONS_PER_CHAT subscriptions, a few many, most one or two."""
    if not len(queries) <= subscriptions <= chats * MAX_SUBSCRIPTIONS_PER_CHAT:
        raise ValueError("need queries <= subscriptions <= chats x the per-chat maximum")
    copies = [1] * len(queries)
    zipf = [1 / (rank + 1) ** 1.05 for rank in range(len(queries))]
    for index in rng.choices(range(len(queries)), zipf, k=subscriptions - len(queries)):
        copies[index] += 1
    sizes = [1] * chats
    chat_weights = [rng.paretovariate(1.2) for _ in range(chats)]
    while sum(sizes) < subscriptions:
        index = rng.choices(range(chats), chat_weights)[0]
        if sizes[index] < MAX_SUBSCRIPTIONS_PER_CHAT:
            sizes[index] += 1
    room = list(sizes)
    held: list[list[str]] = [[] for _ in range(chats)]
    for index in sorted(range(len(queries)), key=lambda i: -copies[i]):
        ranked = sorted(
            (c for c in range(chats) if room[c] > 0), key=lambda c: (-room[c], rng.random())
        )
        if len(ranked) < copies[index]:
            raise RuntimeError("could not place every subscription; try another --seed")
        for chat in ranked[: copies[index]]:
            held[chat].append(queries[index])
            room[chat] -= 1
    return held, copies


def populate(db_path: Path, held: list[list[str]]) -> list[dict[str, Any]]:
    """Create the chats and subscriptions; returns the subscriptions (id, chat, query)."""
    from bot.pubmed.query import normalize
    from storage import Store

    store = Store(db_path)
    defaults = {"language": "en", "timezone": "UTC", "mode": "instant", "digest_time": "08:00"}
    subs = []
    for number, queries in enumerate(held, 1):
        chat = store.chats.get_or_create("telegram", "", str(100_000 + number), defaults)
        for query in queries:
            sub = store.chats.add_subscription(
                chat.id, query, normalize(query), MAX_SUBSCRIPTIONS_PER_CHAT
            )
            subs.append({"id": sub.id, "chat": chat.id, "query": query})
    store.close()
    return subs


# --- the two pollers, each in a child process ----------------------------------------------------


def peak_rss_mb() -> float:
    """This process's peak resident memory.

    VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss over fork and exec, so a child of
    this (large: the fake holds the whole corpus) process would report the parent's peak.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux: KiB or bytes


def _measured(run: Any) -> dict[str, Any]:
    start, cpu_start = time.monotonic(), time.process_time()
    figures = run()
    end, cpu = time.monotonic(), time.process_time() - cpu_start
    return {
        **figures,
        "t0": start,
        "t1": end,
        "wall": end - start,
        "cpu": cpu,
        "peak_mb": peak_rss_mb(),
    }


def child_ours(spec: dict[str, Any]) -> dict[str, Any]:
    from bot.config import Settings
    from bot.poller import poll_cycle
    from bot.pubmed.client import EutilsClient
    from storage import Store

    settings = Settings.from_env(
        {
            "DATABASE_PATH": spec["db"],
            "PUBMED_EUTILS_URL": spec["url"],
            "NCBI_API_KEY": spec["api_key"],
            "NCBI_MAX_RPS": str(spec["rate"]),
            "BACKFILL_DAYS": str(spec["backfill_days"]),
            # The next poll searches too, PubMed unchanged or not: this bench measures the
            # searches; bench/poll_day.py measures the polls that skip them.
            "FULL_POLL_HOURS": "0",
        },
        env_file=None,
    )
    store = Store(settings.database_path)
    client = EutilsClient.from_settings(settings)
    today = date.fromisoformat(spec["today"])

    def run() -> dict[str, Any]:
        report = poll_cycle(store, client, settings, today=lambda: today)
        return {
            "run": report.run,
            "requests": report.requests,
            "queries": report.queries,
            "new_papers": report.new_papers,
            "matches": report.matches,
            "deliveries": report.deliveries,
            "failures": len(report.failures),
            "warnings": len(report.warnings),
        }

    return _measured(run)


def child_naive(spec: dict[str, Any]) -> dict[str, Any]:
    from bot.errors import PubMedError
    from bot.pubmed import query as pubmed_query
    from bot.pubmed.client import EutilsClient
    from bot.scoring import score

    client = EutilsClient(spec["url"], api_key=spec["api_key"], max_rps=spec["rate"])
    end = date.fromisoformat(spec["today"])
    start = end - timedelta(days=spec["backfill_days"])

    def run() -> dict[str, Any]:
        fetched = scored = failures = 0
        for query in spec["queries"]:
            try:
                found = client.search(query, mindate=start, maxdate=end, datetype="edat")
                papers = client.efetch(found.pmids) if found.pmids else []
            except PubMedError:
                failures += 1
                continue
            fetched += len(papers)
            expr = pubmed_query.parse(query)
            scored += len([score(expr, paper) for paper in papers])
        return {
            "requests": client.requests_made,
            "fetched": fetched,
            "scored": scored,
            "failures": failures,
        }

    return _measured(run)


def run_child(kind: str, spec: dict[str, Any], workdir: Path) -> dict[str, Any]:
    path = workdir / f"{kind}.json"
    path.write_text(json.dumps(spec))
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--spec", str(path)],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    return json.loads(out.stdout)


def traffic(fake: Any) -> dict[str, Any]:
    """What the fake saw since its last reset."""
    seen = list(fake.requests)
    esearch = [r for r in seen if r.endpoint == "esearch"]
    efetch = [r for r in seen if r.endpoint == "efetch"]
    return {
        "requests": len(seen),
        "esearch": len(esearch),
        "efetch": len(efetch),
        "efetch_ids": sum(r.id_count for r in efetch),
        "efetch_distinct": len(
            {i for r in efetch for i in re.split(r"[,\s]+", r.params.get("id", "")) if i}
        ),
        "status_429": sum(1 for r in seen if r.status == 429),
        "other_errors": sum(1 for r in seen if r.status not in (200, 429)),
        "last": max((r.at for r in seen), default=0.0),
        "last_esearch": max((r.at for r in esearch), default=0.0),
        "first_efetch": min((r.at for r in efetch), default=0.0),
    }


def found_per_query(db_path: Path, run: int) -> dict[str, int]:
    """How many PMIDs each distinct query's esearch returned in poll `run` (-1: failed)."""
    from storage import Store

    store = Store(db_path)
    rows = store.db.execute(
        "SELECT s.normalized, r.found, r.error FROM poll_results r"
        " JOIN subscriptions s ON s.id = r.subscription WHERE r.poll_run = ?",
        [run],
    ).fetchall()
    store.close()
    return {normalized: (-1 if error else found) for normalized, found, error in rows}


# --- the report -----------------------------------------------------------------------------------


def machine() -> str:
    model = ""
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (
        f"{model or platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def row(name: str, subs: str, r: dict[str, Any], rate: float) -> str:
    floor = r["requests"] / rate
    return (
        f"| {name} | {subs} | {r['esearch']:,.0f} | {r['efetch']:,.0f} | {r['requests']:,.0f} | "
        f"{floor:,.1f} | {r['wall']:,.1f} | {r['wall'] / floor:.2f} | {r['cpu']:,.1f} | "
        f"{r['peak_mb']:,.0f} MB | {r['status_429']:,.0f} |"
    )


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=DAILY_FILE)
    parser.add_argument(
        "--rate",
        type=float,
        choices=(3.0, 10.0),
        default=10.0,
        help="requests/s: 10 sends an API key (NCBI's keyed limit), 3 sends none (default 10)",
    )
    parser.add_argument("--subscriptions", type=int, default=1000)
    parser.add_argument("--chats", type=int, default=400)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--backfill-days", type=int, default=7)
    parser.add_argument("--seed", type=int, default=1298)
    parser.add_argument(
        "--naive-sample",
        type=int,
        default=None,
        metavar="N",
        help="run the naive poller on N random subscriptions and extrapolate linearly "
        "(default: all of them if that fits in --naive-budget seconds at the rate)",
    )
    parser.add_argument("--naive-budget", type=float, default=600.0, metavar="SECONDS")
    parser.add_argument("--skip-second-cycle", action="store_true")
    parser.add_argument("--child", choices=("ours", "naive"), help=argparse.SUPPRESS)
    parser.add_argument("--spec", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    require(args.file)
    if args.child:  # child process: run one poller and print JSON
        spec = json.loads(args.spec.read_text())
        result = child_ours(spec) if args.child == "ours" else child_naive(spec)
        print(json.dumps(result))
        return 0

    from servers.eutils import FakeEutils

    from bot.pubmed.query import normalize

    rng = random.Random(args.seed)
    today = CORPUS_DAY
    window_start = today - timedelta(days=args.backfill_days)
    rate = args.rate
    api_key = API_KEY if rate > 3 else ""

    def say(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    with (
        FakeEutils(rate_limit=3.0, keyed_rate_limit=10.0, today=today) as fake,
        tempfile.TemporaryDirectory(prefix="bench-poll-") as tmp,
    ):
        workdir = Path(tmp)
        say(f"loading {args.file.name} into the fake E-utilities ...")
        started = time.perf_counter()
        records = fake.load(args.file)
        fake.build_index()
        load_seconds = time.perf_counter() - started

        say("building queries and subscriptions ...")
        vocab = corpus_vocabulary(fake, window_start, today)
        in_window = len(vocab["records"])
        queries = build_queries(vocab, args.queries, rng)
        held, copies = assign(queries, args.subscriptions, args.chats, rng)
        db_path = workdir / "paper_surfer.db"
        subs = populate(db_path, held)
        sizes = sorted((len(h) for h in held), reverse=True)

        base = {
            "url": fake.url,
            "api_key": api_key,
            "rate": rate,
            "today": today.isoformat(),
            "backfill_days": args.backfill_days,
        }
        results: dict[str, dict[str, Any]] = {}

        say(f"ours, first poll ({len(subs):,} subscriptions, {len(queries)} queries) ...")
        fake.reset()
        results["ours"] = run_child("ours", {**base, "db": str(db_path)}, workdir)
        results["ours"].update(traffic(fake))
        found = found_per_query(db_path, results["ours"]["run"])

        if not args.skip_second_cycle:
            say("ours, next poll (cursors set, papers known) ...")
            fake.reset()
            results["ours2"] = run_child("ours", {**base, "db": str(db_path)}, workdir)
            results["ours2"].update(traffic(fake))

        # The naive poller's requests follow from the hits: per subscription, its esearch
        # pages and ceil(hits / 200) efetches. Used to size the run and to check the measurement.
        def naive_cost(query: str) -> int:
            hits = max(0, found.get(normalize(query), 0))
            return max(1, math.ceil(hits / ESEARCH_CAP)) + math.ceil(hits / EFETCH_BATCH)

        naive_predicted = sum(naive_cost(s["query"]) for s in subs)
        sample = args.naive_sample
        if sample is None:
            fits = naive_predicted / rate * 1.25 <= args.naive_budget
            sample = (
                len(subs)
                if fits
                else max(1, int(len(subs) * args.naive_budget / 1.25 / (naive_predicted / rate)))
            )
        sample = min(sample, len(subs)) if sample > 0 else len(subs)
        chosen = subs if sample == len(subs) else rng.sample(subs, sample)
        say(
            f"naive, {len(chosen):,} subscriptions (about {naive_predicted:,} requests for all; "
            f"floor {naive_predicted / rate:,.0f} s) ..."
        )
        fake.reset()
        naive = run_child("naive", {**base, "queries": [s["query"] for s in chosen]}, workdir)
        naive.update(traffic(fake))
        naive["predicted"] = sum(naive_cost(s["query"]) for s in chosen)
        results["naive"] = naive
        errors = list(fake.errors)

    # --- print ---
    ours, naive = results["ours"], results["naive"]
    scale = len(subs) / len(chosen)
    hits = sorted(n for n in found.values() if n >= 0)
    zero = sum(1 for n in hits if n == 0)
    failed = sum(1 for n in found.values() if n < 0)
    pages = sum(max(1, math.ceil(n / ESEARCH_CAP)) for n in found.values())
    # + 1: each poll first asks PubMed what changed (issue 16).
    bound = pages + math.ceil(ours["new_papers"] / EFETCH_BATCH) + 1
    naive_full = naive["requests"] * scale
    mode = "API key" if api_key else "no API key"

    print(f"date: {datetime.now():%Y-%m-%d %H:%M}")
    print(f"command: python bench/poll.py {' '.join(sys.argv[1:])}".rstrip())
    print(f"machine: {machine()}")
    print(
        f"corpus: {args.file.name}, {records:,} records "
        f"(fake loaded and indexed it in {load_seconds:.0f} s); "
        f"poll window {window_start}..{today} (BACKFILL_DAYS={args.backfill_days}), "
        f"{in_window:,} records in it"
    )
    print(f"rate: {rate:g} requests/s ({mode}); the fake enforces NCBI's 3/s per IP, 10/s per key")
    print(
        f"workload: {len(subs):,} subscriptions in {args.chats} chats (1-{sizes[0]} each, "
        f"median {statistics.median(sizes):g}) over {len(queries)} distinct queries; "
        f"subscriptions per query: top 5 {sorted(copies, reverse=True)[:5]}, "
        f"{sum(1 for c in copies if c == 1)} queries have one"
    )
    print(
        f"hits per query in the window: median {statistics.median(hits):g}, "
        f"90th percentile {hits[int(len(hits) * 0.9)]:,}, max {hits[-1]:,}; "
        f"{len(hits) - zero} of {len(found)} queries match papers ({zero} match none, "
        f"{failed} failed)"
    )
    print()
    print(
        "| poller | subscriptions | esearch | efetch | requests | floor (s) | wall (s) "
        "| wall ÷ floor | CPU (s) | peak memory | HTTP 429 |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(row("ours, first poll", f"{len(subs):,}", ours, rate))
    if "ours2" in results:
        print(row("ours, next poll (papers known)", f"{len(subs):,}", results["ours2"], rate))
    name = "naive, one thread" + (" (sample)" if scale > 1 else "")
    print(row(name, f"{len(chosen):,}", naive, rate))
    if scale > 1:
        extrapolated = {
            **naive,
            **{k: naive[k] * scale for k in ("esearch", "efetch", "requests", "wall", "cpu")},
        }
        print(row(f"naive, extrapolated x{scale:.2f}", f"{len(subs):,}", extrapolated, rate))
    print()
    print(
        f"ours, first poll: {ours['queries']} queries, {ours['new_papers']:,} new papers "
        f"(efetch asked for {ours['efetch_ids']:,} ids), {ours['matches']:,} matches, "
        f"{ours['deliveries']:,} deliveries, {ours['failures']} failed queries; "
        f"{ours['last'] - ours['t0']:.1f} s to the last request, "
        f"{ours['t1'] - ours['last']:.1f} s after it (scoring and committing); "
        f"first efetch {ours['first_efetch'] - ours['t0']:.1f} s in, "
        f"last esearch {ours['last_esearch'] - ours['t0']:.1f} s in"
    )
    if "ours2" in results:
        o2 = results["ours2"]
        print(
            f"ours, next poll: {o2['new_papers']:,} new papers, {o2['matches']:,} new matches; "
            f"{o2['last'] - o2['t0']:.1f} s to the last request, "
            f"{o2['t1'] - o2['last']:.1f} s after it"
        )
    print(
        f"naive: fetched {naive['fetched']:,} records of {naive['efetch_distinct']:,} distinct "
        f"papers for {len(chosen):,} subscriptions "
        f"({naive['fetched'] / max(1, naive['efetch_distinct']):.1f}x each), "
        f"{naive['failures']} failed; requests measured {naive['requests']:,}, "
        f"computed from the hits {naive['predicted']:,}"
        + (
            f"; all {len(subs):,}: {naive_full:,.0f} extrapolated, {naive_predicted:,} computed"
            if scale > 1
            else ""
        )
    )
    if scale > 1:
        print(
            f"naive figures for all {len(subs):,} subscriptions are extrapolated linearly from "
            f"a random sample of {len(chosen):,} (x{scale:.2f}); peak memory is the sample's"
        )
    if errors:
        print(f"the fake logged {len(errors)} internal errors (500s); first:\n{errors[0]}")
    print()
    naive_goal = naive_predicted if scale > 1 else naive["requests"]
    fewer = naive_goal / ours["requests"]
    ratio = ours["wall"] / (ours["requests"] / rate)
    within = ours["requests"] <= bound
    retried = f", {ours['status_429']} of them repeats after HTTP 429" if ours["status_429"] else ""
    print(
        f"- requests: {ours['requests']:,}{retried}; bound {pages:,} esearch pages + "
        f"ceil({ours['new_papers']:,} / 200) + 1 question = {bound:,} (goal: {verdict(within)})"
    )
    print(
        f"- vs naive: {fewer:.1f}x fewer requests ({naive_goal:,.0f} "
        f"{'computed for all subscriptions' if scale > 1 else 'measured'} vs "
        f"{ours['requests']:,}; goal >= 3x: {verdict(fewer >= 3)})"
    )
    print(
        f"- wall time: {ours['wall']:.1f} s vs floor {ours['requests'] / rate:.1f} s = "
        f"{ratio:.2f}x (goal <= 1.10x: {verdict(ratio <= 1.10)})"
    )
    total_429 = sum(r["status_429"] for r in results.values())
    others = sum(r["other_errors"] for r in results.values())
    print(
        f"- HTTP 429 from the fake: {total_429} (expected 0: {verdict(total_429 == 0)}); "
        f"other HTTP errors: {others}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
