"""The `paper-surfer` command line (INTERFACES.md, "Command line").

Exit status: 0 on success, 1 on a failure the user can fix (one line on stderr, no traceback),
2 on bad usage (argparse's own message).
"""

from __future__ import annotations

import argparse
import codecs
import json
import logging
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING

from bot import __version__, logs
from bot.errors import PaperSurferError
from bot.escape import escape
from bot.i18n import LANGUAGES
from bot.models import RECORD_EXTRAS, Deletion, Paper
from bot.pubmed import ESEARCH_CAP
from bot.pubmed.parse import iter_records

# Each command imports what only it needs: `parse` of a whole NLM file must not pay for SQLite,
# asyncio and the chat platforms (0.5 s and 25 MB of the bench's budget, bench/parse.py).
if TYPE_CHECKING:
    from bot.cards import Card
    from bot.config import Settings
    from storage import Store

PROG = "paper-surfer"
log = logging.getLogger(PROG)
# The LOG_FORMAT of the command being run, once its settings are read: its failure line follows
# it. Set afresh by every main() call, so an earlier call in the same process does not count.
_log_format = ContextVar("log_format", default="text")


class CommandFailed(PaperSurferError):
    """A failure the user can fix, reported as one line with exit status 1."""


def main(
    argv: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
) -> int:
    """Run one command; returns the exit status."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    args = _parser().parse_args(argv)
    env = os.environ if environ is None else environ
    started = _log_format.set("text")
    try:
        return int(args.handler(args, env, out, err))
    except _user_errors() as exc:
        if _log_format.get() == "json":  # a collector reading JSON lines gets this one as JSON
            err.write(logs.json_line("ERROR", PROG, str(exc)) + "\n")
        else:  # escaped: the message may quote what the user typed
            err.write(f"{PROG}: {escape(str(exc))}\n")
        return 1
    except KeyboardInterrupt:
        err.write(f"{PROG}: interrupted\n")
        return 130
    except BrokenPipeError:
        # The reader (head, less) went away; that is not an error of ours.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silences the flush at exit
        return 0
    finally:
        _log_format.reset(started)


def _user_errors() -> tuple[type[Exception], ...]:
    """What a command reports as one line; storage's own only when a command loaded storage."""
    storage = sys.modules.get("storage")
    return (PaperSurferError,) if storage is None else (PaperSurferError, storage.DatabaseUnusable)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Watch PubMed and bring new papers to your chats."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    text = "run the bot: scheduler plus every configured chat platform"
    commands.add_parser("run", help=text, description=text).set_defaults(handler=_run)
    text = "one poll-and-deliver cycle now, then a report"
    commands.add_parser("poll", help=text, description=text).set_defaults(handler=_poll)
    text = "send every digest-mode chat its digest now"
    commands.add_parser("digest", help=text, description=text).set_defaults(handler=_digest)
    text = (
        "check now for retractions, corrections and free full text of papers chats received or"
        " saved, send the follow-ups, and report"
    )
    commands.add_parser("followups", help=text, description=text).set_defaults(handler=_followups)
    sub = commands.add_parser("cmd", help="run one chat command as the local user")
    sub.add_argument("text", help='the command, e.g. "subscribe CRISPR[tiab]"')
    sub.set_defaults(handler=_cmd)

    sub = commands.add_parser(
        "search", help="one-off PubMed search of the last N days, newest first, as cards"
    )
    sub.add_argument("query", help="a PubMed query, as you would type it on pubmed.gov")
    sub.add_argument("--days", type=_positive_int, default=30, help="look back N days (30)")
    sub.add_argument(
        "--limit", type=_limit, default=10, help=f"at most N papers (10, up to {ESEARCH_CAP})"
    )
    _add_card_options(sub)
    sub.set_defaults(handler=_search)

    sub = commands.add_parser("card", help="one paper as a card")
    sub.add_argument("pmid", type=_pmid, help="the paper's PubMed id")
    _add_card_options(sub)
    sub.set_defaults(handler=_card)

    sub = commands.add_parser(
        "parse", help="parse a PubMed XML file and print one record per line as JSON"
    )
    sub.add_argument("file", help="efetch output or an NLM file (.xml, .xml.gz), or - for stdin")
    sub.add_argument("--format", choices=("jsonl", "markdown"), default="jsonl")
    sub.set_defaults(handler=_parse)

    sub = commands.add_parser(
        "stats", help="operator's summary: chats, subscriptions, papers, deliveries, last poll"
    )
    sub.add_argument("--format", choices=("text", "json"), default="text")
    sub.set_defaults(handler=_stats)
    sub = commands.add_parser("chats", help="every chat with its settings and subscriptions")
    sub.add_argument("--format", choices=("text", "json"), default="text")
    sub.set_defaults(handler=_chats)
    sub = commands.add_parser(
        "backup", help="consistent copy of the database while the bot runs; never overwrites"
    )
    sub.add_argument("file", help="the new file to write (it must not exist)")
    sub.set_defaults(handler=_backup)
    return parser


def _add_card_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--format", choices=("markdown", "json", "text"), default="markdown")
    sub.add_argument("--lang", choices=LANGUAGES, default=None, help="summary language")


# --- argument types: a bad value is bad usage (exit 2) -----------------------------------------


def _positive_int(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive whole number")
    return int(value)


def _limit(value: str) -> int:
    number = _positive_int(value)
    if number > ESEARCH_CAP:
        raise argparse.ArgumentTypeError(f"at most {ESEARCH_CAP} (PubMed's own cap)")
    return number


def _pmid(value: str) -> str:
    value = value.strip()
    if not value.isdigit() or len(value) > 10:
        raise argparse.ArgumentTypeError(f"{value!r} is not a PMID (digits only)")
    return str(int(value))


# --- commands ----------------------------------------------------------------------------------


def _settings(env: Mapping[str, str]) -> Settings:
    from bot.config import Settings

    settings = Settings.from_env(env)
    logs.setup(settings.log_level, settings.secrets, log_format=settings.log_format)
    _log_format.set(settings.log_format)
    return settings


def _run(args: argparse.Namespace, env: Mapping[str, str], out: IO[str], err: IO[str]) -> int:
    import asyncio

    from bot.app import App

    settings = _settings(env)
    if not settings.ncbi_email:
        log.warning("NCBI_EMAIL is not set: NCBI asks for an address to reach you before blocking")
    app = App.create(settings, out)
    if list(app.channels) == ["local"]:
        log.info("no chat platform configured: cards go to %s/", settings.alerts_dir)
    asyncio.run(app.run())
    return 0


def _poll(args: argparse.Namespace, env: Mapping[str, str], out: IO[str], err: IO[str]) -> int:
    import asyncio

    from bot.app import App

    app = App.create(_settings(env), out)
    try:
        report, delivered = asyncio.run(app.poll_once())
    finally:
        app.close()
    failed = f" ({len(report.failures)} failed)" if report.failures else ""
    searched = report.queries - report.skipped
    skipped = (
        f" of {report.queries} ({report.skipped} skipped: nothing entered or changed in PubMed"
        " since their last search)"
        if report.skipped
        else ""
    )
    out.write(
        f"Poll {report.run}: queries searched: {searched}{skipped}{failed}, "
        f"E-utilities requests: {report.requests}\n"
        f"  new papers: {report.new_papers}, matches: {report.matches}, "
        f"deliveries queued: {report.deliveries}\n"
        f"  deliveries: {delivered.sent} sent, {delivered.failed} failed\n"
    )
    if report.notices or report.followups or delivered.followups:
        out.write(
            f"  follow-ups: {report.notices} notices read, {report.followups} owed,"
            f" {delivered.followups} sent\n"
        )
    # PubMed's error texts are someone else's words: no control character reaches the terminal.
    for query, error in report.failures:
        out.write(f"  failed: {escape(query)}: {escape(error)}\n")
    for warning in report.warnings:
        out.write(f"  warning: {escape(warning)}\n")
    if report.failures:
        raise CommandFailed(
            f"{len(report.failures)} of {report.queries} queries failed; they are retried next poll"
        )
    return 0


def _digest(args: argparse.Namespace, env: Mapping[str, str], out: IO[str], err: IO[str]) -> int:
    import asyncio

    from bot.app import App

    app = App.create(_settings(env), out)
    try:
        delivered = asyncio.run(app.send_digests_once())
    finally:
        app.close()
    out.write(f"Digests: {delivered.messages} sent, {delivered.failed} failed\n")
    if delivered.failed:
        raise CommandFailed(f"{delivered.failed} papers could not be sent; they are retried")
    return 0


def _followups(args: argparse.Namespace, env: Mapping[str, str], out: IO[str], err: IO[str]) -> int:
    import asyncio

    from bot.app import App

    settings = _settings(env)
    if not settings.followups:
        out.write("Follow-ups are off (FOLLOWUPS=off): nothing checked, nothing sent\n")
        return 0
    app = App.create(settings, out)
    try:
        report = asyncio.run(app.followups_once())
    finally:
        app.close()
    notices, saved = report.notices, report.saved
    window = notices.window
    searched = (
        f"Entrez dates {window[0]:%Y/%m/%d}-{window[1]:%Y/%m/%d}"
        if window
        else "nothing to watch yet: no chat received or saved a paper"
    )
    out.write(
        f"Notices (retractions, errata, expressions of concern), {searched}:"
        f" {notices.notices} read, {notices.followups} follow-ups owed\n"
        f"Saved papers re-checked: {saved.found}, {saved.followups} follow-ups owed\n"
        f"Follow-ups: {report.sent} sent, {report.failed} failed\n"
        f"E-utilities requests: {report.requests}\n"
    )
    errors = [e for e in (notices.error, saved.error) if e]
    for error in errors:
        out.write(f"  failed: {escape(error)}\n")
    if errors:
        raise CommandFailed("the follow-up check failed in part; the next poll tries again")
    if report.failed:
        raise CommandFailed(f"{report.failed} follow-ups could not be sent; they are retried")
    return 0


def _cmd(args: argparse.Namespace, env: Mapping[str, str], out: IO[str], err: IO[str]) -> int:
    import asyncio

    from bot.app import App
    from bot.plain import render
    from bot.pubmed.client import EutilsClient

    settings = _settings(env)
    client = EutilsClient.from_settings(settings, retry_log_level=logging.DEBUG)
    app = App.create(settings, out, client=client)
    try:
        reply = app.command(args.text)
        if not reply.ok:
            raise CommandFailed(reply.text.replace("\n", " "))
        out.write(reply.text + "\n")
        for card in reply.cards:
            out.write("\n" + render(card, "text"))
        for file in reply.files:  # an export lands in ALERTS_DIR, and its path is printed
            asyncio.run(app.channels["local"].send(app.local_chat(), file))
    finally:
        app.close()
    return 0


def _search(args: argparse.Namespace, env: Mapping[str, str], out: IO[str], err: IO[str]) -> int:
    from bot.collected import search_cards
    from bot.pubmed import query as pubmed_query
    from bot.pubmed.client import EutilsClient

    settings = _settings(env)
    query = pubmed_query.check(args.query)
    client = EutilsClient.from_settings(settings, retry_log_level=logging.DEBUG)
    result = client.esearch(query, reldate=args.days, datetype="edat", retmax=args.limit)
    for phrase in result.phrases_not_found:
        err.write(f"{PROG}: PubMed did not find {phrase!r}; it searched without it\n")
    for field in result.fields_not_found:
        err.write(f"{PROG}: PubMed does not know the field {field!r}\n")
    if not result.pmids:
        err.write(f"{PROG}: no papers in the last {args.days} days for: {query}\n")
        return 0
    cards = search_cards(
        client.efetch(result.pmids),
        query,
        args.lang or settings.default_language,
        datetime.now(UTC).astimezone(),
        settings,
        translation=result.query_translation,
    )
    _print_cards(cards, args.format, out)
    if result.count > len(result.pmids):
        err.write(
            f"{PROG}: showing {len(cards)} of {result.count:,} papers; use --limit for more\n"
        )
    return 0


def _card(args: argparse.Namespace, env: Mapping[str, str], out: IO[str], err: IO[str]) -> int:
    from bot.cards import Card
    from bot.pubmed.client import EutilsClient

    settings = _settings(env)
    client = EutilsClient.from_settings(settings, retry_log_level=logging.DEBUG)
    papers = client.efetch([args.pmid])
    if not papers:
        raise CommandFailed(f"PubMed has no record with PMID {args.pmid}")
    _print_cards([Card.build(papers[0], args.lang or settings.default_language)], args.format, out)
    return 0


def _print_cards(cards: Sequence[Card], fmt: str, out: IO[str]) -> None:
    from bot.plain import render

    separator = "\n" if fmt in ("markdown", "text") else ""
    out.write(separator.join(render(card, fmt) for card in cards))
    out.flush()


def _parse(args: argparse.Namespace, env: Mapping[str, str], out: IO[str], err: IO[str]) -> int:
    source = sys.stdin.buffer if args.file == "-" else args.file
    records = iter_records(source, name="stdin" if args.file == "-" else None)
    deleted: list[str] = []
    if args.format == "jsonl":
        papers = _write_jsonl(records, out, deleted)
    else:
        papers = _write_markdown(records, out, deleted)
    err.write(f"{PROG}: {papers} record{'' if papers == 1 else 's'}")
    err.write(f", {len(deleted)} deleted PMIDs: {' '.join(deleted)}\n" if deleted else "\n")
    return 0


def _write_jsonl(records: Iterable[Paper | Deletion], out: IO[str], deleted: list[str]) -> int:
    """One paper record per line, byte for byte `json.dumps(paper.to_record(), ensure_ascii=False)`.

    Without the dict: msgspec encodes the paper's dataclass (its fields in order, the parts as
    objects, tuples as lists) and then the derived keys of `RECORD_EXTRAS`, and `format(indent=0)`
    puts back the ", " and ": " of json.dumps; a third of json.dumps' time (bench/parse.py).
    Lines go out in batches, as UTF-8 bytes straight to the byte stream under `out` if it has one.
    """
    import msgspec

    encode, spaced = msgspec.json.Encoder().encode, msgspec.json.format
    binary = _utf8_bytes(out)
    batch: list[bytes] = []
    papers = 0

    def flush() -> None:
        if batch:
            data = b"\n".join(batch) + b"\n"
            if binary is None:
                out.write(data.decode())
            else:
                binary.write(data)
            batch.clear()

    try:
        for record in records:
            if isinstance(record, Deletion):
                deleted.append(record.pmid)
                continue
            papers += 1
            fields = encode(record)  # b'{"pmid":...}'
            extras = encode({name: getattr(record, name) for name in RECORD_EXTRAS})
            batch.append(spaced(fields[:-1] + b"," + extras[1:], indent=0))
            if len(batch) == 256:
                flush()
    finally:  # the records before a broken part of the file are still written
        flush()
        (out if binary is None else binary).flush()
    return papers


def _utf8_bytes(out: IO[str]) -> IO[bytes] | None:
    """The byte stream under `out`, when writing UTF-8 there is the same as writing text to it."""
    binary = getattr(out, "buffer", None)
    encoding = getattr(out, "encoding", None) or ""
    try:
        utf8 = codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        utf8 = False
    if binary is None or not utf8 or os.linesep != "\n":
        return None
    out.flush()  # whatever was written as text goes first
    return binary  # type: ignore[no-any-return]


def _write_markdown(records: Iterable[Paper | Deletion], out: IO[str], deleted: list[str]) -> int:
    from bot.cards import Card
    from bot.plain import render

    papers = 0
    for record in records:
        if isinstance(record, Deletion):
            deleted.append(record.pmid)
            continue
        out.write(("\n" if papers else "") + render(Card.build(record), "markdown"))
        papers += 1
    out.flush()
    return papers


# --- the operator's commands --------------------------------------------------------------------


def _existing_store(settings: Settings) -> Store:
    """The bot's database; never a new, empty one made by asking about it."""
    from storage import Store

    if not settings.database_path.is_file():
        raise CommandFailed(
            f"no database at {settings.database_path} (check DATABASE_PATH; the bot makes it"
            " on its first run)"
        )
    return Store(settings.database_path)


def _stats(args: argparse.Namespace, env: Mapping[str, str], out: IO[str], err: IO[str]) -> int:
    store = _existing_store(_settings(env))
    try:
        stats = store.admin.stats()
    finally:
        store.close()
    if args.format == "json":
        out.write(_json(asdict(stats)))
    else:
        from bot import overview

        out.write(overview.stats_text(stats))
    return 0


def _json(value: object) -> str:
    """The operator's JSON: times as the ISO 8601 text they are stored as."""
    return json.dumps(value, ensure_ascii=False, indent=2, default=_iso) + "\n"


def _iso(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    raise TypeError(f"{type(value).__name__} is not JSON")


def _chats(args: argparse.Namespace, env: Mapping[str, str], out: IO[str], err: IO[str]) -> int:
    store = _existing_store(_settings(env))
    try:
        chats = store.admin.chats()
    finally:
        store.close()
    if args.format == "json":
        out.write(_json({"chats": [asdict(chat) for chat in chats]}))
    else:
        from bot import overview

        out.write(overview.chats_text(chats))
    return 0


def _backup(args: argparse.Namespace, env: Mapping[str, str], out: IO[str], err: IO[str]) -> int:
    from storage import BackupError
    from storage.admin import backup

    settings = _settings(env)
    target = Path(args.file)
    try:
        backup(settings.database_path, target)
    except BackupError as exc:
        raise CommandFailed(str(exc)) from exc
    out.write(f"Backed up {settings.database_path} to {target} ({target.stat().st_size:,} bytes)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
