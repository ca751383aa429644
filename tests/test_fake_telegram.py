"""The fake Telegram Bot API itself, checked with the real python-telegram-bot `Bot`.

Expected wordings are Telegram's (TDLib's parse_html and the Bot API's descriptions); PTB strips
"Bad Request: " from a description and capitalizes the rest (str.capitalize, which lowers every
other letter), so the exact text is checked on the fake's recorded answer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import pytest
from servers.telegram import Call, FakeTelegram, parse_html
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyParameters,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)

ADA = 42  # a private chat
LAB = -5  # a group: 7 is an administrator, 9 a member


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    """A running fake with one private chat and one group."""
    with FakeTelegram() as server:
        server.add_private_chat(ADA, username="ada")
        server.add_group(LAB, admins={7})
        server.add_member(LAB, 9)
        yield server
        assert server.errors == []


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    """A real PTB Bot pointed at the fake, initialized (getMe) and shut down around the test."""
    async with Bot(fake.token, base_url=fake.base_url) as client:
        yield client


def last(fake: FakeTelegram, method: str) -> Call:
    return fake.calls(method)[-1]


# --- the basics ---------------------------------------------------------------------------------


async def test_get_me(fake: FakeTelegram, bot: Bot) -> None:
    """getMe answers the bot user, with the id from the token and the username."""
    assert (bot.id, bot.username, bot.bot.is_bot) == (123456, "PaperSurferBot", True)
    assert fake.calls("getMe")[0].status == 200


async def test_wrong_token_is_unauthorized(fake: FakeTelegram) -> None:
    """A well-formed token that is not the bot's gets 401 Unauthorized (PTB: InvalidToken)."""
    with pytest.raises(InvalidToken):
        async with Bot("999:WRONG", base_url=fake.base_url):
            pass
    assert last(fake, "getMe").response == {
        "ok": False,
        "error_code": 401,
        "description": "Unauthorized",
    }


async def test_send_message_with_html_and_keyboard(fake: FakeTelegram, bot: Bot) -> None:
    """sendMessage parses HTML into text and UTF-16 entities and keeps the inline keyboard."""
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("👍", callback_data="like:38000001"),
                InlineKeyboardButton("PubMed", url="https://pubmed.ncbi.nlm.nih.gov/38000001/"),
            ]
        ]
    )
    html = '😀 <b>New</b> &amp; <a href="https://pubmed.ncbi.nlm.nih.gov/1/">paper</a>\n\n'

    message = await bot.send_message(ADA, html, parse_mode=ParseMode.HTML, reply_markup=keyboard)

    assert message.text == "😀 New & paper"
    assert message.reply_markup == keyboard
    [stored] = fake.sent(ADA)
    assert stored["message_id"] == message.message_id
    assert stored["entities"] == [
        {"offset": 3, "length": 3, "type": "bold"},  # the emoji is two UTF-16 code units
        {
            "offset": 9,
            "length": 5,
            "type": "text_link",
            "url": "https://pubmed.ncbi.nlm.nih.gov/1/",
        },
    ]
    call = last(fake, "sendMessage")
    assert call.params["reply_markup"] == keyboard.to_dict()  # PTB sent it as a JSON string
    assert call.params["chat_id"] == ADA
    assert fake.accepted[ADA] == 1


def test_parse_html_follows_tdlib() -> None:
    """Entities, a literal "&", "&lt" without ";", pre with a language and an expandable quote."""
    text, entities = parse_html(
        'AT&T &lt3 <pre><code class="language-python">x = 1</code></pre>'
        "<blockquote expandable>q</blockquote>"
    )
    assert text == "AT&T <3 x = 1q"
    assert entities == [
        {"offset": 8, "length": 5, "type": "pre", "language": "python"},
        {"offset": 13, "length": 1, "type": "expandable_blockquote"},
    ]


# --- Bad Request --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "description"),
    [
        ("<x>hi</x>", 'Unsupported start tag "x" at byte offset 0'),
        ("<b>hi", 'Can\'t find end tag corresponding to start tag "b"'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("<b>hi</i>", 'Unmatched end tag at byte offset 5, expected "</b>", found "</i>"'),
    ],
)
async def test_malformed_html_is_a_bad_request(
    fake: FakeTelegram, bot: Bot, html: str, description: str
) -> None:
    """Malformed HTML gets TDLib's "can't parse entities" error and nothing is delivered."""
    with pytest.raises(BadRequest, match=r"^Can't parse entities: "):
        await bot.send_message(ADA, html, parse_mode=ParseMode.HTML)
    assert last(fake, "sendMessage").response["description"] == (
        f"Bad Request: can't parse entities: {description}"
    )
    assert fake.sent(ADA) == []
    assert fake.refused[ADA] == 1


async def test_too_long_counts_utf16_code_units(fake: FakeTelegram, bot: Bot) -> None:
    """4,096 UTF-16 code units pass; 2,049 emoji (4,098 units) are "message is too long"."""
    await bot.send_message(LAB, "<b>" + "a" * 4096 + "</b>", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(LAB, "😀" * 2049)
    assert last(fake, "sendMessage").response["description"] == "Bad Request: message is too long"


async def test_callback_data_over_64_bytes(fake: FakeTelegram, bot: Bot) -> None:
    """callback_data of 65 UTF-8 bytes (22 three-byte characters) is BUTTON_DATA_INVALID."""
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="한" * 22)]])
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(ADA, "hi", reply_markup=keyboard)
    assert last(fake, "sendMessage").response == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: BUTTON_DATA_INVALID",
    }


async def test_chat_not_found(fake: FakeTelegram, bot: Bot) -> None:
    """A chat the bot does not know is 400 "chat not found"."""
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(1234, "hi")
    assert last(fake, "sendMessage").response["description"] == "Bad Request: chat not found"


async def test_migrated_group(fake: FakeTelegram, bot: Bot) -> None:
    """A group upgraded to a supergroup answers with migrate_to_chat_id (PTB: ChatMigrated)."""
    fake.migrate(LAB, -1001234)
    with pytest.raises(ChatMigrated) as caught:
        await bot.send_message(LAB, "hi")
    assert caught.value.new_chat_id == -1001234
    assert (await bot.send_message(-1001234, "hi")).chat.type == "supergroup"


# --- Forbidden, flood limits, faults ------------------------------------------------------------


async def test_blocked_user_is_forbidden(fake: FakeTelegram, bot: Bot) -> None:
    """A user who blocked the bot gets 403 "Forbidden: bot was blocked by the user"."""
    fake.block(ADA)
    with pytest.raises(Forbidden, match=r"^Forbidden: bot was blocked by the user$"):
        await bot.send_message(ADA, "hi")
    assert last(fake, "sendMessage").status == 403
    assert fake.sent(ADA) == []


async def test_private_chat_pace_is_retry_after(
    fake: FakeTelegram, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second message to one private chat within a second is 429 with retry_after 1."""
    # Without PTB_TIMEDELTA, PTB warns while building RetryAfter, and warnings are errors here.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    await bot.send_message(ADA, "one")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(ADA, "two")

    assert caught.value.retry_after == timedelta(seconds=1)
    assert last(fake, "sendMessage").response == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }
    assert [m["text"] for m in fake.sent(ADA)] == ["one"]
    assert (fake.accepted[ADA], fake.throttled[ADA]) == (1, 1)
    await bot.send_message(LAB, "groups are not paced per second")


async def test_injected_faults(fake: FakeTelegram, bot: Bot) -> None:
    """A hang-up that delivered, then a 502 page, both NetworkError; the next call succeeds."""
    fake.inject("sendMessage", "disconnect", deliver=True)
    fake.inject("sendMessage", "status", status=502)
    with pytest.raises(NetworkError):
        await bot.send_message(LAB, "delivered, answer lost")
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(LAB, "never delivered")
    await bot.send_message(LAB, "fine")
    assert [m["text"] for m in fake.sent(LAB)] == ["delivered, answer lost", "fine"]


# --- updates, callbacks, commands ---------------------------------------------------------------


async def test_long_polling_returns_a_pushed_update(fake: FakeTelegram, bot: Bot) -> None:
    """getUpdates waits until an update is pushed, returns it with its bot_command entity, and
    an offset past it confirms it."""
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    assert await fake.wait_for_async(
        lambda: any(c.method == "getUpdates" and c.status == 0 for c in fake.requests)
    )
    started = time.monotonic()
    update_id = fake.push_text(LAB, "/subscribe@PaperSurferBot cancer", user_id=9)

    [update] = await poll
    assert time.monotonic() - started < 2  # woken by the push, not by the 5 s timeout
    assert update.update_id == update_id
    assert update.message is not None
    assert update.message.text == "/subscribe@PaperSurferBot cancer"
    assert update.message.parse_entities() == {
        update.message.entities[0]: "/subscribe@PaperSurferBot"
    }
    assert update.message.from_user is not None
    assert update.message.from_user.id == 9
    assert await bot.get_updates(offset=update_id + 1, timeout=0) == ()
    assert fake.pending_updates == []


async def test_answer_callback_query(fake: FakeTelegram, bot: Bot) -> None:
    """A button press comes as a CallbackQuery; it can be answered once, then it is too old."""
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("💾", callback_data="save:1")]])
    sent = await bot.send_message(ADA, "card", reply_markup=keyboard)
    query_id = fake.push_callback(ADA, sent.message_id, "save:1")

    [update] = await bot.get_updates()
    assert update.callback_query is not None
    assert (update.callback_query.id, update.callback_query.data) == (query_id, "save:1")
    assert await update.callback_query.answer("Saved") is True
    assert fake.answered_callbacks() == [
        {
            "callback_query_id": query_id,
            "text": "Saved",
            "show_alert": False,
            "url": None,
            "cache_time": 0,
        }
    ]
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(query_id)


async def test_set_my_commands_per_language(fake: FakeTelegram, bot: Bot) -> None:
    """setMyCommands with language_code is kept apart from the default list."""
    await bot.set_my_commands([BotCommand("help", "Help")])
    await bot.set_my_commands([BotCommand("help", "도움말")], language_code="ko")

    assert fake.commands == {
        ("default", ""): [{"command": "help", "description": "Help"}],
        ("default", "ko"): [{"command": "help", "description": "도움말"}],
    }
    assert await bot.get_my_commands(language_code="ko") == (BotCommand("help", "도움말"),)
    with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Bad-Command", "x")])


async def test_group_member_statuses(fake: FakeTelegram, bot: Bot) -> None:
    """getChatMember tells an administrator, a member and someone who is not in the group."""
    statuses = [(await bot.get_chat_member(LAB, user)).status for user in (7, 9, ADA)]
    assert statuses == ["administrator", "member", "left"]


async def test_a_reply_names_its_message_and_a_missing_one_is_refused_unless_allowed(
    fake: FakeTelegram, bot: Bot
) -> None:
    """reply_parameters gives the reply its reply_to_message; once that message is deleted the
    Bot API refuses "message to be replied not found", unless allow_sending_without_reply, when
    the message goes out as a plain one."""
    fake.enforce_limits = False
    card = await bot.send_message(ADA, "card")
    reply = await bot.send_message(ADA, "retracted", reply_parameters=ReplyParameters(card.id))
    assert reply.reply_to_message is not None
    assert reply.reply_to_message.message_id == card.message_id
    await bot.delete_message(ADA, card.message_id)
    # Telegram says "message to be replied not found"; PTB capitalises the description.
    with pytest.raises(BadRequest, match="Message to be replied not found"):
        await bot.send_message(ADA, "late", reply_parameters=ReplyParameters(card.message_id))
    plain = await bot.send_message(
        ADA,
        "late",
        reply_parameters=ReplyParameters(card.message_id, allow_sending_without_reply=True),
    )
    assert plain.reply_to_message is None
    assert [m["text"] for m in fake.sent(ADA)] == ["retracted", "late"]
