"""Per-chat command budgets: a burst, then one command per refill; a refusal told once a while."""

from __future__ import annotations

from bot.limits import Admission, CommandBudget


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_chat_gets_its_burst_then_one_command_per_refill() -> None:
    """Ten commands at once run, the eleventh is refused; three seconds later one more runs."""
    clock = Clock()
    budget = CommandBudget(burst=10, refill=3.0, quiet=60.0, clock=clock)
    assert [budget.admit("a") for _ in range(10)] == [Admission.RUN] * 10
    assert budget.admit("a") is Admission.REFUSE
    clock.now += 3.0
    assert budget.admit("a") is Admission.RUN
    assert budget.admit("a") is not Admission.RUN


def test_only_the_first_refusal_in_a_quiet_window_is_told() -> None:
    """A flood is told to slow down once; later refusals are dropped until the window passes."""
    clock = Clock()
    budget = CommandBudget(burst=2, refill=3.0, quiet=60.0, clock=clock)
    budget.admit("a"), budget.admit("a")
    said = [budget.admit("a") for _ in range(300)]
    assert said == [Admission.REFUSE] + [Admission.DROP] * 299
    clock.now += 30.0  # budget back, quiet window not over: runs, then dropped
    assert [budget.admit("a") for _ in range(3)] == [Admission.RUN, Admission.RUN, Admission.DROP]
    clock.now += 30.0  # the window is over: told again, then quiet again
    said = [budget.admit("a") for _ in range(4)]
    assert said == [Admission.RUN, Admission.RUN, Admission.REFUSE, Admission.DROP]


def test_one_chats_flood_leaves_another_chats_budget_whole() -> None:
    """Chats have budgets of their own."""
    budget = CommandBudget(burst=3, refill=3.0, quiet=60.0, clock=Clock())
    for _ in range(100):
        budget.admit(("telegram", "", "1"))
    assert [budget.admit(("telegram", "", "2")) for _ in range(3)] == [Admission.RUN] * 3


def test_a_forgotten_idle_chat_starts_with_a_full_budget() -> None:
    """Idle chats are forgotten (memory stays flat) and come back with their whole burst."""
    clock = Clock()
    budget = CommandBudget(burst=2, refill=1.0, quiet=5.0, clock=clock)
    for chat in range(1000):
        budget.admit(chat)
    clock.now += 10.0
    budget.admit("someone")  # tidies
    assert len(budget._buckets) == 1
    assert [budget.admit(7) for _ in range(3)] == [Admission.RUN, Admission.RUN, Admission.REFUSE]
