"""Follow-ups on Telegram and Slack: a reply to the paper's card (Telegram reply, Slack thread,
a retraction broadcast to the channel), and a plain message when the card was deleted.

The real PTB and slack_sdk clients talk to the loopback fakes of the Bot API and the Web API;
the notices are the real records of tests/test_followups.py, pointed at the three papers.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fixtures import DAILY, connected, fixture, free_port
from received import slack_linked, telegram_linked
from servers.eutils import FakeEutils
from servers.slack import FakeSlack
from servers.telegram import FakeTelegram
from test_followups import (
    AFTER,
    BEFORE,
    CONCERN,
    CONCERNED,
    CORRECTED,
    ERRATUM,
    RETARGET,
    RETRACTED,
    RETRACTION,
    retarget,
)

from bot.app import App
from bot.config import Settings
from bot.poller import poll_cycle
from bot.pubmed.client import EutilsClient, RetryPolicy
from bot.pubmed.query import normalize

ALICE = 1001
CHANNEL = "C0001"
TEAM = "T0001"
# The three papers the notices concern, and nothing else.
QUERY = f"{RETRACTED}[pmid] OR {CORRECTED}[pmid] OR {CONCERNED}[pmid]"
RETARGET_NOTICE = {CORRECTED: ERRATUM, CONCERNED: CONCERN}  # each paper's notice


@pytest.fixture
def pubmed(tmp_path: Path) -> Iterator[FakeEutils]:
    with FakeEutils(rate_limit=None) as served:
        served.load(fixture(DAILY))
        retarget(served, tmp_path, RETARGET)
        yield served


def make_app(pubmed: FakeEutils, tmp_path: Path, **platform: str) -> App:
    settings = Settings.from_env(
        {
            "DATABASE_PATH": str(tmp_path / "ps.db"),
            "ALERTS_DIR": str(tmp_path / "alerts"),
            "PUBMED_EUTILS_URL": pubmed.url,
            "BACKFILL_DAYS": "7",
            **platform,
        },
        env_file=None,
    )
    return App.create(settings, io.StringIO())


def telegram_app(pubmed: FakeEutils, tmp_path: Path, telegram: FakeTelegram) -> App:
    return make_app(
        pubmed, tmp_path, TELEGRAM_BOT_TOKEN=telegram.token, TELEGRAM_API_URL=telegram.base_url
    )


def slack_app(pubmed: FakeEutils, tmp_path: Path, slack: FakeSlack) -> App:
    return make_app(
        pubmed,
        tmp_path,
        SLACK_BOT_TOKEN=slack.token,
        SLACK_SIGNING_SECRET="secret-for-tests",
        SLACK_API_URL=slack.api_url,
        SLACK_PORT=str(free_port()),
    )


async def poll(app: App, pubmed: FakeEutils, day: date) -> None:
    pubmed.visible_until = day
    pubmed.today = day
    client = EutilsClient(pubmed.url, retry=RetryPolicy(attempts=3, backoff=0.01), max_rps=100)
    await asyncio.to_thread(poll_cycle, app.store, client, app.settings, today=lambda: day)


def subscribe(app: App, platform: str, workspace: str, chat_id: str) -> None:
    chat = app.service.chat(platform, workspace, chat_id)
    app.store.chats.add_subscription(chat.id, QUERY, normalize(QUERY), 50)


def saved_pmid(message: dict[str, Any]) -> str:
    """The PMID of a Telegram card, from its save button."""
    for row in message["reply_markup"]["inline_keyboard"]:
        for button in row:
            if button.get("callback_data", "").startswith("fb:save:"):
                return str(button["callback_data"]).split(":")[2]
    raise AssertionError("not a card")


def slack_saved_pmid(message: dict[str, Any]) -> str:
    """The PMID of a Slack card, from its save button."""
    for block in message["blocks"]:
        for element in block.get("elements", []):
            if isinstance(element, dict) and element.get("value", "").startswith("fb:save:"):
                return str(element["value"]).split(":")[2]
    raise AssertionError("not a card")


async def test_on_telegram_a_followup_replies_to_its_card_or_comes_plain_when_it_is_gone(
    pubmed: FakeEutils, tmp_path: Path
) -> None:
    """Each follow-up is a reply to the card of its paper; the card of the paper with an
    expression of concern was deleted, so that follow-up arrives as a plain message."""
    with FakeTelegram() as telegram:
        telegram.add_private_chat(ALICE, first_name="Alice")
        app = telegram_app(pubmed, tmp_path, telegram)
        async with connected(app, "telegram"):
            subscribe(app, "telegram", "", str(ALICE))
            await poll(app, pubmed, BEFORE)
            await app.deliver()
            cards = {saved_pmid(m): m["message_id"] for m in telegram.sent(ALICE)}
            assert set(cards) == {RETRACTED, CORRECTED, CONCERNED}
            bot = app.channels["telegram"].application.bot  # type: ignore[attr-defined]
            await bot.delete_message(ALICE, cards[CONCERNED])  # the chat cleared it away

            await poll(app, pubmed, AFTER)
            report = await app.deliver()
        assert telegram.errors == []

    assert report.followups == 3
    followups = telegram.sent(ALICE)[2:]
    replies = {telegram_linked(m)[0]: m.get("reply_to_message") for m in followups}
    assert replies[RETRACTED]["message_id"] == cards[RETRACTED]
    assert replies[CORRECTED]["message_id"] == cards[CORRECTED]
    assert replies[CONCERNED] is None
    retraction = next(m for m in followups if telegram_linked(m)[0] == RETRACTED)
    assert retraction["text"].startswith("⚠️ Retracted: Detection of rare variant alleles")
    assert f"retraction notice PMID {RETRACTION}" in retraction["text"]


async def test_on_slack_a_followup_is_a_thread_reply_and_a_retraction_is_broadcast(
    pubmed: FakeEutils, tmp_path: Path
) -> None:
    """Each follow-up is posted in its card's thread, the retraction also to the channel; the
    deleted card's follow-up is posted to the channel as a plain message."""
    with FakeSlack(team_id=TEAM) as slack:
        slack.add_channel(CHANNEL, name="papers")
        app = slack_app(pubmed, tmp_path, slack)
        async with connected(app, "slack"):
            subscribe(app, "slack", TEAM, CHANNEL)
            await poll(app, pubmed, BEFORE)
            await app.deliver()
            cards = {slack_saved_pmid(m): m["ts"] for m in slack.posted(CHANNEL)}
            assert set(cards) == {RETRACTED, CORRECTED, CONCERNED}
            client: Any = app.channels["slack"].client  # type: ignore[attr-defined]
            await client.chat_delete(channel=CHANNEL, ts=cards[CONCERNED])

            await poll(app, pubmed, AFTER)
            report = await app.deliver()
        assert slack.errors == []

    assert report.followups == 3
    followups = {slack_linked(m)[0]: m for m in slack.posted(CHANNEL)[2:]}
    assert followups[RETRACTED]["thread_ts"] == cards[RETRACTED]
    assert followups[RETRACTED]["reply_broadcast"] is True
    assert followups[CORRECTED]["thread_ts"] == cards[CORRECTED]
    assert followups[CORRECTED]["reply_broadcast"] is False
    assert followups[CONCERNED]["thread_ts"] in ("", None)
    refused = [c for c in slack.calls_to("chat.postMessage") if c.response.get("ok") is False]
    assert [c.response["error"] for c in refused] == ["thread_not_found"]


async def test_on_telegram_a_digest_chat_gets_its_corrections_inside_the_digest_in_korean(
    pubmed: FakeEutils, tmp_path: Path
) -> None:
    """A Korean digest-mode chat hears of the retraction at once; the erratum and the concern
    arrive inside its next digest, a digest of them alone (no new papers that day), in Korean,
    each line linking the paper and its notice, and never as messages of their own."""
    with FakeTelegram() as telegram:
        telegram.add_private_chat(ALICE, first_name="Alice")
        app = telegram_app(pubmed, tmp_path, telegram)
        async with connected(app, "telegram"):
            subscribe(app, "telegram", "", str(ALICE))
            chat = app.service.chat("telegram", "", str(ALICE))
            app.store.chats.update(chat.id, language="ko", mode="digest")
            await poll(app, pubmed, BEFORE)
            await app.send_digests_now()
            assert len(telegram.sent(ALICE)) == 1  # the first digest: the three papers

            await poll(app, pubmed, AFTER)
            report = await app.deliver()
            assert report.followups == 1  # the retraction, at once
            assert len(telegram.sent(ALICE)) == 2
            await app.send_digests_now()
            await app.deliver()
        assert telegram.errors == []

    [_, retraction, updates] = telegram.sent(ALICE)
    assert retraction["text"].startswith("⚠️ 철회됨: Detection of rare variant alleles")
    assert updates.get("reply_to_message") is None
    lines = updates["text"].splitlines()
    assert lines[0].startswith("📬 ")
    assert "새 논문 0편" in lines[0]
    assert "받은 논문의 새 소식:" in lines
    concern = next(line for line in lines if line.startswith("• ⚠️ 우려 표명: Short and long"))
    assert concern.endswith(f"— 우려 표명 공지 PMID {RETARGET_NOTICE[CONCERNED]}")
    erratum = next(line for line in lines if line.startswith("• ✏️ 정정됨: RNA-guided gene"))
    assert erratum.endswith(f"— 정오표 PMID {RETARGET_NOTICE[CORRECTED]}")
    links = {e["url"] for e in updates["entities"] if e.get("type") == "text_link"}
    assert {
        f"https://pubmed.ncbi.nlm.nih.gov/{CORRECTED}/",
        f"https://pubmed.ncbi.nlm.nih.gov/{CONCERNED}/",
        f"https://pubmed.ncbi.nlm.nih.gov/{RETARGET_NOTICE[CORRECTED]}/",
        f"https://pubmed.ncbi.nlm.nih.gov/{RETARGET_NOTICE[CONCERNED]}/",
    } <= links
    states = {(f.pmid, f.state) for f in app.store.followups.for_chat(chat.id)}
    assert states == {(RETRACTED, "sent"), (CORRECTED, "sent"), (CONCERNED, "sent")}


async def test_on_slack_a_digest_channel_gets_its_corrections_inside_the_digest(
    pubmed: FakeEutils, tmp_path: Path
) -> None:
    """A digest-mode Slack channel hears of the retraction at once; the erratum and the concern
    are lines of its next digest, posted to the channel, never messages of their own."""
    with FakeSlack(team_id=TEAM) as slack:
        slack.add_channel(CHANNEL, name="papers")
        app = slack_app(pubmed, tmp_path, slack)
        async with connected(app, "slack"):
            subscribe(app, "slack", TEAM, CHANNEL)
            chat = app.service.chat("slack", TEAM, CHANNEL)
            app.store.chats.update(chat.id, mode="digest")
            await poll(app, pubmed, BEFORE)
            await app.send_digests_now()
            await poll(app, pubmed, AFTER)
            await app.deliver()
            await app.send_digests_now()
            await app.deliver()
        assert slack.errors == []

    [_, retraction, digest] = slack.posted(CHANNEL)
    assert "Retracted" in retraction["text"]
    assert digest.get("thread_ts") in ("", None)
    text = str(digest["blocks"])
    assert "Updates to papers you received:" in text
    assert f"<https://pubmed.ncbi.nlm.nih.gov/{ERRATUM}/|erratum PMID {ERRATUM}>" in text
    assert (
        f"<https://pubmed.ncbi.nlm.nih.gov/{CONCERN}/|expression of concern PMID {CONCERN}>" in text
    )
    assert f"<https://pubmed.ncbi.nlm.nih.gov/{CORRECTED}/|RNA-guided gene editing" in text
