"""A fake Telegram Bot API server on loopback, for tests.

The real python-telegram-bot `Bot` / `Application`, pointed at it with `base_url`, talks to it as
it would to api.telegram.org. It imports nothing from `bot`, `handlers` or `storage`, nor from
`telegram`: it is the yardstick the project's Telegram code is measured against.

    with FakeTelegram() as fake:
        fake.add_private_chat(42)
        async with Bot(fake.token, base_url=fake.base_url) as bot:
            await bot.send_message(42, "<b>hi</b>", parse_mode="HTML")
        assert fake.sent(42)[0]["text"] == "hi"

What it mimics
--------------
* `POST|GET <base_url><token>/<method>`, method names case-insensitive. Parameters from the
  query string, an `application/x-www-form-urlencoded` body (what PTB sends when there is no
  file), a `multipart/form-data` body (PTB with a file: the file is a part with a filename, the
  other parameters are plain parts) or an `application/json` body. PTB sends every non-string
  value JSON-encoded (`chat_id=42`, `reply_markup={"inline_keyboard": ...}`, `true`); the fake
  decodes them like the Bot API does, except for parameters that are strings by type (`text`,
  `caption`, `parse_mode`, `callback_query_id`, ...). `Call.params` holds the decoded values; an
  uploaded file appears there as {"file_name", "mime_type", "size"}.
* Answers `{"ok": true, "result": ...}` (plus "description" where Telegram adds one) or
  `{"ok": false, "error_code": N, "description": "...", "parameters": {...}}` with HTTP status N.
  A token of the right shape that is not ours: 401 "Unauthorized"; a malformed token, another
  path or an unknown method: 404 "Not Found". A real Bot API method the fake does not implement
  is a 404 too, and is noted in `errors` so the test fails loudly.
* getMe, getUpdates (offset confirms earlier updates, a negative offset keeps the last -offset,
  limit 1-100, long polling up to `timeout` s woken by a push, allowed_updates remembered as
  Telegram does, 409 while a webhook is set, 409 "terminated by other getUpdates request" to a
  poll overtaken by a newer one), setWebhook / deleteWebhook (drop_pending_updates) /
  getWebhookInfo, setMyCommands / deleteMyCommands / getMyCommands (scope, language_code),
  sendMessage, sendDocument, sendChatAction, editMessageText, editMessageReplyMarkup,
  deleteMessage, answerCallbackQuery, getChat, getChatMember, getChatAdministrators,
  getChatMemberCount.
* Text: `parse_mode` HTML is parsed by a port of TDLib's parse_html (td/telegram/
  MessageEntity.cpp): tags b strong i em u ins s strike del span class="tg-spoiler" tg-spoiler
  a href code pre (code class="language-x" inside/around pre -> pre.language) blockquote
  [expandable] tg-emoji emoji-id; entities &lt; &gt; &amp; &quot; and &#NNN; / &#xHH; (the ";"
  is optional). Errors are TDLib's, after "Bad Request: can't parse entities: " - Unsupported
  start tag "x" at byte offset N, Can't find end tag corresponding to start tag "b", Unmatched
  end tag ..., Unclosed start tag ..., Unexpected end tag ... (byte offsets in UTF-8 of the
  input). As in TDLib, a "&" that starts no known entity stays a literal "&" (set
  `strict_ampersand = True` to refuse it instead; that wording is invented). An <a> whose href is
  not a valid link gives no entity; tg://user?id=N gives a text_mention. Then TDLib's clean-up:
  "\\r" removed, other control characters become spaces, trailing spaces/newlines trimmed, leading
  ones too up to the first entity. Empty -> "message text is empty"; over 4,096 UTF-16 code units
  -> "message is too long" (captions: 1,024, "message caption is too long"). Entities are sorted
  as TDLib sorts them, offsets and lengths in UTF-16 code units. Markdown modes are not parsed
  (noted in `errors`); an unknown parse_mode is "unsupported parse_mode".
* reply_markup: not a JSON object -> "can't parse reply keyboard markup JSON object";
  inline_keyboard not an array of arrays -> 'field "inline_keyboard" of the
  InlineKeyboardMarkup should be an Array of Arrays'. Each button needs "text" and exactly one
  action field (url, callback_data, web_app, login_url, switch_inline_query*, copy_text,
  callback_game, pay); none -> "can't parse inline keyboard button: Text buttons are unallowed in
  the inline keyboard"; more than one -> an invented error (Telegram would take the first).
  callback_data of 0 or more than 64 UTF-8 bytes -> "BUTTON_DATA_INVALID"; a url TDLib's
  check_link refuses -> "inline keyboard button URL '<url>' is invalid: <reason>" (reasons:
  Unsupported URL protocol, Wrong HTTP URL, ...). The Message returned carries reply_markup as
  given (inline keyboards only, as Telegram).
* Order of checks on a send (Bot API first, then TDLib, then the server): empty text, entity
  parsing and the markup's JSON shape; chat not found (400) / bot kicked (403) / group migrated
  (400 + migrate_to_chat_id); text clean-up, length, button URLs; BUTTON_DATA_INVALID;
  replied-to message; blocked by the user (403); flood limits (429); delivery.
* Flood limits (when `enforce_limits`): at most 30 sendMessage/sendDocument in any 1 s window
  overall, 20 in any 60 s window per group/supergroup, 1 per second per private chat, each window
  shortened by `tolerance` (0.05 s) for thread scheduling. Beyond: 429 "Too Many Requests: retry
  after N" with parameters.retry_after = N, the whole seconds (at least 1) until the message
  would be let through. A refused message does not count and is not delivered. Per chat:
  `accepted`, `throttled` (429s, flood or injected) and `refused` (other errors) counters.
* Chats: private chats (id = the user's id), groups and supergroups with members and
  administrators; block() / kick() make sends answer 403 ("bot was blocked by the user" / "bot
  was kicked from the group chat" / "... supergroup chat"); migrate() turns a group into a
  supergroup with a new id, after which the old id answers 400 "group chat was upgraded to a
  supergroup chat" with parameters.migrate_to_chat_id.
* Updates: push_text / push_callback queue an Update (make_*_update build one without queuing,
  e.g. for post_update). Incoming text gets TDLib's bot_command entities ("/cmd" or
  "/cmd@BotName" not glued to a word); other automatic entities (urls, mentions) are not
  detected. Message ids are per chat and shared by the bot's and the users' messages.

  A user who writes to a private chat has unblocked the bot. setWebhook ends a waiting long poll
  (409 "terminated by setWebhook request").

Reading what happened
---------------------
`requests` (every call, `calls(method)` to filter), `sent(chat_id)` (text messages as they are
now: edited, deleted ones left out), `all_sent()` (every delivery, in order: "no message twice,
none lost"), `documents(chat_id)`, `answered_callbacks()`, `pending_updates`, `webhook`, the
`accepted` / `throttled` / `refused` counters, and `commands[(scope, language_code)]` where scope
is the scope type ("default", "all_private_chats", ...), or "chat:<id>",
"chat_administrators:<id>", "chat_member:<id>:<user id>" for the scopes bound to a chat, and
language_code is "" for all languages.

Invented by the fake (Telegram's wording or behaviour unknown; marked "invented" in the code):
the secret_token, max_connections, scope, language_code and "too many commands" errors, the
"exactly one action" button error, getChatMember on a user the fake has never heard of (400
"PARTICIPANT_ID_INVALID"). sendDocument by URL is not fetched (noted in `errors`). setWebhook
accepts http:// URLs unless `require_https_webhook` is set, so a test can point it at a loopback
listener. Automatic entities in the bot's own messages (urls, mentions) are not added.

Faults: `inject(method, kind, times=1, **options)`, see `inject`. Waiting: `wait_for(predicate)`
blocks on a condition notified on every request, answer and push (from async code use
`await fake.wait_for_async(...)`, which does not block the event loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import http.client
import itertools
import json
import math
import re
import socket
import socketserver
import threading
import time
import traceback
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = ["FAULT_KINDS", "Call", "FakeTelegram", "HtmlError", "check_link", "parse_html"]

FAULT_KINDS = frozenset({"429", "status", "disconnect", "slow"})
TEXT_LIMIT = 4096  # UTF-16 code units
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64  # UTF-8 bytes
OVERALL_PER_SECOND = 30
GROUP_PER_MINUTE = 20
MAX_UPDATES = 100
JSON_TYPE = "application/json"

UPDATE_TYPES = (
    "message", "edited_message", "channel_post", "edited_channel_post", "business_connection",
    "business_message", "edited_business_message", "deleted_business_messages",
    "message_reaction", "message_reaction_count", "inline_query", "chosen_inline_result",
    "callback_query", "shipping_query", "pre_checkout_query", "purchased_paid_media", "poll",
    "poll_answer", "my_chat_member", "chat_member", "chat_join_request", "chat_boost",
    "removed_chat_boost",
)  # fmt: skip
# Telegram's default when allowed_updates was never given (or given as []).
DEFAULT_UPDATES = frozenset(UPDATE_TYPES) - {
    "chat_member",
    "message_reaction",
    "message_reaction_count",
}

IMPLEMENTED = (
    "getMe", "getUpdates", "setWebhook", "deleteWebhook", "getWebhookInfo", "sendMessage",
    "sendDocument", "sendChatAction", "editMessageText", "editMessageReplyMarkup",
    "deleteMessage", "answerCallbackQuery", "getChat", "getChatMember", "getChatAdministrators",
    "getChatMemberCount", "setMyCommands", "deleteMyCommands", "getMyCommands",
)  # fmt: skip
# Real Bot API methods the fake does not implement: answered 404 and noted in `errors`.
NOT_IMPLEMENTED = (
    "logOut", "close", "forwardMessage", "forwardMessages", "copyMessage", "copyMessages",
    "sendPhoto", "sendAudio", "sendVideo", "sendAnimation", "sendVoice", "sendVideoNote",
    "sendPaidMedia", "sendMediaGroup", "sendLocation", "sendVenue", "sendContact", "sendPoll",
    "sendDice", "sendSticker", "setMessageReaction", "getUserProfilePhotos", "getFile",
    "banChatMember", "unbanChatMember", "restrictChatMember", "promoteChatMember",
    "exportChatInviteLink", "createChatInviteLink", "setChatTitle", "setChatDescription",
    "pinChatMessage", "unpinChatMessage", "unpinAllChatMessages", "leaveChat", "setMyName",
    "getMyName", "setMyDescription", "getMyDescription", "setMyShortDescription",
    "getMyShortDescription", "setChatMenuButton", "getChatMenuButton",
    "setMyDefaultAdministratorRights", "getMyDefaultAdministratorRights", "editMessageCaption",
    "editMessageMedia", "stopPoll", "deleteMessages", "answerInlineQuery",
)  # fmt: skip
_CANONICAL = {name.lower(): name for name in IMPLEMENTED + NOT_IMPLEMENTED}

# Parameters that are strings by type: never JSON-decoded (a text "123" stays "123").
STRING_PARAMS = frozenset(
    {
        "text", "caption", "parse_mode", "callback_query_id", "url", "secret_token",
        "language_code", "ip_address", "inline_message_id", "business_connection_id",
        "message_effect_id", "description", "short_description", "name", "action", "query",
        "title", "document", "thumbnail", "certificate", "custom_title", "emoji",
    }
)  # fmt: skip
BUTTON_ACTIONS = (
    "url", "callback_data", "web_app", "login_url", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
    "callback_game", "pay",
)  # fmt: skip
SCOPES = frozenset(
    {
        "default", "all_private_chats", "all_group_chats", "all_chat_administrators", "chat",
        "chat_administrators", "chat_member",
    }
)  # fmt: skip
_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
_TOKEN_SHAPE = re.compile(r"\d+:[A-Za-z0-9_-]+")
_LANGUAGE = re.compile(r"[a-z]{2}")
ERROR_PHRASES = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


# --- what the server remembers ------------------------------------------------------------


@dataclass
class Call:
    """One API request as the fake received it, and what it answered (status 0 = nothing)."""

    method: str  # canonical name ("sendMessage"), or the path's last part when unknown
    params: dict[str, Any]
    at: float  # time.monotonic() on arrival
    status: int = 0
    response: dict[str, Any] = field(default_factory=dict)
    http_method: str = "POST"


@dataclass
class _Upload:
    file_name: str
    data: bytes
    mime_type: str


@dataclass
class _Fault:
    method: str  # lower-case name or "*"
    kind: str
    left: int
    options: dict[str, Any]
    passed: int = 0  # calls let through so far (the `after` option)


@dataclass
class _Chat:
    id: int
    type: str  # "private", "group" or "supergroup"
    title: str = ""
    user_id: int | None = None  # a private chat's user
    members: dict[int, str] = field(default_factory=dict)  # user id -> creator/administrator/member
    gone: bool = False  # private: the user blocked the bot; group: the bot was kicked
    migrated_to: int | None = None
    next_message_id: int = 1
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)  # bot's and users'
    by_bot: list[int] = field(default_factory=list)  # ids of the bot's messages, in order
    deleted: set[int] = field(default_factory=set)


class _Refusal(Exception):
    """An error answer: HTTP status = error_code, Telegram's description and parameters."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


def _bad(description: str, parameters: dict[str, Any] | None = None) -> _Refusal:
    return _Refusal(400, f"Bad Request: {description}", parameters)


@dataclass
class _Described:
    """A successful result with Telegram's "description" beside it (setWebhook etc.)."""

    result: Any
    description: str


# --- HTML entities, ported from TDLib --------------------------------------------------------


class HtmlError(ValueError):
    """TDLib's parse_html refused the text; str() is its message (without the Bot API prefix)."""


_TD_SPACE = frozenset(b" \t\r\n\x00\x0b\x0c")  # td::is_space, with the terminating NUL
_HTML_TAGS = frozenset(
    {
        "a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins", "tg-spoiler",
        "tg-emoji", "span", "pre", "code", "blockquote",
    }
)  # fmt: skip
_SIMPLE_TAGS = {
    "i": "italic", "em": "italic", "b": "bold", "strong": "bold", "s": "strikethrough",
    "strike": "strikethrough", "del": "strikethrough", "u": "underline", "ins": "underline",
    "tg-spoiler": "spoiler", "span": "spoiler",
}  # fmt: skip
# TDLib's MessageEntity::get_type_priority, used to order entities sharing offset and length.
_PRIORITY = {
    "mention": 50, "hashtag": 50, "bot_command": 50, "url": 50, "email": 50, "bold": 90,
    "italic": 91, "code": 20, "pre": 11, "pre_code": 10, "text_link": 49, "text_mention": 49,
    "cashtag": 50, "phone_number": 50, "underline": 92, "strikethrough": 93, "blockquote": 0,
    "bank_card_number": 50, "spoiler": 94, "custom_emoji": 99, "expandable_blockquote": 0,
}  # fmt: skip


def _is_alnum(c: int) -> bool:
    return 48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122


def _decode_html_entity(src: bytes, pos: int) -> tuple[int, int]:
    """(code point, position after it) of the entity at src[pos] == "&", or (0, pos)."""

    def at(k: int) -> int:
        return src[k] if k < len(src) else 0

    end = pos + 1
    code = 0
    if at(pos + 1) == 0x23:  # "#"
        end += 1
        if at(pos + 2) == 0x78:  # "x"
            end += 1
            while chr(at(end)) in "0123456789abcdefABCDEF":
                code = code * 16 + int(chr(at(end)), 16)
                end += 1
        else:
            while 48 <= at(end) <= 57:
                code = code * 10 + at(end) - 48
                end += 1
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return 0, pos
    else:
        while 65 <= at(end) <= 90 or 97 <= at(end) <= 122:
            end += 1
        code = {b"lt": 0x3C, b"gt": 0x3E, b"amp": 0x26, b"quot": 0x22}.get(src[pos + 1 : end], 0)
        if code == 0:
            return 0, pos
    return code, end + 1 if at(end) == 0x3B else end


def parse_html(text: str, *, strict_ampersand: bool = False) -> tuple[str, list[dict[str, Any]]]:
    """Telegram's parse_mode=HTML: the plain text and its entities (UTF-16 offsets), sorted.

    A port of TDLib's parse_html; raises HtmlError with TDLib's message. Links are checked with
    `check_link` (an invalid href gives no entity, as in TDLib).
    """
    src = text.encode("utf-8", "surrogatepass")
    n = len(src)

    def at(k: int) -> int:
        return src[k] if k < n else 0

    def name(begin: int, end: int) -> str:
        return src[begin:end].decode("utf-8", "replace").translate(_ASCII_LOWER)

    out = bytearray()
    utf16 = 0
    surrogates = False
    entities: list[dict[str, Any]] = []
    stack: list[tuple[str, str, int, int]] = []  # tag, argument, utf16 offset, output position
    i = 0
    while i < n:
        c = src[i]
        if c == 0x26:  # "&"
            code, end = _decode_html_entity(src, i)
            if code:
                utf16 += 2 if code > 0xFFFF else 1
                surrogates = surrogates or 0xD800 <= code <= 0xDFFF
                out += chr(code).encode("utf-8", "surrogatepass")
                i = end
                continue
            if strict_ampersand:
                raise HtmlError(f"Can't find end of the entity starting at byte offset {i}")
        if c != 0x3C:  # not "<"
            if c & 0xC0 != 0x80:
                utf16 += 2 if c >= 0xF0 else 1
            out.append(c)
            i += 1
            continue

        begin = i
        i += 1
        if at(i) != 0x2F:  # a start tag
            while at(i) not in _TD_SPACE and at(i) != 0x3E:
                i += 1
            if at(i) == 0:
                raise HtmlError(f"Unclosed start tag at byte offset {begin}")
            tag = name(begin + 1, i)
            if tag not in _HTML_TAGS:
                raise HtmlError(f'Unsupported start tag "{tag}" at byte offset {begin}')
            argument = ""
            while at(i) != 0x3E:
                while at(i) != 0 and at(i) in _TD_SPACE:
                    i += 1
                if at(i) == 0x3E:
                    break
                attribute_begin = i
                while at(i) not in _TD_SPACE and at(i) not in b"=>/\"'":
                    i += 1
                attribute = src[attribute_begin:i]
                if not attribute:
                    raise HtmlError(
                        f'Empty attribute name in the tag "{tag}" at byte offset {begin}'
                    )
                while at(i) != 0 and at(i) in _TD_SPACE:
                    i += 1
                if at(i) != 0x3D:  # an attribute without a value
                    if at(i) == 0:
                        raise HtmlError(f'Unclosed start tag "{tag}" at byte offset {begin}')
                    if tag == "blockquote" and attribute == b"expandable":
                        argument = "1"
                    continue
                i += 1
                while at(i) != 0 and at(i) in _TD_SPACE:
                    i += 1
                if at(i) == 0:
                    raise HtmlError(f'Unclosed start tag "{tag}" at byte offset {begin}')
                if at(i) not in (0x22, 0x27):  # a name token
                    token_begin = i
                    while _is_alnum(at(i)) or at(i) in (0x2E, 0x2D):
                        i += 1
                    value = name(token_begin, i)
                    if at(i) not in _TD_SPACE and at(i) != 0x3E:
                        raise HtmlError(
                            f"Unexpected end of name token at byte offset {token_begin}"
                        )
                else:  # a quoted string
                    quote = at(i)
                    i += 1
                    raw = bytearray()
                    while at(i) != quote and at(i) != 0:
                        if at(i) == 0x26:
                            code, end = _decode_html_entity(src, i)
                            if code:
                                raw += chr(code).encode("utf-8", "surrogatepass")
                                i = end
                                continue
                        raw.append(at(i))
                        i += 1
                    if at(i) == quote:
                        i += 1
                    value = raw.decode("utf-8", "replace")
                if at(i) == 0:
                    raise HtmlError(f"Unclosed start tag at byte offset {begin}")
                if tag == "a" and attribute == b"href":
                    argument = value
                elif tag == "code" and attribute == b"class" and value.startswith("language-"):
                    argument = value[9:]
                elif tag == "span" and attribute == b"class" and value.startswith("tg-"):
                    argument = value[3:]
                elif tag == "tg-emoji" and attribute == b"emoji-id":
                    argument = value
                elif tag == "blockquote" and attribute == b"expandable":
                    argument = "1"
            if tag == "span" and argument != "spoiler":
                raise HtmlError(f'Tag "span" must have class "tg-spoiler" at byte offset {begin}')
            stack.append((tag, argument, utf16, len(out)))
        else:  # an end tag
            if not stack:
                raise HtmlError(f"Unexpected end tag at byte offset {begin}")
            while at(i) not in _TD_SPACE and at(i) != 0x3E:
                i += 1
            end_tag = name(begin + 2, i)
            while at(i) in _TD_SPACE and at(i) != 0:
                i += 1
            if at(i) != 0x3E:
                raise HtmlError(f"Unclosed end tag at byte offset {begin}")
            tag, argument, offset, out_pos = stack[-1]
            if end_tag and end_tag != tag:
                raise HtmlError(
                    f'Unmatched end tag at byte offset {begin}, expected "</{tag}>", '
                    f'found "</{end_tag}>"'
                )
            if utf16 > offset:
                _close_html_entity(entities, tag, argument, offset, utf16 - offset, out, out_pos)
            stack.pop()
        i += 1  # past ">"
    if stack:
        raise HtmlError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    if surrogates:
        raise HtmlError(
            "Text contains invalid Unicode characters after decoding HTML entities, check for "
            "unmatched surrogate code units"
        )
    for entity in entities:
        entity.pop("_language", None)
    return out.decode("utf-8"), _sorted_entities(entities)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_TG_USER = re.compile(r"tg://user\?id=(\d+)", re.IGNORECASE)


def _close_html_entity(
    entities: list[dict[str, Any]],
    tag: str,
    argument: str,
    offset: int,
    length: int,
    out: bytearray,
    out_pos: int,
) -> None:
    last = entities[-1] if entities else None
    same_span = last is not None and last["offset"] == offset and last["length"] == length
    if tag in _SIMPLE_TAGS:
        entities.append({"offset": offset, "length": length, "type": _SIMPLE_TAGS[tag]})
    elif tag == "tg-emoji":
        if not argument.isdigit() or int(argument) == 0 or int(argument) >= 1 << 63:
            raise HtmlError("Invalid custom emoji identifier specified")
        entities.append(
            {
                "offset": offset,
                "length": length,
                "type": "custom_emoji",
                "custom_emoji_id": argument,
            }
        )
    elif tag == "a":
        url = argument or out[out_pos:].decode("utf-8", "replace")
        user = _TG_USER.fullmatch(url)
        if user and int(user.group(1)) > 0:
            entities.append(
                {
                    "offset": offset,
                    "length": length,
                    "type": "text_mention",
                    "user": {"id": int(user.group(1)), "is_bot": False, "first_name": ""},
                }
            )
        else:
            with contextlib.suppress(ValueError):
                checked = check_link(url)
                entities.append(
                    {"offset": offset, "length": length, "type": "text_link", "url": checked}
                )
    elif tag == "pre":
        if same_span and last is not None and last["type"] == "code" and last.get("_language"):
            last["type"] = "pre"
            last["language"] = last.pop("_language")
        else:
            entities.append({"offset": offset, "length": length, "type": "pre"})
    elif tag == "code":
        if (
            same_span
            and last is not None
            and last["type"] == "pre"
            and "language" not in last
            and argument
        ):
            last["language"] = argument
        else:
            entity = {"offset": offset, "length": length, "type": "code"}
            if argument:
                entity["_language"] = argument
            entities.append(entity)
    else:  # blockquote
        kind = "expandable_blockquote" if argument else "blockquote"
        entities.append({"offset": offset, "length": length, "type": kind})


def _priority(entity: dict[str, Any]) -> int:
    if entity["type"] == "pre" and entity.get("language"):
        return _PRIORITY["pre_code"]
    return _PRIORITY.get(entity["type"], 50)


def _sorted_entities(entities: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """TDLib's order: offset ascending, then length descending, then type priority."""
    return sorted(entities, key=lambda e: (e["offset"], -e["length"], _priority(e)))


def _utf16_len(text: str) -> int:
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


# --- links, after TDLib's LinkManager::check_link -----------------------------------------------

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
_HOST_CHARS = re.compile(r"[A-Za-z0-9._~%!$&'()*+,;=-]+|\[[0-9A-Fa-f:.]+\]")


def _split_authority(rest: str) -> tuple[str, str]:
    """("host:port", "/path?query#fragment") of what follows a URL's scheme."""
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    return rest[:end], rest[end:]


def check_link(link: str) -> str:
    """The link as Telegram stores it (e.g. "https://example.com/"), or ValueError(reason).

    Follows TDLib's check_link: http(s) (the scheme may be left out: http), tg:, ton:,
    tonsite:; an http host needs a dot. Reasons are TDLib's where known.
    """
    lower = link.lower()
    for scheme in ("tg:", "ton:", "tonsite:"):
        if lower.startswith(scheme):
            rest = link[len(scheme) :]
            rest = rest.removeprefix("//")
            host, query = _split_authority(rest)
            if not host:
                raise ValueError("URL host is empty")
            if "@" in host or ":" in host or lower.startswith(scheme + "//http"):
                raise ValueError("Wrong tg URL" if scheme == "tg:" else "Wrong ton URL")
            allowed = r"[A-Za-z0-9_.-]+" if scheme == "tonsite:" else r"[A-Za-z0-9_-]+"
            if not re.fullmatch(allowed, host):
                raise ValueError("Unallowed characters in URL host")
            query = query.removeprefix("/") if query.startswith("/?") else query
            return f"{scheme[:-1]}://{host.lower()}{query}"
    found = _SCHEME.match(link)
    protocol = "http"
    rest = link
    if found:
        protocol = found.group(1).lower()
        if protocol not in ("http", "https"):
            raise ValueError("Unsupported URL protocol")
        rest = link[found.end() :]
    authority, path = _split_authority(rest)
    userinfo, _, hostport = authority.rpartition("@")
    host, port = hostport, ""
    bracketed = hostport.startswith("[")
    if (not bracketed and ":" in hostport) or (bracketed and "]:" in hostport):
        host, _, port = hostport.rpartition(":")
    if port and (not port.isdigit() or not 0 < int(port) < 65536):
        raise ValueError("Wrong port number specified in the URL")
    if not host:
        raise ValueError("URL host is empty")
    if host.isascii() and not _HOST_CHARS.fullmatch(host):  # non-ASCII: an IDN, let it be
        raise ValueError("Wrong URL host")
    if any(ord(ch) <= 0x20 for ch in path):
        raise ValueError("Wrong URL query")
    if "." not in host and not host.startswith("["):
        raise ValueError("Wrong HTTP URL")
    user = f"{userinfo}@" if userinfo else ""
    return f"{protocol}://{user}{host.lower()}{':' + port if port else ''}{path or '/'}"


# --- incoming text: the entities Telegram adds ------------------------------------------------


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def bot_command_entities(text: str) -> list[dict[str, Any]]:
    """TDLib's match_bot_commands: "/cmd" or "/cmd@name" not glued to a word, / < or >."""
    found = []
    for start in (m.start() for m in re.finditer("/", text)):
        if start and (_is_word(text[start - 1]) or text[start - 1] in "/<>"):
            continue
        command = re.match(r"/([A-Za-z0-9_]*)(@[A-Za-z0-9_]*)?", text[start:])
        assert command is not None
        if not 1 <= len(command.group(1)) <= 64:
            continue
        if command.group(2) is not None and not 3 <= len(command.group(2)) - 1 <= 32:
            continue
        end = start + command.end()
        if end < len(text) and (_is_word(text[end]) or text[end] in "/<>"):
            continue
        found.append(
            {
                "offset": _utf16_len(text[:start]),
                "length": _utf16_len(text[start:end]),
                "type": "bot_command",
            }
        )
    return found


# --- the HTTP plumbing ------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeTelegram

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)  # skip HTTPServer's getfqdn() lookup
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: a client hanging up mid-answer is what several faults are about."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    sent = False

    def version_string(self) -> str:
        return "nginx/1.18.0"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: nothing on stderr."""

    def setup(self) -> None:
        super().setup()
        self.server.fake._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.fake._track(self.connection, add=False)

    def do_GET(self) -> None:
        self.server.fake._serve(self)

    do_POST = do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_GET


def _read_body(h: _Handler) -> bytes:
    if "chunked" in (h.headers.get("Transfer-Encoding") or "").lower():
        chunks = []
        while True:
            size = int(h.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while h.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(h.rfile.read(size))
            h.rfile.readline()
    length = int(h.headers.get("Content-Length") or 0)
    return h.rfile.read(length) if length > 0 else b""


def _disposition_param(header: str, key: str) -> str | None:
    star = re.search(rf"(?:^|;)\s*{key}\*\s*=\s*([^;]+)", header, re.IGNORECASE)
    if star:
        charset, _, value = star.group(1).strip().partition("''")
        return unquote(value, encoding=charset or "utf-8", errors="replace")
    plain = re.search(rf'(?:^|;)\s*{key}\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))', header, re.I)
    if plain is None:
        return None
    value = plain.group(1) if plain.group(1) is not None else plain.group(2)
    # httpx escapes '"' and control characters HTML5-style, as %22 and %XX.
    return re.sub(r"%(22|[01][0-9A-Fa-f])", lambda m: chr(int(m.group(1), 16)), value)


def _multipart(body: bytes, content_type: str) -> tuple[dict[str, str], dict[str, _Upload]]:
    boundary = _disposition_param(content_type, "boundary")
    if not boundary:
        raise ValueError("multipart body without a boundary")
    fields: dict[str, str] = {}
    files: dict[str, _Upload] = {}
    for part in body.split(b"--" + boundary.encode("latin-1"))[1:]:
        if part.startswith(b"--"):
            break
        head, separator, content = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not separator:
            continue
        content = content.removesuffix(b"\r\n")
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        part_name = _disposition_param(disposition, "name")
        if part_name is None:
            continue
        file_name = _disposition_param(disposition, "filename")
        if file_name is not None:
            mime = headers.get("content-type", "application/octet-stream")
            files[part_name] = _Upload(file_name, content, mime)
        else:
            fields[part_name] = content.decode("utf-8", "replace")
    return fields, files


def _decode_params(raw: dict[str, Any]) -> dict[str, Any]:
    """Values as the Bot API reads them: JSON-decoded unless the parameter is a string."""
    params = {}
    for key, value in raw.items():
        if isinstance(value, str) and key not in STRING_PARAMS:
            with contextlib.suppress(ValueError):
                value = json.loads(value)
        params[key] = value
    return params


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1")
    return bool(value)


# --- the fake ---------------------------------------------------------------------------------


class FakeTelegram:
    """A loopback stand-in for https://api.telegram.org/bot<token>/ (the Bot API)."""

    def __init__(
        self,
        *,
        token: str = "123456:TEST-TOKEN",  # noqa: S107 - a made-up token for the fake
        bot_username: str = "PaperSurferBot",
        enforce_limits: bool = True,
    ) -> None:
        if not _TOKEN_SHAPE.fullmatch(token):
            raise ValueError(f"a bot token looks like 123456:ABC-def, not {token!r}")
        self.token = token
        self.bot_username = bot_username
        self.enforce_limits = enforce_limits
        self.tolerance = 0.05  # seconds each flood window is shortened by, for thread scheduling
        self.strict_ampersand = False  # refuse a "&" that starts no entity (Telegram keeps it)
        self.require_https_webhook = False  # Telegram's rule; off so loopback listeners work
        self.bot_id = int(token.split(":", 1)[0])
        words = re.findall(
            r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", re.sub(r"_?[Bb]ot$", "", bot_username)
        )
        self.bot_name = " ".join(words) or bot_username
        self.requests: list[Call] = []
        self.errors: list[str] = []  # the fake's own bugs (answered 500) and what it cannot do
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.accepted: Counter[int] = Counter()  # messages delivered, per chat
        self.throttled: Counter[int] = Counter()  # sends answered 429, per chat
        self.floods: list[str] = []  # which flood limit each flood 429 enforced, and by how much
        self.refused: Counter[int] = Counter()  # sends refused otherwise (400/403), per chat
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._users: dict[int, dict[str, Any]] = {}
        self._chats: dict[int, _Chat] = {}
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(700_000_001)
        self._query_ids = itertools.count(4_382_000_000_000_000_001)
        self._file_ids = itertools.count(1)
        self._allowed_updates: frozenset[str] = DEFAULT_UPDATES
        self._poll_generation = 0
        self._webhook: dict[str, Any] | None = None
        self._callbacks: dict[str, dict[str, Any]] = {}  # pending callback queries by id
        self._answered: list[dict[str, Any]] = []
        self._documents: dict[int, list[dict[str, Any]]] = {}
        self._files: dict[str, _Upload] = {}
        self._delivered: list[tuple[int, int]] = []  # (chat id, message id), in delivery order
        self._overall: deque[float] = deque()
        self._per_chat: dict[int, deque[float]] = {}
        self._faults: list[_Fault] = []
        self._connections: set[socket.socket] = set()
        self._stop = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle --------------------------------------------------------------------------

    def __enter__(self) -> FakeTelegram:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        """Serve on 127.0.0.1, a free port, from a daemon thread."""
        if self._server is not None:
            return
        self._stop.clear()
        server = _Server(("127.0.0.1", 0), _Handler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving: answer waiting long polls, end kept-alive connections, free the port."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stop.set()
        with self._changed:
            self._changed.notify_all()
        server.shutdown()
        server.server_close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:PORT/bot - PTB's base_url; it calls base_url + token + "/" + method."""
        if self._server is None:
            raise RuntimeError("FakeTelegram is not running; use it as a context manager")
        return f"http://127.0.0.1:{self._server.server_port}/bot"

    def address(self) -> tuple[str, str]:
        """The bot token and base URL to point a bot at (a method, so a proxy of the fake in
        another process answers it too)."""
        return self.token, self.base_url

    @property
    def bot_user(self) -> dict[str, Any]:
        """The bot as a Telegram User (getMe's answer)."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_name,
            "username": self.bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    @property
    def _bot_as_sender(self) -> dict[str, Any]:
        """The bot as it appears in a message's "from" or a ChatMember: no getMe extras."""
        return {
            k: v
            for k, v in self.bot_user.items()
            if k in ("id", "is_bot", "first_name", "username")
        }

    # --- the world: users and chats ---------------------------------------------------------

    def _user(
        self,
        user_id: int,
        first_name: str | None,
        default_name: str,
        username: str | None = None,
        language_code: str | None = None,
    ) -> dict[str, Any]:
        user = self._users.get(user_id)
        if user is None:
            user = {"id": user_id, "is_bot": False, "first_name": first_name or default_name}
            self._users[user_id] = user
        elif first_name is not None:
            user["first_name"] = first_name
        if username is not None:
            user["username"] = username
        if language_code is not None:
            user["language_code"] = language_code
        return user

    def add_private_chat(
        self,
        chat_id: int,
        *,
        first_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
    ) -> None:
        """A user (id = chat_id) who has started the bot; defaults "Ada", language "en".

        A user the fake already knows keeps the profile fields not given here.
        """
        if chat_id <= 0:
            raise ValueError("a private chat's id is its user's id, a positive number")
        with self._changed:
            known = chat_id in self._users
            self._user(
                chat_id,
                first_name,
                "Ada",
                username,
                language_code if language_code or known else "en",
            )
            chat = self._chats.get(chat_id)
            if chat is None:
                self._chats[chat_id] = _Chat(chat_id, "private", user_id=chat_id)
            self._changed.notify_all()

    def add_group(
        self,
        chat_id: int,
        *,
        title: str = "Lab",
        admins: Iterable[int] = frozenset(),
        supergroup: bool = False,
        creator: int | None = None,
    ) -> None:
        """A group (or supergroup) the bot is in; `admins` are administrators, `creator` owns it.

        Group ids are negative (supergroups -100...). Include the bot's id in `admins` to make
        the bot an administrator.
        """
        if chat_id >= 0:
            raise ValueError("group and supergroup ids are negative")
        with self._changed:
            chat = _Chat(chat_id, "supergroup" if supergroup else "group", title=title)
            for user_id in admins:
                if user_id != self.bot_id:
                    self._user(user_id, None, f"Admin {user_id}", language_code="en")
                chat.members[user_id] = "administrator"
            if creator is not None:
                self._user(creator, None, f"Owner {creator}", language_code="en")
                chat.members[creator] = "creator"
            self._chats[chat_id] = chat
            self._changed.notify_all()

    def add_member(
        self,
        chat_id: int,
        user_id: int,
        *,
        first_name: str | None = None,
        language_code: str | None = None,
    ) -> None:
        """A plain member of a group (defaults "Bob", "en"); an admin keeps their status."""
        with self._changed:
            chat = self._group(chat_id)
            known = user_id in self._users
            self._user(
                user_id, first_name, "Bob", None, language_code if language_code or known else "en"
            )
            chat.members.setdefault(user_id, "member")
            self._changed.notify_all()

    def remove_member(self, chat_id: int, user_id: int) -> None:
        """The user left the group: getChatMember says "left"."""
        with self._changed:
            self._group(chat_id).members.pop(user_id, None)

    def _group(self, chat_id: int) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None or chat.type == "private":
            raise ValueError(f"no group {chat_id}; add_group first")
        return chat

    def _known_chat(self, chat_id: int) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            raise ValueError(f"no chat {chat_id}; add_private_chat or add_group first")
        return chat

    def block(self, chat_id: int, *, notify: bool = False) -> None:
        """The user blocked the bot: sends to this private chat answer 403.

        With notify, a my_chat_member update (member -> kicked) is queued, as Telegram sends.
        """
        with self._changed:
            chat = self._known_chat(chat_id)
            if chat.type != "private":
                raise ValueError("block() is for private chats; use kick() for groups")
            self._set_gone(chat, notify)

    def kick(self, chat_id: int, *, notify: bool = False) -> None:
        """The bot was removed from this group: sends answer 403 (notify: my_chat_member)."""
        with self._changed:
            self._set_gone(self._group(chat_id), notify)

    def unblock(self, chat_id: int) -> None:
        """Undo block() / kick() (the user restarted the bot, the bot was added back)."""
        with self._changed:
            self._known_chat(chat_id).gone = False
            self._changed.notify_all()

    def _set_gone(self, chat: _Chat, notify: bool) -> None:
        chat.gone = True
        if notify:
            actor = chat.user_id or next(iter(chat.members), self.bot_id)
            old = chat.members.get(self.bot_id, "member")
            update = {
                "update_id": next(self._update_ids),
                "my_chat_member": {
                    "chat": self._chat_json(chat),
                    "from": copy.deepcopy(self._users.get(actor, self._bot_as_sender)),
                    "date": int(time.time()),
                    "old_chat_member": self._member_json(old, self._bot_as_sender),
                    "new_chat_member": {
                        "status": "kicked",
                        "user": self._bot_as_sender,
                        "until_date": 0,
                    },
                },
            }
            self._updates.append(update)
        self._changed.notify_all()

    def migrate(self, chat_id: int, new_chat_id: int) -> None:
        """The group became the supergroup `new_chat_id` (members and messages carried over)."""
        with self._changed:
            old = self._group(chat_id)
            if not str(new_chat_id).startswith("-100"):
                raise ValueError("a supergroup id starts with -100")
            new = copy.deepcopy(old)
            new.id, new.type, new.migrated_to = new_chat_id, "supergroup", None
            old.migrated_to = new_chat_id
            self._chats[new_chat_id] = new
            self._changed.notify_all()

    # --- what the bot sent ------------------------------------------------------------------

    def sent(self, chat_id: int) -> list[dict[str, Any]]:
        """The text messages the bot sent to this chat, in order, as they are now (after edits;
        deleted ones left out): Telegram Message dicts with "text", "entities", "reply_markup".
        """
        with self._lock:
            chat = self._chats.get(chat_id)
            if chat is None:
                return []
            return [
                copy.deepcopy(chat.messages[mid])
                for mid in chat.by_bot
                if mid not in chat.deleted and "text" in chat.messages[mid]
            ]

    def all_sent(self) -> list[dict[str, Any]]:
        """Every message the bot delivered (text and documents), in delivery order."""
        with self._lock:
            return [copy.deepcopy(self._chats[c].messages[m]) for c, m in self._delivered]

    def documents(self, chat_id: int) -> list[dict[str, Any]]:
        """Documents sent to this chat: message_id, file_name, mime_type, bytes, caption,
        caption_entities."""
        with self._lock:
            return copy.deepcopy(self._documents.get(chat_id, []))

    def answered_callbacks(self) -> list[dict[str, Any]]:
        """answerCallbackQuery calls that succeeded: callback_query_id, text, show_alert, url,
        cache_time."""
        with self._lock:
            return copy.deepcopy(self._answered)

    @property
    def webhook(self) -> dict[str, Any] | None:
        """The last setWebhook parameters (url, secret_token, ...); None when none is set."""
        with self._lock:
            return copy.deepcopy(self._webhook)

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates queued and not yet confirmed by a getUpdates offset."""
        with self._lock:
            return copy.deepcopy(self._updates)

    def calls(self, method: str | None = None) -> list[Call]:
        """Recorded requests, all or those to one method (case-insensitive)."""
        with self._lock:
            if method is None:
                return list(self.requests)
            return [c for c in self.requests if c.method.lower() == method.lower()]

    # --- incoming updates -------------------------------------------------------------------

    def _sender(self, chat: _Chat, user_id: int | None) -> dict[str, Any]:
        if chat.type == "private":
            if user_id not in (None, chat.user_id):
                raise ValueError(f"only user {chat.user_id} writes in private chat {chat.id}")
            return copy.deepcopy(self._users[chat.id])
        if user_id is None:
            raise ValueError(f"say which member of group {chat.id} writes (user_id=...)")
        if user_id not in chat.members or user_id not in self._users:
            raise ValueError(f"user {user_id} is not in group {chat.id}; add_member first")
        return copy.deepcopy(self._users[user_id])

    def make_text_update(
        self, chat_id: int, text: str, *, user_id: int | None = None
    ) -> dict[str, Any]:
        """An Update with a user's text Message (bot_command entities as Telegram adds them).

        Takes the next update_id and message_id but queues nothing (see push_text).
        """
        with self._changed:
            chat = self._known_chat(chat_id)
            if chat.migrated_to is not None:
                raise ValueError(f"group {chat_id} is now supergroup {chat.migrated_to}")
            if chat.gone and chat.type != "private":
                raise ValueError(f"the bot was kicked from {chat_id}; it receives nothing there")
            sender = self._sender(chat, user_id)
            chat.gone = False  # a user who writes to the bot has unblocked it
            message: dict[str, Any] = {
                "message_id": self._next_message_id(chat),
                "from": sender,
                "chat": self._chat_json(chat),
                "date": int(time.time()),
                "text": text,
            }
            entities = bot_command_entities(text)
            if entities:
                message["entities"] = entities
            chat.messages[message["message_id"]] = message
            return copy.deepcopy({"update_id": next(self._update_ids), "message": message})

    def make_callback_update(
        self, chat_id: int, message_id: int, data: str, *, user_id: int | None = None
    ) -> dict[str, Any]:
        """An Update with a CallbackQuery: a user pressed a button on a message the bot sent.

        The query id becomes answerable; nothing is queued (see push_callback).
        """
        with self._changed:
            chat = self._known_chat(chat_id)
            if message_id not in chat.by_bot or message_id in chat.deleted:
                raise ValueError(f"the bot has no message {message_id} in chat {chat_id}")
            sender = self._sender(chat, user_id)
            query = {
                "id": str(next(self._query_ids)),
                "from": sender,
                "message": copy.deepcopy(chat.messages[message_id]),
                "chat_instance": str(-(abs(chat_id) * 7_919 + 1_234_567) % 10**19),
                "data": data,
            }
            self._callbacks[query["id"]] = query
            return copy.deepcopy({"update_id": next(self._update_ids), "callback_query": query})

    def push_text(self, chat_id: int, text: str, *, user_id: int | None = None) -> int:
        """Queue a user's text message for getUpdates; returns its update_id."""
        return self.push_update(self.make_text_update(chat_id, text, user_id=user_id))

    def push_callback(
        self, chat_id: int, message_id: int, data: str, *, user_id: int | None = None
    ) -> str:
        """Queue a button press on the bot's message; returns the callback query's id."""
        update = self.make_callback_update(chat_id, message_id, data, user_id=user_id)
        self.push_update(update)
        return str(update["callback_query"]["id"])

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue any Update dict for getUpdates (wakes long polls); returns its update_id."""
        with self._changed:
            self._updates.append(copy.deepcopy(update))
            self._changed.notify_all()
        return int(update["update_id"])

    def post_update(self, url: str, update: dict[str, Any], *, secret: str | None) -> int:
        """POST an Update to a webhook listener as Telegram does; returns the HTTP status.

        JSON body; X-Telegram-Bot-Api-Secret-Token when `secret` is given.
        """
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        connection_type = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        connection = connection_type(parts.hostname, parts.port, timeout=10)
        headers = {"Content-Type": JSON_TYPE}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        body = json.dumps(update, ensure_ascii=False).encode()
        try:
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            return response.status
        finally:
            connection.close()

    # --- faults, waiting, reset -------------------------------------------------------------

    def inject(self, method: str, kind: str, *, times: int = 1, **options: Any) -> None:
        """Queue a fault for the next `times` calls of `method` (a name or "*"; FIFO).

        kinds and their options:
          "429": Telegram's flood answer; retry_after (seconds, default 1).
          "status": HTTP `status` (default 500) with {"ok": false, ...} and `description`
              (default the status phrase); for 502/503/504 without a description, nginx's HTML
              page instead, as Telegram's front end answers.
          "disconnect": hang up without answering; deliver=True handles the call first (the
              message is delivered, the answer lost).
          "slow": wait `seconds`, then answer; deliver_first=True handles the call before the
              wait (a delivered message whose answer comes late).
        Any fault takes chat_id=...: then it only hits calls for that chat; and after=N: the
        first N calls it would hit pass untouched (a 502 after N messages of a long list). While
        it lets calls pass, the faults queued after it wait their turn (FIFO).
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {sorted(FAULT_KINDS)}")
        if times < 1:
            raise ValueError("times must be at least 1")
        if kind == "slow" and "seconds" not in options:
            raise ValueError("a 'slow' fault needs seconds=...")
        name = method if method == "*" else method.lower()
        with self._lock:
            self._faults.append(_Fault(name, kind, times, dict(options)))

    def _take_fault(self, method: str, params: dict[str, Any]) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.method not in ("*", method.lower()):
                    continue
                wanted = fault.options.get("chat_id")
                if wanted is not None and _as_int(params.get("chat_id")) != wanted:
                    continue
                if fault.passed < int(fault.options.get("after", 0)):
                    fault.passed += 1
                    return None
                fault.left -= 1
                if fault.left <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10) -> bool:
        """Block until predicate() is true (checked on every request, answer and push);
        False on timeout. Blocks the calling thread: from async code use wait_for_async."""
        with self._changed:
            return self._changed.wait_for(predicate, timeout)

    async def wait_for_async(self, predicate: Callable[[], bool], timeout: float = 10) -> bool:
        """wait_for in a worker thread, so the event loop (and PTB on it) keeps running."""
        return await asyncio.to_thread(self.wait_for, predicate, timeout)

    def reset(self) -> None:
        """Forget recorded requests, queued faults, flood windows and counters.

        Chats, messages, pending updates, commands and the webhook stay.
        """
        with self._changed:
            self.requests.clear()
            self._faults.clear()
            self._overall.clear()
            self._per_chat.clear()
            self.accepted.clear()
            self.throttled.clear()
            self.floods.clear()
            self.refused.clear()
            self._changed.notify_all()

    def _track(self, connection: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    # --- HTTP -------------------------------------------------------------------------------

    def _serve(self, h: _Handler) -> None:
        at = time.monotonic()
        h.sent = False
        try:
            self._answer(h, at)
        except OSError:  # the client hung up (after a timeout, say): nothing to answer
            h.close_connection = True
        except Exception:
            with self._lock:
                self.errors.append(traceback.format_exc())
            h.close_connection = True
            if not h.sent:
                with contextlib.suppress(OSError):
                    payload = {
                        "ok": False,
                        "error_code": 500,
                        "description": "Internal Server Error: fake Telegram bug",
                    }
                    self._send(h, None, 500, payload)
        finally:
            with self._changed:
                self._changed.notify_all()

    def _answer(self, h: _Handler, at: float) -> None:
        split = urlsplit(h.path)
        body = _read_body(h)
        raw: dict[str, Any] = dict(parse_qsl(split.query, keep_blank_values=True))
        files: dict[str, _Upload] = {}
        content_type = (h.headers.get("Content-Type") or "").lower()
        body_error = None
        try:
            if content_type.startswith("multipart/form-data"):
                fields, files = _multipart(body, h.headers.get("Content-Type") or "")
                raw.update(fields)
            elif content_type.startswith(JSON_TYPE):
                decoded = json.loads(body.decode("utf-8")) if body.strip() else {}
                if not isinstance(decoded, dict):
                    raise ValueError("the JSON body is not an object")
                raw.update(decoded)
            elif body:
                raw.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        except (ValueError, UnicodeDecodeError) as exc:
            body_error = str(exc)
        params = _decode_params(raw)
        for name, upload in files.items():
            params.setdefault(
                name,
                {
                    "file_name": upload.file_name,
                    "mime_type": upload.mime_type,
                    "size": len(upload.data),
                },
            )

        route = re.fullmatch(r"/bot([^/]*)/([^/]+)/?", unquote(split.path))
        label = route.group(2) if route else (split.path.rstrip("/").rsplit("/", 1)[-1] or "/")
        method = _CANONICAL.get(label.lower(), label)
        record = Call(method, params, at, http_method=h.command)
        with self._changed:
            self.requests.append(record)
            self._changed.notify_all()

        if route is None or not _TOKEN_SHAPE.fullmatch(route.group(1)):
            self._send(h, record, 404, _error(404, "Not Found"))
            return
        if route.group(1) != self.token:
            self._send(h, record, 401, _error(401, "Unauthorized"))
            return
        if method not in IMPLEMENTED:
            if method in NOT_IMPLEMENTED:
                with self._lock:
                    self.errors.append(f"the fake does not implement {method}")
            self._send(h, record, 404, _error(404, "Not Found"))
            return
        if body_error is not None:
            self._send(h, record, 400, _error(400, f"Bad Request: {body_error}"))
            return

        fault = self._take_fault(method, params)
        kind = fault.kind if fault else None
        options = fault.options if fault else {}
        if kind == "429":
            seconds = int(options.get("retry_after", 1))
            self._count(method, params, self.throttled)
            payload = _error(
                429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds}
            )
            self._send(h, record, 429, payload)
            return
        if kind == "status":
            self._send_status_fault(h, record, options)
            return
        if kind == "disconnect":
            if options.get("deliver"):
                self._handle(method, params, files)
            self._hang_up(h)
            return
        late = kind == "slow" and bool(options.get("deliver_first"))
        if kind == "slow" and not late and self._stop.wait(float(options["seconds"])):
            self._hang_up(h)  # shutting down: leave without answering
            return
        status, payload = self._handle(method, params, files)
        if late and self._stop.wait(float(options["seconds"])):
            self._hang_up(h)
            return
        self._send(h, record, status, payload)

    def _send_status_fault(self, h: _Handler, record: Call, options: dict[str, Any]) -> None:
        status = int(options.get("status", 500))
        description = options.get("description")
        if description is None and status in (502, 503, 504):
            phrase = ERROR_PHRASES[status]
            page = (
                f"<html>\r\n<head><title>{status} {phrase}</title></head>\r\n<body>\r\n"
                f"<center><h1>{status} {phrase}</h1></center>\r\n<hr><center>nginx/1.18.0"
                "</center>\r\n</body>\r\n</html>\r\n"
            )
            self._send_bytes(h, record, status, page.encode(), "text/html", {})
            return
        text = description or ERROR_PHRASES.get(status, "Error")
        self._send(h, record, status, _error(status, text))

    def _hang_up(self, h: _Handler) -> None:
        h.close_connection = True
        h.sent = True
        with contextlib.suppress(OSError):
            h.connection.shutdown(socket.SHUT_RDWR)

    def _send(self, h: _Handler, record: Call | None, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        self._send_bytes(h, record, status, data, JSON_TYPE, payload)

    def _send_bytes(
        self,
        h: _Handler,
        record: Call | None,
        status: int,
        data: bytes,
        content_type: str,
        payload: dict[str, Any],
    ) -> None:
        if record is not None:
            with self._lock:  # before the client can see the answer
                record.status = status
                record.response = payload
        h.sent = True
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(data)))
        h.send_header("Connection", "keep-alive")
        h.send_header("Strict-Transport-Security", "max-age=31536000; includeSubDomains; preload")
        h.send_header("Access-Control-Allow-Origin", "*")
        h.send_header(
            "Access-Control-Expose-Headers", "Content-Length,Content-Type,Date,Server,Connection"
        )
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(data)

    # --- dispatch ---------------------------------------------------------------------------

    def _handle(
        self, method: str, params: dict[str, Any], files: dict[str, _Upload]
    ) -> tuple[int, dict[str, Any]]:
        handler = getattr(self, f"_api_{method}")
        try:
            if method == "getUpdates":
                result = handler(params, files)  # takes the lock itself, to wait on it
            else:
                with self._changed:
                    result = handler(params, files)
                    self._changed.notify_all()
        except _Refusal as refusal:
            if method in ("sendMessage", "sendDocument"):
                self._count(method, params, self.throttled if refusal.code == 429 else self.refused)
            return refusal.code, _error(refusal.code, refusal.description, refusal.parameters)
        if isinstance(result, _Described):
            return 200, {"ok": True, "result": result.result, "description": result.description}
        return 200, {"ok": True, "result": result}

    def _count(self, method: str, params: dict[str, Any], counter: Counter[int]) -> None:
        chat_id = _as_int(params.get("chat_id"))
        if chat_id is not None and method.lower() in ("sendmessage", "senddocument"):
            with self._lock:
                counter[chat_id] += 1

    # --- helpers for the methods ------------------------------------------------------------

    def _chat_json(self, chat: _Chat) -> dict[str, Any]:
        if chat.type == "private":
            user = self._users[chat.id]
            out = {"id": chat.id, "first_name": user["first_name"], "type": "private"}
            if "username" in user:
                out["username"] = user["username"]
            return out
        return {"id": chat.id, "title": chat.title, "type": chat.type}

    def _member_json(self, status: str, user: dict[str, Any]) -> dict[str, Any]:
        user = copy.deepcopy(user)
        if status == "creator":
            return {"status": "creator", "user": user, "is_anonymous": False}
        if status == "administrator":
            return {
                "status": "administrator",
                "user": user,
                "can_be_edited": False,
                "is_anonymous": False,
                "can_manage_chat": True,
                "can_delete_messages": True,
                "can_manage_video_chats": True,
                "can_restrict_members": True,
                "can_promote_members": False,
                "can_change_info": True,
                "can_invite_users": True,
                "can_post_stories": False,
                "can_edit_stories": False,
                "can_delete_stories": False,
                "can_pin_messages": True,
            }
        return {"status": status, "user": user}

    def _next_message_id(self, chat: _Chat) -> int:
        message_id = chat.next_message_id
        chat.next_message_id += 1
        return message_id

    def _resolve_chat(self, params: dict[str, Any]) -> _Chat:
        """The chat of `chat_id`: 400 not found / migrated, 403 when the bot was kicked."""
        value = params.get("chat_id")
        if value is None or value == "":
            raise _bad("chat_id is empty")
        chat_id = _as_int(value)
        chat = self._chats.get(chat_id) if chat_id is not None else None
        if chat is None:
            raise _bad("chat not found")
        if chat.migrated_to is not None:
            raise _bad(
                "group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": chat.migrated_to},
            )
        if chat.gone and chat.type != "private":
            raise _Refusal(403, f"Forbidden: bot was kicked from the {chat.type} chat")
        return chat

    def _check_blocked(self, chat: _Chat) -> None:
        if chat.gone and chat.type == "private":
            raise _Refusal(403, "Forbidden: bot was blocked by the user")

    def _parse_text(
        self, text: Any, parse_mode: Any, entities: Any
    ) -> tuple[str, list[dict[str, Any]]]:
        """The text and entities before clean-up: parse_mode applied, or entities as given."""
        mode = parse_mode.strip().lower() if isinstance(parse_mode, str) else ""
        if mode == "html":
            try:
                plain, found = parse_html(str(text), strict_ampersand=self.strict_ampersand)
            except HtmlError as exc:
                raise _bad(f"can't parse entities: {exc}") from exc
            for entity in found:
                if entity["type"] == "text_mention" and entity["user"]["id"] in self._users:
                    entity["user"] = copy.deepcopy(self._users[entity["user"]["id"]])
            return plain, found
        if mode in ("markdown", "markdownv2"):
            with self._lock:
                self.errors.append(f"the fake does not parse parse_mode={parse_mode}")
            return str(text), []
        if mode:
            raise _bad("unsupported parse_mode")
        if entities in (None, ""):
            return str(text), []
        if not isinstance(entities, list) or not all(
            isinstance(e, dict)
            and isinstance(e.get("offset"), int)
            and isinstance(e.get("length"), int)
            and isinstance(e.get("type"), str)
            for e in entities
        ):
            raise _bad("can't parse entities JSON object")
        return str(text), _sorted_entities(copy.deepcopy(entities))

    def _tidy(
        self,
        text: str,
        entities: list[dict[str, Any]],
        *,
        limit: int,
        empty: str | None,
        too_long: str,
    ) -> tuple[str, list[dict[str, Any]]]:
        """TDLib's fix_formatted_text: drop "\\r", control characters to spaces, trim; then the
        length limit. `empty` is the error for an empty text (None: empty is allowed)."""
        kept: list[str] = []
        boundary = {0: 0}  # old UTF-16 offset -> new one
        old = new = 0
        for ch in text:
            code = ord(ch)
            width = 2 if code > 0xFFFF else 1
            if ch != "\r" and not 0x2028 <= code <= 0x202E and code not in (0x30A, 0x333, 0x33F):
                kept.append(" " if code < 32 and ch != "\n" else ch)
                new += width
            old += width
            boundary[old] = new
        moved = []
        for entity in entities:
            start, end = entity["offset"], entity["offset"] + entity["length"]
            if start not in boundary or end not in boundary:
                raise _bad(f"entity beginning at UTF-16 offset {start} is out of the text")
            entity = dict(entity, offset=boundary[start], length=boundary[end] - boundary[start])
            if entity["length"] > 0:
                moved.append(entity)
        cleaned = "".join(kept)
        stripped = cleaned.rstrip(" \n")
        if not stripped:
            if empty is not None:
                raise _bad(empty)
            return "", []
        end16 = _utf16_len(stripped)
        trimmed = []
        for entity in moved:
            if entity["offset"] >= end16:
                continue
            if entity["offset"] + entity["length"] > end16:
                entity["length"] = end16 - entity["offset"]
            trimmed.append(entity)
        first = min((e["offset"] for e in trimmed), default=len(stripped))
        lead = 0
        while lead < first and stripped[lead] in " \n":
            lead += 1
        result = stripped[lead:]
        for entity in trimmed:
            entity["offset"] -= lead
        if _utf16_len(result) > limit:
            raise _bad(too_long)
        return result, _sorted_entities(trimmed)

    def _markup_shape(self, markup: Any) -> dict[str, Any] | None:
        """reply_markup parsed and its JSON shape checked (the Bot API's own checks)."""
        if markup is None or markup == "":
            return None
        if isinstance(markup, str):
            try:
                markup = json.loads(markup)
            except ValueError as exc:
                raise _bad("can't parse reply keyboard markup JSON object") from exc
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _bad(
                    'field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of '
                    "Arrays"
                )
            for row in rows:
                for button in row:
                    if not isinstance(button, dict):
                        raise _bad("can't parse inline keyboard button: expected an Object")
                    if not isinstance(button.get("text"), str):
                        raise _bad("can't parse inline keyboard button: Can't find field \"text\"")
                    actions = [a for a in BUTTON_ACTIONS if a in button]
                    if not actions:
                        raise _bad(
                            "can't parse inline keyboard button: Text buttons are unallowed in "
                            "the inline keyboard"
                        )
                    if len(actions) > 1:  # invented: Telegram would take the first it knows
                        raise _bad(
                            "can't parse inline keyboard button: a button must have exactly "
                            f"one action field, not {', '.join(actions)}"
                        )
        return markup

    def _check_buttons(self, markup: dict[str, Any] | None) -> None:
        """TDLib's URL checks, then the server's BUTTON_DATA_INVALID."""
        rows = (markup or {}).get("inline_keyboard") or []
        buttons = [b for row in rows for b in row]
        for button in buttons:
            url = button.get("url")
            if url is not None:
                try:
                    check_link(str(url))
                except ValueError as exc:
                    raise _bad(f"inline keyboard button URL '{url}' is invalid: {exc}") from exc
        for button in buttons:
            if "callback_data" in button:
                data = button["callback_data"]
                size = len(str(data).encode("utf-8", "surrogatepass"))
                if not isinstance(data, str) or not 1 <= size <= CALLBACK_DATA_LIMIT:
                    raise _bad("BUTTON_DATA_INVALID")

    def _reply_to(self, chat: _Chat, params: dict[str, Any]) -> dict[str, Any] | None:
        reply = params.get("reply_parameters")
        if isinstance(reply, dict):
            message_id = _as_int(reply.get("message_id"))
            allow = _as_bool(reply.get("allow_sending_without_reply", False))
        else:
            message_id = _as_int(params.get("reply_to_message_id"))
            allow = _as_bool(params.get("allow_sending_without_reply", False))
        if message_id is None:
            return None
        if message_id in chat.messages and message_id not in chat.deleted:
            replied = copy.deepcopy(chat.messages[message_id])
            replied.pop("reply_to_message", None)
            return replied
        if allow:
            return None
        raise _bad("message to be replied not found")

    def _admit(self, chat: _Chat) -> None:
        """The flood limits: raise 429 or count the message in."""
        if not self.enforce_limits:
            return
        now = time.monotonic()
        second = 1.0 - self.tolerance
        minute = 60.0 - self.tolerance
        overall = self._overall
        while overall and overall[0] <= now - second:
            overall.popleft()
        mine = self._per_chat.setdefault(chat.id, deque())
        while mine and mine[0] <= now - minute:
            mine.popleft()
        waits = [0.0]
        if len(overall) >= OVERALL_PER_SECOND:
            waits.append(overall[len(overall) - OVERALL_PER_SECOND] + second - now)
        if chat.type == "private" and mine and mine[-1] > now - second:
            waits.append(mine[-1] + second - now)
        if chat.type != "private" and len(mine) >= GROUP_PER_MINUTE:
            waits.append(mine[len(mine) - GROUP_PER_MINUTE] + minute - now)
        wait = max(waits)
        if wait > 0:
            self.floods.append(self._flood_reason(chat, now, overall, mine))
            seconds = max(1, math.ceil(wait))
            raise _Refusal(
                429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds}
            )
        overall.append(now)
        mine.append(now)

    def _flood_reason(
        self, chat: _Chat, now: float, overall: deque[float], mine: deque[float]
    ) -> str:
        """Which limit a 429 enforced, so a failing test says how close the bot came."""
        if len(overall) >= OVERALL_PER_SECOND:
            span = now - overall[len(overall) - OVERALL_PER_SECOND]
            return f"overall: {OVERALL_PER_SECOND + 1} messages within {span * 1000:.0f} ms"
        if chat.type == "private":
            return f"chat {chat.id}: {(now - mine[-1]) * 1000:.0f} ms after its last message"
        return f"chat {chat.id}: {GROUP_PER_MINUTE + 1} messages within a minute"

    def _deliver(self, chat: _Chat, content: dict[str, Any]) -> dict[str, Any]:
        message = {
            "message_id": self._next_message_id(chat),
            "from": self._bot_as_sender,
            "chat": self._chat_json(chat),
            "date": int(time.time()),
            **content,
        }
        chat.messages[message["message_id"]] = message
        chat.by_bot.append(message["message_id"])
        self._delivered.append((chat.id, message["message_id"]))
        self.accepted[chat.id] += 1
        return copy.deepcopy(message)

    def _bot_message(self, chat: _Chat, params: dict[str, Any], missing: str) -> dict[str, Any]:
        if params.get("inline_message_id") not in (None, ""):
            raise _bad("MESSAGE_ID_INVALID")  # the fake keeps no inline messages
        message_id = _as_int(params.get("message_id"))
        if message_id is None or message_id not in chat.messages or message_id in chat.deleted:
            raise _bad(missing)
        if message_id not in chat.by_bot:
            raise _bad("message can't be edited")
        return chat.messages[message_id]

    # --- the methods ------------------------------------------------------------------------

    def _api_getMe(self, p: dict[str, Any], files: dict[str, _Upload]) -> Any:
        return self.bot_user

    def _api_getUpdates(self, p: dict[str, Any], files: dict[str, _Upload]) -> Any:
        offset = _as_int(p.get("offset")) or 0
        limit = _as_int(p.get("limit")) or MAX_UPDATES
        limit = min(max(limit, 1), MAX_UPDATES)
        try:
            timeout = max(float(p.get("timeout") or 0), 0.0)
        except (TypeError, ValueError):
            timeout = 0.0
        allowed = p.get("allowed_updates")
        deadline = time.monotonic() + timeout
        with self._changed:
            if self._webhook is not None:
                raise _Refusal(
                    409,
                    "Conflict: can't use getUpdates method while webhook is "
                    "active; use deleteWebhook to delete the webhook first",
                )
            self._poll_generation += 1
            generation = self._poll_generation
            if isinstance(allowed, list):
                self._allowed_updates = frozenset(allowed) if allowed else DEFAULT_UPDATES
            if offset > 0:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            elif offset < 0:
                self._updates = self._updates[offset:]
            self._changed.notify_all()
            while True:
                batch = [
                    copy.deepcopy(u)
                    for u in self._updates
                    if next((k for k in u if k != "update_id"), "") in self._allowed_updates
                ][:limit]
                if batch or self._stop.is_set():
                    return batch
                if self._webhook is not None:
                    raise _Refusal(409, "Conflict: terminated by setWebhook request")
                if self._poll_generation != generation:
                    raise _Refusal(
                        409,
                        "Conflict: terminated by other getUpdates request; make "
                        "sure that only one bot instance is running",
                    )
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                self._changed.wait(remaining)

    def _api_setWebhook(self, p: dict[str, Any], files: dict[str, _Upload]) -> Any:
        url = p.get("url")
        if url is None:
            raise _bad('parameter "url" is required')
        url = str(url)
        if url == "":
            return self._api_deleteWebhook(p, files)
        scheme = urlsplit(url).scheme.lower()
        if scheme != "https" and (self.require_https_webhook or scheme != "http"):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = p.get("secret_token")
        if secret not in (None, "") and not _SECRET.fullmatch(str(secret)):
            raise _bad("secret token contains unallowed characters")  # invented wording
        connections = _as_int(p.get("max_connections"))
        if connections is not None and not 1 <= connections <= 100:
            raise _bad("bad webhook: max_connections must be between 1 and 100")  # invented
        allowed = p.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(allowed) if allowed else DEFAULT_UPDATES
        if _as_bool(p.get("drop_pending_updates", False)):
            self._updates.clear()
        again = self._webhook is not None and self._webhook.get("url") == url
        self._webhook = {
            key: value for key, value in p.items() if key != "certificate" and value is not None
        }
        self._webhook["has_custom_certificate"] = "certificate" in p or "certificate" in files
        self._poll_generation += 1  # a waiting long poll ends with a 409
        return _Described(True, "Webhook is already set" if again else "Webhook was set")

    def _api_deleteWebhook(self, p: dict[str, Any], files: dict[str, _Upload]) -> Any:
        if _as_bool(p.get("drop_pending_updates", False)):
            self._updates.clear()
        had, self._webhook = self._webhook, None
        return _Described(True, "Webhook was deleted" if had else "Webhook is already deleted")

    def _api_getWebhookInfo(self, p: dict[str, Any], files: dict[str, _Upload]) -> Any:
        hook = self._webhook or {}
        info: dict[str, Any] = {
            "url": hook.get("url", ""),
            "has_custom_certificate": bool(hook.get("has_custom_certificate", False)),
            "pending_update_count": len(self._updates),
        }
        if hook:
            info["max_connections"] = _as_int(hook.get("max_connections")) or 40
            if hook.get("ip_address"):
                info["ip_address"] = hook["ip_address"]
            if isinstance(hook.get("allowed_updates"), list):
                info["allowed_updates"] = hook["allowed_updates"]
        return info

    def _api_sendMessage(self, p: dict[str, Any], files: dict[str, _Upload]) -> Any:
        raw = p.get("text")
        if raw is None or raw == "":
            raise _bad("message text is empty")
        text, entities = self._parse_text(raw, p.get("parse_mode"), p.get("entities"))
        markup = self._markup_shape(p.get("reply_markup"))
        chat = self._resolve_chat(p)
        text, entities = self._tidy(
            text,
            entities,
            limit=TEXT_LIMIT,
            empty="message text is empty",
            too_long="message is too long",
        )
        self._check_buttons(markup)
        reply_to = self._reply_to(chat, p)
        self._check_blocked(chat)
        self._admit(chat)
        content: dict[str, Any] = {"text": text}
        if entities:
            content["entities"] = entities
        if reply_to is not None:
            content["reply_to_message"] = reply_to
        if markup and "inline_keyboard" in markup:
            content["reply_markup"] = copy.deepcopy(markup)
        return self._deliver(chat, content)

    def _api_sendDocument(self, p: dict[str, Any], files: dict[str, _Upload]) -> Any:
        upload = self._document(p, files)
        caption, entities = self._parse_text(
            p.get("caption") or "", p.get("parse_mode"), p.get("caption_entities")
        )
        markup = self._markup_shape(p.get("reply_markup"))
        chat = self._resolve_chat(p)
        caption, entities = self._tidy(
            caption,
            entities,
            limit=CAPTION_LIMIT,
            empty=None,
            too_long="message caption is too long",
        )
        if not upload.data and upload.mime_type != "(url)":
            raise _bad("file must be non-empty")
        self._check_buttons(markup)
        reply_to = self._reply_to(chat, p)
        self._check_blocked(chat)
        self._admit(chat)
        number = next(self._file_ids)
        file_id = f"BQACAgIAAxkBAAI{number:08d}FakeDocument"
        self._files[file_id] = upload
        document = {
            "file_name": upload.file_name,
            "mime_type": upload.mime_type if upload.mime_type != "(url)" else "application/pdf",
            "file_id": file_id,
            "file_unique_id": f"AgAD{number:08d}",
            "file_size": len(upload.data),
        }
        content: dict[str, Any] = {"document": document}
        if caption:
            content["caption"] = caption
        if entities:
            content["caption_entities"] = entities
        if reply_to is not None:
            content["reply_to_message"] = reply_to
        if markup and "inline_keyboard" in markup:
            content["reply_markup"] = copy.deepcopy(markup)
        message = self._deliver(chat, content)
        self._documents.setdefault(chat.id, []).append(
            {
                "message_id": message["message_id"],
                "file_name": upload.file_name,
                "mime_type": document["mime_type"],
                "bytes": upload.data,
                "caption": caption,
                "caption_entities": entities,
            }
        )
        return message

    def _document(self, p: dict[str, Any], files: dict[str, _Upload]) -> _Upload:
        if "document" in files:
            return files["document"]
        value = p.get("document")
        if isinstance(value, str) and value.startswith("attach://"):
            attached = files.get(value[len("attach://") :])
            if attached is None:
                raise _bad("there is no document in the request")
            return attached
        if isinstance(value, str) and value in self._files:
            return self._files[value]
        if isinstance(value, str) and value.lower().startswith(("http://", "https://")):
            self.errors.append(f"the fake does not fetch documents by URL ({value})")
            name = urlsplit(value).path.rsplit("/", 1)[-1] or "file"
            return _Upload(name, b"", "(url)")
        if isinstance(value, str) and value:
            raise _bad("wrong file identifier/HTTP URL specified")
        raise _bad("there is no document in the request")

    def _api_sendChatAction(self, p: dict[str, Any], files: dict[str, _Upload]) -> Any:
        if not p.get("action"):
            raise _bad("wrong parameter action in request")
        chat = self._resolve_chat(p)
        self._check_blocked(chat)
        return True

    def _api_editMessageText(self, p: dict[str, Any], files: dict[str, _Upload]) -> Any:
        raw = p.get("text")
        if raw is None or raw == "":
            raise _bad("message text is empty")
        text, entities = self._parse_text(raw, p.get("parse_mode"), p.get("entities"))
        markup = self._markup_shape(p.get("reply_markup"))
        chat = self._resolve_chat(p)
        message = self._bot_message(chat, p, "message to edit not found")
        if "text" not in message:
            raise _bad("there is no text in the message to edit")
        text, entities = self._tidy(
            text,
            entities,
            limit=TEXT_LIMIT,
            empty="message text is empty",
            too_long="message is too long",
        )
        self._check_buttons(markup)
        self._check_blocked(chat)
        keyboard = copy.deepcopy(markup) if markup and "inline_keyboard" in markup else None
        if (
            message["text"] == text
            and message.get("entities", []) == entities
            and message.get("reply_markup") == keyboard
        ):
            raise _bad(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        message["text"] = text
        message.pop("entities", None)
        if entities:
            message["entities"] = entities
        message.pop("reply_markup", None)
        if keyboard is not None:
            message["reply_markup"] = keyboard
        message["edit_date"] = int(time.time())
        return copy.deepcopy(message)

    def _api_editMessageReplyMarkup(self, p: dict[str, Any], files: dict[str, _Upload]) -> Any:
        markup = self._markup_shape(p.get("reply_markup"))
        chat = self._resolve_chat(p)
        message = self._bot_message(chat, p, "message to edit not found")
        self._check_buttons(markup)
        self._check_blocked(chat)
        keyboard = copy.deepcopy(markup) if markup and "inline_keyboard" in markup else None
        if message.get("reply_markup") == keyboard:
            raise _bad(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        message.pop("reply_markup", None)
        if keyboard is not None:
            message["reply_markup"] = keyboard
        message["edit_date"] = int(time.time())
        return copy.deepcopy(message)

    def _api_deleteMessage(self, p: dict[str, Any], files: dict[str, _Upload]) -> Any:
        chat = self._resolve_chat(p)
        message_id = _as_int(p.get("message_id"))
        if message_id is None or message_id not in chat.messages or message_id in chat.deleted:
            raise _bad("message to delete not found")
        if message_id not in chat.by_bot and chat.type == "private":
            chat.deleted.add(message_id)  # a bot may delete the user's messages in private
            return True
        if message_id not in chat.by_bot and chat.members.get(self.bot_id) != "administrator":
            raise _bad("message can't be deleted")
        chat.deleted.add(message_id)
        return True

    def _api_answerCallbackQuery(self, p: dict[str, Any], files: dict[str, _Upload]) -> Any:
        query_id = str(p.get("callback_query_id") or "")
        if query_id not in self._callbacks:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        del self._callbacks[query_id]
        self._answered.append(
            {
                "callback_query_id": query_id,
                "text": p.get("text"),
                "show_alert": _as_bool(p.get("show_alert", False)),
                "url": p.get("url"),
                "cache_time": _as_int(p.get("cache_time")) or 0,
            }
        )
        return True

    def _api_getChat(self, p: dict[str, Any], files: dict[str, _Upload]) -> Any:
        chat = self._resolve_chat(p)
        info = self._chat_json(chat)
        info.update(
            {
                "accent_color_id": abs(chat.id) % 7,
                "max_reaction_count": 11,
                "accepted_gift_types": {
                    "unlimited_gifts": False,
                    "limited_gifts": False,
                    "unique_gifts": False,
                    "premium_subscription": False,
                    "gifts_from_channels": False,
                },
            }
        )
        if chat.type == "private":
            user = self._users[chat.id]
            if "username" in user:
                info["active_usernames"] = [user["username"]]
        else:
            info["permissions"] = {"can_send_messages": True}
        return info

    def _api_getChatMember(self, p: dict[str, Any], files: dict[str, _Upload]) -> Any:
        chat = self._resolve_chat(p)
        user_id = _as_int(p.get("user_id"))
        if user_id is None:
            raise _bad(
                "user_id is empty"
                if p.get("user_id") in (None, "")
                else "invalid user_id specified"
            )
        if user_id == self.bot_id:
            status = chat.members.get(self.bot_id, "member")
            return self._member_json(
                status if status != "creator" else "member", self._bot_as_sender
            )
        user = self._users.get(user_id)
        if user is None:
            raise _bad("PARTICIPANT_ID_INVALID")  # invented for users never seen
        if chat.type == "private":
            return self._member_json("member" if user_id == chat.user_id else "left", user)
        return self._member_json(chat.members.get(user_id, "left"), user)

    def _api_getChatAdministrators(self, p: dict[str, Any], files: dict[str, _Upload]) -> Any:
        chat = self._resolve_chat(p)
        if chat.type == "private":
            raise _bad("there are no administrators in the private chat")
        out = []
        for user_id, status in chat.members.items():
            if status in ("creator", "administrator"):
                user = self._bot_as_sender if user_id == self.bot_id else self._users[user_id]
                out.append(self._member_json(status, user))
        return out

    def _api_getChatMemberCount(self, p: dict[str, Any], files: dict[str, _Upload]) -> Any:
        chat = self._resolve_chat(p)
        if chat.type == "private":
            return 2
        return len(chat.members) + (0 if self.bot_id in chat.members else 1)

    def _command_key(self, p: dict[str, Any]) -> tuple[str, str]:
        scope = p.get("scope")
        if scope in (None, ""):
            scope = {"type": "default"}
        if not isinstance(scope, dict) or scope.get("type") not in SCOPES:
            raise _bad("can't parse BotCommandScope JSON object")  # invented wording
        kind = str(scope["type"])
        if kind in ("chat", "chat_administrators", "chat_member"):
            chat = self._resolve_chat({"chat_id": scope.get("chat_id")})
            kind = f"{kind}:{chat.id}"
            if scope["type"] == "chat_member":
                user_id = _as_int(scope.get("user_id"))
                if user_id is None:
                    raise _bad("user not found")
                kind = f"{kind}:{user_id}"
        language = p.get("language_code") or ""
        if language and not _LANGUAGE.fullmatch(str(language)):
            raise _bad("invalid language code specified")  # invented wording
        return kind, str(language)

    def _api_setMyCommands(self, p: dict[str, Any], files: dict[str, _Upload]) -> Any:
        commands = p.get("commands")
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        if len(commands) > 100:
            raise _bad("too many commands")  # invented wording
        cleaned = []
        for item in commands:
            if not isinstance(item, dict):
                raise _bad("can't parse BotCommand JSON object")
            command = str(item.get("command") or "").removeprefix("/")
            description = str(item.get("description") or "")
            if not _COMMAND.fullmatch(command):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(description.strip()) <= 256 or len(description) > 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": command, "description": description})
        key = self._command_key(p)
        if cleaned:
            self.commands[key] = cleaned
        else:
            self.commands.pop(key, None)
        return True

    def _api_deleteMyCommands(self, p: dict[str, Any], files: dict[str, _Upload]) -> Any:
        self.commands.pop(self._command_key(p), None)
        return True

    def _api_getMyCommands(self, p: dict[str, Any], files: dict[str, _Upload]) -> Any:
        return copy.deepcopy(self.commands.get(self._command_key(p), []))


def _error(code: int, description: str, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        payload["parameters"] = parameters
    return payload
