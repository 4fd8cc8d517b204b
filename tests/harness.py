"""Driving the bot as people do, without a platform: chats that type and tap, a recording
channel that stands in for a platform on the delivery side."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest

from bot import logs
from bot.channels.base import Lifecycle
from bot.channels.ratelimit import RateLimiter
from bot.conversation.dispatch import Dispatcher
from bot.conversation.messages import Attachment, Capabilities, ChatKind, Incoming, Reply
from bot.errors import DeliveryError


@dataclass
class Chat:
    """One person in one chat. ``steps`` counts their messages and taps."""

    dispatcher: Dispatcher
    channel: str
    user_id: str
    chat_id: str = ""
    kind: ChatKind = ChatKind.PRIVATE
    steps: int = 0
    replies: list[Reply] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.chat_id = self.chat_id or self.user_id

    async def _send(self, incoming: Incoming) -> list[Reply]:
        self.steps += 1
        replies = await self.dispatcher.handle(incoming)
        self.replies.extend(replies)
        return replies

    async def say(self, text: str) -> list[Reply]:
        return await self._send(Incoming.from_text(self.channel, self.chat_id, self.user_id, text,
                                                   chat_kind=self.kind))

    async def press(self, data: str) -> list[Reply]:
        return await self._send(Incoming(self.channel, self.chat_id, self.user_id,
                                         chat_kind=self.kind, choice=data))

    async def send_file(self, data: bytes, kind: str = "photo") -> list[Reply]:
        return await self._send(Incoming(self.channel, self.chat_id, self.user_id,
                                         chat_kind=self.kind,
                                         attachments=(Attachment(kind, data, size=len(data)),)))

    @property
    def last(self) -> Reply:
        return self.replies[-1]

    @property
    def passphrase(self) -> str:
        """The passphrase of the last report this person sent."""
        return next(passphrase_in(reply.text) for reply in reversed(self.replies)
                    if PASSPHRASE.search(reply.text))

    def option(self, prefix: str) -> str:
        """The data of the first option in the last reply that starts with ``prefix``."""
        for option in self.last.options:
            if option.data.startswith(prefix):
                return option.data
        raise AssertionError(f"no option {prefix!r} in {self.last.options}")


@dataclass
class RecordingChannel(Lifecycle):
    """A platform that accepts everything (or fails as told) and remembers what it got."""

    name: str
    capabilities: Capabilities = field(default_factory=Capabilities)
    failures: list[DeliveryError] = field(default_factory=list)
    sent: list[tuple[str, Reply]] = field(default_factory=list)
    delay: float = 0.0
    limiter: RateLimiter | None = None

    @property
    def addresses(self) -> Collection[str] | None:
        return None

    async def send(self, chat_id: str, reply: Reply) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append((chat_id, reply))

    def texts_to(self, chat_id: str) -> list[str]:
        return [reply.text for chat, reply in self.sent if chat == chat_id]


BEN_THANH = "phuong ben thanh tp hcm"  # Phường Bến Thành, 26743, province 79
TICKET = re.compile(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}")
PASSPHRASE = re.compile(r"(?:Mật khẩu|Passphrase): ([0-9A-Z]{4}-[0-9A-Z]{4})\n")


def passphrase_in(text: str) -> str:
    """The passphrase a "report sent" message gives."""
    found = PASSPHRASE.search(text)
    assert found, text
    return found.group(1)


async def draft_to_photos(chat: Chat, *, description: str = "Hai người đi xe máy giao gói nhỏ",
                          commune: str = BEN_THANH, category: str = "dealing") -> None:
    """A report draft filled up to its photo step, the shortest way."""
    await chat.press("report")
    await chat.press(f"rp:cat:{category}")
    await chat.say(commune)
    await chat.press(chat.option("rp:com:"))
    await chat.say("Quán nước đầu hẻm 12, tối thứ Sáu khoảng 9 giờ")
    await chat.say(description)


async def file_report(chat: Chat, *, description: str = "Hai người đi xe máy giao gói nhỏ",
                      photo: bytes | None = None, follow_up: bool = True,
                      commune: str = BEN_THANH, category: str = "dealing") -> str:
    """The shortest complete report through the report flow; returns the ticket."""
    await draft_to_photos(chat, description=description, commune=commune, category=category)
    if photo is not None:
        await chat.send_file(photo)
    await chat.press("rp:fu:yes" if follow_up else "rp:fu:no")
    replies = await chat.press("rp:send")
    found = TICKET.search(replies[-1].text)
    assert found, replies[-1].text
    return found.group()


@contextmanager
def debug_logging(capsys: pytest.CaptureFixture[str], *,
                  secrets: list[str]) -> Iterator[Callable[[], list[str]]]:
    """``PCMT_LOG_LEVEL=DEBUG`` as ``pcmt-bot run`` configures it; gives a reader of every line
    written so far, and puts the logging set-up back afterwards."""
    root = logging.getLogger()
    saved = (root.level, list(root.handlers), {
        name: logging.getLogger(name).level for name in logging.root.manager.loggerDict})
    logs.configure("DEBUG", secrets=secrets)
    lines: list[str] = []

    def read() -> list[str]:
        lines.extend(capsys.readouterr().err.splitlines())
        return lines

    try:
        yield read
    finally:
        root.setLevel(saved[0])
        root.handlers[:] = saved[1]
        for name, level in saved[2].items():
            logging.getLogger(name).setLevel(level)
