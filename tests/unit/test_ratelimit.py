"""The sending budgets on a virtual clock: counted from the platform's answer, slots taken
ahead for a sender, the overall budget on its own."""

from __future__ import annotations

from bot.channels.ratelimit import Limit, RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def limiter(clock: Clock) -> RateLimiter:
    return RateLimiter(overall=Limit(2, 1.0), per_chat=Limit(1, 1.0),
                       per_group=Limit(3, 60.0), clock=clock, sleep=clock.sleep,
                       is_group=lambda chat: chat.startswith("-"))


async def test_a_message_counts_from_the_answer() -> None:
    clock = Clock()
    budgets = limiter(clock)
    slot = await budgets.acquire("7")
    clock.now += 0.3  # the answer came 0.3 s later
    budgets.settle(slot)
    clock.now += 0.9  # 1.2 s after the request, 0.9 s after the answer
    assert abs(budgets.delay("7") - 0.1) < 1e-9  # counted from the request, it would be free
    assert budgets.delay() == 0  # the overall budget has room


async def test_a_slot_taken_ahead_pays_for_one_message() -> None:
    clock = Clock()
    budgets = limiter(clock)
    assert budgets.delay("5") == 0
    slot = budgets.take("5")
    with RateLimiter.prepaid(slot):
        assert await budgets.acquire("5") is slot  # no second count, no wait
        started = clock.now
        await budgets.acquire("5")  # the next part of the same reply waits its turn
        assert clock.now - started == 1.0


async def test_groups_are_told_by_the_id_and_the_pause_holds_everyone() -> None:
    clock = Clock()
    budgets = limiter(clock)
    for _ in range(3):
        await budgets.acquire("-100")
        clock.now += 1.0
    assert budgets.delay("-100") > 50  # 3 a minute for the group
    budgets.pause(5)
    assert budgets.delay() == 5 and budgets.delay("9") == 5
