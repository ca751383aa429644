"""Saved papers and exports, in every place: the local folder, Telegram and Slack."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import bibtexparser
import rispy
from fixtures import DEFAULTS, FAR_FUTURE, fixture

from bot.cli import main
from bot.commands import Context, execute
from bot.config import Settings
from bot.models import Chat, MatchReason, Paper, Score
from bot.pubmed.client import EutilsClient
from bot.pubmed.parse import iter_records
from storage import Store


def papers(count: int) -> list[Paper]:
    found = [
        r for r in iter_records(fixture("fatcat__pubmedsample_2019.xml")) if isinstance(r, Paper)
    ]
    return found[:count]


def context(store: Store) -> Context:
    settings = Settings.from_env({}, env_file=None)
    return Context(settings, store, EutilsClient("http://127.0.0.1:9/"))


def saved_chat(store: Store, count: int) -> tuple[Chat, list[Paper]]:
    chat = store.chats.get_or_create("local", "", "local", DEFAULTS)
    batch = papers(count)
    store.papers.save(batch)
    for paper in batch:
        store.feedback.record(chat.id, "u1", paper.pmid, "save")
    return chat, batch


def test_saved_lists_the_chats_saved_papers_newest_first(store: Store) -> None:
    """`saved` names each saved paper with its link, the latest saved first."""
    chat, batch = saved_chat(store, 3)
    reply = execute(context(store), chat, "saved")
    lines = reply.text.splitlines()
    assert lines[0] == "Saved papers (3):"
    assert [line.rsplit("/", 2)[-2] for line in lines[1:]] == [p.pmid for p in reversed(batch)]


def test_saved_with_nothing_saved_says_how_to_save(store: Store) -> None:
    """An empty list explains the 💾 button."""
    chat = store.chats.get_or_create("local", "", "local", DEFAULTS)
    assert execute(context(store), chat, "saved").text.startswith("No papers saved in this chat")


def test_export_bibtex_of_saved_papers_parses_back(store: Store) -> None:
    """`export bibtex` gives a file a BibTeX parser reads, one entry per saved paper."""
    chat, batch = saved_chat(store, 5)
    reply = execute(context(store), chat, "export bibtex")
    [file] = reply.files
    assert file.name.endswith(".bib")
    library = bibtexparser.parse_string(file.data.decode("utf-8"))
    assert sorted(e.fields_dict["pmid"].value for e in library.entries) == sorted(
        p.pmid for p in batch
    )
    assert reply.text == "Saved papers (5) as bibtex."


def test_export_without_saved_papers_takes_the_last_30_days_of_alerts(store: Store) -> None:
    """With nothing saved, the alerts sent in the last 30 days are exported (RIS here)."""
    chat = store.chats.get_or_create("local", "", "local", DEFAULTS)
    batch = papers(4)
    store.papers.save(batch)
    sub = store.chats.add_subscription(chat.id, "q", "q", 50)
    store.polls.commit_query(
        store.polls.start(),
        "q",
        date(2021, 6, 7),
        "w",
        4,
        [sub],
        [(sub, p.pmid, Score(0.5, "medium", (MatchReason("q", ("title",)),))) for p in batch],
    )
    store.outbox.plan(10)
    for row in store.outbox.due(FAR_FUTURE)[:3]:
        store.outbox.mark_sent([row.id], "m")
    reply = execute(context(store), chat, "export ris")
    [file] = reply.files
    records = rispy.loads(file.data.decode("utf-8"))
    assert len(records) == 3
    assert reply.text == "No saved papers, so the alerts of the last 30 days (3) as ris."


def test_export_alerts_gives_the_alerts_even_when_papers_are_saved(store: Store) -> None:
    """`export csv alerts` (where a long list points) lists what the chat was sent, not what
    it saved; a word other than `alerts` gets the usage line."""
    chat, saved = saved_chat(store, 2)
    alerts = papers(6)[2:]
    store.papers.save(alerts)
    sub = store.chats.add_subscription(chat.id, "q", "q", 50)
    store.polls.commit_query(
        store.polls.start(),
        "q",
        date(2021, 6, 7),
        "w",
        len(alerts),
        [sub],
        [(sub, p.pmid, Score(0.5, "medium", (MatchReason("q", ("title",)),))) for p in alerts],
    )
    store.outbox.plan(10)
    store.outbox.mark_sent([row.id for row in store.outbox.due(FAR_FUTURE)], "m")
    ctx = context(store)
    reply = execute(ctx, chat, "export csv alerts")
    [file] = reply.files
    rows = list(csv.DictReader(io.StringIO(file.data.decode("utf-8-sig"))))
    assert sorted(r["pmid"] for r in rows) == sorted(p.pmid for p in alerts)
    assert reply.text == "The alerts of the last 30 days (4) as csv."
    saved_file = execute(ctx, chat, "export csv").files[0].data.decode("utf-8-sig")
    assert sorted(r["pmid"] for r in csv.DictReader(io.StringIO(saved_file))) == sorted(
        p.pmid for p in saved
    )
    refused = execute(ctx, chat, "export csv everything")
    assert not refused.ok
    assert refused.text.endswith("Usage: export bibtex|ris|csv [alerts]")


def test_export_with_nothing_to_export_and_a_wrong_format(store: Store) -> None:
    """No saved papers and no alerts: a clear answer; an unknown format: the usage line."""
    chat = store.chats.get_or_create("local", "", "local", DEFAULTS)
    ctx = context(store)
    assert execute(ctx, chat, "export csv").text.startswith("Nothing to export")
    refused = execute(ctx, chat, "export docx")
    assert not refused.ok
    assert refused.text.endswith("Usage: export bibtex|ris|csv [alerts]")


def test_cmd_export_writes_the_file_into_the_alerts_folder(tmp_path: Path) -> None:
    """Locally, `paper-surfer cmd "export csv"` puts the file in ALERTS_DIR and says where."""
    env = {"DATABASE_PATH": str(tmp_path / "ps.db"), "ALERTS_DIR": str(tmp_path / "alerts")}
    store = Store(tmp_path / "ps.db")
    saved_chat(store, 2)
    store.close()
    out, err = io.StringIO(), io.StringIO()
    assert main(["cmd", "export csv"], environ=env, stdout=out, stderr=err) == 0, err.getvalue()
    [path] = list((tmp_path / "alerts").rglob("*.csv"))
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert len(rows) == 2
    assert str(path) in out.getvalue()
