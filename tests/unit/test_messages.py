from __future__ import annotations

from bot.conversation.messages import Incoming, Option, Reply


def test_commands_with_bot_name_and_payload() -> None:
    incoming = Incoming.from_text("telegram", "1", "2", "/start@pcmt_bot  enrol-AB12 ")
    assert (incoming.command, incoming.args) == ("start", "enrol-AB12")


def test_plain_text_and_slash_alone_are_not_commands() -> None:
    assert Incoming.from_text("console", "1", "1", "ma túy là gì").command is None
    assert Incoming.from_text("console", "1", "1", "/").command is None
    assert Incoming.from_text("console", "1", "1", "/ 5 gam").command is None


def test_reply_json_round_trip() -> None:
    reply = Reply("Chọn <b>một</b>", (Option("Có", "yes"), Option("Không", "no")), edit=True)
    assert Reply.from_json(reply.to_json()) == reply
