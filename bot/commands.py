"""The one command grammar of every platform: `execute(ctx, chat, text)` returns a `Reply`.

Slack's `/papers <verb> …`, Telegram's `/<verb> …` and `paper-surfer cmd "<verb> …"` all end
here. Replies are platform-neutral (plain text plus cards); each platform renders and escapes
them. A wrong command always gets its usage line, and a refusal never changes the database.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.cards import Card
from bot.collected import search_cards
from bot.config import MODES, Settings, parse_time, parse_zone
from bot.errors import PubMedError, PubMedRejected, QueryRefused
from bot.export import FORMATS as EXPORT_FORMATS
from bot.export import export
from bot.i18n import LANGUAGES, t
from bot.messages import FileMessage
from bot.models import Chat, Paper
from bot.pubmed import query as pubmed_query
from bot.pubmed.client import EutilsClient
from bot.standing import short_label
from bot.summary import Summarize, summarize
from bot.titles import display_title
from bot.weekdays import MONDAY, parse_day
from storage import DuplicateSubscription, Store, SubscriptionLimit

log = logging.getLogger(__name__)

MAX_SUBSCRIPTIONS = 50
EXPORT_DAYS = 30
_ID = re.compile(r"[0-9]{1,9}")  # ASCII digits: "²".isdigit() is True, but int("²") fails
PREVIEW_TITLES = 3
SEARCH_DAYS = 30
SEARCH_CARDS = 5


@dataclass(frozen=True, slots=True)
class Reply:
    """What the bot answers: lines of plain text, cards (search), files (export)."""

    text: str
    cards: tuple[Card, ...] = ()
    ok: bool = True
    chat: Chat | None = None  # the chat as it is after the command (language may have changed)
    files: tuple[FileMessage, ...] = ()


@dataclass
class Context:
    """What commands need: the settings, the database, PubMed, and the time."""

    settings: Settings
    store: Store
    client: EutilsClient
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    on_chat_changed: Callable[[Chat], None] | None = None  # reschedules digests
    summarizer: Summarize = summarize


Handler = Callable[[Context, Chat, str], Reply]


@dataclass(frozen=True, slots=True)
class Verb:
    """One row of the verb table: what a verb does, and what platforms need to know of it."""

    name: str
    handler: Handler
    changes_chat: bool = False  # changes what the chat receives: groups may keep it to admins
    # Waits on PubMed (seconds, under NCBI's rate limit): it runs in a pool of its own, taking
    # turns between chats (bot/service.py), and Slack answers it after acknowledging.
    asks_pubmed: bool = False
    listed: bool = True  # in the help, Telegram's command menu and the docs
    greeting: str = ""  # the message said before the answer where a platform greets (Telegram)

    def usage(self, language: str) -> str:
        return t(language, f"usage.{self.name}")

    def about(self, language: str) -> str:
        return t(language, f"about.{self.name}")


@dataclass(frozen=True, slots=True)
class Command:
    """A chat message read once: '/subscribe@PaperBot covid' is verb 'subscribe', arguments
    'covid', addressed to 'PaperBot'."""

    name: str  # the verb as typed, lower-cased; may name no verb at all
    args: str = ""
    bot: str | None = None  # the bot named after '@' ('' for a bare '@'); None without one

    @property
    def verb(self) -> Verb | None:
        return _BY_NAME.get(self.name)

    @property
    def changes_chat(self) -> bool:
        return self.verb is not None and self.verb.changes_chat

    @property
    def asks_pubmed(self) -> bool:
        return self.verb is not None and self.verb.asks_pubmed


def read(text: str) -> Command:
    """The command in a message; an empty message asks for help."""
    parts = text.strip().split(maxsplit=1)  # any whitespace separates: space, tab, newline
    if not parts:
        return Command("help")
    name, at, bot = parts[0].lstrip("/").partition("@")
    return Command(name.lower(), parts[1].strip() if len(parts) > 1 else "", bot if at else None)


def execute(ctx: Context, chat: Chat, command: str | Command) -> Reply:
    """Run one command (or the message `command`) for `chat`; never raises for anything a user
    can type."""
    if isinstance(command, str):
        command = read(command)
    verb = command.verb
    if verb is None:
        return Reply(t(chat.language, "unknown_verb", verb=command.name[:40]), ok=False)
    try:
        return verb.handler(ctx, chat, command.args)
    except PubMedRejected as exc:
        return Reply(t(chat.language, "pubmed.rejected", detail=_detail(exc)), ok=False)
    except PubMedError as exc:
        log.warning("PubMed failed during '%s' for %s: %s", verb.name, chat.label, exc)
        return Reply(t(chat.language, "pubmed.unreachable", detail=_detail(exc)), ok=False)


def usage(language: str, verb: str) -> str:
    return t(language, "usage.line", usage=_BY_NAME[verb].usage(language))


def _detail(exc: Exception) -> str:
    text = str(exc)
    return text.split(": ", 1)[1] if text.startswith("PubMed rejected the query: ") else text


def _refuse(chat: Chat, verb: str, message: str) -> Reply:
    return Reply(f"{message}\n{usage(chat.language, verb)}", ok=False)


# --- verbs ---------------------------------------------------------------------------------------


def _help(ctx: Context, chat: Chat, args: str) -> Reply:
    lang = chat.language
    name = args.split()[0].lower().lstrip("/") if args.split() else ""
    asked = _BY_NAME.get(name)
    if asked is not None and asked.listed:
        return Reply(f"{asked.usage(lang)}\n{asked.about(lang)}")
    lines = [t(lang, "unknown_verb", verb=name[:40])] if name else []
    lines.append(t(lang, "help.header"))
    lines += [f"{v.usage(lang)} — {v.about(lang)}" for v in VERBS if v.listed]
    lines.append(t(lang, "help.footer"))
    return Reply("\n".join(lines))


def _subscribe(ctx: Context, chat: Chat, args: str) -> Reply:
    lang = chat.language
    try:
        query = pubmed_query.check(args)
        normalized = pubmed_query.normalize(query)
    except QueryRefused as exc:
        return _refuse(chat, "subscribe", t(lang, "query.refused", reason=exc.reason(lang)))
    existing = {s.normalized: s for s in ctx.store.chats.subscriptions(chat.id)}
    if normalized in existing:
        return Reply(t(lang, "subscribe.duplicate", number=existing[normalized].number), ok=False)
    if len(existing) >= MAX_SUBSCRIPTIONS:
        return Reply(t(lang, "subscribe.limit", limit=MAX_SUBSCRIPTIONS), ok=False)
    # Ask PubMed before storing anything: a query it rejects is never stored.
    days = ctx.settings.backfill_days
    preview = ctx.client.esearch(normalized, reldate=days, retmax=PREVIEW_TITLES)
    found = ctx.client.efetch(preview.pmids) if preview.pmids else []
    titles = [_titled(p, lang) for p in found]
    try:
        sub = ctx.store.chats.add_subscription(
            chat.id, query, normalized, MAX_SUBSCRIPTIONS, translation=preview.query_translation
        )
    except DuplicateSubscription as exc:  # the same query arrived twice at once
        return Reply(t(lang, "subscribe.duplicate", number=exc.existing.number), ok=False)
    except SubscriptionLimit:
        return Reply(t(lang, "subscribe.limit", limit=MAX_SUBSCRIPTIONS), ok=False)
    lines = [t(lang, "subscribe.done", number=sub.number, query=query)]
    lines.append(t(lang, "subscribe.count", count=f"{preview.count:,}", days=days))
    if preview.query_translation:
        lines.append(t(lang, "subscribe.translation", translation=preview.query_translation))
    if preview.phrases_not_found:
        lines.append(t(lang, "subscribe.not_found", phrases=", ".join(preview.phrases_not_found)))
    if titles:
        lines.append(t(lang, "subscribe.recent"))
        lines += [f"• {title}" for title in titles]
    elif preview.count == 0:
        lines.append(t(lang, "subscribe.nothing_yet"))
    return Reply("\n".join(lines))


def _titled(paper: Paper, lang: str) -> str:
    """A paper's title for a reply line, after its status ("⚠️ Retracted · …") when it has one."""
    label = short_label(paper, lang)
    return f"{label} · {display_title(paper, lang)}" if label else display_title(paper, lang)


def _list(ctx: Context, chat: Chat, args: str) -> Reply:
    lang = chat.language
    subs = ctx.store.chats.subscriptions(chat.id)
    if not subs:
        return Reply(t(lang, "list.empty"))
    lines = [t(lang, "list.header")]
    for sub in subs:
        lines.append(
            t(
                lang,
                "list.item",
                number=sub.number,
                status=t(lang, f"substatus.{sub.status}"),
                query=sub.query,
                last=(
                    sub.last_paper_at.date().isoformat()  # stored in UTC
                    if sub.last_paper_at
                    else t(lang, "list.never")
                ),
            )
        )
    if chat.paused:
        lines.append(t(lang, "list.chat_paused"))
    return Reply("\n".join(lines))


def _number(chat: Chat, verb: str, args: str) -> int | Reply:
    """The subscription id in `args`, or the reply refusing it."""
    value = args.split()[0] if args.split() else ""
    if len(args.split()) != 1:
        return _refuse(chat, verb, t(chat.language, "bad_id", value=args[:40]))
    digits = value.lstrip("#")
    if not _ID.fullmatch(digits):
        return _refuse(chat, verb, t(chat.language, "bad_id", value=value[:40]))
    return int(digits)


def _unsubscribe(ctx: Context, chat: Chat, args: str) -> Reply:
    number = _number(chat, "unsubscribe", args)
    if isinstance(number, Reply):
        return number
    sub = ctx.store.chats.set_status(chat.id, number, "removed")
    if sub is None:
        return Reply(t(chat.language, "no_such_id", number=number), ok=False)
    return Reply(t(chat.language, "unsubscribe.done", number=number, query=sub.query))


def _pause_or_resume(verb: str) -> Handler:
    pausing = verb == "pause"

    def handler(ctx: Context, chat: Chat, args: str) -> Reply:
        lang = chat.language
        if not args.strip():
            updated = ctx.store.chats.update(chat.id, paused=pausing)
            return Reply(t(lang, f"{verb}.chat"), chat=updated)
        number = _number(chat, verb, args)
        if isinstance(number, Reply):
            return number
        sub = ctx.store.chats.set_status(chat.id, number, "paused" if pausing else "active")
        if sub is None:
            return Reply(t(lang, "no_such_id", number=number), ok=False)
        return Reply(t(lang, f"{verb}.one", number=number, query=sub.query))

    return handler


def _mode(ctx: Context, chat: Chat, args: str) -> Reply:
    lang = chat.language
    words = args.split()
    mode = words[0].lower() if words else ""
    if mode == "weekly":
        # A weekly chat is a digest chat with a weekday: every rule for digest chats holds.
        if len(words) > 2:
            return _refuse(chat, "mode", t(lang, "mode.bad_day", value=" ".join(words[1:])[:40]))
        try:
            day = parse_day(words[1]) if len(words) == 2 else MONDAY
        except ValueError:
            return _refuse(chat, "mode", t(lang, "mode.bad_day", value=words[1][:40]))
        updated = ctx.store.chats.update(chat.id, mode="digest", digest_day=day)
        _changed(ctx, updated)
        return Reply(
            t(
                lang,
                "mode.weekly",
                day=t(lang, f"day.{day}"),
                time=updated.digest_time,
                zone=updated.timezone,
            ),
            chat=updated,
        )
    if mode not in MODES or len(words) != 1:
        return _refuse(chat, "mode", t(lang, "mode.bad", value=args.strip()[:40]))
    updated = ctx.store.chats.update(chat.id, mode=mode, digest_day=None)
    _changed(ctx, updated)
    if mode == "digest":
        return Reply(
            t(lang, "mode.digest", time=updated.digest_time, zone=updated.timezone),
            chat=updated,
        )
    return Reply(t(lang, "mode.instant"), chat=updated)


def _digest(ctx: Context, chat: Chat, args: str) -> Reply:
    lang = chat.language
    parts = args.split()
    if not 1 <= len(parts) <= 2:
        return _refuse(chat, "digest", t(lang, "digest.bad_time", value=args[:40]))
    try:
        time = parse_time(parts[0])
    except ValueError:
        return _refuse(chat, "digest", t(lang, "digest.bad_time", value=parts[0][:40]))
    zone = chat.timezone
    if len(parts) == 2:
        try:
            zone = parse_zone(parts[1])
        except ValueError:
            return _refuse(chat, "digest", t(lang, "digest.bad_zone", value=parts[1][:60]))
    updated = ctx.store.chats.update(chat.id, digest_time=time, timezone=zone)
    _changed(ctx, updated)
    if updated.weekly and updated.digest_day is not None:
        day = t(lang, f"day.{updated.digest_day}")
        lines = [t(lang, "digest.done_weekly", day=day, time=time, zone=zone)]
    else:
        lines = [t(lang, "digest.done", time=time, zone=zone)]
    if updated.mode == "instant":
        lines.append(t(lang, "digest.instant_note"))
    return Reply("\n".join(lines), chat=updated)


def _lang(ctx: Context, chat: Chat, args: str) -> Reply:
    language = args.strip().lower()
    if language not in LANGUAGES:
        return _refuse(chat, "lang", t(chat.language, "lang.bad", value=args.strip()[:40]))
    updated = ctx.store.chats.update(chat.id, language=language)
    return Reply(t(language, "lang.done"), chat=updated)


def _search(ctx: Context, chat: Chat, args: str) -> Reply:
    lang = chat.language
    try:
        query = pubmed_query.check(args)
    except QueryRefused as exc:
        return _refuse(chat, "search", t(lang, "search.refused", reason=exc.reason(lang)))
    result = ctx.client.esearch(query, reldate=SEARCH_DAYS, retmax=SEARCH_CARDS)
    if not result.pmids:
        return Reply(t(lang, "search.none", days=SEARCH_DAYS, query=query))
    papers = ctx.client.efetch(result.pmids)
    ctx.store.papers.save(papers)  # kept (not subscribed) so the cards' save button works
    ctx.store.feedback.show(chat.id, [paper.pmid for paper in papers])
    cards = search_cards(
        papers,
        query,
        lang,
        ctx.now(),
        ctx.settings,
        ctx.summarizer,
        translation=result.query_translation,
    )
    header = t(lang, "search.header", shown=len(cards), count=f"{result.count:,}", days=SEARCH_DAYS)
    lines = [header]
    if result.phrases_not_found:
        lines.append(t(lang, "subscribe.not_found", phrases=", ".join(result.phrases_not_found)))
    return Reply("\n".join(lines), cards=cards)


def _status(ctx: Context, chat: Chat, args: str) -> Reply:
    from bot.status import chat_status

    return Reply(chat_status(ctx.store, ctx.settings, chat))


def _saved(ctx: Context, chat: Chat, args: str) -> Reply:
    lang = chat.language
    pmids = ctx.store.feedback.saved(chat.id)
    if not pmids:
        return Reply(t(lang, "saved.none"))
    papers = ctx.store.papers.get_many(pmids)
    lines = [t(lang, "saved.header", count=len(pmids))]
    for pmid in pmids:
        paper = papers.get(pmid)
        if paper is not None:
            source = ", ".join(p for p in (paper.journal_abbrev or paper.journal, paper.year) if p)
            lines.append(f"• {_titled(paper, lang)} ({source}) {paper.url}")
    return Reply("\n".join(lines))


def _export(ctx: Context, chat: Chat, args: str) -> Reply:
    lang = chat.language
    words = args.lower().split()
    fmt = words[0] if words else ""
    if fmt not in EXPORT_FORMATS or words[1:] not in ([], ["alerts"]):
        return _refuse(chat, "export", t(lang, "export.bad_format", value=args.strip()[:40]))
    # `alerts`: what the chat was sent (long lists and digests point here for the papers they
    # could not list), even when it saved papers.
    pmids = [] if words[1:] else ctx.store.feedback.saved(chat.id)
    what = "saved"
    if not pmids:  # nothing saved, or alerts asked for: the alerts of the last 30 days
        since = ctx.now() - timedelta(days=EXPORT_DAYS)
        pmids = ctx.store.outbox.sent_since(chat.id, since)
        what = "asked_alerts" if words[1:] else "alerts"
    if not pmids:
        return Reply(t(lang, "export.none", days=EXPORT_DAYS))
    papers = ctx.store.papers.get_many(pmids)
    ordered = [papers[p] for p in pmids if p in papers]  # pruned papers are left out
    if not ordered:
        return Reply(t(lang, "export.none", days=EXPORT_DAYS))
    today = ctx.now().astimezone(ZoneInfo(chat.timezone)).date()
    name, data, mime = export(ordered, fmt, today=today)
    caption = t(lang, f"export.{what}", count=len(ordered), format=fmt, days=EXPORT_DAYS)
    return Reply(caption, files=(FileMessage(name, data, mime, caption),))


def _changed(ctx: Context, chat: Chat) -> None:
    if ctx.on_chat_changed is not None:
        ctx.on_chat_changed(chat)


# The verb table: every platform reads it (help, menus, admin rules, which pool runs a verb).
VERBS: tuple[Verb, ...] = (
    Verb("help", _help),
    Verb("subscribe", _subscribe, changes_chat=True, asks_pubmed=True),
    Verb("list", _list),
    Verb("unsubscribe", _unsubscribe, changes_chat=True),
    Verb("pause", _pause_or_resume("pause"), changes_chat=True),
    Verb("resume", _pause_or_resume("resume"), changes_chat=True),
    Verb("mode", _mode, changes_chat=True),
    Verb("digest", _digest, changes_chat=True),
    Verb("lang", _lang, changes_chat=True),
    Verb("search", _search, asks_pubmed=True),
    Verb("status", _status),
    Verb("saved", _saved),
    Verb("export", _export),
    # Telegram's Start button sends /start: the help, after a greeting.
    Verb("start", _help, listed=False, greeting="start.greeting"),
)
_BY_NAME = {verb.name: verb for verb in VERBS}
