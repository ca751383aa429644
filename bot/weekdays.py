"""Weekday names a chat may give for its weekly digest, in English and Korean.

Days are numbered as Python's `date.weekday()` counts them: 0 is Monday, 6 is Sunday.
"""

from __future__ import annotations

ENGLISH = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
KOREAN = ("월요일", "화요일", "수요일", "목요일", "금요일", "토요일", "일요일")
# APScheduler's cron names for the days, in the same order.
CRON = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MONDAY = 0


def _names() -> dict[str, int]:
    names: dict[str, int] = {}
    for day, (english, korean) in enumerate(zip(ENGLISH, KOREAN, strict=True)):
        # 'monday', 'mon', '월요일' and the one-syllable '월' all name Monday.
        names.update({english: day, english[:3]: day, korean: day, korean[0]: day})
    return names


NAMES = _names()


def parse_day(text: str) -> int:
    """The weekday `text` names (any case); ValueError when it names none."""
    day = NAMES.get(text.strip().lower())
    if day is None:
        raise ValueError(f"not a day of the week: {text!r}")
    return day
