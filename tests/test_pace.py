"""The send pace kept for the platforms: per conversation (Pacer) and overall (Spacing)."""

from __future__ import annotations

import asyncio
import time
from bisect import bisect_left

from handlers.pace import Pacer, Spacing


def busiest_second(times: list[float]) -> int:
    """The most of `times` that fall within any half-open second [t, t + 1)."""
    ordered = sorted(times)
    return max(bisect_left(ordered, t + 1.0) - i for i, t in enumerate(ordered))


async def test_turns_keep_the_overall_rate() -> None:
    """40 senders at once at 20 a second: the last starts no sooner than 39/20 s after the first."""
    spacing = Spacing(20)
    began = await asyncio.gather(*(spacing.turn() for _ in range(40)))
    assert max(began) - min(began) >= 39 / 20 - 0.001
    assert busiest_second(began) <= 20


async def test_a_stalled_event_loop_does_not_let_a_burst_through() -> None:
    """Senders woken late by a stalled loop wait rather than break the limit of 20 in a second."""
    spacing = Spacing(20)
    senders = [asyncio.create_task(spacing.turn()) for _ in range(60)]
    await asyncio.sleep(0.2)
    time.sleep(0.4)  # the whole loop stalls: eight turns are due when it wakes
    began = await asyncio.gather(*senders)
    assert busiest_second(began) <= 20


async def test_a_chats_next_turn_counts_from_the_end_of_its_last() -> None:
    """One chat waits its interval after its previous send finished; another chat goes at once."""
    pacer = Pacer(0.5)
    loop = asyncio.get_running_loop()
    async with pacer.slot("a"):
        await asyncio.sleep(0.3)  # a slow answer
        finished = loop.time()
    other = loop.time()
    async with pacer.slot("b"):
        assert loop.time() - other < 0.5
    async with pacer.slot("a"):
        assert loop.time() - finished >= 0.5 - 0.001
