"""What a chat received at the fake Telegram or Slack: the PMIDs of its cards, lists, digests."""

from __future__ import annotations

import re
from typing import Any

from servers.slack import FakeSlack

# A paper's page; a PubMed search (`/?term=`, in the notice of a long list) is not a paper.
_PAPER_URL = re.compile(r"https://pubmed\.ncbi\.nlm\.nih\.gov/(\d+)/?$")
_SLACK_PAPER_LINK = re.compile(r"<https://pubmed\.ncbi\.nlm\.nih\.gov/(\d+)/\|([^>]*)>")
# A status line's link names another record, "retraction notice PMID 9499167" or "PMID 31031480"
# (bot/standing.py): it is not a paper the message delivers.
_NAMES_A_RECORD = re.compile(r"PMID \d+$")
_LEFT_OUT = re.compile(r"…and ([\d,]+) more papers")


def telegram_pmids(telegram: Any, chat_id: int) -> list[str]:
    """PMIDs of the cards a Telegram chat received (from their save buttons), and of its
    lists and digests; `telegram` is a FakeTelegram or its proxy in another process."""
    found = []
    for message in telegram.sent(chat_id):
        for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data", "")
                if data.startswith("fb:save:"):
                    found.append(data.split(":")[2])
        found += telegram_linked(message)
    return found


def telegram_linked(message: dict[str, Any]) -> list[str]:
    """PMIDs of the papers one Telegram message links to, in order."""
    found = []
    text = message.get("text", "").encode("utf-16-le")
    for entity in message.get("entities", []):
        paper = _PAPER_URL.match(entity.get("url", ""))
        start, end = 2 * entity.get("offset", 0), 2 * (entity.get("offset", 0) + entity["length"])
        label = text[start:end].decode("utf-16-le", "replace")
        if entity.get("type") == "text_link" and paper and not _NAMES_A_RECORD.search(label):
            found.append(paper.group(1))
    return found


def slack_pmids(slack: FakeSlack, channel: str) -> list[str]:
    """PMIDs of the cards a Slack channel received (from their save buttons), and of its lists
    and digests."""
    found = []
    for message in slack.posted(channel):
        for block in message.get("blocks", []):
            for element in block.get("elements", []):
                value = element.get("value", "") if isinstance(element, dict) else ""
                if value.startswith("fb:save:"):
                    found.append(value.split(":")[2])
        found += slack_linked(message)
    return found


def slack_linked(message: dict[str, Any]) -> list[str]:
    """PMIDs of the papers one Slack message links to in its sections, in order."""
    found = []
    for block in message.get("blocks", []):
        if block.get("type") == "section":
            links = _SLACK_PAPER_LINK.findall((block.get("text") or {}).get("text", ""))
            found += [pmid for pmid, label in links if not _NAMES_A_RECORD.search(label)]
    return found


def left_out(text: str) -> int:
    """How many papers a long list's or digest's notice says it did not list (0: no notice)."""
    found = _LEFT_OUT.search(text)
    return int(found.group(1).replace(",", "")) if found else 0
