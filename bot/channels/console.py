"""The console channel: a terminal chat with the bot, also usable from scripts.

Options are shown numbered and typing a number picks one. Input is read line by line, so
``printf '/start\n' | pcmt-bot chat --user a1`` works and ends at end of input.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Collection
from typing import TextIO

from bot.conversation.messages import Incoming, Option, Reply

CHANNEL = "console"

Handle = Callable[[Incoming], Awaitable[list[Reply]]]


class ConsoleChannel:
    name = CHANNEL

    def __init__(self, user_id: str = "console", *, stdin: TextIO | None = None,
                 stdout: TextIO | None = None) -> None:
        self.user_id = user_id
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self._options: tuple[Option, ...] = ()

    @property
    def addresses(self) -> Collection[str]:
        return (self.user_id,)

    async def send(self, chat_id: str, reply: Reply) -> None:
        self._show(reply)

    def _show(self, reply: Reply) -> None:
        lines = [reply.text]
        lines.extend(f"[📷 {number}/{len(reply.photos)}: {_kilobytes(photo)} KB]"
                     for number, photo in enumerate(reply.photos, start=1))
        lines.extend(f"  {number}. {option.label}"
                     for number, option in enumerate(reply.options, start=1))
        self.stdout.write("\n".join(lines) + "\n\n")
        self.stdout.flush()
        if reply.options:
            self._options = reply.options

    def to_incoming(self, line: str) -> Incoming:
        stripped = line.strip()
        if stripped.isdigit() and 1 <= int(stripped) <= len(self._options):
            return Incoming(CHANNEL, self.user_id, self.user_id,
                            choice=self._options[int(stripped) - 1].data)
        return Incoming.from_text(CHANNEL, self.user_id, self.user_id, line)

    async def run(self, handle: Handle) -> None:
        """Read lines until end of input, answering each through ``handle``."""
        interactive = self.stdin.isatty()
        loop = asyncio.get_running_loop()
        while True:
            if interactive:
                self.stdout.write("> ")
                self.stdout.flush()
            line = await loop.run_in_executor(None, self.stdin.readline)
            if not line:
                return
            if not line.strip():
                continue
            for reply in await handle(self.to_incoming(line)):
                self._show(reply)


def _kilobytes(data: bytes) -> int:
    return max(1, round(len(data) / 1024))
