"""Every message exists in English and Korean, with the same placeholders."""

from __future__ import annotations

import re
import string

import pytest

from bot.commands import VERBS
from bot.i18n import MESSAGES, t

HANGUL = re.compile(r"[\uac00-\ud7a3]")
# Words that stay as they are in a Korean message: commands, codes and names.
KEEP = {verb.name for verb in VERBS if verb.listed} | {
    "instant",
    "weekly",  # the word of `mode weekly`
    "en",
    "ko",
    "bibtex",
    "ris",
    "csv",
    "PubMed",
    "Paper",
    "Surfer",
    "IANA",
    "Asia",
    "Seoul",
    "HH",
    "MM",
    "UTC",
    "in",
    "vitro",
    "liver",
    "metastases",
    "AND",
    "chemotherapy",
    "alerts",  # the word of `export csv alerts`
    "PMID",  # PubMed's identifier, as Korean readers of PubMed know it
    "Central",
    "FOLLOWUPS",  # the setting, as written in .env
    "off",
}


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_message_has_both_languages_with_the_same_placeholders(key: str) -> None:
    """No message exists in one language only, and both fill in the same values."""
    english, korean = MESSAGES[key]
    assert english.strip()
    assert korean.strip()
    assert _fields(english) == _fields(korean)


@pytest.mark.parametrize("key", sorted(k for k in MESSAGES if not k.startswith("usage.")))
def test_korean_messages_are_korean(key: str) -> None:
    """A Korean message has Hangul and no English sentence left in it."""
    korean = MESSAGES[key][1]
    filled = korean.format(**{name: "" for name in _fields(korean)})
    assert HANGUL.search(filled), key
    english_words = [w for w in re.findall(r"[A-Za-z]{2,}", filled) if w not in KEEP]
    assert english_words == [], key


def test_lookup_fills_values_in_the_chosen_language() -> None:
    """t() picks the language and fills the placeholders."""
    assert t("en", "subscribe.done", number=3, query="x") == "Subscribed #3: x"
    assert t("ko", "subscribe.done", number=3, query="x") == "구독 #3 등록: x"
