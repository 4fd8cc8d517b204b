"""The console channel: a terminal chat with the bot, also usable from scripts.

Options are shown numbered and typing a number picks one. Input is read line by line, so
``printf '/start\n' | pcmt-bot chat --user a1`` works and ends at end of input.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
from collections.abc import Awaitable, Callable, Collection
from typing import TextIO

from bot.channels.base import Lifecycle
from bot.conversation.i18n import gettext as _
from bot.conversation.messages import Capabilities, Incoming, Reply

CHANNEL = "console"
CAPABILITIES = Capabilities(buttons=False, max_options=9, payload_bytes=64, editing=False,
                            photos_in=False, photos_out=True, text_limit=4096)

Handle = Callable[[Incoming], Awaitable[list[Reply]]]


class ConsoleChannel(Lifecycle):
    """Started with a ``handle`` (the dispatcher's), it reads standard input until it ends;
    :meth:`finished` waits for that."""

    name = CHANNEL
    capabilities = CAPABILITIES
    limiter = None

    def __init__(self, user_id: str = "console", *, handle: Handle | None = None,
                 stdin: TextIO | None = None, stdout: TextIO | None = None) -> None:
        self.user_id = user_id
        self.handle = handle
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self._reading: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.handle is not None and self._reading is None:
            self._reading = asyncio.create_task(self.run(self.handle))

    async def finished(self) -> None:
        """Until end of input (at once when nothing is being read)."""
        if self._reading is not None:
            await asyncio.shield(self._reading)

    async def stop(self) -> None:
        if self._reading is not None and not self._reading.done():
            self._reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reading

    @property
    def addresses(self) -> Collection[str]:
        return (self.user_id,)

    async def send(self, chat_id: str, reply: Reply) -> None:
        self._show(reply)

    def _show(self, reply: Reply) -> None:
        lines = [reply.text]
        lines.extend(f"[📷 {number}/{len(reply.photos)}: {_kilobytes(photo)} KB]"
                     for number, photo in enumerate(reply.photos, start=1))
        # The numbers and what they mean were set by the dispatcher, kept in the database.
        lines.extend(f"  {number}. {option.label}"
                     for number, option in enumerate(reply.options, start=reply.first_number))
        self.stdout.write("\n".join(lines) + "\n\n")
        self.stdout.flush()

    def to_incoming(self, line: str) -> Incoming:
        return Incoming.from_text(CHANNEL, self.user_id, self.user_id, line)

    async def run(self, handle: Handle) -> None:
        """Read lines until end of input, answering each through ``handle``."""
        interactive = self.stdin.isatty()
        if interactive:
            self.stdout.write(_("console.hint") + "\n\n")
        lines = _lines(self.stdin)
        while True:
            if interactive:
                self.stdout.write("> ")
                self.stdout.flush()
            line = await lines.get()
            if line is None:
                return
            if not line.strip():
                continue
            for reply in await handle(self.to_incoming(line)):
                self._show(reply)


def _lines(stream: TextIO) -> asyncio.Queue[str | None]:
    """Lines of ``stream`` as they come, then None. The reading thread is a daemon: a thread
    of the loop's executor, blocked in ``readline``, would keep a stopped process waiting for
    Enter."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def read() -> None:
        try:
            for line in iter(stream.readline, ""):
                loop.call_soon_threadsafe(queue.put_nowait, line)
            loop.call_soon_threadsafe(queue.put_nowait, None)
        except (RuntimeError, ValueError, OSError):  # the loop or the stream closed first
            return

    threading.Thread(target=read, name="console-input", daemon=True).start()
    return queue


def _kilobytes(data: bytes) -> int:
    return max(1, round(len(data) / 1024))
