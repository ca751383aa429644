"""What a chat received at the fake Telegram or Slack: the PMIDs of its cards, lists, digests."""

from __future__ import annotations

from typing import Any

from servers.slack import FakeSlack


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
        for entity in message.get("entities", []):
            url = entity.get("url", "")
            if entity.get("type") == "text_link" and "pubmed.ncbi.nlm.nih.gov" in url:
                found.append(url.rstrip("/").rsplit("/", 1)[1])
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
            text = (
                (block.get("text") or {}).get("text", "") if block.get("type") == "section" else ""
            )
            found += [
                part.split("/")[0] for part in text.split("<https://pubmed.ncbi.nlm.nih.gov/")[1:]
            ]
    return found
