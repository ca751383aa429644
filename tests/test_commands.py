"""Chat commands through `execute`, the one grammar of every platform, against a fake PubMed.

Expected counts, PMIDs and titles were worked out by reading the first 2,000 records of the daily
update file with lxml (Entrez date from PubMedPubDate[@PubStatus="entrez"], words compared whole
and case-insensitively in title, abstract, keywords, MeSH, journal and authors), not by running
the bot. The fake's "today" is 2020-12-07, the newest Entrez date among those records, so a
7-day window is 2020-11-30 to 2020-12-07 and a 30-day window starts on 2020-11-07.
"""

from __future__ import annotations

import re
import sqlite3
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fixtures import DAILY, DEFAULTS, fixture
from lxml import etree
from servers.eutils import FakeEutils

from bot.commands import Context, Reply, execute
from bot.config import Settings
from bot.models import Chat
from bot.pubmed.client import EutilsClient, RetryPolicy
from storage import Store

CORPUS_TODAY = date(2020, 12, 7)
HANGUL = re.compile(r"[\uac00-\ud7a3]")
ATTEMPTS = 3

# The verbs of the "Chat commands" table in INTERFACES.md, with their usage as written there.
INTERFACE_VERBS = {
    "help": "help [verb]",
    "subscribe": "subscribe QUERY",
    "list": "list",
    "unsubscribe": "unsubscribe ID",
    "pause": "pause [ID]",
    "resume": "resume [ID]",
    "mode": "mode instant|digest|weekly [DAY]",
    "digest": "digest HH:MM [ZONE]",
    "lang": "lang en|ko",
    "search": "search QUERY",
    "status": "status",
    "saved": "saved",
    "export": "export bibtex|ris|csv [alerts]",
}

# "covid 19" AND pandemic, Entrez dates 2020-11-30..2020-12-07: four records, newest first,
# as a preview shows their titles (33276965 is a Letter and a Comment: the preview says so).
COVID_PANDEMIC_7_DAYS = [
    (
        "33278068",
        "Medication access difficulty and COVID-related distress are associated with disease "
        "flares in rheumatology patients during the COVID-19 pandemic.",
    ),
    (
        "33276965",
        "💬 Letter · Response to «National survey on the treatment of acute appendicitis in "
        "Spain during the initial period of the COVID-19 pandemic».",
    ),
    (
        "33264436",
        "Spheroids and organoids as humanized 3D scaffold-free engineered tissues for "
        "SARS-CoV-2 viral infection and drug screening.",
    ),
    ("33251593", "Review of registered clinical trials for the treatment of COVID-19."),
]
# chemotherapy, same window: three records, newest first ("liver metastases" is in none of the
# 2,000 records at any date).
CHEMOTHERAPY_7_DAYS = [
    "Downregulation of dihydrolipoyl dehydrogenase by UVA suppresses melanoma progression via "
    "triggering oxidative stress and altering energy metabolism.",
    "Early-phase nano-genosensing of cell-free nucleobiomarkers in the plasma of cancerous "
    "patients.",
    "CAR-T cell therapy and infection: a review.",
]
# covid, Entrez dates 2020-11-07..2020-12-07: 23 records; the five newest (date, then PMID).
COVID_30_DAYS_NEWEST = ["33278068", "33276965", "33275033", "33274697", "33264436"]
# "breast cancer", same 30 days: four records, newest first.
BREAST_CANCER_30_DAYS = ["33277227", "33226073", "33223536", "33183456"]


@pytest.fixture(scope="module")
def server() -> Iterator[FakeEutils]:
    with FakeEutils(rate_limit=None, today=CORPUS_TODAY) as fake:
        fake.load(fixture(DAILY), limit=2000)
        yield fake


@pytest.fixture
def fake(server: FakeEutils) -> FakeEutils:
    server.reset()
    server.today = CORPUS_TODAY
    return server


def make_context(fake: FakeEutils, store: Store, **env: str) -> Context:
    settings = Settings.from_env(
        {"PUBMED_EUTILS_URL": fake.url, "BACKFILL_DAYS": "7", **env}, env_file=None
    )
    client = EutilsClient(
        fake.url, retry=RetryPolicy(attempts=ATTEMPTS, backoff=0.01, max_backoff=0.02), max_rps=50
    )
    return Context(settings, store, client)


@pytest.fixture
def ctx(fake: FakeEutils, store: Store) -> Context:
    return make_context(fake, store)


@pytest.fixture
def chat(store: Store) -> Chat:
    return store.chats.get_or_create("telegram", "", "100", DEFAULTS)


def say(ctx: Context, chat: Chat, text: str) -> Reply:
    """Send one message as the chat is now (platforms load the chat for every message)."""
    return execute(ctx, ctx.store.chats.get(chat.id), text)


def snapshot(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, read through a separate connection."""
    con = sqlite3.connect(path)
    try:
        tables = [
            r[0]
            for r in con.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")
        ]
        # Table names come from sqlite_master, not from a user.
        select = {t: f'SELECT * FROM "{t}"' for t in tables}  # noqa: S608
        return {t: sorted(con.execute(select[t]).fetchall(), key=repr) for t in tables}
    finally:
        con.close()


def sub_rows(store: Store, chat: Chat) -> list[tuple[Any, ...]]:
    """(number, query, normalized, status) of the chat's subscription rows, removed included."""
    con = sqlite3.connect(store.path)
    try:
        return con.execute(
            "SELECT number, query, normalized, status FROM subscriptions WHERE chat = ?"
            " ORDER BY number",
            [chat.id],
        ).fetchall()
    finally:
        con.close()


def chat_row(store: Store, chat: Chat) -> dict[str, Any]:
    con = sqlite3.connect(store.path)
    con.row_factory = sqlite3.Row
    try:
        return dict(con.execute("SELECT * FROM chats WHERE id = ?", [chat.id]).fetchone())
    finally:
        con.close()


def pubmed_translation(fake: FakeEutils, term: str, days: int) -> str:
    """PubMed's QueryTranslation for `term` over the last `days` days, asked directly."""
    params = urllib.parse.urlencode({"db": "pubmed", "term": term, "reldate": days})
    with urllib.request.urlopen(f"{fake.url}esearch.fcgi?{params}") as answer:
        root = etree.fromstring(answer.read())
    return root.findtext("QueryTranslation")


def add_direct(store: Store, chat: Chat, *queries: str) -> None:
    """Subscriptions stored directly; a lower-case single word is its own normal form."""
    for query in queries:
        store.chats.add_subscription(chat.id, query, query, 50)


# --- subscribe -----------------------------------------------------------------------------------


def test_subscribe_previews_count_translation_and_the_three_newest_titles(
    ctx: Context, chat: Chat, fake: FakeEutils
) -> None:
    """The reply shows the 7-day count, PubMed's translation and the three newest titles only."""
    translation = pubmed_translation(fake, '"covid 19" AND pandemic', 7)
    reply = say(ctx, chat, 'subscribe "covid 19" AND pandemic')
    assert reply.ok
    lines = reply.text.splitlines()
    assert lines[0] == 'Subscribed #1: "covid 19" AND pandemic'
    assert lines[1] == "Papers in PubMed from the last 7 days: 4. New ones will come here."
    assert lines[2] == f"PubMed searches: {translation}"
    assert "2020/11/30:2020/12/07" in translation
    assert lines[3] == "Recent papers:"
    assert lines[4:] == [f"• {title}" for _, title in COVID_PANDEMIC_7_DAYS[:3]]
    assert COVID_PANDEMIC_7_DAYS[3][1] not in reply.text
    # Kept with the subscription: scoring reads untagged words the way PubMed searched them.
    assert [s.translation for s in ctx.store.chats.subscriptions(chat.id)] == [translation]


def test_the_preview_count_follows_backfill_days(
    fake: FakeEutils, store: Store, chat: Chat
) -> None:
    """With BACKFILL_DAYS=2 the preview counts and shows only the last two days' papers."""
    ctx = make_context(fake, store, BACKFILL_DAYS="2")
    reply = say(ctx, chat, 'subscribe "covid 19" AND pandemic')
    assert reply.ok
    assert "Papers in PubMed from the last 2 days: 2." in reply.text
    bullets = [line for line in reply.text.splitlines() if line.startswith("• ")]
    assert bullets == [f"• {title}" for _, title in COVID_PANDEMIC_7_DAYS[:2]]
    assert [r.params.get("reldate") for r in fake.requests if r.endpoint == "esearch"] == ["2"]


def test_subscription_is_stored_as_number_1_with_its_normalised_query(
    ctx: Context, chat: Chat, store: Store
) -> None:
    """The chat's first subscription is #1, kept as typed plus one canonical spelling."""
    reply = say(ctx, chat, 'subscribe   "COVID   19"   AND  Pandemic  ')
    assert reply.ok
    assert reply.text.splitlines()[0] == 'Subscribed #1: "COVID   19"   AND  Pandemic'
    assert sub_rows(store, chat) == [
        (1, '"COVID   19"   AND  Pandemic', '"covid 19" AND pandemic', "active")
    ]


def test_a_phrase_pubmed_does_not_find_is_named_and_the_subscription_is_kept(
    ctx: Context, chat: Chat, store: Store
) -> None:
    """PubMed drops an unknown phrase: the reply names it and the subscription is still stored."""
    reply = say(ctx, chat, 'subscribe "liver metastases" AND chemotherapy')
    assert reply.ok
    lines = reply.text.splitlines()
    assert 'PubMed did not find: "liver metastases" (searched without it)' in lines
    assert "Papers in PubMed from the last 7 days: 3. New ones will come here." in lines
    assert [line for line in lines if line.startswith("• ")] == [
        f"• {title}" for title in CHEMOTHERAPY_7_DAYS
    ]
    assert sub_rows(store, chat) == [
        (
            1,
            '"liver metastases" AND chemotherapy',
            '"liver metastases" AND chemotherapy',
            "active",
        )
    ]


def test_a_query_of_exactly_1000_characters_is_accepted(
    ctx: Context, chat: Chat, store: Store
) -> None:
    """The length limit is 1,000 characters: a query of exactly that length is subscribed."""
    query = "pandemic " + "q" * 991
    assert len(query) == 1000
    reply = say(ctx, chat, f"subscribe {query}")
    assert reply.ok, reply.text
    assert [row[1] for row in sub_rows(store, chat)] == [query]


# --- subscribe refusals: a clear reason, ok=False, and not one row changed -----------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("subscribe", "Not subscribed: the query is empty."),
        ("subscribe      ", "Not subscribed: the query is empty."),
        (
            "subscribe " + "covid " * 166 + "covid",  # 1,001 characters
            "Not subscribed: the query is 1,001 characters long; the limit is 1,000.",
        ),
        (
            'subscribe "liver metastases AND chemotherapy',
            'Not subscribed: the query has an unbalanced quote (").',
        ),
        (
            "subscribe (covid OR pandemic AND chemotherapy",
            "Not subscribed: the query has a '(' that is never closed.",
        ),
        (
            "subscribe covid OR pandemic) AND chemotherapy",
            "Not subscribed: the query has a ')' without its '('.",
        ),
    ],
    ids=["empty", "blank", "1001-chars", "quote", "open-paren", "close-paren"],
)
def test_a_malformed_query_is_refused_before_asking_pubmed(
    ctx: Context, chat: Chat, store: Store, fake: FakeEutils, text: str, reason: str
) -> None:
    """An empty, too long or unbalanced query gets its reason and the usage line; nothing stored."""
    add_direct(store, chat, "existing")
    before = snapshot(store.path)
    reply = say(ctx, chat, text)
    assert not reply.ok
    assert reply.text.splitlines() == [reason, "Usage: subscribe QUERY"]
    assert snapshot(store.path) == before
    assert fake.requests == []


def test_a_query_pubmed_rejects_is_refused_and_not_stored(
    ctx: Context, chat: Chat, store: Store, fake: FakeEutils
) -> None:
    """PubMed's own error message is passed on, and the query is not stored."""
    add_direct(store, chat, "existing")
    before = snapshot(store.path)
    fake.inject("error", endpoint="esearch", message="Invalid query syntax near 'covid'")
    reply = say(ctx, chat, "subscribe covid")
    assert not reply.ok
    assert reply.text == "PubMed rejected the query: Invalid query syntax near 'covid'"
    assert snapshot(store.path) == before


@pytest.mark.parametrize("endpoint", ["esearch", "efetch"])
def test_pubmed_unreachable_refuses_and_stores_nothing(
    ctx: Context, chat: Chat, store: Store, fake: FakeEutils, endpoint: str
) -> None:
    """When PubMed keeps answering 503 the user is told to retry later and nothing is stored."""
    add_direct(store, chat, "existing")
    before = snapshot(store.path)
    fake.inject("status", endpoint=endpoint, status=503, times=ATTEMPTS)
    reply = say(ctx, chat, "subscribe covid")
    assert not reply.ok
    assert reply.text.startswith("PubMed could not be reached (")
    assert "503" in reply.text
    assert reply.text.endswith("Nothing was changed; please try again later.")
    assert snapshot(store.path) == before
    assert len([r for r in fake.requests if r.endpoint == endpoint]) == ATTEMPTS


@pytest.mark.parametrize(
    "again",
    [
        '"covid 19" AND pandemic',
        '   "COVID 19"    AND   Pandemic  ',
        '"Covid    19" AND PANDEMIC',
    ],
    ids=["same", "spaces-and-case", "inner-spaces"],
)
def test_the_same_query_twice_is_refused_naming_the_existing_id(
    ctx: Context, chat: Chat, store: Store, fake: FakeEutils, again: str
) -> None:
    """A query the chat already has, however spaced or capitalised, is refused with its id."""
    add_direct(store, chat, "first", "second")
    assert say(ctx, chat, 'subscribe "covid 19" AND pandemic').text.startswith("Subscribed #3:")
    before = snapshot(store.path)
    fake.reset()
    reply = say(ctx, chat, f"subscribe {again}")
    assert not reply.ok
    assert reply.text == "Not subscribed: this chat already has this query as #3."
    assert snapshot(store.path) == before
    assert fake.requests == []


def test_the_51st_subscription_is_refused(
    ctx: Context, chat: Chat, store: Store, fake: FakeEutils
) -> None:
    """A chat with 50 subscriptions is told the limit and how to make room; nothing is stored."""
    add_direct(store, chat, *[f"topic{i}" for i in range(1, 51)])
    before = snapshot(store.path)
    reply = say(ctx, chat, "subscribe covid")
    assert not reply.ok
    assert reply.text == (
        "Not subscribed: this chat already has 50 subscriptions, the most allowed. "
        "Remove one with: unsubscribe ID"
    )
    assert snapshot(store.path) == before
    assert fake.requests == []


def test_removing_one_of_50_subscriptions_makes_room(
    ctx: Context, chat: Chat, store: Store
) -> None:
    """After unsubscribing one of 50, a new subscription is taken and numbered 51."""
    add_direct(store, chat, *[f"topic{i}" for i in range(1, 51)])
    assert say(ctx, chat, "unsubscribe 7").ok
    reply = say(ctx, chat, "subscribe covid")
    assert reply.ok
    assert reply.text.splitlines()[0] == "Subscribed #51: covid"
    assert len(store.chats.subscriptions(chat.id)) == 50


# --- list, unsubscribe, pause, resume ------------------------------------------------------------


def test_list_of_a_chat_without_subscriptions_says_how_to_add_one(ctx: Context, chat: Chat) -> None:
    """An empty chat is told it has none and how to subscribe."""
    reply = say(ctx, chat, "list")
    assert reply.ok
    assert reply.text == "This chat has no subscriptions. Add one with: subscribe QUERY"


def test_list_shows_ids_status_query_and_last_new_paper(
    ctx: Context, chat: Chat, store: Store
) -> None:
    """Each subscription is listed with its id, status, query and the day of its last paper."""
    add_direct(store, chat, "covid", "pandemic")
    con = sqlite3.connect(store.path)
    with con:
        con.execute(
            "UPDATE subscriptions SET last_paper_at = '2020-12-05T09:15:00Z'"
            " WHERE chat = ? AND number = 1",
            [chat.id],
        )
    con.close()
    assert say(ctx, chat, "pause 2").ok
    reply = say(ctx, chat, "list")
    assert reply.ok
    assert reply.text.splitlines() == [
        "Subscriptions of this chat:",
        "#1 [active] covid (last new paper: 2020-12-05)",
        "#2 [paused] pandemic (last new paper: none yet)",
    ]


def test_unsubscribe_removes_one_subscription(ctx: Context, chat: Chat, store: Store) -> None:
    """`unsubscribe 1` removes #1 only; it leaves the list and cannot be removed twice."""
    add_direct(store, chat, "covid", "pandemic", "chemotherapy")
    reply = say(ctx, chat, "unsubscribe 1")
    assert reply.ok
    assert reply.text == "Removed #1: covid"
    assert say(ctx, chat, "unsubscribe #3").text == "Removed #3: chemotherapy"
    assert sub_rows(store, chat) == [
        (1, "covid", "covid", "removed"),
        (2, "pandemic", "pandemic", "active"),
        (3, "chemotherapy", "chemotherapy", "removed"),
    ]
    assert say(ctx, chat, "list").text.splitlines()[1:] == [
        "#2 [active] pandemic (last new paper: none yet)"
    ]
    again = say(ctx, chat, "unsubscribe 1")
    assert not again.ok
    assert again.text == "This chat has no subscription #1. See: list"


def test_pause_and_resume_one_subscription(ctx: Context, chat: Chat, store: Store) -> None:
    """A paused subscription is no longer polled; resuming it brings it back."""
    add_direct(store, chat, "covid", "pandemic")
    reply = say(ctx, chat, "pause 2")
    assert reply.ok
    assert reply.text == "Paused #2: pandemic"
    assert [row[3] for row in sub_rows(store, chat)] == ["active", "paused"]
    assert [s.query for s in store.chats.active_subscriptions()] == ["covid"]
    reply = say(ctx, chat, "resume #2")
    assert reply.ok
    assert reply.text == "Resumed #2: pandemic"
    assert [row[3] for row in sub_rows(store, chat)] == ["active", "active"]
    assert [s.query for s in store.chats.active_subscriptions()] == ["covid", "pandemic"]


def test_pause_and_resume_the_whole_chat(ctx: Context, chat: Chat, store: Store) -> None:
    """`pause` alone stops every alert of the chat, keeps each subscription's status; `resume`."""
    add_direct(store, chat, "covid", "pandemic")
    reply = say(ctx, chat, "pause")
    assert reply.ok
    assert reply.text == "Paused all alerts for this chat. Resume with: resume"
    assert reply.chat is not None
    assert reply.chat.paused
    assert chat_row(store, chat)["paused"] == 1
    assert [row[3] for row in sub_rows(store, chat)] == ["active", "active"]
    assert store.chats.active_subscriptions() == []
    assert say(ctx, chat, "list").text.splitlines()[-1] == (
        "Alerts for this whole chat are paused (resume to restart)."
    )
    reply = say(ctx, chat, "resume")
    assert reply.ok
    assert reply.text == "Alerts for this chat are on again."
    assert chat_row(store, chat)["paused"] == 0
    assert [s.query for s in store.chats.active_subscriptions()] == ["covid", "pandemic"]


USAGES = {"unsubscribe": "unsubscribe ID", "pause": "pause [ID]", "resume": "resume [ID]"}


@pytest.mark.parametrize("verb", ["unsubscribe", "pause", "resume"])
@pytest.mark.parametrize("value", ["abc", "1 2", "-1", "1.5", "#", "#x", "12345678901"])
def test_a_malformed_id_gets_the_usage_line(
    ctx: Context, chat: Chat, store: Store, verb: str, value: str
) -> None:
    """Something that is not one id is named, followed by the verb's usage; nothing changes."""
    add_direct(store, chat, "covid", "pandemic")
    before = snapshot(store.path)
    reply = say(ctx, chat, f"{verb} {value}")
    assert not reply.ok
    assert reply.text.splitlines() == [
        f"'{value}' is not a subscription id.",
        f"Usage: {USAGES[verb]}",
    ]
    assert snapshot(store.path) == before


def test_unsubscribe_without_an_id_gets_the_usage_line(
    ctx: Context, chat: Chat, store: Store
) -> None:
    """`unsubscribe` alone removes nothing and shows how to use it."""
    add_direct(store, chat, "covid")
    before = snapshot(store.path)
    reply = say(ctx, chat, "unsubscribe")
    assert not reply.ok
    assert reply.text.splitlines()[-1] == "Usage: unsubscribe ID"
    assert snapshot(store.path) == before


@pytest.mark.parametrize("verb", ["unsubscribe", "pause", "resume"])
@pytest.mark.parametrize("value", ["#99", "99", "0"])
def test_an_id_the_chat_does_not_have_is_refused(
    ctx: Context, chat: Chat, store: Store, verb: str, value: str
) -> None:
    """A well-formed id the chat does not have is refused with a pointer to `list`."""
    add_direct(store, chat, "covid")
    before = snapshot(store.path)
    reply = say(ctx, chat, f"{verb} {value}")
    assert not reply.ok
    assert reply.text == f"This chat has no subscription #{value.lstrip('#')}. See: list"
    assert snapshot(store.path) == before


@pytest.mark.parametrize(
    "text", ["unsubscribe ²", "pause ³", "resume ¹", "unsubscribe #²", "unsubscribe ①"]
)
def test_a_superscript_or_circled_digit_as_id_gets_the_usage_line(
    ctx: Context, chat: Chat, store: Store, text: str
) -> None:
    """A superscript or circled digit is not an id: the user gets the usage line, not a crash."""
    add_direct(store, chat, "covid", "pandemic")
    before = snapshot(store.path)
    reply = say(ctx, chat, text)
    assert not reply.ok
    assert reply.text.splitlines()[-1].startswith("Usage: ")
    assert snapshot(store.path) == before


# --- chat isolation ------------------------------------------------------------------------------


def test_another_chat_can_neither_see_nor_change_this_chats_subscriptions(
    ctx: Context, chat: Chat, store: Store
) -> None:
    """Chat B's list is empty and its pause, resume and unsubscribe 1 do not reach chat A's #1."""
    other = store.chats.get_or_create("telegram", "", "200", DEFAULTS)
    add_direct(store, chat, "covid")
    assert say(ctx, chat, "pause 1").ok
    a_subs, a_chat = sub_rows(store, chat), chat_row(store, chat)

    listing = say(ctx, other, "list")
    assert listing.text == "This chat has no subscriptions. Add one with: subscribe QUERY"
    for text in ["pause 1", "resume 1", "unsubscribe 1", "resume #1"]:
        reply = say(ctx, other, text)
        assert not reply.ok, text
        assert reply.text == "This chat has no subscription #1. See: list"
    assert say(ctx, other, "pause").ok  # pauses chat B only
    assert sub_rows(store, chat) == a_subs == [(1, "covid", "covid", "paused")]
    assert chat_row(store, chat) == a_chat
    assert chat_row(store, other)["paused"] == 1


def test_each_chat_numbers_its_own_subscriptions(ctx: Context, chat: Chat, store: Store) -> None:
    """The same query in another chat is that chat's #1, not a duplicate of chat A's."""
    other = store.chats.get_or_create("slack", "T1", "C1", DEFAULTS)
    add_direct(store, chat, "pandemic")
    assert say(ctx, chat, "subscribe covid").text.startswith("Subscribed #2: covid")
    reply = say(ctx, other, "subscribe covid")
    assert reply.ok
    assert reply.text.startswith("Subscribed #1: covid")
    assert sub_rows(store, other) == [(1, "covid", "covid", "active")]


# --- mode, digest, lang --------------------------------------------------------------------------


def test_mode_digest_and_instant_are_stored_and_reported(
    ctx: Context, chat: Chat, store: Store
) -> None:
    """`mode digest` says when the digest comes and tells the scheduler; `mode instant` undoes."""
    heard: list[Chat] = []
    ctx.on_chat_changed = heard.append
    reply = say(ctx, chat, "mode digest")
    assert reply.ok
    assert reply.text == "You will get one digest a day at 08:00 (UTC)."
    assert chat_row(store, chat)["mode"] == "digest"
    assert [c.mode for c in heard] == ["digest"]
    reply = say(ctx, chat, "mode INSTANT")
    assert reply.ok
    assert reply.text == "Cards will arrive as papers appear."
    assert chat_row(store, chat)["mode"] == "instant"
    assert [c.mode for c in heard] == ["digest", "instant"]


@pytest.mark.parametrize("text", ["mode", "mode monthly", "mode digest now"])
def test_a_wrong_mode_is_refused(ctx: Context, chat: Chat, store: Store, text: str) -> None:
    """Only instant, digest and weekly are modes; anything else gets the usage line."""
    before = snapshot(store.path)
    reply = say(ctx, chat, text)
    assert not reply.ok
    assert reply.text.splitlines()[-1] == "Usage: mode instant|digest|weekly [DAY]"
    assert snapshot(store.path) == before


@pytest.mark.parametrize(
    ("text", "day", "said"),
    [
        ("mode weekly", 0, "Monday"),
        ("mode WEEKLY friday", 4, "Friday"),
        ("mode weekly Sun", 6, "Sunday"),
        ("mode weekly 수요일", 2, "Wednesday"),
        ("mode weekly 토", 5, "Saturday"),
    ],
)
def test_mode_weekly_stores_the_day_and_says_when_the_digest_comes(
    ctx: Context, chat: Chat, store: Store, text: str, day: int, said: str
) -> None:
    """`mode weekly [DAY]` (Monday by default; English, 3-letter or Korean names, any case) makes
    a digest chat with that weekday, tells the scheduler, and says the day, time and zone."""
    heard: list[Chat] = []
    ctx.on_chat_changed = heard.append
    reply = say(ctx, chat, text)
    assert reply.ok
    assert reply.text == f"You will get one digest a week, every {said} at 08:00 (UTC)."
    row = chat_row(store, chat)
    assert (row["mode"], row["digest_day"]) == ("digest", day)
    assert [(c.mode, c.digest_day, c.weekly) for c in heard] == [("digest", day, True)]


def test_leaving_weekly_mode_forgets_the_day(ctx: Context, chat: Chat, store: Store) -> None:
    """From weekly, `mode digest` is daily again and `mode instant` sends cards; a later
    `mode digest` does not fall back to the old weekday."""
    say(ctx, chat, "mode weekly fri")
    reply = say(ctx, chat, "mode digest")
    assert reply.text == "You will get one digest a day at 08:00 (UTC)."
    assert (chat_row(store, chat)["mode"], chat_row(store, chat)["digest_day"]) == ("digest", None)
    say(ctx, chat, "mode weekly fri")
    assert say(ctx, chat, "mode instant").text == "Cards will arrive as papers appear."
    assert (chat_row(store, chat)["mode"], chat_row(store, chat)["digest_day"]) == ("instant", None)
    say(ctx, chat, "mode digest")
    assert chat_row(store, chat)["digest_day"] is None


@pytest.mark.parametrize(
    ("text", "first_line"),
    [
        ("mode weekly funday", "'funday' is not a day of the week: use e.g. monday or mon"),
        ("mode weekly mon tue", "'mon tue' is not a day of the week: use e.g. monday or mon"),
        ("mode weekly 3", "'3' is not a day of the week: use e.g. monday or mon"),
    ],
)
def test_a_bad_weekly_day_is_refused_and_changes_nothing(
    ctx: Context, chat: Chat, store: Store, text: str, first_line: str
) -> None:
    """A day that is no weekday is named in one line, with the usage, and nothing is stored."""
    say(ctx, chat, "mode digest")
    before = snapshot(store.path)
    reply = say(ctx, chat, text)
    assert not reply.ok
    assert reply.text.splitlines() == [first_line, "Usage: mode instant|digest|weekly [DAY]"]
    assert snapshot(store.path) == before


def test_mode_weekly_in_korean(ctx: Context, chat: Chat, store: Store) -> None:
    """A Korean chat hears the weekly schedule, a refusal and the usage in Korean."""
    say(ctx, chat, "lang ko")
    say(ctx, chat, "digest 07:30 Asia/Seoul")
    reply = say(ctx, chat, "mode weekly 금요일")
    assert reply.text == "매주 금요일 07:30 (Asia/Seoul)에 한 주의 요약을 한 번 보내드립니다."
    moved = say(ctx, chat, "digest 09:00")
    assert moved.text == "주간 요약을 금요일 09:00 (Asia/Seoul)로 정했습니다."
    refused = say(ctx, chat, "mode weekly 펀데이")
    assert refused.text.splitlines() == [
        "'펀데이'은(는) 요일이 아닙니다. 월요일 또는 월 처럼 쓰세요",
        "사용법: mode instant|digest|weekly [요일]",
    ]
    assert chat_row(store, chat)["digest_day"] == 4


def test_digest_time_of_a_weekly_chat_keeps_its_day(ctx: Context, chat: Chat, store: Store) -> None:
    """`digest 18:00` in a weekly chat moves the time and says the week's day stays."""
    say(ctx, chat, "mode weekly thu")
    reply = say(ctx, chat, "digest 18:00 Asia/Seoul")
    assert reply.text == "Weekly digest set to Thursday at 18:00 (Asia/Seoul)."
    row = chat_row(store, chat)
    assert (row["mode"], row["digest_day"], row["digest_time"]) == ("digest", 3, "18:00")


def test_digest_time_and_zone_are_stored(ctx: Context, chat: Chat, store: Store) -> None:
    """`digest 07:30 Asia/Seoul` sets both; `digest 8:05` later changes the time, keeps the zone."""
    heard: list[Chat] = []
    ctx.on_chat_changed = heard.append
    reply = say(ctx, chat, "digest 07:30 Asia/Seoul")
    assert reply.ok
    assert reply.text.splitlines() == [
        "Daily digest time set to 07:30 (Asia/Seoul).",
        "This chat is in instant mode; switch with: mode digest",
    ]
    row = chat_row(store, chat)
    assert (row["digest_time"], row["timezone"]) == ("07:30", "Asia/Seoul")
    say(ctx, chat, "mode digest")
    reply = say(ctx, chat, "digest 8:05")
    assert reply.text == "Daily digest time set to 08:05 (Asia/Seoul)."
    row = chat_row(store, chat)
    assert (row["digest_time"], row["timezone"], row["mode"]) == ("08:05", "Asia/Seoul", "digest")
    assert [(c.digest_time, c.timezone) for c in heard][-1] == ("08:05", "Asia/Seoul")


@pytest.mark.parametrize(
    ("args", "first_line"),
    [
        ("25:00", "'25:00' is not a time; use 24-hour HH:MM, e.g. 07:30"),
        ("24:00", "'24:00' is not a time; use 24-hour HH:MM, e.g. 07:30"),
        ("8am", "'8am' is not a time; use 24-hour HH:MM, e.g. 07:30"),
        ("07:60", "'07:60' is not a time; use 24-hour HH:MM, e.g. 07:30"),
        ("", None),
        (
            "07:30 Mars/Phobos",
            "'Mars/Phobos' is not a time zone; use an IANA name such as Asia/Seoul",
        ),
        (
            "07:30 ../../etc/passwd",
            "'../../etc/passwd' is not a time zone; use an IANA name such as Asia/Seoul",
        ),
        (
            "07:30 Asia/Seoul tomorrow",
            "'07:30 Asia/Seoul tomorrow' is not a time; use 24-hour HH:MM, e.g. 07:30",
        ),
    ],
)
def test_a_bad_digest_time_or_zone_is_refused(
    ctx: Context, chat: Chat, store: Store, args: str, first_line: str | None
) -> None:
    """A time that is not 24-hour HH:MM, or an unknown zone, is named; nothing changes."""
    before = snapshot(store.path)
    reply = say(ctx, chat, f"digest {args}")
    assert not reply.ok
    lines = reply.text.splitlines()
    assert lines[-1] == "Usage: digest HH:MM [ZONE]"
    if first_line is not None:
        assert lines == [first_line, "Usage: digest HH:MM [ZONE]"]
    assert snapshot(store.path) == before


def test_a_digest_time_in_other_digits_is_never_stored_as_such(
    ctx: Context, chat: Chat, store: Store
) -> None:
    """A time typed with Arabic-Indic digits is refused or stored as plain ASCII HH:MM."""
    say(ctx, chat, "digest \u0668:0\u0663")  # "٨:0٣", that is 8:03
    stored = chat_row(store, chat)["digest_time"]
    assert re.fullmatch(r"[0-2][0-9]:[0-5][0-9]", stored, re.ASCII), stored


def test_lang_ko_is_stored_and_every_reply_turns_korean(
    ctx: Context, chat: Chat, store: Store, fake: FakeEutils
) -> None:
    """After `lang ko` the list, help and every refusal are in Korean."""
    reply = say(ctx, chat, "lang ko")
    assert reply.ok
    assert reply.text == "언어를 한국어로 바꿨습니다."
    assert reply.chat is not None
    assert reply.chat.language == "ko"
    assert chat_row(store, chat)["language"] == "ko"

    fake.inject("status", endpoint="esearch", status=503, times=ATTEMPTS)
    texts = [
        "list",
        "help",
        "help subscribe",
        "subscribe",
        'subscribe "covid',
        "subscribe covid",  # PubMed unreachable
        "unsubscribe abc",
        "pause 9",
        "digest 25:00",
        "digest 07:30 Mars/Phobos",
        "mode weekly",
        "lang fr",
        "search (covid",
        "frobnicate",
        "status",
    ]
    for text in texts:
        answer = say(ctx, chat, text)
        assert HANGUL.search(answer.text), (text, answer.text)
    add_direct(store, chat, "covid")
    assert HANGUL.search(say(ctx, chat, "list").text)


def test_lang_en_switches_back_and_other_languages_are_refused(
    ctx: Context, chat: Chat, store: Store
) -> None:
    """`lang EN` returns to English; `lang fr` is refused and leaves the language alone."""
    say(ctx, chat, "lang ko")
    before = snapshot(store.path)
    refused = say(ctx, chat, "lang fr")
    assert not refused.ok
    assert refused.text.splitlines()[-1] == "사용법: lang en|ko"
    assert snapshot(store.path) == before
    reply = say(ctx, chat, "lang EN")
    assert reply.ok
    assert reply.text == "Language set to English."
    assert chat_row(store, chat)["language"] == "en"
    assert not HANGUL.search(say(ctx, chat, "list").text)


# --- help, parsing, garbage ----------------------------------------------------------------------


@pytest.mark.parametrize("text", ["help", "/help", "", "   ", "/start", "HELP"])
def test_help_lists_every_verb_of_the_interface(ctx: Context, chat: Chat, text: str) -> None:
    """The help lists each verb of INTERFACES.md with its usage, and ends with an example."""
    reply = say(ctx, chat, text)
    assert reply.ok
    lines = reply.text.splitlines()
    assert lines[0] == "Paper Surfer commands:"
    for usage in INTERFACE_VERBS.values():
        assert any(line.startswith(f"{usage} — ") for line in lines), usage
    assert lines[-1] == 'Example: subscribe "liver metastases" AND chemotherapy'


@pytest.mark.parametrize("verb", list(INTERFACE_VERBS))
def test_help_verb_gives_that_verbs_usage(ctx: Context, chat: Chat, verb: str) -> None:
    """`help VERB` (also `help /VERB` and in capitals) answers with that verb's usage alone."""
    for text in (f"help {verb}", f"help /{verb}", f"HELP {verb.upper()}"):
        reply = say(ctx, chat, text)
        assert reply.ok
        lines = reply.text.splitlines()
        assert len(lines) == 2, text
        assert lines[0] == INTERFACE_VERBS[verb]


def test_telegram_style_commands_with_the_bot_name_parse(
    ctx: Context, chat: Chat, store: Store
) -> None:
    """`/subscribe@PaperSurferBot covid` subscribes to covid, and `/list@PaperSurferBot` lists."""
    reply = say(ctx, chat, "/subscribe@PaperSurferBot covid")
    assert reply.ok
    assert reply.text.splitlines()[0] == "Subscribed #1: covid"
    assert sub_rows(store, chat) == [(1, "covid", "covid", "active")]
    listing = say(ctx, chat, "/list@PaperSurferBot")
    assert listing.text.splitlines()[1] == "#1 [active] covid (last new paper: none yet)"
    assert say(ctx, chat, "/pause@PaperSurferBot 1").text == "Paused #1: covid"


def test_an_unknown_verb_is_named_with_a_pointer_to_help(ctx: Context, chat: Chat) -> None:
    """A verb the bot does not know is quoted back with a pointer to `help`."""
    reply = say(ctx, chat, "frobnicate the papers")
    assert not reply.ok
    assert reply.text == "Unknown command 'frobnicate'. Try: help"
    assert say(ctx, chat, "/subscribo@PaperSurferBot covid").text == (
        "Unknown command 'subscribo'. Try: help"
    )


GARBAGE = [
    "\x00\x01\x02\x1b[31m",
    "subscribe covid\x00",
    "search covid\x07",
    "a" * 10_000,
    "subscribe " + "b" * 10_000,
    "search " + "c" * 10_000,
    "unsubscribe " + "9" * 10_000,
    "digest " + "1" * 10_000,
    "🔥🔥🔥",
    "pause 🔥",
    "digest 🔥 🔥",
    "lang 한국어",
    "help 🔥",
    "mode 🚀",
    "\u202e\u200b\ufeff",
    "/@",
    "@",
    "\n\n\n",
    "subscribe\n\n",
    '"',
    "(((",
]


@pytest.mark.parametrize("text", GARBAGE, ids=range(len(GARBAGE)))
def test_garbage_never_raises(ctx: Context, chat: Chat, store: Store, text: str) -> None:
    """Whatever is typed, the bot answers with a short reply and never crashes."""
    reply = say(ctx, chat, text)
    assert isinstance(reply, Reply)
    assert reply.text.strip()
    assert len(reply.text) < 2_000
    assert store.chats.subscriptions(chat.id) == []


# --- search, status ------------------------------------------------------------------------------


def test_search_shows_the_five_newest_as_cards_and_stores_nothing(
    ctx: Context, chat: Chat, store: Store
) -> None:
    """`search covid` shows 5 of the 23 papers of the last 30 days, newest first; it subscribes
    to nothing and owes nothing (the shown papers are kept, so their 💾 button works)."""
    before = snapshot(store.path)
    reply = say(ctx, chat, "search covid")
    assert reply.ok
    assert reply.text == "Top 5 of 23 papers from the last 30 days (not subscribed):"
    assert [card.paper.pmid for card in reply.cards] == COVID_30_DAYS_NEWEST
    after = snapshot(store.path)
    for table in ("subscriptions", "matches", "deliveries", "chats"):
        assert after[table] == before[table]
    assert before["papers"] == []
    assert sorted(row[0] for row in after["papers"]) == sorted(COVID_30_DAYS_NEWEST)


def test_search_with_fewer_than_five_results_shows_them_all(
    ctx: Context, chat: Chat, store: Store
) -> None:
    """`search "breast cancer"` finds four papers in 30 days and shows all four, newest first."""
    reply = say(ctx, chat, 'search "breast cancer"')
    assert reply.ok
    assert reply.text == "Top 4 of 4 papers from the last 30 days (not subscribed):"
    assert [card.paper.pmid for card in reply.cards] == BREAST_CANCER_30_DAYS
    assert snapshot(store.path)["subscriptions"] == []


def test_search_without_results_says_so(ctx: Context, chat: Chat) -> None:
    """A search that finds nothing in 30 days says so, with no cards."""
    reply = say(ctx, chat, 'search "liver metastases"')
    assert reply.ok
    assert reply.cards == ()
    assert reply.text == 'No papers in the last 30 days for: "liver metastases"'


def test_search_refuses_a_broken_query(ctx: Context, chat: Chat, fake: FakeEutils) -> None:
    """An unbalanced query is not searched; the reason and usage line are given."""
    reply = say(ctx, chat, "search (covid")
    assert not reply.ok
    assert reply.text.splitlines() == [
        "Not searched: the query has a '(' that is never closed.",
        "Usage: search QUERY",
    ]
    assert fake.requests == []


def test_status_before_any_poll_says_no_polls_yet(
    fake: FakeEutils, store: Store, chat: Chat
) -> None:
    """Before the first poll, status says so and when the next poll is due."""
    ctx = make_context(fake, store, POLL_INTERVAL_MINUTES="15")
    expected = "No polls yet for this chat's subscriptions. The next poll is due within 15 min."
    assert say(ctx, chat, "status").text == expected
    add_direct(store, chat, "covid")
    reply = say(ctx, chat, "status")
    assert reply.ok
    assert reply.text == expected
