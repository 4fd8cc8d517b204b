"""Pure parts of the conversation layer: button data, validators, route clashes, pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from bot.conversation.callbacks import CallbackData
from bot.conversation.dispatch import Routes
from bot.conversation.flows import Flow
from bot.conversation.menus import PageButton, page
from bot.conversation.messages import Option
from bot.conversation.routing import Context, Router
from bot.conversation.validators import Date, Invalid, Number, Text, YesNo
from bot.errors import BadCallback, RoutingConflict


@dataclass(frozen=True)
class Pick(CallbackData, prefix="pk"):
    action: str
    count: int = 0
    note: str = ""


def test_button_data_round_trips_and_drops_trailing_empty_fields() -> None:
    assert Pick("go", 3).pack() == "pk:go:3"
    assert Pick.unpack("pk:go:3") == Pick("go", 3)
    assert Pick.unpack("pk:go:3:x") == Pick("go", 3, "x")


@pytest.mark.parametrize("data", ["zz:go:1", "pk:go:many", "pk:go:1:x:extra", "", None,
                                  "pk:\ud800:1"])
def test_button_data_that_is_not_ours_is_refused(data: str | None) -> None:
    with pytest.raises(BadCallback):
        Pick.unpack(data)


def test_the_byte_budget_is_checked_where_the_button_is_built() -> None:
    with pytest.raises(ValueError, match="64 bytes"):
        Pick("đ" * 40).pack()
    with pytest.raises(ValueError, match="holds"):
        Pick("a:b").pack()


def test_validators() -> None:
    assert Text(2, 5).parse("  abc ") == "abc"
    for bad in ("a", "abcdef"):
        with pytest.raises(Invalid):
            Text(2, 5).parse(bad)
    assert YesNo().parse("Đồng ý!") is True and YesNo().parse("khong") is False
    with pytest.raises(Invalid):
        YesNo().parse("có lẽ")
    assert Number(1, 3).parse("2") == 2
    with pytest.raises(Invalid):
        Number(1, 3).parse("4")
    assert Date().parse("25/12/2026") == date(2026, 12, 25)
    with pytest.raises(Invalid):
        Date().parse("31/02/2026")


async def _nothing(ctx: Context) -> None:
    pass


@pytest.mark.parametrize("claim", ["command", "choice", "flow"])
def test_two_routers_claiming_the_same_thing_stop_start_up(claim: str) -> None:
    first, second = Router("first"), Router("second")
    for router in (first, second):
        if claim == "command":
            router.command("same")(_nothing)
        elif claim == "choice":
            router.choice(Pick)(_nothing)
        else:
            router.flow(Flow("same"))
    with pytest.raises(RoutingConflict, match="second"):
        Routes([first, second])


def test_pages_keep_pinned_options_and_cover_every_item() -> None:
    options = [Option(f"item {n}", f"x:{n}") for n in range(23)] + [Option("pinned", "p",
                                                                           keep=True)]
    seen: list[str] = []
    number, pages = 0, 0
    while True:
        shown = page("Pick one", options, "L1", number, 10)
        assert len(shown.options) <= 10 and shown.options[-1].data == "p"
        seen += [o.data for o in shown.options if o.data.startswith("x:")]
        pages += 1
        following = [o for o in shown.options if o.data == PageButton("L1", number + 1).pack()]
        if not following:
            break
        number += 1
    assert seen == [f"x:{n}" for n in range(23)] and pages == 4
