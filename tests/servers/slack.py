"""A fake Slack (Web API, response_url hooks, file uploads, Socket Mode) on loopback, for tests.

The real slack_sdk `AsyncWebClient(token, base_url=fake.api_url)` - and a slack-bolt `AsyncApp`
built on it - talks to it as it would to https://slack.com/api/. It imports nothing from `bot`,
`handlers` or `storage`, nor from `slack_sdk` / `slack_bolt`: it is the yardstick the project's
Slack code is measured against.

    with FakeSlack() as fake:
        fake.add_channel("C0001", name="papers")
        client = AsyncWebClient(token=fake.token, base_url=fake.api_url)
        await client.chat_postMessage(channel="C0001", text="New &amp; noteworthy")
        assert fake.posted("C0001")[0]["text"] == "New &amp; noteworthy"

What it mimics
--------------
* `GET|POST <api_url><method>` (aiohttp server on 127.0.0.1, its own event loop in a daemon
  thread). Parameters from the query string (slack_sdk sends `params=` there, even on POST), an
  `application/x-www-form-urlencoded` or `multipart/form-data` body, or a JSON body (slack_sdk
  uses JSON for chat.postMessage / chat.postEphemeral / chat.update / views.publish). `blocks`,
  `attachments`, `view`, `files` and `metadata` given as JSON strings are decoded.
  `Call.params` holds the merged, decoded values; `Call.headers` the request headers.
* Auth: `Authorization: Bearer <token>` or a `token` parameter in the query string or form (as
  Slack, a `token` inside a JSON body does not count). None -> "not_authed"; a token that is not
  ours -> "invalid_auth"; after `revoke()` every call -> "invalid_auth" (or the error given); the
  app token (xapp-) on a bot method, or the bot token on apps.connections.open ->
  "not_allowed_token_type".
* Answers: HTTP 200 `{"ok": true, ...}` or `{"ok": false, "error": "..."}`, JSON with
  `Content-Type: application/json; charset=utf-8` and Slack's `x-oauth-scopes` header (Bolt
  reads it into the context). An unknown method -> `{"ok": false, "error": "unknown_method",
  "req_method": ...}`; a real method the fake does not implement answers the same and is noted in
  `errors`, so the test fails loudly.
* Methods: auth.test, chat.postMessage, chat.postEphemeral, chat.update, chat.delete,
  conversations.open, conversations.info, users.info, views.publish, files.getUploadURLExternal,
  files.completeUploadExternal (plus the upload URL between them: what `files_upload_v2` does),
  apps.connections.open. files.upload answers "method_deprecated" (Slack retired it in 2025).
* Messages (chat.postMessage / postEphemeral / update): the channel (an id, a "#name", or a user
  id, which means the bot's DM with that user) -> "channel_not_found" (unknown or deleted),
  "is_archived", "not_in_channel" (kicked); then the content: neither text, blocks, attachments
  nor markdown_text -> "no_text"; text over 40,000 characters -> "msg_too_long"; blocks not a
  list of objects -> "invalid_blocks_format"; Block Kit rules (see `validate_blocks`) ->
  `{"ok": false, "error": "invalid_blocks", "errors": [...], "response_metadata": {"messages":
  ["[ERROR] ..."]}}`, each message ending in `[json-pointer:/blocks/N/...]` as Slack's do.
  postEphemeral also needs a user who can see the channel ("user_not_in_channel"). A
  chat.postMessage with a `thread_ts` that names no message of the channel, or a deleted one, ->
  "thread_not_found"; `reply_broadcast` on a thread reply also shows it in the channel (its
  message gets subtype "thread_broadcast").
* Rate limit (when `enforce_limits`): chat.postMessage at most 1 message per second per channel,
  the window shortened by `tolerance` (0.05 s) for thread scheduling. Beyond: HTTP 429,
  `Retry-After: N` (whole seconds until the message would pass, at least 1) and
  `{"ok": false, "error": "ratelimited"}`. A refused message is not posted and does not count.
  Per channel counters `accepted`, `throttled` (429s, limit or injected) and `refused`.
* Success of a post: `{"ok": true, "channel", "ts", "message": {...}}`; ts values are
  "<unix seconds>.<6 digits>", strictly increasing. In the answer's message Slack fills in a
  `block_id` for every block without one (and an `action_id` for elements without one); the
  fake does too, deterministically (`fill_block_ids`), while `posted()` keeps the blocks as sent
  and the answered message under "message".
* response_url: `response_url(key)` is a URL on the fake that takes what Bolt's `respond()` /
  `AsyncWebhookClient` POST (JSON: text, blocks, response_type, replace_original,
  delete_original, ...). Answers 200 "ok" (text/html, like hooks.slack.com); no text and no
  blocks -> 400 "no_text"; bad blocks -> 400 "invalid_blocks" (the details in
  `response_calls`); an unknown key -> 404 "no_service"; when `enforce_limits`, a 6th use of one
  URL -> 404 "used_url" (Slack documents "up to 5 times within 30 minutes"; the status and
  wording are invented).
* Socket Mode: apps.connections.open (app token) answers `{"ok": true, "url":
  "ws://127.0.0.1:PORT/socket?ticket=...&app_id=..."}`. On connect the fake sends Slack's
  `{"type": "hello", "num_connections", "debug_info", "connection_info"}`; `send_socket_event`
  pushes an envelope `{"envelope_id", "type", "payload", "accepts_response_payload"}` (events_api
  also "retry_attempt" / "retry_reason") to the newest connection and records the client's ack
  `{"envelope_id"[, "payload"]}` (`socket_acks`). `disconnect_socket(reason)` sends Slack's
  `{"type": "disconnect", "reason": ...}`, after which slack_sdk opens a new connection. Pings
  are answered with pongs carrying the same data (slack_sdk checks them).

Fake-only strictness (Slack renders these; the fake refuses them so tests catch missing
escaping): in a mrkdwn text object, a "&" that does not start "&amp;", "&lt;" or "&gt;", or a "<"
that does not start a well-formed `<url|label>`, `<@U..>`, `<#C..>`, `<!here>`-style token ->
invalid_blocks "unescaped '&' ..." / "unescaped '<' ...". `strict_mrkdwn = False` turns it off;
`strict_text = True` applies it to the top-level `text` too ("invalid_arguments"). Action ids
must be unique within the whole message (`action_id_scope = "message"`); Slack itself documents
"unique among the action_ids in the containing block" (set `action_id_scope = "block"`).

Invented by the fake (Slack's wording unknown): the wording of most invalid_blocks messages
beyond "must be less than N characters" / "no more than N items allowed", the views.publish
"user_not_found", "file_not_found" for an upload never sent, the response_url limits above, and
"invalid_json" for an unparseable JSON body.

Reading what happened
---------------------
`calls` (every Web API call, `calls_to(method)`), `posted(channel)` / `all_posted()`,
`responses(key)` / `response_calls`, `home_views[user_id]`, `uploads`, `socket_acks(envelope_id)`,
`socket_envelopes()`, `socket_messages` (anything else a socket client sent), counters.

Faults: `inject(method, kind, times=1, **options)`, see `inject`. Waiting: `wait_for(predicate)`
blocks on a condition notified on every request, answer and socket message (from async code use
`await fake.wait_for_async(...)`, which does not block the event loop).

Module-level helpers build what Slack sends to an app: `signed_request_headers`,
`slash_command_payload` / `slash_command_body`, `block_actions_payload` / `block_actions_body`,
`event_payload` / `event_body`.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import email.parser
import email.policy
import hashlib
import hmac
import itertools
import json
import math
import re
import socket
import string
import threading
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from aiohttp import WSCloseCode, WSMsgType, web
from multidict import CIMultiDict

__all__ = [
    "FAULT_KINDS",
    "Call",
    "FakeSlack",
    "block_actions_body",
    "block_actions_payload",
    "event_body",
    "event_payload",
    "fill_block_ids",
    "mrkdwn_problem",
    "signed_request_headers",
    "slash_command_body",
    "slash_command_payload",
    "validate_blocks",
]

FAULT_KINDS = frozenset({"ratelimited", "status", "error", "slow", "disconnect"})
TEXT_LIMIT = 40_000
MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
RESPONSE_URL_USES = 5
JSON_CONTENT = "application/json"
BOT_SCOPES = (
    "app_mentions:read,channels:read,chat:write,commands,files:write,groups:read,im:history,"
    "im:read,im:write,users:read"
)
# Parameters Slack reads as JSON when they come as strings (form bodies, query strings).
JSON_PARAMS = frozenset({"blocks", "attachments", "view", "files", "metadata", "unfurls"})

IMPLEMENTED = (
    "auth.test", "chat.postMessage", "chat.postEphemeral", "chat.update", "chat.delete",
    "conversations.open", "conversations.info", "users.info", "views.publish",
    "files.getUploadURLExternal", "files.completeUploadExternal", "files.upload",
    "apps.connections.open",
)  # fmt: skip
# Real methods the fake does not implement: answered unknown_method and noted in `errors`.
NOT_IMPLEMENTED = (
    "api.test", "auth.revoke", "bots.info", "chat.getPermalink", "chat.meMessage",
    "chat.scheduleMessage", "chat.deleteScheduledMessage", "chat.scheduledMessages.list",
    "chat.unfurl", "conversations.list", "conversations.members", "conversations.history",
    "conversations.replies", "conversations.join", "conversations.leave", "conversations.create",
    "conversations.archive", "conversations.invite", "conversations.kick", "conversations.mark",
    "files.info", "files.list", "files.delete", "files.sharedPublicURL", "reactions.add",
    "reactions.remove", "reactions.get", "team.info", "users.list", "users.lookupByEmail",
    "users.conversations", "users.getPresence", "users.profile.get", "views.open", "views.push",
    "views.update", "dialog.open", "pins.add", "bookmarks.add", "reminders.add",
    "usergroups.list", "emoji.list", "apps.uninstall", "oauth.v2.access",
)  # fmt: skip

BLOCK_TYPES = frozenset(
    {
        "actions", "context", "divider", "file", "header", "image", "input", "markdown",
        "rich_text", "section", "video", "table", "context_actions",
    }
)  # fmt: skip
ELEMENT_TYPES = frozenset(
    {
        "button", "checkboxes", "datepicker", "datetimepicker", "email_text_input", "image",
        "multi_static_select", "multi_external_select", "multi_users_select",
        "multi_conversations_select", "multi_channels_select", "number_input", "overflow",
        "plain_text_input", "radio_buttons", "rich_text_input", "static_select",
        "external_select", "users_select", "conversations_select", "channels_select",
        "timepicker", "url_text_input", "workflow_button", "file_input", "feedback_buttons",
        "icon_button",
    }
)  # fmt: skip
ERROR_PAGES = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
_ID_ALPHABET = string.ascii_letters + string.digits


# --- what the server remembers ------------------------------------------------------------


@dataclass
class Call:
    """One Web API request as the fake received it, and what it answered (status 0 = nothing).

    `headers` is case-insensitive (`call.headers["authorization"]`); `response` is the JSON
    answered ({} for an HTML fault or a hang-up).
    """

    method: str
    params: dict[str, Any]
    headers: CIMultiDict[str]
    at: float  # time.monotonic() on arrival
    status: int = 0
    response: dict[str, Any] = field(default_factory=dict)
    http_method: str = "POST"


@dataclass
class _Fault:
    method: str  # lower-case method name, "*", "response_url" or "upload"
    kind: str
    left: int
    options: dict[str, Any]
    passed: int = 0  # calls let through so far (the `after` option)


@dataclass
class _Channel:
    id: str
    name: str
    team_id: str
    is_im: bool = False
    user: str | None = None  # an IM's user
    member: bool = True  # the bot is in the channel
    archived: bool = False
    deleted: bool = False
    creator: str = "U0ADMIN"  # conversations.info's `creator`
    created: int = field(default_factory=lambda: int(time.time()))
    messages: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Upload:
    file_id: str
    filename: str
    length: int
    alt_txt: str | None = None
    snippet_type: str | None = None
    data: bytes | None = None
    completed: bool = False


class _Refusal(Exception):
    """An error answer: {"ok": false, "error": error, **extra} with HTTP `status`."""

    def __init__(
        self,
        error: str,
        *,
        status: int = 200,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.extra = extra or {}
        self.headers = headers or {}

    def payload(self) -> dict[str, Any]:
        return {"ok": False, "error": self.error, **self.extra}


def _invalid_blocks(errors: list[str]) -> _Refusal:
    return _Refusal(
        "invalid_blocks",
        extra={
            "errors": list(errors),
            "response_metadata": {"messages": [f"[ERROR] {e}" for e in errors]},
        },
    )


def _invalid_arguments(errors: list[str]) -> _Refusal:
    return _Refusal(
        "invalid_arguments",
        extra={"response_metadata": {"messages": [f"[ERROR] {e}" for e in errors]}},
    )


# --- Block Kit ------------------------------------------------------------------------------

_SPECIAL = re.compile(
    r"!(?:here|channel|everyone)(?:\|[^|]*)?"
    r"|!subteam\^[A-Z0-9]+(?:\|[^|]*)?"
    r"|!date\^-?\d+\^[^|^]+(?:\^[^|^]+)?\|.+"
)
_MENTION = re.compile(r"@[UWB][A-Z0-9]+(?:\|[^|]*)?|#[CGD][A-Z0-9]+(?:\|[^|]*)?")
_LINK = re.compile(r"(?:https?://|mailto:|tel:|ftp://|slack://)[^\s|]+(?:\|.*)?", re.DOTALL)


def mrkdwn_problem(text: str) -> str | None:
    """Why `text` is not safely escaped mrkdwn, or None (the fake-only strictness check).

    Refused: a "&" that does not start "&amp;", "&lt;" or "&gt;"; a "<" that does not open a
    well-formed `<url>`, `<url|label>`, `<@U123>`, `<#C123|name>`, `<!here>`, `<!subteam^S1>` or
    `<!date^...|fallback>` token (ended by ">" with no "<" or ">" inside).
    """
    for match in re.finditer(r"[&<]", text):
        at = match.start()
        if match.group() == "&":
            if not text.startswith(("&amp;", "&lt;", "&gt;"), at):
                return (
                    f"unescaped '&' at offset {at} (fake Slack: write &amp; for a literal &, "
                    "&lt; and &gt; for < and >)"
                )
            continue
        token = re.match(r"<([^<>]*)>", text[at:])
        inner = token.group(1) if token else ""
        if not token or not (
            _SPECIAL.fullmatch(inner) or _MENTION.fullmatch(inner) or _LINK.fullmatch(inner)
        ):
            return (
                f"unescaped '<' at offset {at} (fake Slack: write &lt; for a literal <, or a "
                "well-formed <url|label>, <@U..>, <#C..> or <!here> token)"
            )
    return None


def _auto_id(seed: str, index: int) -> str:
    digest = hashlib.sha256(f"{seed}/{index}".encode()).digest()
    return "".join(_ID_ALPHABET[b % len(_ID_ALPHABET)] for b in digest[:5])


def fill_block_ids(blocks: list[dict[str, Any]], seed: str) -> list[dict[str, Any]]:
    """A copy of `blocks` with the block_id / action_id Slack generates where none was given.

    Slack's are random; the fake's derive from `seed` (a message's ts, a view's id), so
    `block_actions_payload` can name the same ids as the answered message.
    """
    filled = copy.deepcopy(blocks)
    counter = itertools.count()
    for index, block in enumerate(filled):
        if not isinstance(block, dict):
            continue
        if not block.get("block_id"):
            block["block_id"] = _auto_id(seed, index)
        for element in _interactive_elements(block):
            if not element.get("action_id"):
                element["action_id"] = _auto_id(f"{seed}/action", next(counter))
    return filled


def _interactive_elements(block: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if block.get("type") == "actions" and isinstance(block.get("elements"), list):
        found.extend(e for e in block["elements"] if isinstance(e, dict))
    accessory = block.get("accessory")
    if isinstance(accessory, dict) and accessory.get("type") != "image":
        found.append(accessory)
    element = block.get("element")
    if block.get("type") == "input" and isinstance(element, dict):
        found.append(element)
    return found


class _BlockChecker:
    """Block Kit rules the fake enforces; errors read "<message> [json-pointer:<path>]"."""

    def __init__(self, *, strict_mrkdwn: bool, action_id_scope: str) -> None:
        self.strict_mrkdwn = strict_mrkdwn
        self.action_id_scope = action_id_scope
        self.errors: list[str] = []
        self.block_ids: set[str] = set()
        self.action_ids: set[str] = set()

    def add(self, pointer: str, message: str) -> None:
        self.errors.append(f"{message} [json-pointer:{pointer}]")

    def length(self, value: Any, pointer: str, limit: int, *, minimum: int = 0) -> None:
        if not isinstance(value, str):
            self.add(pointer, "must be a string")
        elif len(value) > limit:
            self.add(pointer, f"must be less than {limit + 1} characters")
        elif len(value) < minimum:
            self.add(pointer, f"must be more than {minimum - 1} characters")

    def text(
        self,
        obj: Any,
        pointer: str,
        limit: int,
        *,
        plain_only: bool = False,
        required: bool = True,
    ) -> None:
        if obj is None:
            if required:
                self.add(pointer, "missing required field")
            return
        if not isinstance(obj, dict):
            self.add(pointer, "must be a text object")
            return
        kind = obj.get("type")
        allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
        if kind not in allowed:
            self.add(f"{pointer}/type", "must be a valid enum value")
        if "text" not in obj:
            self.add(f"{pointer}/text", "missing required field: text")
            return
        self.length(obj["text"], f"{pointer}/text", limit, minimum=1)
        if kind == "mrkdwn" and self.strict_mrkdwn and isinstance(obj["text"], str):
            problem = mrkdwn_problem(obj["text"])
            if problem:
                self.add(f"{pointer}/text", problem)

    def check(self, blocks: list[dict[str, Any]], pointer: str, limit: int) -> list[str]:
        if len(blocks) > limit:
            self.add(pointer, f"no more than {limit} items allowed")
        for index, block in enumerate(blocks):
            self.block(block, f"{pointer}/{index}")
        return self.errors

    def block(self, block: dict[str, Any], at: str) -> None:
        kind = block.get("type")
        if kind is None:
            self.add(f"{at}/type", "missing required field: type")
            return
        if kind not in BLOCK_TYPES:
            self.add(f"{at}/type", f"unsupported block type: {kind}")
            return
        block_id = block.get("block_id")
        if block_id is not None:
            self.length(block_id, f"{at}/block_id", 255, minimum=1)
            if isinstance(block_id, str):
                if block_id in self.block_ids:
                    self.add(f"{at}/block_id", f"duplicate block_id: {block_id}")
                self.block_ids.add(block_id)
        if self.action_id_scope == "block":
            self.action_ids = set()
        if kind == "header":
            self.text(block.get("text"), f"{at}/text", 150, plain_only=True)
        elif kind == "section":
            self.section(block, at)
        elif kind == "context":
            self.context(block, at)
        elif kind == "actions":
            elements = block.get("elements")
            if not isinstance(elements, list) or not elements:
                self.add(f"{at}/elements", "must provide at least 1 item")
                return
            if len(elements) > 25:
                self.add(f"{at}/elements", "no more than 25 items allowed")
            for index, element in enumerate(elements):
                self.element(element, f"{at}/elements/{index}")
        elif kind == "image":
            self.image(block, at)
        elif kind == "markdown":
            self.length(block.get("text"), f"{at}/text", 12_000, minimum=1)
        elif kind == "input" and isinstance(block.get("element"), dict):
            self.text(block.get("label"), f"{at}/label", 2000, plain_only=True)
            self.element(block["element"], f"{at}/element")

    def section(self, block: dict[str, Any], at: str) -> None:
        fields = block.get("fields")
        if block.get("text") is None and not fields:
            self.add(at, "must provide either text or fields")
        self.text(block.get("text"), f"{at}/text", 3000, required=False)
        if fields is not None:
            if not isinstance(fields, list):
                self.add(f"{at}/fields", "must be an array")
            else:
                if len(fields) > 10:
                    self.add(f"{at}/fields", "no more than 10 items allowed")
                for index, item in enumerate(fields):
                    self.text(item, f"{at}/fields/{index}", 2000)
        accessory = block.get("accessory")
        if accessory is not None:
            self.element(accessory, f"{at}/accessory")

    def context(self, block: dict[str, Any], at: str) -> None:
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements:
            self.add(f"{at}/elements", "must provide at least 1 item")
            return
        if len(elements) > 10:
            self.add(f"{at}/elements", "no more than 10 items allowed")
        for index, element in enumerate(elements):
            where = f"{at}/elements/{index}"
            if isinstance(element, dict) and element.get("type") == "image":
                self.image(element, where)
            else:
                self.text(element, where, 3000)

    def image(self, image: dict[str, Any], at: str) -> None:
        if "image_url" in image:
            self.length(image["image_url"], f"{at}/image_url", 3000, minimum=1)
        elif "slack_file" not in image:
            self.add(at, "must provide either image_url or slack_file")
        self.length(image.get("alt_text"), f"{at}/alt_text", 2000, minimum=1)
        if "title" in image:
            self.text(image["title"], f"{at}/title", 2000, plain_only=True)

    def element(self, element: Any, at: str) -> None:
        if not isinstance(element, dict):
            self.add(at, "must be an object")
            return
        kind = element.get("type")
        if kind not in ELEMENT_TYPES:
            self.add(f"{at}/type", f"unsupported element type: {kind}")
            return
        if kind == "image":
            self.image(element, at)
            return
        action_id = element.get("action_id")
        if action_id is not None:
            self.length(action_id, f"{at}/action_id", 255, minimum=1)
            if isinstance(action_id, str):
                if action_id in self.action_ids:
                    self.add(f"{at}/action_id", f"duplicate action_id: {action_id}")
                self.action_ids.add(action_id)
        if kind == "button":
            self.text(element.get("text"), f"{at}/text", 75, plain_only=True)
            if "value" in element:
                self.length(element["value"], f"{at}/value", 2000)
            if "url" in element:
                self.length(element["url"], f"{at}/url", 3000, minimum=1)
            if element.get("style") not in (None, "primary", "danger"):
                self.add(f"{at}/style", "must be a valid enum value")


def validate_blocks(
    blocks: Any,
    *,
    pointer: str = "/blocks",
    limit: int = MESSAGE_BLOCKS,
    strict_mrkdwn: bool = True,
    action_id_scope: str = "message",
) -> list[str]:
    """The invalid_blocks errors the fake would answer for `blocks` ([] when they pass).

    Blocks that are not a list of objects give ["invalid_blocks_format"]. Checked: at most
    `limit` blocks (50 in a message, 100 in a view); known block types; block_id at most 255
    characters and unique; header text plain_text, at most 150; section text at most 3,000 and
    text or fields present, at most 10 fields of at most 2,000; context 1-10 elements; actions
    1-25 elements; known element types, action_id at most 255 and unique (`action_id_scope`);
    button text plain_text at most 75, value at most 2,000, url at most 3,000, style
    primary/danger; image url at most 3,000 and alt_text; empty texts; mrkdwn escaping
    (`mrkdwn_problem`) when `strict_mrkdwn`.
    """
    if not isinstance(blocks, list) or not all(isinstance(b, dict) for b in blocks):
        return ["invalid_blocks_format"]
    checker = _BlockChecker(strict_mrkdwn=strict_mrkdwn, action_id_scope=action_id_scope)
    return checker.check(blocks, pointer, limit)


# --- request parsing --------------------------------------------------------------------------


def _multipart(body: bytes, content_type: str) -> tuple[dict[str, str], dict[str, bytes]]:
    """Plain fields and files (by part name) of a multipart/form-data body."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields: dict[str, str] = {}
    files: dict[str, bytes] = {}
    if not message.is_multipart():
        raise ValueError("a multipart body without parts")
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition")
        if name is None:
            continue
        payload = part.get_payload(decode=True) or b""
        if part.get_filename() is not None:
            files[str(name)] = payload
        else:
            fields[str(name)] = payload.decode("utf-8", "replace")
    return fields, files


def _decode_params(raw: dict[str, Any]) -> dict[str, Any]:
    params = dict(raw)
    for key in JSON_PARAMS & params.keys():
        if isinstance(params[key], str) and params[key].strip():
            with contextlib.suppress(ValueError):
                params[key] = json.loads(params[key])
    return params


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1")
    return bool(value)


def _text_of(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


# --- the fake ---------------------------------------------------------------------------------


class FakeSlack:
    """A loopback stand-in for https://slack.com/api/, response_url hooks and Socket Mode."""

    def __init__(
        self,
        *,
        token: str = "xoxb-test-token",  # noqa: S107 - made-up tokens for the fake
        app_token: str = "xapp-test-token",  # noqa: S107
        team_id: str = "T0001",
        enforce_limits: bool = True,
    ) -> None:
        self.token = token
        self.app_token = app_token
        self.team_id = team_id
        self.enforce_limits = enforce_limits
        self.team_name = "Lab"
        self.team_domain = "lab"
        self.bot_user_id = "U0BOT"
        self.bot_id = "B0BOT"
        self.bot_name = "paper_surfer"
        self.app_id = "A0APP"
        self.tolerance = 0.05  # seconds the 1 s per-channel window is shortened by
        self.strict_mrkdwn = True  # refuse unescaped & and < in mrkdwn text objects
        self.strict_text = False  # ... and in the top-level text of a message
        self.action_id_scope = "message"  # or "block", Slack's documented rule
        self.calls: list[Call] = []
        self.response_calls: list[Call] = []  # POSTs to response URLs (method = the key)
        self.errors: list[str] = []  # the fake's own bugs (answered 500) and what it cannot do
        self.home_views: dict[str, dict[str, Any]] = {}
        self.uploads: list[dict[str, Any]] = []
        self.socket_messages: list[Any] = []  # what socket clients sent besides acks
        self.accepted: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._users: dict[str, dict[str, Any]] = {}
        self._channels: dict[str, _Channel] = {}
        self._dms: dict[str, str] = {}  # user id -> DM channel id
        self._posted: list[tuple[str, str]] = []  # (channel id, ts), in posting order
        self._last_post: dict[str, float] = {}
        self._last_us = 0
        self._responses: dict[str, list[dict[str, Any]]] = {}
        self._response_keys: dict[str, str] = {}  # path token -> key
        self._pending_uploads: dict[str, _Upload] = {}
        self._upload_paths: dict[str, str] = {}  # path token -> file id
        self._view_hashes: dict[str, str] = {}
        self._file_ids = itertools.count(1)
        self._view_ids = itertools.count(1)
        self._faults: list[_Fault] = []
        self._revoked: str | None = None
        self._tickets: set[str] = set()
        self._sockets: list[web.WebSocketResponse] = []
        self._sockets_opened = 0
        self._envelopes: dict[str, dict[str, Any]] = {}
        self._acks: dict[str, dict[str, Any]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._stopping: asyncio.Event | None = None
        self._port = 0
        self._add_user(self.bot_user_id, self.bot_name, self.team_id, is_bot=True)

    # --- lifecycle --------------------------------------------------------------------------

    def __enter__(self) -> FakeSlack:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        """Serve on 127.0.0.1, a free port, from an event loop in a daemon thread."""
        if self._thread is not None:
            return
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._setup(sock))
            except BaseException as exc:  # reported to start()
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
                for task in pending:
                    task.cancel()
                if pending:
                    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=run, name="FakeSlack", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure:
            self._thread.join(5)
            self._thread = self._loop = None
            sock.close()
            raise RuntimeError("FakeSlack could not start") from failure[0]

    async def _setup(self, sock: socket.socket) -> None:
        self._stopping = asyncio.Event()
        app = web.Application(client_max_size=200 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()

    def stop(self) -> None:
        """Close socket connections, end slow answers, free the port, end the thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        future = asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
        with contextlib.suppress(Exception):
            future.result(timeout=15)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        self._loop = self._thread = None
        with self._changed:
            self._changed.notify_all()

    async def _shutdown(self) -> None:
        if self._stopping is not None:
            self._stopping.set()
        with self._lock:
            sockets = list(self._sockets)
        for ws in sockets:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(code=WSCloseCode.GOING_AWAY), 2)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        """http://127.0.0.1:PORT/ - the root of everything the fake serves."""
        if self._thread is None:
            raise RuntimeError("FakeSlack is not running; use it as a context manager")
        return f"http://127.0.0.1:{self._port}/"

    @property
    def api_url(self) -> str:
        """http://127.0.0.1:PORT/api/ - AsyncWebClient's base_url (SLACK_API_URL)."""
        return self.url + "api/"

    def response_url(self, key: str = "") -> str:
        """A response_url on the fake (like https://hooks.slack.com/commands/T../../..); what is
        POSTed to it is kept under `key` (see `responses`)."""
        token = hashlib.sha256(f"response:{key}".encode()).hexdigest()[:24]
        with self._lock:
            self._response_keys[token] = key
            self._responses.setdefault(key, [])
        return f"{self.url}commands/{self.team_id}/{token}"

    # --- the world: users and channels ------------------------------------------------------

    def _add_user(
        self,
        user_id: str,
        name: str,
        team_id: str,
        *,
        is_bot: bool = False,
        locale: str = "en-US",
        tz: str = "Europe/London",
        is_admin: bool = False,
        is_owner: bool = False,
    ) -> None:
        self._users[user_id] = {
            "is_admin": is_admin or is_owner,  # Slack: every owner is an admin too
            "is_owner": is_owner,
            "id": user_id,
            "team_id": team_id,
            "name": name,
            "real_name": name.replace("_", " ").title(),
            "is_bot": is_bot,
            "locale": locale,
            "tz": tz,
        }

    def add_user(
        self,
        user_id: str,
        *,
        name: str = "ada",
        team_id: str | None = None,
        locale: str = "en-US",
        tz: str = "Europe/London",
        is_admin: bool = False,
        is_owner: bool = False,
    ) -> None:
        """A workspace member; conversations.open(users=user_id) opens their DM "D...".

        `locale` is what users.info answers with include_locale=true; `is_admin` and `is_owner`
        are its workspace roles (an owner is an admin too, as in Slack).
        """
        with self._changed:
            self._add_user(
                user_id,
                name,
                team_id or self.team_id,
                locale=locale,
                tz=tz,
                is_admin=is_admin,
                is_owner=is_owner,
            )
            self._changed.notify_all()

    def add_channel(
        self,
        channel_id: str,
        *,
        name: str = "general",
        team_id: str | None = None,
        is_im: bool = False,
        user: str | None = None,
        member: bool = True,
        archived: bool = False,
        creator: str = "U0ADMIN",
    ) -> None:
        """A channel (or, with is_im and user, the bot's DM with that user).

        `member` says whether the bot is in it (posting needs that); `creator` is the user who
        made it (conversations.info's `creator`); an IM's user is added as a workspace member if
        the fake does not know them yet.
        """
        if is_im and not user:
            raise ValueError("an IM needs the user it is with (user=...)")
        with self._changed:
            if user and user not in self._users:
                self._add_user(user, "ada" if is_im else user.lower(), team_id or self.team_id)
            channel = _Channel(
                channel_id,
                name,
                team_id or self.team_id,
                is_im=is_im,
                user=user,
                member=member or is_im,
                archived=archived,
                creator=creator,
            )
            self._channels[channel_id] = channel
            if is_im and user:
                self._dms[user] = channel_id
            self._changed.notify_all()

    def _known_channel(self, channel_id: str) -> _Channel:
        channel = self._channels.get(channel_id)
        if channel is None:
            raise ValueError(f"no channel {channel_id}; add_channel first")
        return channel

    def archive(self, channel_id: str) -> None:
        """The channel was archived: posts answer "is_archived"."""
        with self._changed:
            self._known_channel(channel_id).archived = True

    def unarchive(self, channel_id: str) -> None:
        """Undo archive()."""
        with self._changed:
            self._known_channel(channel_id).archived = False

    def kick(self, channel_id: str) -> None:
        """The bot was removed from the channel: posts answer "not_in_channel"."""
        with self._changed:
            channel = self._known_channel(channel_id)
            if channel.is_im:
                raise ValueError("a bot cannot be kicked from a DM")
            channel.member = False

    def invite(self, channel_id: str) -> None:
        """The bot was (re)added to the channel."""
        with self._changed:
            self._known_channel(channel_id).member = True

    def delete(self, channel_id: str) -> None:
        """The channel was deleted: every call naming it answers "channel_not_found"."""
        with self._changed:
            self._known_channel(channel_id).deleted = True

    def revoke(self, *, error: str = "invalid_auth") -> None:
        """The tokens (bot and app) become invalid: every call answers `error`."""
        with self._changed:
            self._revoked = error
            self._changed.notify_all()

    def restore(self) -> None:
        """The tokens work again (an administrator reinstalled the app)."""
        with self._changed:
            self._revoked = None
            self._changed.notify_all()

    # --- what the app did -------------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        """Recorded Web API calls to one method."""
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def posted(self, channel_id: str) -> list[dict[str, Any]]:
        """Messages the app posted to the channel, in order, as they are now (updated; deleted
        ones left out): ts, channel, text, blocks (as sent, [] when none), thread_ts,
        reply_broadcast (a thread reply also shown in the channel), unfurl_links,
        unfurl_media, ephemeral (and user, the one who sees it), files (a
        completed upload shared there), edited, and message (the Slack message answered)."""
        with self._lock:
            channel = self._channels.get(channel_id)
            if channel is None:
                return []
            return [copy.deepcopy(m) for m in channel.messages if not m.get("deleted")]

    def all_posted(self) -> list[dict[str, Any]]:
        """Every message posted, in every channel, in posting order (deleted ones too)."""
        with self._lock:
            out = []
            for channel_id, ts in self._posted:
                for message in self._channels[channel_id].messages:
                    if message["ts"] == ts:
                        out.append(copy.deepcopy(message))
            return out

    def responses(self, key: str = "") -> list[dict[str, Any]]:
        """The JSON bodies accepted at response_url(key), in order."""
        with self._lock:
            return copy.deepcopy(self._responses.get(key, []))

    # --- faults, waiting, reset -------------------------------------------------------------

    def inject(self, method: str, kind: str, *, times: int = 1, **options: Any) -> None:
        """Queue a fault for the next `times` calls of `method` (FIFO).

        `method` is a Web API method ("chat.postMessage"), "*" (any Web API method),
        "response_url" or "upload" (the file upload URL). Kinds and their options:
          "ratelimited": HTTP 429, Retry-After: retry_after (default 1), body
              {"ok": false, "error": "ratelimited"} (response_url / upload: the text
              "ratelimited").
          "status": HTTP `status` (default 500) with an HTML error page as Slack's edge sends.
          "error": {"ok": false, "error": error} with HTTP 200, plus `extra` fields if given
              (response_url: HTTP `status`, default 404, with the error as text).
          "slow": wait `seconds`, then answer; deliver_first=True handles the call before the
              wait (posted, but the answer comes late).
          "disconnect": hang up without answering; deliver=True handles the call first (the
              message is posted, the answer lost). slack_sdk retries a dropped connection once
              by default (AsyncConnectionErrorRetryHandler).
        Any fault takes channel=...: then it only hits calls naming that channel; and
        after=N: the first N calls it would hit pass untouched (a 500 after N messages of a long
        list). While it lets calls pass, the faults queued after it wait their turn (FIFO).
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {sorted(FAULT_KINDS)}")
        if times < 1:
            raise ValueError("times must be at least 1")
        if kind == "slow" and "seconds" not in options:
            raise ValueError("a 'slow' fault needs seconds=...")
        if kind == "error" and "error" not in options:
            raise ValueError("an 'error' fault needs error=... (e.g. 'fatal_error')")
        with self._lock:
            self._faults.append(_Fault(method.lower(), kind, times, dict(options)))

    def _take_fault(self, method: str, params: dict[str, Any]) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.method != method.lower() and not (
                    fault.method == "*" and method not in ("response_url", "upload")
                ):
                    continue
                wanted = fault.options.get("channel")
                if wanted is not None and wanted not in (
                    params.get("channel"),
                    params.get("channel_id"),
                ):
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
        """Block until predicate() is true (checked on every request, answer and socket
        message); False on timeout. From async code use wait_for_async."""
        with self._changed:
            return self._changed.wait_for(predicate, timeout)

    async def wait_for_async(self, predicate: Callable[[], bool], timeout: float = 10) -> bool:
        """wait_for in a worker thread, so the caller's event loop keeps running."""
        return await asyncio.to_thread(self.wait_for, predicate, timeout)

    def reset(self) -> None:
        """Forget recorded calls, response calls, queued faults, rate windows and counters.

        Users, channels, posted messages, responses, views and uploads stay.
        """
        with self._changed:
            self.calls.clear()
            self.response_calls.clear()
            self._faults.clear()
            self._last_post.clear()
            self.accepted.clear()
            self.throttled.clear()
            self.refused.clear()
            self._changed.notify_all()

    # --- Socket Mode ------------------------------------------------------------------------

    @property
    def socket_connections(self) -> int:
        """Socket Mode connections open now."""
        with self._lock:
            return len([ws for ws in self._sockets if not ws.closed])

    def wait_for_socket(self, timeout: float = 10, *, connections: int = 1) -> bool:
        """Block until `connections` Socket Mode connections were opened in all (each greeted
        with "hello") and one is open; False on timeout."""
        return self.wait_for(
            lambda: self._sockets_opened >= connections and self.socket_connections > 0,
            timeout,
        )

    async def wait_for_socket_async(self, timeout: float = 10, *, connections: int = 1) -> bool:
        """wait_for_socket without blocking the caller's event loop."""
        return await asyncio.to_thread(self.wait_for_socket, timeout, connections=connections)

    def socket_acks(self, envelope_id: str) -> dict[str, Any] | None:
        """The client's ack of an envelope as sent ({"envelope_id"[, "payload"]}), or None."""
        with self._lock:
            ack = self._acks.get(envelope_id)
            return copy.deepcopy(ack) if ack is not None else None

    def socket_envelopes(self) -> list[dict[str, Any]]:
        """Envelopes sent, in order: envelope (as sent), sent_at, acked_at (monotonic or None),
        ack."""
        with self._lock:
            return copy.deepcopy(list(self._envelopes.values()))

    def send_socket_event(
        self,
        envelope_type: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool | None = None,
        retry_attempt: int = 0,
        retry_reason: str = "",
    ) -> str:
        """Push an envelope to the newest Socket Mode connection; returns its envelope_id.

        `envelope_type` is "slash_commands", "interactive" or "events_api".
        accepts_response_payload defaults as Slack sets it: true for slash commands and for
        block_suggestion / view_submission interactions, false otherwise. Returns once sent;
        the ack arrives later (`socket_acks`, `wait_for`).
        """
        return self._run(
            self._send_envelope(
                envelope_type, payload, accepts_response_payload, retry_attempt, retry_reason
            )
        )

    async def send_socket_event_async(
        self,
        envelope_type: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool | None = None,
        retry_attempt: int = 0,
        retry_reason: str = "",
    ) -> str:
        """send_socket_event without blocking the caller's event loop."""
        return await self._run_async(
            self._send_envelope(
                envelope_type, payload, accepts_response_payload, retry_attempt, retry_reason
            )
        )

    def disconnect_socket(self, reason: str = "refresh_requested") -> None:
        """Send Slack's {"type": "disconnect", "reason": ...} to every open connection."""
        self._run(self._send_disconnect(reason))

    async def disconnect_socket_async(self, reason: str = "refresh_requested") -> None:
        """disconnect_socket without blocking the caller's event loop."""
        await self._run_async(self._send_disconnect(reason))

    def _run(self, coroutine: Any) -> Any:
        loop = self._loop
        if loop is None:
            coroutine.close()
            raise RuntimeError("FakeSlack is not running")
        if threading.current_thread() is self._thread:
            coroutine.close()
            raise RuntimeError("call the *_async variant from the fake's own loop")
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout=10)

    async def _run_async(self, coroutine: Any) -> Any:
        loop = self._loop
        if loop is None:
            coroutine.close()
            raise RuntimeError("FakeSlack is not running")
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, loop))

    async def _send_envelope(
        self,
        envelope_type: str,
        payload: dict[str, Any],
        accepts: bool | None,
        retry_attempt: int,
        retry_reason: str,
    ) -> str:
        if envelope_type not in ("slash_commands", "interactive", "events_api"):
            raise ValueError(f"unknown envelope type {envelope_type!r}")
        if accepts is None:
            accepts = envelope_type == "slash_commands" or (
                envelope_type == "interactive"
                and payload.get("type") in ("block_suggestion", "view_submission")
            )
        envelope: dict[str, Any] = {
            "envelope_id": str(uuid.uuid4()),
            "payload": copy.deepcopy(payload),
            "type": envelope_type,
            "accepts_response_payload": accepts,
        }
        if envelope_type == "events_api":
            envelope["retry_attempt"] = retry_attempt
            envelope["retry_reason"] = retry_reason
        with self._changed:
            open_sockets = [ws for ws in self._sockets if not ws.closed]
            if not open_sockets:
                raise RuntimeError("no Socket Mode client is connected (see wait_for_socket)")
            ws = open_sockets[-1]
            self._envelopes[envelope["envelope_id"]] = {
                "envelope": copy.deepcopy(envelope),
                "sent_at": time.monotonic(),
                "acked_at": None,
                "ack": None,
            }
        await ws.send_str(json.dumps(envelope, ensure_ascii=False))
        return str(envelope["envelope_id"])

    async def _send_disconnect(self, reason: str) -> None:
        with self._lock:
            sockets = [ws for ws in self._sockets if not ws.closed]
        message = {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-fake"}}
        for ws in sockets:
            with contextlib.suppress(ConnectionError):
                await ws.send_str(json.dumps(message))

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        with self._lock:
            known = request.query.get("ticket") in self._tickets
        if not known:  # invented: Slack's answer to a made-up ticket is unknown
            return web.Response(status=401, text="invalid_ticket")
        ws = web.WebSocketResponse(timeout=1.0, autoping=True)
        await ws.prepare(request)
        with self._changed:
            self._sockets.append(ws)
            count = len([s for s in self._sockets if not s.closed])
        hello = {
            "type": "hello",
            "num_connections": count,
            "debug_info": {
                "host": "applink-fake",
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": self.app_id},
        }
        try:
            await ws.send_str(json.dumps(hello))
            with self._changed:
                self._sockets_opened += 1
                self._changed.notify_all()
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self._socket_text(message.data)
                elif message.type == WSMsgType.BINARY:
                    with self._changed:
                        self.socket_messages.append(message.data)
                        self._changed.notify_all()
        finally:
            with self._changed:
                if ws in self._sockets:
                    self._sockets.remove(ws)
                self._changed.notify_all()
        return ws

    def _socket_text(self, data: str) -> None:
        try:
            decoded: Any = json.loads(data)
        except ValueError:
            decoded = data
        with self._changed:
            envelope_id = decoded.get("envelope_id") if isinstance(decoded, dict) else None
            record = self._envelopes.get(envelope_id) if isinstance(envelope_id, str) else None
            if record is not None and record["ack"] is None:
                record["ack"] = decoded
                record["acked_at"] = time.monotonic()
                self._acks[str(envelope_id)] = decoded
            else:
                self.socket_messages.append(decoded)
            self._changed.notify_all()

    # --- HTTP -------------------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        at = time.monotonic()
        try:
            path = request.path
            if path.startswith("/api/"):
                return await self._web_api(request, at)
            if path.startswith(f"/commands/{self.team_id}/"):
                return await self._response_url(request, at)
            if path.startswith("/upload/v1/"):
                return await self._upload(request, at)
            if path == "/socket":
                return await self._socket(request)
            return web.Response(status=404, text="Not Found", content_type="text/html")
        except (ConnectionError, asyncio.CancelledError):
            raise
        except Exception:
            with self._lock:
                self.errors.append(traceback.format_exc())
            return self._json(None, 500, {"ok": False, "error": "fatal_error"})
        finally:
            with self._changed:
                self._changed.notify_all()

    def _json(
        self,
        record: Call | None,
        status: int,
        payload: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> web.Response:
        if record is not None:
            with self._changed:  # before the client can see the answer
                record.status = status
                record.response = copy.deepcopy(payload)
                self._changed.notify_all()
        all_headers = {
            "x-oauth-scopes": BOT_SCOPES,
            "x-accepted-oauth-scopes": "",
            "x-slack-req-id": uuid.uuid4().hex,
            "access-control-allow-origin": "*",
        }
        all_headers.update(headers or {})
        return web.Response(
            status=status,
            body=json.dumps(payload, ensure_ascii=False).encode(),
            content_type=JSON_CONTENT,
            charset="utf-8",
            headers=all_headers,
        )

    def _error_page(
        self, record: Call | None, status: int, options: dict[str, Any]
    ) -> web.Response:
        if record is not None:
            with self._changed:
                record.status = status
                record.response = {}
                self._changed.notify_all()
        phrase = ERROR_PAGES.get(status, "Error")
        page = options.get("body") or (
            f"<html>\r\n<head><title>{status} {phrase}</title></head>\r\n<body>\r\n"
            f"<center><h1>{status} {phrase}</h1></center>\r\n</body>\r\n</html>\r\n"
        )
        return web.Response(status=status, text=page, content_type="text/html")

    def _hang_up(self, request: web.Request, record: Call | None) -> web.Response:
        if record is not None:
            with self._changed:
                record.status = 0
                self._changed.notify_all()
        if request.transport is not None:
            request.transport.close()
        return web.Response(status=204)  # never reaches the client

    async def _pause(self, seconds: float) -> bool:
        """Sleep; True when the fake is stopping meanwhile."""
        assert self._stopping is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
        return self._stopping.is_set()

    async def _read(
        self, request: web.Request
    ) -> tuple[dict[str, Any], str | None, dict[str, bytes], str | None]:
        """(params, the token given as a parameter, files, a body error)."""
        body = await request.read()
        raw: dict[str, Any] = dict(request.query)
        files: dict[str, bytes] = {}
        error = None
        content_type = request.headers.get("Content-Type", "")
        json_body: dict[str, Any] = {}
        try:
            if request.content_type == JSON_CONTENT:
                decoded = json.loads(body.decode("utf-8")) if body.strip() else {}
                if not isinstance(decoded, dict):
                    raise ValueError("not an object")
                json_body = decoded
            elif request.content_type == "multipart/form-data":
                fields, files = _multipart(body, content_type)
                raw.update(fields)
            elif body:
                raw.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        except (ValueError, UnicodeDecodeError):
            error = "invalid_json" if request.content_type == JSON_CONTENT else "invalid_form_data"
        token = raw.pop("token", None)
        merged = {**raw, **{k: v for k, v in json_body.items() if k != "token"}}
        return _decode_params(merged), token, files, error

    async def _web_api(self, request: web.Request, at: float) -> web.StreamResponse:
        method = request.path[len("/api/") :].strip("/")
        params, token_param, files, body_error = await self._read(request)
        record = Call(method, params, CIMultiDict(request.headers), at, http_method=request.method)
        with self._changed:
            self.calls.append(record)
            self._changed.notify_all()
        if method not in IMPLEMENTED:
            if method in NOT_IMPLEMENTED:
                with self._lock:
                    self.errors.append(f"the fake does not implement {method}")
            return self._json(
                record, 200, {"ok": False, "error": "unknown_method", "req_method": method}
            )
        fault = self._take_fault(method, params)
        kind = fault.kind if fault else None
        options = fault.options if fault else {}
        if kind == "ratelimited":
            self._count(method, params, self.throttled)
            seconds = max(1, int(options.get("retry_after", 1)))
            return self._json(
                record,
                429,
                {"ok": False, "error": "ratelimited"},
                {"Retry-After": str(seconds)},
            )
        if kind == "status":
            return self._error_page(record, int(options.get("status", 500)), options)
        if kind == "error":
            payload = {"ok": False, "error": str(options["error"]), **options.get("extra", {})}
            return self._json(record, 200, payload)
        if kind == "disconnect":
            if options.get("deliver"):
                self._handle(method, params, files, request, token_param, body_error)
            return self._hang_up(request, record)
        late = kind == "slow" and bool(options.get("deliver_first"))
        if kind == "slow" and not late and await self._pause(float(options["seconds"])):
            return self._hang_up(request, record)
        status, payload, headers = self._handle(
            method, params, files, request, token_param, body_error
        )
        if late and await self._pause(float(options["seconds"])):
            return self._hang_up(request, record)
        return self._json(record, status, payload, headers)

    def _handle(
        self,
        method: str,
        params: dict[str, Any],
        files: dict[str, bytes],
        request: web.Request,
        token_param: str | None,
        body_error: str | None,
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        authorization = request.headers.get("Authorization", "")
        token = token_param
        if authorization.lower().startswith("bearer "):
            token = authorization[len("bearer ") :].strip()
        handler = getattr(self, "_api_" + method.replace(".", "_"))
        try:
            with self._changed:
                self._authorize(method, token)
                if body_error is not None:
                    raise _Refusal(body_error)
                result = handler(params)
                self._changed.notify_all()
        except _Refusal as refusal:
            if refusal.status == 429:
                self._count(method, params, self.throttled)
            else:
                self._count(method, params, self.refused)
            return refusal.status, refusal.payload(), refusal.headers
        return 200, {"ok": True, **result}, {}

    def _authorize(self, method: str, token: str | None) -> None:
        if not token:
            raise _Refusal("not_authed")
        if token not in (self.token, self.app_token):
            raise _Refusal("invalid_auth")
        if self._revoked is not None:
            raise _Refusal(self._revoked)
        wanted = self.app_token if method == "apps.connections.open" else self.token
        if token != wanted:
            raise _Refusal("not_allowed_token_type")

    def _count(self, method: str, params: dict[str, Any], counter: Counter[str]) -> None:
        if method in ("chat.postMessage", "chat.postEphemeral"):
            channel = params.get("channel")
            if isinstance(channel, str):
                with self._lock:
                    counter[channel] += 1

    async def _response_url(self, request: web.Request, at: float) -> web.StreamResponse:
        token = request.path.rsplit("/", 1)[-1]
        body = await request.read()
        with self._lock:
            key = self._response_keys.get(token)
        label = key if key is not None else token
        try:
            text = body.decode("utf-8")
            if request.content_type == JSON_CONTENT or text.lstrip().startswith("{"):
                decoded: Any = json.loads(text)
            else:
                decoded = json.loads(dict(parse_qsl(text)).get("payload", ""))
        except (ValueError, UnicodeDecodeError):
            decoded = None
        params = decoded if isinstance(decoded, dict) else {"_raw": body.decode("latin-1")}
        record = Call(label, params, CIMultiDict(request.headers), at, http_method=request.method)
        with self._changed:
            self.response_calls.append(record)
            self._changed.notify_all()

        def answer(status: int, text: str, **extra: Any) -> web.Response:
            with self._changed:
                record.status = status
                record.response = {"body": text, **extra}
                self._changed.notify_all()
            return web.Response(status=status, text=text, content_type="text/html")

        fault = self._take_fault("response_url", {})
        kind = fault.kind if fault else None
        options = fault.options if fault else {}
        if kind == "ratelimited":
            seconds = str(max(1, int(options.get("retry_after", 1))))
            with self._changed:
                record.status, record.response = 429, {"body": "ratelimited"}
            return web.Response(status=429, text="ratelimited", headers={"Retry-After": seconds})
        if kind == "status":
            return self._error_page(record, int(options.get("status", 500)), options)
        if kind == "error":
            return answer(int(options.get("status", 404)), str(options["error"]))
        if kind == "disconnect":
            return self._hang_up(request, record)
        if kind == "slow" and await self._pause(float(options["seconds"])):
            return self._hang_up(request, record)

        if request.method != "POST" or key is None:
            return answer(404, "no_service")
        if not isinstance(decoded, dict):
            return answer(400, "invalid_payload")
        with self._changed:
            if self.enforce_limits and len(self._responses[key]) >= RESPONSE_URL_USES:
                return answer(404, "used_url")
            if not _as_bool(decoded.get("delete_original", False)):
                blocks = decoded.get("blocks")
                has_text = isinstance(decoded.get("text"), str) and decoded["text"].strip()
                if not has_text and not blocks and not decoded.get("attachments"):
                    return answer(400, "no_text")
                if blocks is not None:
                    problems = self._block_errors(blocks, "/blocks", MESSAGE_BLOCKS)
                    if problems:
                        return answer(400, "invalid_blocks", errors=problems)
                if decoded.get("response_type") not in (None, "ephemeral", "in_channel"):
                    return answer(400, "invalid_response_type")  # invented wording
            self._responses[key].append(copy.deepcopy(decoded))
        return answer(200, "ok")

    async def _upload(self, request: web.Request, at: float) -> web.StreamResponse:
        token = request.path.rsplit("/", 1)[-1]
        body = await request.read()
        fault = self._take_fault("upload", {})
        kind = fault.kind if fault else None
        options = fault.options if fault else {}
        if kind == "ratelimited":
            seconds = str(max(1, int(options.get("retry_after", 1))))
            return web.Response(status=429, text="ratelimited", headers={"Retry-After": seconds})
        if kind == "status":
            return self._error_page(None, int(options.get("status", 500)), options)
        if kind == "error":
            return web.Response(status=int(options.get("status", 400)), text=options["error"])
        if kind == "disconnect":
            return self._hang_up(request, None)
        if kind == "slow" and await self._pause(float(options["seconds"])):
            return self._hang_up(request, None)
        data = body
        if request.content_type == "multipart/form-data":
            _, files = _multipart(body, request.headers.get("Content-Type", ""))
            data = next(iter(files.values()), b"")
        with self._changed:
            file_id = self._upload_paths.get(token)
            upload = self._pending_uploads.get(file_id) if file_id else None
            if upload is None or request.method != "POST":
                return web.Response(status=404, text="Not Found", content_type="text/plain")
            upload.data = data
            self._changed.notify_all()
        return web.Response(status=200, text=f"OK - {len(data)}", content_type="text/plain")

    # --- helpers for the methods ------------------------------------------------------------

    def _block_errors(self, blocks: Any, pointer: str, limit: int) -> list[str]:
        return validate_blocks(
            blocks,
            pointer=pointer,
            limit=limit,
            strict_mrkdwn=self.strict_mrkdwn,
            action_id_scope=self.action_id_scope,
        )

    def _next_ts(self) -> str:
        now = int(time.time() * 1_000_000)
        self._last_us = max(now, self._last_us + 1)
        return f"{self._last_us // 1_000_000}.{self._last_us % 1_000_000:06d}"

    def _dm_for(self, user_id: str) -> _Channel:
        existing = self._dms.get(user_id)
        if existing is not None:
            return self._channels[existing]
        channel_id = "D" + user_id[1:]
        while channel_id in self._channels:
            channel_id += "X"
        user = self._users[user_id]
        channel = _Channel(channel_id, "", user["team_id"], is_im=True, user=user_id)
        self._channels[channel_id] = channel
        self._dms[user_id] = channel_id
        return channel

    def _resolve(self, value: Any) -> _Channel:
        """The channel named by an id, a "#name" / name, or a user id (their DM)."""
        if not isinstance(value, str) or not value:
            raise _Refusal("channel_not_found")
        channel = self._channels.get(value)
        if channel is None and value[0] in "UW" and value in self._users:
            channel = self._dm_for(value)
        if channel is None:
            name = value.removeprefix("#")
            channel = next(
                (
                    c
                    for c in self._channels.values()
                    if not c.is_im and c.name == name and not c.deleted
                ),
                None,
            )
        if channel is None or channel.deleted:
            raise _Refusal("channel_not_found")
        return channel

    def _postable(self, value: Any) -> _Channel:
        channel = self._resolve(value)
        if channel.archived:
            raise _Refusal("is_archived")
        if not channel.member:
            raise _Refusal("not_in_channel")
        return channel

    def _content(self, p: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
        """(text, blocks) of a message, checked: no_text, msg_too_long, invalid_blocks."""
        text = _text_of(p.get("text")) or ""
        blocks = p.get("blocks")
        markdown = _text_of(p.get("markdown_text")) or ""
        if isinstance(blocks, str):
            raise _Refusal("invalid_blocks_format")
        if not text.strip() and not blocks and not markdown.strip() and not p.get("attachments"):
            raise _Refusal("no_text")
        if len(text) > TEXT_LIMIT or len(markdown) > 12_000:
            raise _Refusal("msg_too_long")
        if blocks is not None and blocks != []:
            problems = self._block_errors(blocks, "/blocks", MESSAGE_BLOCKS)
            if problems == ["invalid_blocks_format"]:
                raise _Refusal("invalid_blocks_format")
            if problems:
                raise _invalid_blocks(problems)
        if self.strict_text and text and _as_bool(p.get("mrkdwn", True)):
            problem = mrkdwn_problem(text)
            if problem:
                raise _invalid_arguments([f"{problem} [json-pointer:/text]"])
        return text, copy.deepcopy(blocks) if isinstance(blocks, list) else []

    def _admit(self, channel: _Channel) -> None:
        """The 1 message per second per channel rule: raise 429 or count the message in."""
        now = time.monotonic()
        if self.enforce_limits:
            window = 1.0 - self.tolerance
            last = self._last_post.get(channel.id)
            if last is not None and now - last < window:
                seconds = max(1, math.ceil(last + window - now))
                raise _Refusal("ratelimited", status=429, headers={"Retry-After": str(seconds)})
        self._last_post[channel.id] = now

    def _message_json(
        self, ts: str, text: str, blocks: list[dict[str, Any]], p: dict[str, Any]
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "user": self.bot_user_id,
            "type": "message",
            "ts": ts,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "text": text,
            "team": self.team_id,
            "bot_profile": {
                "id": self.bot_id,
                "app_id": self.app_id,
                "name": "Paper Surfer",
                "deleted": False,
                "team_id": self.team_id,
            },
        }
        if blocks:
            message["blocks"] = fill_block_ids(blocks, ts)
        if p.get("thread_ts"):
            message["thread_ts"] = str(p["thread_ts"])
            if _as_bool(p.get("reply_broadcast", False)):
                message["subtype"] = "thread_broadcast"  # also shown in the channel
        return message

    def _store(
        self,
        channel: _Channel,
        ts: str,
        text: str,
        blocks: list[dict[str, Any]],
        p: dict[str, Any],
        **extra: Any,
    ) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "ts": ts,
            "channel": channel.id,
            "text": text,
            "blocks": blocks,
            "thread_ts": _text_of(p.get("thread_ts")),
            # Slack ignores reply_broadcast on a message that is not a thread reply.
            "reply_broadcast": bool(p.get("thread_ts"))
            and _as_bool(p.get("reply_broadcast", False)),
            "unfurl_links": _as_bool(p["unfurl_links"]) if "unfurl_links" in p else None,
            "unfurl_media": _as_bool(p["unfurl_media"]) if "unfurl_media" in p else None,
            "ephemeral": False,
            "user": None,
            "files": [],
            "edited": False,
            "message": self._message_json(ts, text, blocks, p),
        }
        entry.update(extra)
        channel.messages.append(entry)
        self._posted.append((channel.id, ts))
        self.accepted[channel.id] += 1
        return entry

    def _channel_json(self, channel: _Channel) -> dict[str, Any]:
        if channel.is_im:
            return {
                "id": channel.id,
                "created": channel.created,
                "is_archived": False,
                "is_im": True,
                "is_org_shared": False,
                "context_team_id": channel.team_id,
                "updated": channel.created * 1000,
                "user": channel.user,
                "is_user_deleted": False,
                "priority": 0,
            }
        return {
            "id": channel.id,
            "name": channel.name,
            "is_channel": True,
            "is_group": False,
            "is_im": False,
            "is_mpim": False,
            "is_private": False,
            "created": channel.created,
            "is_archived": channel.archived,
            "is_general": channel.name == "general",
            "unlinked": 0,
            "name_normalized": channel.name,
            "is_shared": False,
            "is_org_shared": False,
            "is_pending_ext_shared": False,
            "pending_shared": [],
            "context_team_id": channel.team_id,
            "updated": channel.created * 1000,
            "parent_conversation": None,
            "creator": channel.creator,
            "is_ext_shared": False,
            "shared_team_ids": [channel.team_id],
            "pending_connected_team_ids": [],
            "is_member": channel.member,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
            "previous_names": [],
        }

    def _thread_parent(self, channel: _Channel, ts: Any) -> dict[str, Any]:
        """The message a reply's thread_ts names: one still in the channel, or Slack answers
        "thread_not_found" (as it does once the parent was deleted: slackapi/bolt-js#2307)."""
        for entry in channel.messages:
            if entry["ts"] == str(ts) and not entry.get("deleted") and not entry["ephemeral"]:
                return entry
        raise _Refusal("thread_not_found")

    def _bot_message(self, channel: _Channel, ts: Any) -> dict[str, Any]:
        for entry in channel.messages:
            if entry["ts"] == ts and not entry.get("deleted") and not entry["ephemeral"]:
                return entry
        raise _Refusal("message_not_found")

    # --- the methods ------------------------------------------------------------------------

    def _api_auth_test(self, p: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": f"https://{self.team_domain}.slack.com/",
            "team": self.team_name,
            "user": self.bot_name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _api_chat_postMessage(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._postable(p.get("channel"))
        text, blocks = self._content(p)
        if p.get("thread_ts"):
            self._thread_parent(channel, p["thread_ts"])
        self._admit(channel)
        entry = self._store(channel, self._next_ts(), text, blocks, p)
        return {
            "channel": channel.id,
            "ts": entry["ts"],
            "message": copy.deepcopy(entry["message"]),
        }

    def _api_chat_postEphemeral(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._postable(p.get("channel"))
        user = p.get("user")
        if (
            not isinstance(user, str)
            or user not in self._users
            or (channel.is_im and user != channel.user)
        ):
            raise _Refusal("user_not_in_channel")
        text, blocks = self._content(p)
        entry = self._store(channel, self._next_ts(), text, blocks, p, ephemeral=True, user=user)
        return {"message_ts": entry["ts"]}

    def _api_chat_update(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve(p.get("channel"))
        entry = self._bot_message(channel, p.get("ts"))
        if channel.archived:
            raise _Refusal("is_archived")
        text, blocks = self._content(p)
        entry["text"] = text
        entry["blocks"] = blocks
        entry["edited"] = True
        entry["message"] = self._message_json(entry["ts"], text, blocks, p)
        entry["message"]["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        return {
            "channel": channel.id,
            "ts": entry["ts"],
            "text": text,
            "message": copy.deepcopy(entry["message"]),
        }

    def _api_chat_delete(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve(p.get("channel"))
        entry = self._bot_message(channel, p.get("ts"))
        entry["deleted"] = True
        return {"channel": channel.id, "ts": entry["ts"]}

    def _api_conversations_open(self, p: dict[str, Any]) -> dict[str, Any]:
        users = p.get("users")
        if p.get("channel"):
            channel = self._resolve(p["channel"])
            if not channel.is_im:
                raise _Refusal("channel_not_found")
            already = True
        else:
            if not isinstance(users, str) or not users.strip():
                raise _Refusal("users_list_not_supplied")
            wanted = [u.strip() for u in users.split(",") if u.strip()]
            if len(wanted) != 1:
                self.errors.append("the fake does not open multi-person DMs (conversations.open)")
                raise _Refusal("not_supported")
            if wanted[0] not in self._users:
                raise _Refusal("user_not_found")
            already = wanted[0] in self._dms
            channel = self._dm_for(wanted[0])
        if _as_bool(p.get("return_im", False)):
            body: dict[str, Any] = {"channel": self._channel_json(channel)}
        else:
            body = {"channel": {"id": channel.id}}
        if already:
            body = {"no_op": True, "already_open": True, **body}
        return body

    def _api_conversations_info(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve(p.get("channel"))
        return {"channel": self._channel_json(channel)}

    def _api_users_info(self, p: dict[str, Any]) -> dict[str, Any]:
        user = self._users.get(str(p.get("user") or ""))
        if user is None:
            raise _Refusal("user_not_found")
        info: dict[str, Any] = {
            "id": user["id"],
            "team_id": user["team_id"],
            "name": user["name"],
            "deleted": False,
            "color": "9f69e7",
            "real_name": user["real_name"],
            "tz": user["tz"],
            "tz_label": "Greenwich Mean Time",
            "tz_offset": 0,
            "profile": {
                "real_name": user["real_name"],
                "display_name": user["name"],
                "team": user["team_id"],
            },
            "is_admin": user["is_admin"],
            "is_owner": user["is_owner"],
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": user["is_bot"],
            "is_app_user": False,
            "updated": 1_700_000_000,
        }
        if user["is_bot"]:
            info["profile"]["bot_id"] = self.bot_id
        if _as_bool(p.get("include_locale", False)):
            info["locale"] = user["locale"]
        return {"user": info}

    def _api_views_publish(self, p: dict[str, Any]) -> dict[str, Any]:
        user_id = p.get("user_id")
        view = p.get("view")
        if not isinstance(user_id, str) or not user_id:
            raise _invalid_arguments(["missing required field: user_id [json-pointer:/user_id]"])
        if not isinstance(view, dict):
            raise _invalid_arguments(["must be an object [json-pointer:/view]"])
        if view.get("type") != "home":
            raise _invalid_arguments(["must be a valid enum value [json-pointer:/view/type]"])
        blocks = view.get("blocks")
        if not isinstance(blocks, list):
            raise _invalid_arguments(["missing required field: blocks [json-pointer:/view]"])
        problems = self._block_errors(blocks, "/view/blocks", VIEW_BLOCKS)
        if problems == ["invalid_blocks_format"]:
            raise _invalid_arguments(["must be an array of objects [json-pointer:/view/blocks]"])
        if problems:
            raise _invalid_arguments(problems)
        if user_id not in self._users:
            raise _Refusal("user_not_found")  # invented wording
        given_hash = p.get("hash")
        if given_hash and given_hash != self._view_hashes.get(user_id):
            raise _Refusal("hash_conflict")
        view_id = f"V{next(self._view_ids):010d}"
        new_hash = f"{int(time.time())}.{uuid.uuid4().hex[:8]}"
        self._view_hashes[user_id] = new_hash
        stored = copy.deepcopy(view)
        stored["id"] = view_id
        stored["hash"] = new_hash
        self.home_views[user_id] = stored
        answered = {
            "id": view_id,
            "team_id": self.team_id,
            "type": "home",
            "blocks": fill_block_ids(blocks, view_id),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": new_hash,
            "title": {"type": "plain_text", "text": "View Title", "emoji": True},
            "clear_on_close": False,
            "notify_on_close": False,
            "close": None,
            "submit": None,
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": self.app_id,
            "external_id": view.get("external_id", ""),
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }
        return {"view": answered}

    def _api_files_getUploadURLExternal(self, p: dict[str, Any]) -> dict[str, Any]:
        filename = p.get("filename")
        length = p.get("length")
        if not isinstance(filename, str) or not filename:
            raise _invalid_arguments(["missing required field: filename"])
        try:
            size = int(str(length))
        except ValueError:
            raise _invalid_arguments(["missing required field: length"]) from None
        file_id = f"F{next(self._file_ids):010d}"
        token = hashlib.sha256(f"upload:{file_id}:{uuid.uuid4()}".encode()).hexdigest()[:20]
        self._pending_uploads[file_id] = _Upload(
            file_id,
            filename,
            size,
            _text_of(p.get("alt_txt")),
            _text_of(p.get("snippet_type")),
        )
        self._upload_paths[token] = file_id
        return {"upload_url": f"{self.url}upload/v1/{token}", "file_id": file_id}

    def _api_files_completeUploadExternal(self, p: dict[str, Any]) -> dict[str, Any]:
        files = p.get("files")
        if not isinstance(files, list) or not files or not all(isinstance(f, dict) for f in files):
            raise _invalid_arguments(["must be an array of objects [json-pointer:/files]"])
        uploads = []
        for item in files:
            upload = self._pending_uploads.get(str(item.get("id")))
            if upload is None or upload.data is None or upload.completed:
                raise _Refusal("file_not_found")  # invented for an upload never sent
            uploads.append((upload, _text_of(item.get("title")) or upload.filename))
        targets: list[_Channel] = []
        if p.get("channel_id"):
            targets.append(self._postable(p["channel_id"]))
        if isinstance(p.get("channels"), str):
            targets.extend(self._postable(c.strip()) for c in p["channels"].split(","))
        shared = []
        for upload, title in uploads:
            upload.completed = True
            shared.append({"id": upload.file_id, "title": title})
            for channel in targets or [None]:
                self.uploads.append(
                    {
                        "file_id": upload.file_id,
                        "filename": upload.filename,
                        "title": title,
                        "bytes": upload.data,
                        "length": upload.length,
                        "channel": channel.id if channel else None,
                        "initial_comment": _text_of(p.get("initial_comment")),
                        "thread_ts": _text_of(p.get("thread_ts")),
                        "alt_txt": upload.alt_txt,
                        "snippet_type": upload.snippet_type,
                    }
                )
        for channel in targets:
            files_json = [
                {"id": u.file_id, "name": u.filename, "title": t, "size": len(u.data or b"")}
                for u, t in uploads
            ]
            comment = _text_of(p.get("initial_comment")) or ""
            self._store(channel, self._next_ts(), comment, [], p, files=files_json)
        return {"files": shared}

    def _api_files_upload(self, p: dict[str, Any]) -> dict[str, Any]:
        raise _Refusal("method_deprecated")  # retired by Slack; use files_upload_v2

    def _api_apps_connections_open(self, p: dict[str, Any]) -> dict[str, Any]:
        ticket = uuid.uuid4().hex
        self._tickets.add(ticket)
        return {"url": f"ws://127.0.0.1:{self._port}/socket?ticket={ticket}&app_id={self.app_id}"}


# --- what Slack sends to an app ------------------------------------------------------------


def signed_request_headers(
    signing_secret: str,
    body: str | bytes,
    timestamp: int | None = None,
    *,
    content_type: str | None = None,
    retry_num: int | None = None,
    retry_reason: str | None = None,
) -> dict[str, str]:
    """The headers Slack sends with a request to an app: X-Slack-Request-Timestamp and
    X-Slack-Signature ("v0=" + hex HMAC-SHA256 of "v0:{timestamp}:{body}" keyed by the signing
    secret), Content-Type (JSON for a body starting "{", else form-encoded, unless given) and
    Slack's User-Agent; X-Slack-Retry-Num / -Reason for an Events API retry.
    """
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    stamp = int(time.time()) if timestamp is None else int(timestamp)
    digest = hmac.new(
        signing_secret.encode(), f"v0:{stamp}:{text}".encode(), hashlib.sha256
    ).hexdigest()
    if content_type is None:
        content_type = (
            JSON_CONTENT if text.lstrip().startswith("{") else "application/x-www-form-urlencoded"
        )
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(stamp),
        "X-Slack-Signature": f"v0={digest}",
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
    }
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
    return headers


def _trigger_id() -> str:
    digits = uuid.uuid4().int
    return f"{digits % 10**13}.{digits % 10**12}.{uuid.uuid4().hex}"


def slash_command_payload(
    command: str,
    text: str = "",
    *,
    response_url: str,
    user_id: str = "U0001",
    user_name: str = "ada",
    channel_id: str = "C0001",
    channel_name: str = "general",
    team_id: str = "T0001",
    team_domain: str = "lab",
    api_app_id: str = "A0APP",
    trigger_id: str | None = None,
    token: str = "verification-token",  # noqa: S107 - the legacy verification token field
) -> dict[str, str]:
    """The fields Slack sends for a slash command (all strings): the form of an HTTP request,
    the payload of a Socket Mode "slash_commands" envelope. A DM's channel_name is
    "directmessage"."""
    return {
        "token": token,
        "team_id": team_id,
        "team_domain": team_domain,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": api_app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or _trigger_id(),
    }


def slash_command_body(command: str, text: str = "", **fields: Any) -> str:
    """A slash command as the form-encoded body Slack POSTs (see slash_command_payload)."""
    return urlencode(slash_command_payload(command, text, **fields))


def _find_action(
    blocks: Iterable[Any], action_id: str
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    for block in blocks:
        if not isinstance(block, dict):
            continue
        for element in _interactive_elements(block):
            if element.get("action_id") == action_id:
                return block, element
    return None


def block_actions_payload(
    action_id: str,
    value: str | None = None,
    *,
    response_url: str | None,
    message: dict[str, Any] | None = None,
    view: dict[str, Any] | None = None,
    block_id: str | None = None,
    user_id: str = "U0001",
    user_name: str = "ada",
    channel_id: str = "C0001",
    channel_name: str = "general",
    team_id: str = "T0001",
    team_domain: str = "lab",
    api_app_id: str = "A0APP",
    ephemeral: bool = False,
    trigger_id: str | None = None,
    action_ts: str | None = None,
    token: str = "verification-token",  # noqa: S107 - the legacy verification token field
) -> dict[str, Any]:
    """The payload of a button press (type "block_actions"), as Slack sends it.

    `message` is the message the button is on: an entry of `FakeSlack.posted()` (its answered
    message, with Slack's block ids, is used) or a Slack message dict; `view` a Home tab (an
    entry of `FakeSlack.home_views`), for a press there (no channel, message or response_url).
    The button is looked up by action_id in the message or view to fill block_id, value and
    text; with neither, block_id and value are as given. For an ephemeral message Slack sends
    no "message", only the container.
    """
    blocks: list[Any] = []
    if message is not None:
        shown = message.get("message", message)
        ts = str(shown.get("ts", ""))
        blocks = fill_block_ids(shown.get("blocks") or message.get("blocks") or [], ts)
    elif view is not None:
        blocks = fill_block_ids(view.get("blocks") or [], str(view.get("id", "")))
    found = _find_action(blocks, action_id) if blocks else None
    if (message is not None or view is not None) and found is None:
        raise ValueError(f"no element with action_id {action_id!r} in the message or view")
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": block_id or (found[0]["block_id"] if found else _auto_id(action_id, 0)),
        "type": "button",
        "action_ts": action_ts or f"{time.time():.6f}",
    }
    if found:
        element = found[1]
        action["type"] = element.get("type", "button")
        if "text" in element:
            action["text"] = copy.deepcopy(element["text"])
        if value is None and "value" in element:
            value = element["value"]
        if "style" in element:
            action["style"] = element["style"]
    if value is not None:
        action["value"] = value
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": team_id},
        "api_app_id": api_app_id,
        "token": token,
        "trigger_id": trigger_id or _trigger_id(),
        "team": {"id": team_id, "domain": team_domain},
        "enterprise": None,
        "is_enterprise_install": False,
    }
    if view is not None:
        payload["container"] = {"type": "view", "view_id": view.get("id")}
        payload["view"] = {**copy.deepcopy(view), "blocks": blocks, "type": "home"}
    else:
        container: dict[str, Any] = {
            "type": "message",
            "channel_id": channel_id,
            "is_ephemeral": ephemeral,
        }
        if message is not None:
            shown = message.get("message", message)
            container["message_ts"] = shown.get("ts")
            channel_id = message.get("channel", channel_id)
            container["channel_id"] = channel_id
        payload["container"] = container
        payload["channel"] = {"id": channel_id, "name": channel_name}
        if message is not None and not ephemeral:
            shown = copy.deepcopy(message.get("message", message))
            shown["blocks"] = blocks
            payload["message"] = shown
        payload["state"] = {"values": {}}
        if response_url is not None:
            payload["response_url"] = response_url
    payload["actions"] = [action]
    return payload


def block_actions_body(action_id: str, value: str | None = None, **fields: Any) -> str:
    """A button press as the form body Slack POSTs: payload=<JSON> (see block_actions_payload)."""
    payload = block_actions_payload(action_id, value, **fields)
    return urlencode({"payload": json.dumps(payload, ensure_ascii=False)})


def event_payload(
    event_type: str = "app_home_opened",
    *,
    user_id: str = "U0001",
    team_id: str = "T0001",
    api_app_id: str = "A0APP",
    bot_user_id: str = "U0BOT",
    event_id: str | None = None,
    event_time: int | None = None,
    token: str = "verification-token",  # noqa: S107 - the legacy verification token field
    **fields: Any,
) -> dict[str, Any]:
    """An Events API event_callback: the JSON Slack POSTs, the payload of an "events_api"
    envelope. `fields` go into the event; app_home_opened gets channel (the user's DM as the
    fake names it: "D" + the user id without its first letter) and tab="home" by default."""
    now = int(time.time()) if event_time is None else event_time
    event: dict[str, Any] = {"type": event_type, "user": user_id}
    if event_type == "app_home_opened":
        event.update({"channel": "D" + user_id[1:], "tab": "home"})
    event.update(fields)
    event.setdefault("event_ts", f"{now}.{uuid.uuid4().int % 10**6:06d}")
    return {
        "token": token,
        "team_id": team_id,
        "context_team_id": team_id,
        "context_enterprise_id": None,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": now,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{uuid.uuid4().hex}",
    }


def event_body(event_type: str = "app_home_opened", **fields: Any) -> str:
    """An event_callback as the JSON body Slack POSTs (see event_payload)."""
    return json.dumps(event_payload(event_type, **fields), ensure_ascii=False)
