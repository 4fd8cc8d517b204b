"""The pieces of the Telegram channel on their own: sending budgets on a virtual clock, text
splitting, keyboards, reading updates and the error mapping."""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram import Update
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.channels.ratelimit import SWEEP_EVERY, Limit, RateLimiter
from bot.channels.telegram._errors import delivery_error
from bot.channels.telegram._render import (
    MAX_CALLBACK_BYTES,
    escape,
    keyboard,
    needs_reference,
    split_text,
)
from bot.channels.telegram._updates import Ignored, Membership, NotUnderstood, Received, read
from bot.errors import RetryLater, Undeliverable, Unreachable


class VirtualTime:
    """A clock that moves only when someone sleeps on it."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


def limiter(time: VirtualTime) -> RateLimiter:
    return RateLimiter(overall=Limit(30, 1.0), per_chat=Limit(1, 1.0),
                       per_group=Limit(20, 60.0), clock=time, sleep=time.sleep)


async def test_one_message_a_second_per_chat() -> None:
    time = VirtualTime()
    budgets = limiter(time)
    moments = []
    for _ in range(3):
        await budgets.acquire("42")
        moments.append(time.now)
    assert moments == [0.0, 1.0, 2.0]


async def test_twenty_a_minute_per_group_and_thirty_a_second_overall() -> None:
    time = VirtualTime()
    budgets = RateLimiter(overall=Limit(30, 1.0), per_chat=Limit(100, 1.0),
                          per_group=Limit(20, 60.0), clock=time, sleep=time.sleep)
    for _ in range(20):
        await budgets.acquire("-100", group=True)
    assert time.now == 0.0
    await budgets.acquire("-100", group=True)
    assert time.now == pytest.approx(60.0)
    time = VirtualTime()
    budgets = limiter(time)
    for chat in range(30):
        await budgets.acquire(str(chat))
    assert time.now == 0.0
    await budgets.acquire("31")
    assert time.now == pytest.approx(1.0)


async def test_a_pause_holds_every_chat_back() -> None:
    time = VirtualTime()
    budgets = limiter(time)
    budgets.pause(5.0)
    assert budgets.paused_for == 5.0
    await budgets.acquire("7")
    assert time.now == pytest.approx(5.0) and budgets.paused_for == 0.0


async def test_concurrent_senders_to_one_chat_never_share_a_second() -> None:
    time = VirtualTime()
    budgets = limiter(time)
    moments: list[float] = []

    async def send() -> None:
        await budgets.acquire("9")
        moments.append(time.now)

    await asyncio.gather(*(send() for _ in range(5)))
    moments.sort()
    assert all(later - earlier >= 1.0 for earlier, later in itertools.pairwise(moments))


async def test_idle_chats_are_forgotten() -> None:
    time = VirtualTime()
    budgets = RateLimiter(overall=Limit(10**9, 1.0), per_chat=Limit(1, 1.0), clock=time,
                          sleep=time.sleep)
    for chat in range(SWEEP_EVERY - 1):
        await budgets.acquire(str(chat))
    time.now += 2.0
    await budgets.acquire("last")
    assert len(budgets._chats) <= 1


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab <>&.!?\n😀đ"), max_size=3000),
       st.integers(min_value=40, max_value=500))
def test_split_parts_fit_and_lose_nothing(text: str, limit: int) -> None:
    parts = split_text(text, limit)
    assert all(len(escape(part).encode("utf-16-le")) // 2 <= limit for part in parts)
    assert all(part == part.strip() and part for part in parts)
    assert "".join(parts).replace(" ", "").replace("\n", "") == (
        text.replace(" ", "").replace("\n", ""))


def test_split_prefers_paragraphs_then_sentences() -> None:
    paragraph = "Một câu. " * 20
    parts = split_text(f"{paragraph.strip()}\n\n{paragraph.strip()}", 200)
    assert parts == [paragraph.strip(), paragraph.strip()]
    assert all(part.endswith(".") for part in split_text(paragraph * 3, 100))


def test_keyboard_pairs_short_labels_and_callback_data_limits() -> None:
    markup = keyboard((("Có", "y"), ("Không", "n"), ("Một nhãn khá dài để đứng riêng", "l"),
                       ("Hủy", "c")))
    assert markup is not None
    assert [[button.text for button in row] for row in markup.inline_keyboard] == [
        ["Có", "Không"], ["Một nhãn khá dài để đứng riêng"], ["Hủy"]]
    assert keyboard(()) is None
    assert not needs_reference("x" * MAX_CALLBACK_BYTES)
    assert needs_reference("đ" * 33)  # 66 bytes
    assert needs_reference("p:looks-like-a-reference")


def _update(payload: dict[str, object]) -> Update:
    return Update.de_json({"update_id": 1, **payload}, None)


_USER = {"id": 5, "is_bot": False, "first_name": "Lan"}
_PRIVATE = {"id": 5, "type": "private", "first_name": "Lan"}
_GROUP = {"id": -100, "type": "supergroup", "title": "Công an xã"}


def test_reading_updates() -> None:
    def message(chat: dict[str, object], **content: object) -> Update:
        return _update({"message": {"message_id": 3, "date": 0, "chat": chat, "from": _USER,
                                    **content}})

    start = read(message(_PRIVATE, text="/start abc"), "pcmt_bot", 100)
    assert isinstance(start, Received)
    assert (start.incoming.command, start.incoming.args) == ("start", "abc")
    assert isinstance(read(message(_GROUP, text="xin chào"), "pcmt_bot", 100), Ignored)
    assert isinstance(read(message(_GROUP, text="/help@Pcmt_Bot"), "pcmt_bot", 100), Received)
    assert isinstance(read(message(_PRIVATE, text="/help@other"), "pcmt_bot", 100), Ignored)
    voice = message(_PRIVATE, voice={"file_id": "v", "file_unique_id": "v", "duration": 2})
    assert isinstance(read(voice, "pcmt_bot", 100), NotUnderstood)
    big = message(_PRIVATE, photo=[{"file_id": "a", "file_unique_id": "a", "width": 10,
                                     "height": 10, "file_size": 50},
                                    {"file_id": "b", "file_unique_id": "b", "width": 99,
                                     "height": 99, "file_size": 500}])
    event = read(big, "pcmt_bot", 100)
    assert isinstance(event, Received) and event.files[0].file_id == "a"  # largest under cap
    kicked = _update({"my_chat_member": {
        "chat": _PRIVATE, "from": _USER, "date": 0,
        "old_chat_member": {"user": _USER, "status": "member"},
        "new_chat_member": {"user": _USER, "status": "kicked", "until_date": 0}}})
    assert read(kicked, "pcmt_bot", 100) == Membership("5", reachable=False)
    inline = _update({"callback_query": {"id": "q", "from": _USER, "chat_instance": "1",
                                         "data": "x", "inline_message_id": "i"}})
    assert read(inline, "pcmt_bot", 100) == Ignored(callback_id="q")


@pytest.mark.parametrize(("error", "expected"), [
    (RetryAfter(timedelta(seconds=7)), RetryLater),
    (Forbidden("Forbidden: bot was blocked by the user"), Unreachable),
    (ChatMigrated(-1001), Unreachable),
    (BadRequest("Bad Request: chat not found"), Unreachable),
    (BadRequest("Bad Request: message is too long"), Undeliverable),
    (BadRequest("Bad Request: can't parse entities: Unexpected end tag"), Undeliverable),
    (BadRequest("Bad Request: BUTTON_DATA_INVALID"), Undeliverable),
    (TimedOut(), RetryLater),
    (NetworkError("Bad Gateway"), RetryLater),
])
def test_error_mapping(error: TelegramError, expected: type[Exception]) -> None:
    mapped = delivery_error(error)
    assert type(mapped) is expected
    if isinstance(error, RetryAfter):
        assert isinstance(mapped, RetryLater) and mapped.retry_after == 7.0
    assert "Unexpected end tag" not in str(mapped)
