"""What chat platforms ask of the bot: find the chat, run a command, record a button press.

`handlers/` talks to the bot only through this class (and the messages it sends), so no
platform module ever touches the database.
"""

from __future__ import annotations

import asyncio
from functools import partial

from bot.commands import Command, Context, Reply, execute
from bot.fair_pool import FairPool
from bot.i18n import t
from bot.limits import COMMAND_BURST, COMMAND_REFILL, REFUSAL_QUIET, Admission, CommandBudget
from bot.messages import parse_button
from bot.models import Chat

# The verbs that ask PubMed (the table in bot/commands.py) run in a pool of their own, so a burst
# of them never holds up the quick verbs and the database work every chat needs; the pool takes
# turns between chats, so one chat's burst never holds up another chat's (bot/fair_pool.py).
PUBMED_WORKERS = 8
PUBMED_PER_CHAT = 2  # of them running at once for one chat; its others wait their turn


class ChatService:
    def __init__(self, context: Context, defaults: dict[str, str]) -> None:
        self.context = context
        self._defaults = defaults
        self._pubmed_pool = FairPool(PUBMED_WORKERS, PUBMED_PER_CHAT, name="pubmed-cmd")
        self._budget = CommandBudget()

    def admit(self, platform: str, workspace: str, chat_id: str) -> Admission:
        """Whether a command from this chat runs now, within its budget (bot/limits.py); called
        before anything else, so a refused command costs nothing and changes nothing."""
        return self._budget.admit((platform, workspace, chat_id))

    def refusal(self, platform: str, workspace: str, chat_id: str, *, language: str = "") -> str:
        """The polite refusal of a command over the chat's budget, in the chat's language
        (`language`, the user's client, for a chat not stored yet); creates nothing."""
        known = self.context.store.chats.find(platform, workspace, chat_id)
        lang = known.language if known else language or self._defaults["language"]
        return t(
            lang,
            "limits.slow_down",
            burst=COMMAND_BURST,
            seconds=f"{COMMAND_REFILL:g}",
            quiet=f"{REFUSAL_QUIET:g}",
        )

    def chat(self, platform: str, workspace: str, chat_id: str, *, language: str = "") -> Chat:
        """The chat, created on first contact (in `language` when given: the user's client)."""
        store = self.context.store
        defaults = {**self._defaults, "language": language or self._defaults["language"]}
        chat = store.chats.get_or_create(platform, workspace, chat_id, defaults)
        if not chat.active:  # it talks to us again: it can receive again
            store.chats.reactivate(chat.id)
            chat = store.chats.get(chat.id)
        return chat

    def run(self, chat: Chat, command: str | Command) -> Reply:
        return execute(self.context, chat, command)

    async def run_async(self, chat: Chat, command: Command) -> Reply:
        """Run a command off the event loop, PubMed verbs in their own pool, in turn by chat."""
        if command.asks_pubmed:
            return await asyncio.wrap_future(
                self._pubmed_pool.submit(chat.id, partial(self.run, chat, command))
            )
        return await asyncio.to_thread(self.run, chat, command)

    def press(self, chat: Chat, user: str, data: str) -> str:
        """Record a card button press; returns the short answer to show the presser."""
        parsed = parse_button(data)
        store = self.context.store
        # Only a paper this chat was shown: anything else gets the same answer as an unknown
        # paper, so a forged press neither records nor tells which papers the install holds.
        if (
            parsed is None
            or not store.feedback.was_shown(chat.id, parsed[1])
            or store.papers.get(parsed[1]) is None
        ):
            return t(chat.language, "feedback.expired")
        kind, pmid = parsed
        if not store.feedback.record(chat.id, user, pmid, kind):
            return t(chat.language, "feedback.again")
        return t(chat.language, f"feedback.{kind}")

    def migrate(self, chat: Chat, new_chat_id: str) -> Chat:
        self.context.store.chats.migrate(chat.id, new_chat_id)
        return self.context.store.chats.get(chat.id)
